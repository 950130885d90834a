import type { NormalizedMessage } from '../../../src/domain/message';
import { deriveKeys, Sealer } from '../../../src/session';
import { EmailNotifier, type OutgoingEmail } from '../../../src/session/notifications';
import { MemoryStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { waitFor } from '../../support/wait';

/**
 * The e-mail side's decisions, on a memory store with a sender that records what it is given: which replies one
 * window's e-mail carries, and what a page having shown them changes.
 */

const sealer = new Sealer(deriveKeys(['a-session-secret-for-tests-0123456789']));
const sent: OutgoingEmail[] = [];
const log = captureLogger('info');
let store: MemoryStore;
let notifier: EmailNotifier;

beforeEach(() => {
  sent.length = 0;
  store = new MemoryStore();
  notifier = new EmailNotifier({
    config: { smtpUrl: 'smtp://unused', from: 'chat@shop.example.com', afterMs: 50, preview: true, dailyMax: 10 },
    store,
    sealer,
    recordMs: 3600_000,
    instanceId: 'test',
    timeoutMs: 1000,
    logger: log.logger,
    sender: { send: async (email) => void sent.push(email), close: () => undefined },
  });
});

afterEach(() => notifier.close());

const human = (i: number): NormalizedMessage => ({
  id: `m${i}`,
  direction: 'outbound',
  type: 'text',
  text: `reply number ${i}.`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  originatingEntity: 'human',
  from: { name: 'Alex' },
});

async function optedIn(sk: string): Promise<void> {
  await notifier.optIn(sk, {
    address: 'ada@example.com',
    url: 'https://shop.example.com/chat',
    base: 'https://bff.example.com',
    chat: 'sealed',
    vouched: true,
  });
}

test('a window of many replies is one e-mail quoting the newest 20', async () => {
  await optedIn('{sk1}');
  for (let i = 0; i < 60; i++) notifier.reply('{sk1}', human(i));
  await waitFor(() => expect(sent).toHaveLength(1));
  const quoted = [...sent[0]!.text.matchAll(/^> reply number (\d+)\.$/gm)].map((m) => Number(m[1]));
  expect(quoted).toEqual(Array.from({ length: 20 }, (_, i) => 40 + i));
  // No more than the window held were claimed: the oldest went past the ceiling.
  expect(await store.get('email-msg:{sk1}:m0')).toBeUndefined();
  await waitFor(async () => expect(await store.get('email-msg:{sk1}:m59')).toBe('sent'));
});

test('replies a page showed are not e-mailed; when all were shown, nothing is', async () => {
  await optedIn('{sk2}');
  await store.put('notify-msg:{sk2}:m1', 'shown', 60_000);
  notifier.reply('{sk2}', human(1));
  notifier.reply('{sk2}', human(2));
  await waitFor(() => expect(sent).toHaveLength(1));
  expect(sent[0]!.text).toContain('> reply number 2.');
  expect(sent[0]!.text).not.toContain('reply number 1.');

  await optedIn('{sk3}');
  await store.put('notify-msg:{sk3}:m5', 'shown', 60_000);
  const before = log.lines().filter((l) => l.msg === 'replies not e-mailed: the customer saw them').length;
  notifier.reply('{sk3}', human(5));
  await waitFor(() =>
    expect(log.lines().filter((l) => l.msg === 'replies not e-mailed: the customer saw them')).toHaveLength(before + 1),
  );
  expect(sent).toHaveLength(1);
});
