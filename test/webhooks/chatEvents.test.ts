import type { WebhookSettings } from '../../src/config/schema';
import type { WebhookEventType } from '../../src/domain/webhookEvent';
import { MemoryStore } from '../../src/store';
import { ChatEvents, OUTBOX } from '../../src/webhooks/chatEvents';
import { chatIdOf, endpointKey, entryId, type OutboxEntry } from '../../src/webhooks/outboxEntry';
import { registryTotal } from '../support/metrics';
import { captureLogger } from '../support/app';
import { deferred } from '../support/deferred';

/**
 * A deployment's chat events into its webhook outbox (src/webhooks/chatEvents.ts): what is written for each endpoint,
 * each chat's sequence and how long it counts on, how long an event is remembered as queued, what each outcome of the
 * outbox counts and says, how many may wait for a shared store that does not answer, and for how long. The store is
 * the memory store on the test's clock; where the store is slow or away, a subclass says so.
 */

const HOUR_MS = 3600_000;
const START = Date.UTC(2026, 10, 30, 12);
const everything = { url: 'https://all.example.com/h', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' };
const received = { ...everything, url: 'https://received.example.com/h', events: ['message.received' as const] };
const ended = { ...everything, url: 'https://ended.example.com/h', events: ['chat.ended' as const] };

const settingsOf = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  retryMs: 24 * HOUR_MS,
  firstRetryMs: 1000,
  timeoutMs: 10_000,
  concurrency: 4,
  outboxMax: 100,
  ...over,
});

const counted = (outcome: string) => registryTotal('genesys_bff_webhook_events_total', { outcome });

function eventsOn(
  options: { store?: MemoryStore; endpoints?: (typeof everything)[]; settings?: Partial<WebhookSettings> } = {},
) {
  const clock = { at: START };
  const now = () => clock.at;
  const store = options.store ?? new MemoryStore(1000, now);
  const log = captureLogger('debug');
  let queued = 0;
  const events = new ChatEvents({
    deployment: 'shop',
    endpoints: options.endpoints ?? [everything],
    store,
    settings: settingsOf(options.settings),
    logger: log.logger,
    queued: () => void queued++,
    now,
  });
  const queue = store.queue(OUTBOX);
  /** What the outbox holds, due by `at` (read without moving anything). */
  const outbox = async (at = clock.at) =>
    (await queue.lease(at, 0, 100)).map((e) => ({ id: e.id, entry: JSON.parse(e.value) as OutboxEntry }));
  const tell = (type: WebhookEventType, guestToken: string, key: string, more: { at?: number } = {}) =>
    events.publish({ type, guestToken, key, data: { text: `${type} ${key}` }, ...more });
  return { clock, store, log, events, queue, outbox, tell, queuedTold: () => queued };
}

test('an event is written once for each endpoint that wants it, as the courier will send it', async () => {
  const h = eventsOn({ endpoints: [everything, received, ended] });
  await h.tell('message.received', 'guest-a', 'genesys-message-1', { at: START - 1500 });
  const body = {
    type: 'message.received',
    timestamp: new Date(START - 1500).toISOString(),
    deployment: 'shop',
    chat: { id: chatIdOf('guest-a'), sequence: 1 },
    data: { text: 'message.received genesys-message-1' },
  };
  // Due at once, not before.
  expect(await h.outbox(START - 1)).toEqual([]);
  const written = await h.outbox();
  expect(written.map((w) => w.entry.endpoint).sort()).toEqual([endpointKey(everything), endpointKey(received)].sort());
  // One webhook-id for the event, whichever endpoint it goes to; each entry under its own id.
  const msgId = written[0]!.entry.msgId;
  expect(msgId).toMatch(/^msg_[\w-]{27}$/);
  for (const { id, entry } of written) {
    expect(id).toBe(entryId(msgId, entry.endpoint));
    expect(entry).toEqual({
      endpoint: entry.endpoint,
      msgId,
      body: expect.any(String),
      type: 'message.received',
      firstAt: START,
      attempts: 0,
    });
    expect(JSON.parse(entry.body)).toEqual(body);
  }
});

test('an event told without a time happened now', async () => {
  const h = eventsOn();
  await h.tell('chat.started', 'guest-a', 'chat');
  const [written] = await h.outbox();
  expect(JSON.parse(written!.entry.body).timestamp).toBe(new Date(START).toISOString());
});

test('a deployment that tells no courier still queues its events', async () => {
  const store = new MemoryStore();
  const log = captureLogger('debug');
  const events = new ChatEvents({
    deployment: 'shop',
    endpoints: [everything],
    store,
    settings: settingsOf(),
    logger: log.logger,
  });
  await events.publish({ type: 'chat.started', guestToken: 'guest-a', key: 'chat', data: {} });
  expect(await store.queue(OUTBOX).depth()).toEqual({ queued: 1, dead: 0 });
  expect(log.lines().map((l) => l.msg)).toEqual(['webhook event queued']);
});

test('an event no endpoint wants is not written, and takes no number in its chat', async () => {
  const h = eventsOn({ endpoints: [received, ended] });
  expect(h.events.wants('chat.started')).toBe(false);
  expect(h.events.wants('chat.ended')).toBe(true);
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(await h.queue.depth()).toEqual({ queued: 0, dead: 0 });
  expect(h.queuedTold()).toBe(0);
  await h.tell('chat.ended', 'guest-a', 'chat');
  const [written] = await h.outbox();
  expect(JSON.parse(written!.entry.body).chat.sequence).toBe(1);
});

test('each chat numbers its events from 1; a chat quiet for 96 hours starts again', async () => {
  const h = eventsOn();
  const sequences = async () =>
    (await h.outbox(Infinity))
      .map(({ entry }) => JSON.parse(entry.body) as { chat: { id: string; sequence: number }; data: { text: string } })
      .map((b) => `${b.chat.id === chatIdOf('guest-a') ? 'a' : 'b'} ${b.data.text} #${b.chat.sequence}`)
      .sort();
  await h.tell('chat.started', 'guest-a', 'chat');
  await h.tell('chat.started', 'guest-b', 'chat');
  await h.tell('message.received', 'guest-a', 'm1');
  h.clock.at = START + 96 * HOUR_MS - 1;
  await h.tell('message.received', 'guest-a', 'm2');
  h.clock.at = START + 96 * HOUR_MS;
  await h.tell('message.received', 'guest-b', 'm3');
  // 96 hours after its last event, less a millisecond: guest-a's count goes on.
  h.clock.at = START + 2 * 96 * HOUR_MS - 2;
  await h.tell('chat.ended', 'guest-a', 'chat');
  expect(await sequences()).toEqual([
    'a chat.ended chat #4',
    'a chat.started chat #1',
    'a message.received m1 #2',
    'a message.received m2 #3',
    'b chat.started chat #1',
    'b message.received m3 #1',
  ]);
});

test('queued: counted, said, and the courier told; the same event again is a duplicate, and nothing more', async () => {
  const h = eventsOn();
  const [queued, duplicate] = [await counted('queued'), await counted('duplicate')];
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(h.queuedTold()).toBe(1);
  expect(await counted('queued')).toBe(queued + 1);
  const msgId = (await h.outbox())[0]!.entry.msgId;
  expect(h.log.lines().filter((l) => l.msg === 'webhook event queued')).toEqual([
    expect.objectContaining({ webhookId: msgId, webhookEvent: 'chat.started', level: 20 }),
  ]);
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(await counted('duplicate')).toBe(duplicate + 1);
  expect(await counted('queued')).toBe(queued + 1);
  expect(h.queuedTold()).toBe(1);
  expect(h.log.lines().filter((l) => l.msg === 'webhook event queued')).toHaveLength(1);
});

test('an event is remembered as queued for WEBHOOK_RETRY_HOURS and 96 hours: told again after that, it is new', async () => {
  const h = eventsOn({ settings: { retryMs: 2 * HOUR_MS } });
  const duplicate = await counted('duplicate');
  await h.tell('chat.started', 'guest-a', 'chat');
  h.clock.at = START + 98 * HOUR_MS - 1;
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(await counted('duplicate')).toBe(duplicate + 1);
  expect(h.queuedTold()).toBe(1);
  h.clock.at = START + 98 * HOUR_MS;
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(await counted('duplicate')).toBe(duplicate + 1);
  expect(h.queuedTold()).toBe(2);
});

test('past WEBHOOK_OUTBOX_MAX entries an event is dropped, counted and said with the ceiling', async () => {
  const h = eventsOn({ endpoints: [everything, received], settings: { outboxMax: 3 } });
  const full = await counted('outbox_full');
  await h.tell('message.received', 'guest-a', 'm1');
  // Two more entries would make four.
  await h.tell('message.received', 'guest-a', 'm2');
  expect(await counted('outbox_full')).toBe(full + 1);
  expect(h.queuedTold()).toBe(1);
  expect(h.log.lines().find((l) => /outbox is full/.test(l.msg))).toMatchObject({
    outboxMax: 3,
    webhookEvent: 'message.received',
    level: 50,
  });
  // One entry more still fits.
  await h.tell('chat.started', 'guest-a', 'chat');
  expect(await h.queue.depth()).toEqual({ queued: 3, dead: 0 });
});

test('while the store is slow, as many events wait for it as the outbox holds; the next is dropped at once', async () => {
  const answer = deferred<void>();
  class Slow extends MemoryStore {
    override async increment(key: string, ttlMs: number): Promise<number> {
      await answer.promise;
      return super.increment(key, ttlMs);
    }
  }
  const h = eventsOn({ store: new Slow(), settings: { outboxMax: 2 } });
  const failed = await counted('store_failed');
  const waiting = [h.tell('chat.started', 'guest-a', 'chat'), h.tell('chat.started', 'guest-b', 'chat')];
  await h.tell('chat.started', 'guest-c', 'chat');
  expect(await counted('store_failed')).toBe(failed + 1);
  expect(h.log.lines().find((l) => /as many wait for the shared store/.test(l.msg))).toMatchObject({
    webhookEvent: 'chat.started',
    waiting: 2,
    level: 50,
  });
  answer.resolve();
  await Promise.all(waiting);
  expect(h.queuedTold()).toBe(2);
  // Those two are queued, and delivered: room in the outbox, and to wait again.
  for (const { id } of await h.outbox()) await h.queue.remove(id);
  await h.tell('chat.started', 'guest-d', 'chat');
  expect(h.queuedTold()).toBe(3);
  expect(await counted('store_failed')).toBe(failed + 1);
});

/** A store whose increment never answers (it throws `thrown`); each try's time on the faked clock is kept in `tries`. */
function away(thrown: unknown) {
  const tries: number[] = [];
  class Away extends MemoryStore {
    override async increment(): Promise<number> {
      tries.push(Date.now() - START);
      throw thrown;
    }
  }
  return { tries, store: new Away() };
}

/** Tells one chat start; answers whether the publish has settled (queued or dropped). */
function told(events: ChatEvents): () => boolean {
  let settled = false;
  void events.publish({ type: 'chat.started', guestToken: 'guest-a', key: 'chat', data: {} }).then(() => {
    settled = true;
  });
  return () => settled;
}

describe('on a clock the test moves', () => {
  beforeEach(() => jest.useFakeTimers({ now: START }));
  afterEach(() => jest.useRealTimers());

  test('a store that does not answer is tried at 0.2, 0.6, 1.4, 3 and 6.2 s, then every 5 s; the last try within 60 s drops the event', async () => {
    const { tries, store } = away('ECONNREFUSED');
    const log = captureLogger('debug');
    const events = new ChatEvents({
      deployment: 'shop',
      endpoints: [everything],
      store,
      settings: settingsOf(),
      logger: log.logger,
    });
    const failed = await counted('store_failed');
    const settled = told(events);
    await jest.advanceTimersByTimeAsync(56_200 - 1);
    expect(settled()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(settled()).toBe(true);
    const every5s = Array.from({ length: 11 }, (_, n) => 6200 + 5000 * n);
    expect(tries).toEqual([0, 200, 600, 1400, 3000, ...every5s]);
    expect(await counted('store_failed')).toBe(failed + 1);
    expect(log.lines().filter((l) => l.msg === 'webhook event waits for the shared store')).toEqual([
      expect.objectContaining({ storeError: 'ECONNREFUSED', level: 40 }),
    ]);
    expect(log.lines().filter((l) => /could not be queued/.test(l.msg))).toEqual([
      expect.objectContaining({
        msg: 'webhook event could not be queued for 60 s (shared store unavailable): dropped',
        storeError: 'ECONNREFUSED',
        webhookEvent: 'chat.started',
        level: 50,
      }),
    ]);
  });

  test('a wait that ends exactly at 60 s is still waited: the event is dropped only once the next would end past it', async () => {
    const { tries, store } = away(new Error('Redis is restarting'));
    // From the sixth try (6.2 s on the timers) the service's clock reads 55 s: its 5 s wait ends at 60 s exactly.
    const now = () => Date.now() + (tries.length >= 6 ? 55_000 - 6200 : 0);
    const log = captureLogger('debug');
    const events = new ChatEvents({
      deployment: 'shop',
      endpoints: [everything],
      store,
      settings: settingsOf(),
      logger: log.logger,
      now,
    });
    const settled = told(events);
    await jest.advanceTimersByTimeAsync(11_200 - 1);
    expect(settled()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(settled()).toBe(true);
    expect(tries).toEqual([0, 200, 600, 1400, 3000, 6200, 11_200]);
    expect(log.lines().find((l) => /could not be queued/.test(l.msg))).toMatchObject({
      storeError: 'Redis is restarting',
    });
  });

  test("a chat's events wait behind its first while the store is away, and keep their order; another chat's do not wait", async () => {
    let refusals = 1;
    class Restarting extends MemoryStore {
      override async increment(key: string, ttlMs: number): Promise<number> {
        if (key.includes(chatIdOf('guest-a')) && refusals-- > 0) throw new Error('Redis is restarting');
        return super.increment(key, ttlMs);
      }
    }
    const store = new Restarting(1000, () => Date.now());
    const h = eventsOn({ store });
    const told = [
      h.tell('chat.started', 'guest-a', 'chat'),
      h.tell('message.received', 'guest-a', 'm1'),
      h.tell('chat.started', 'guest-b', 'chat'),
    ];
    await jest.advanceTimersByTimeAsync(0);
    const bodies = async () =>
      (await h.outbox(Infinity)).map(
        ({ entry }) => JSON.parse(entry.body) as { type: string; chat: { id: string; sequence: number } },
      );
    expect((await bodies()).map((b) => b.chat.id)).toEqual([chatIdOf('guest-b')]);
    await jest.advanceTimersByTimeAsync(200);
    await Promise.all(told);
    const a = (await bodies()).filter((b) => b.chat.id === chatIdOf('guest-a'));
    expect(a.map((b) => [b.type, b.chat.sequence]).sort()).toEqual([
      ['chat.started', 1],
      ['message.received', 2],
    ]);
    expect(h.log.lines().find((l) => l.msg === 'webhook event waits for the shared store')).toMatchObject({
      storeError: 'Redis is restarting',
    });
  });

  test("an event told while the chat's earlier ones still wait is queued after them, however many have settled", async () => {
    // guest-a's first try and third try are refused: its first event waits, then its second.
    let tries = 0;
    class Flaky extends MemoryStore {
      override async increment(key: string, ttlMs: number): Promise<number> {
        tries++;
        if (tries === 1 || tries === 3) throw new Error('Redis is restarting');
        return super.increment(key, ttlMs);
      }
    }
    const h = eventsOn({ store: new Flaky(1000, () => Date.now()) });
    const told = [h.tell('message.received', 'guest-a', 'm1'), h.tell('message.received', 'guest-a', 'm2')];
    await jest.advanceTimersByTimeAsync(200);
    // m1 is queued, m2 waits for its second try: m3 goes behind m2.
    told.push(h.tell('message.received', 'guest-a', 'm3'));
    await jest.advanceTimersByTimeAsync(200);
    await Promise.all(told);
    const sequences = (await h.outbox(Infinity))
      .map(({ entry }) => JSON.parse(entry.body) as { data: { text: string }; chat: { sequence: number } })
      .map((b) => [b.data.text, b.chat.sequence])
      .sort();
    expect(sequences).toEqual([
      ['message.received m1', 1],
      ['message.received m2', 2],
      ['message.received m3', 3],
    ]);
    // Once a chat's events are queued, nothing of the chat is held: the instance holds no chain per chat it saw.
    expect((h.events as unknown as { chains: Map<string, unknown> }).chains.size).toBe(0);
  });
});
