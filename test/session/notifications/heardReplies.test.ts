import type { NormalizedMessage } from '../../../src/domain/message';
import { HEARD_MAX, HeardReplies } from '../../../src/session/notifications/heardReplies';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { Sealer, deriveKeys } from '../../../src/session/tokens';
import { MemoryStore } from '../../../src/store';

/**
 * The replies a chat's live socket heard after its page left (`notify-heard:{sk}`): what a watch pushes without a
 * history read. The store is the service's own in-memory one; the record is sealed with the deployment's keys.
 */

const SK = '{a-chat-whose-page-left}';
const reply = (n: number): NormalizedMessage =>
  ({
    id: `r${n}`,
    direction: 'outbound',
    type: 'text',
    text: `reply ${n}`,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    originatingEntity: 'human',
    from: { name: 'Alex' },
  }) as NormalizedMessage;

const yes = async () => true;

function heardReplies() {
  const store = new MemoryStore();
  const sealer = new Sealer(deriveKeys(['heard-replies-secret-0123456789abcdef']));
  return { store, sealer, heard: new HeardReplies(store, sealer, 60_000) };
}

describe('the replies heard after the page left', () => {
  it('hold nothing in memory for a chat once its writes are done', async () => {
    const { heard } = heardReplies();
    const chains = (heard as unknown as { writing: Map<string, unknown> }).writing;
    await Promise.all([
      heard.add(SK, reply(1), yes),
      heard.add(SK, reply(2), yes),
      heard.add('{other}', reply(3), yes),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(chains.size).toBe(0);
  });

  it('are read back oldest first, each once, and sealed in the store', async () => {
    const { store, heard } = heardReplies();
    expect(await heard.add(SK, reply(1), yes)).toBe('kept');
    expect(await heard.add(SK, reply(2), yes)).toBe('kept');
    expect(await heard.add(SK, reply(1), yes)).toBe('kept');
    expect(await heard.read(SK)).toEqual([reply(1), reply(2)]);
    expect(await store.get(recordKeys(SK).heard)).not.toContain('reply 1');
  });

  it(`keep the newest ${HEARD_MAX}`, async () => {
    const { heard } = heardReplies();
    for (let n = 1; n <= HEARD_MAX + 5; n++) await heard.add(SK, reply(n), yes);
    const held = await heard.read(SK);
    expect(held).toHaveLength(HEARD_MAX);
    expect(held[0]!.id).toBe('r6');
    expect(held.at(-1)!.id).toBe(`r${HEARD_MAX + 5}`);
  });

  it('keep the order they were heard in, however long each write waits for the store', async () => {
    const { store, heard } = heardReplies();
    // The first reply's write waits until released; the second, heard after it, is written after it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const get = store.get.bind(store);
    let first = true;
    store.get = async (key: string) => {
      if (first) {
        first = false;
        await held;
      }
      return get(key);
    };
    const one = heard.add(SK, reply(1), yes);
    const two = heard.add(SK, reply(2), yes);
    release();
    expect(await Promise.all([one, two])).toEqual(['kept', 'kept']);
    expect((await heard.read(SK)).map((m) => m.id)).toEqual(['r1', 'r2']);
  });

  it("keep the guest's own message as a place, without its text", async () => {
    const { heard } = heardReplies();
    const guest = { ...reply(2), id: 'g2', direction: 'inbound', text: 'my card is 4111' } as NormalizedMessage;
    await heard.add(SK, reply(1), yes);
    await heard.add(SK, guest, yes);
    expect(await heard.read(SK)).toEqual([
      reply(1),
      { id: 'g2', direction: 'inbound', type: 'text', time: guest.time },
    ]);
  });

  it('keep nothing for a chat without an opt-in', async () => {
    const { heard } = heardReplies();
    expect(await heard.add(SK, reply(1), async () => false)).toBe('unwanted');
    expect(await heard.read(SK)).toEqual([]);
  });

  it('are gone once cleared (a page stream opened)', async () => {
    const { heard } = heardReplies();
    await heard.add(SK, reply(1), yes);
    await heard.clear(SK);
    expect(await heard.read(SK)).toEqual([]);
  });

  it('are none when the record was sealed with other keys, and a new reply replaces it', async () => {
    const { store, heard } = heardReplies();
    const other = new Sealer(deriveKeys(['another-deployments-secret-0123456789']));
    await store.put(recordKeys(SK).heard, await other.seal({ typ: 'heard', m: [reply(9)] }), 60_000);
    expect(await heard.read(SK)).toEqual([]);
    await heard.add(SK, reply(1), yes);
    expect(await heard.read(SK)).toEqual([reply(1)]);
  });
});
