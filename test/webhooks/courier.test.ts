import { loadConfig, type WebhookSettings } from '../../src/config/schema';
import { AppError } from '../../src/domain/errors';
import { MemoryStore } from '../../src/store';
import { buildWebhooks, ChatEvents } from '../../src/webhooks';
import { OUTBOX } from '../../src/webhooks/chatEvents';
import { Courier } from '../../src/webhooks/courier';
import { registryTotal } from '../support/metrics';
import { captureLogger, testEnv } from '../support/app';
import { waitFor } from '../support/wait';
import { WEBHOOK_SECRET } from '../support/webhookReceiver';

/**
 * The courier's bounds (src/webhooks/courier.ts): the retry window ends in the dead-letter list, each retry waits
 * within its exponential ceiling, a delivery is cut off at its timeout, at most WEBHOOK_CONCURRENCY run at once, and
 * the outbox refuses events past its ceiling. Deliveries go to a stand-in fetch.
 */

const settings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  retryMs: 60_000,
  firstRetryMs: 20,
  timeoutMs: 1000,
  concurrency: 4,
  outboxMax: 100,
  ...over,
});
const endpoint = { url: 'https://hooks.example.com/h', secret: WEBHOOK_SECRET };
const event = (n: number) => ({ type: 'chat.started' as const, guestToken: `guest-${n}`, key: 'chat', data: {} });

const counted = (name: string, outcome: string) => registryTotal(name, { outcome });

function setUp(over: Partial<WebhookSettings>, fetch: typeof globalThis.fetch, random?: () => number) {
  const log = captureLogger('debug');
  const store = new MemoryStore();
  const hooks = buildWebhooks({ name: 'default', webhooks: [endpoint] }, store, settings(over), log.logger, {
    fetch,
    random,
  });
  hooks.start();
  return { hooks, log, store };
}

const answering = (status: number) => (async () => new Response(null, { status })) as typeof fetch;

test('an event failing past the retry window is a dead letter, with its attempts and last error', async () => {
  const { hooks } = setUp({ retryMs: 200 }, answering(500));
  await hooks.events.publish(event(1));
  await waitFor(async () => (await hooks.deadLetters.list()).length === 1);
  const [dead] = await hooks.deadLetters.list();
  expect(dead).toMatchObject({ type: 'chat.started', reason: 'retry_window', lastError: 'status 500' });
  expect(dead!.attempts).toBeGreaterThan(1);
  hooks.close();
});

test('each retry waits at most its exponential ceiling (full jitter at its top)', async () => {
  const { hooks, log } = setUp({ firstRetryMs: 10, retryMs: 60_000 }, answering(503), () => 0.999999);
  await hooks.events.publish(event(2));
  await waitFor(() => log.lines().filter((l) => l.msg === 'webhook delivery failed').length >= 4);
  hooks.close();
  const waits = log
    .lines()
    .filter((l) => l.msg === 'webhook delivery failed')
    .map((l) => l.retryInMs as number);
  waits.slice(0, 4).forEach((wait, n) => {
    expect(wait).toBeLessThanOrEqual(10 * 2 ** n);
    expect(wait).toBeGreaterThanOrEqual(10 * 2 ** n - 1);
  });
});

test("the courier's lines name it", async () => {
  const { hooks, log } = setUp({ retryMs: 60_000 }, answering(500));
  await hooks.events.publish(event(4));
  await waitFor(() => log.lines().some((l) => l.msg === 'webhook delivery failed'));
  hooks.close();
  expect(log.lines().find((l) => l.msg === 'webhook delivery failed')).toMatchObject({ component: 'webhooks' });
});

describe('on a clock the test moves', () => {
  // With a first retry of a minute the outbox is looked at once a second when nothing nudges it: what happens
  // within a few milliseconds of a publish is the nudge's doing.
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('an event is delivered as soon as it is queued, not at the next look at the outbox', async () => {
    const sent: string[] = [];
    const recording = (async (_url: string, init: RequestInit) => {
      sent.push(String(init.body));
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    const { hooks } = setUp({ firstRetryMs: 60_000 }, recording);
    await jest.advanceTimersByTimeAsync(5);
    await hooks.events.publish(event(5));
    await jest.advanceTimersByTimeAsync(5);
    expect(sent).toHaveLength(1);
    hooks.close();
  });

  test('once closed, nothing queued is delivered any more', async () => {
    let sent = 0;
    const counting = (async () => (sent++, new Response(null, { status: 204 }))) as typeof fetch;
    const { hooks } = setUp({ firstRetryMs: 60_000 }, counting);
    await jest.advanceTimersByTimeAsync(5);
    hooks.close();
    await hooks.events.publish(event(6));
    await jest.advanceTimersByTimeAsync(10_000);
    expect(sent).toBe(0);
  });
});

test('a delivery is cut off at the timeout and counted failed', async () => {
  const hanging = ((_url: string, init: RequestInit) =>
    new Promise((_resolve, reject) =>
      init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
    )) as unknown as typeof fetch;
  const { hooks, log } = setUp({ timeoutMs: 100 }, hanging);
  await hooks.events.publish(event(3));
  await waitFor(() => log.lines().some((l) => l.msg === 'webhook delivery failed' && l.lastError === 'timeout'));
  hooks.close();
});

test('at most WEBHOOK_CONCURRENCY deliveries run at once', async () => {
  let running = 0;
  let most = 0;
  const release: Array<() => void> = [];
  const slow = (async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((r) => release.push(r));
    running--;
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  const { hooks } = setUp({ concurrency: 3 }, slow);
  for (let n = 0; n < 8; n++) await hooks.events.publish(event(10 + n));
  await waitFor(() => release.length === 3);
  expect(running).toBe(3);
  for (let round = 0; round < 8 && release.length > 0; round++) {
    release.splice(0).forEach((r) => r());
    await waitFor(() => release.length > 0 || running === 0);
  }
  await waitFor(() => running === 0 && release.length === 0);
  expect(most).toBe(3);
  hooks.close();
});

test('past WEBHOOK_OUTBOX_MAX an event is dropped, logged and counted', async () => {
  const never = (() => new Promise(() => undefined)) as unknown as typeof fetch;
  const { hooks, log } = setUp({ outboxMax: 2, concurrency: 1 }, never);
  const full = await counted('genesys_bff_webhook_events_total', 'outbox_full');
  for (let n = 0; n < 3; n++) await hooks.events.publish(event(20 + n));
  expect(await counted('genesys_bff_webhook_events_total', 'outbox_full')).toBe(full + 1);
  expect(log.lines().some((l) => /outbox is full/.test(String(l.msg)))).toBe(true);
  hooks.close();
});

test('the same event told twice (two tabs, two instances) is queued once', async () => {
  const { hooks } = setUp({}, answering(204));
  const duplicates = await counted('genesys_bff_webhook_events_total', 'duplicate');
  await Promise.all([hooks.events.publish(event(30)), hooks.events.publish(event(30))]);
  expect(await counted('genesys_bff_webhook_events_total', 'duplicate')).toBe(duplicates + 1);
  hooks.close();
});

test('events left for an endpoint no longer configured go to the dead-letter list', async () => {
  const log = captureLogger('debug');
  const store = new MemoryStore();
  const never = (() => new Promise(() => undefined)) as unknown as typeof fetch;
  const before = buildWebhooks({ name: 'default', webhooks: [endpoint] }, store, settings(), log.logger, {
    fetch: never,
  });
  await before.events.publish(event(40));
  // Rebuilt by a reload without the endpoint, before anything was delivered.
  const after = buildWebhooks({ name: 'default', webhooks: [] }, store, settings(), log.logger, { fetch: never });
  after.start();
  await waitFor(async () => (await after.deadLetters.list()).length === 1);
  expect((await after.deadLetters.list())[0]).toMatchObject({ type: 'chat.started', reason: 'endpoint_removed' });
  after.close();
});

test('an event told while the shared store does not answer waits for it, then is queued and delivered', async () => {
  let refusals = 2;
  class Restarting extends MemoryStore {
    override async increment(key: string, ttlMs: number): Promise<number> {
      if (refusals-- > 0) throw new AppError('store_unavailable', 'Redis is restarting');
      return super.increment(key, ttlMs);
    }
  }
  const delivered: string[] = [];
  const fetch = (async (_url: string, init: RequestInit) => {
    delivered.push(JSON.parse(String(init.body)).type);
    return new Response(null, { status: 204 });
  }) as unknown as typeof globalThis.fetch;
  const log = captureLogger('debug');
  const hooks = buildWebhooks({ name: 'default', webhooks: [endpoint] }, new Restarting(), settings(), log.logger, {
    fetch,
  });
  hooks.start();
  const dropped = await counted('genesys_bff_webhook_events_total', 'store_failed');
  await hooks.events.publish(event(50));
  await waitFor(() => delivered.length === 1);
  expect(delivered).toEqual(['chat.started']);
  expect(await counted('genesys_bff_webhook_events_total', 'store_failed')).toBe(dropped);
  expect(log.lines().some((l) => l.msg === 'webhook event waits for the shared store')).toBe(true);
  hooks.close();
});

test('a receiver refusing connections for 2 minutes, with the default backoff: each event arrives once after', async () => {
  // The settings a deployment gets when it sets none of WEBHOOK_RETRY_*: a 24 h window, 5 s before the first retry.
  const defaults = loadConfig(testEnv()).process.webhooks;
  expect([defaults.retryMs, defaults.firstRetryMs]).toEqual([24 * 3600_000, 5000]);
  // The courier's clock, moved on by the test from one due retry to the next: 2 minutes pass in no time.
  const start = Date.UTC(2026, 10, 27, 12);
  let clock = start;
  const upAt = start + 120_000;
  const calls: Array<{ id: string; at: number }> = [];
  const arrived: Array<{ id: string; at: number }> = [];
  const receiver = (async (_url: string, init: RequestInit) => {
    const id = (init.headers as Record<string, string>)['webhook-id']!;
    calls.push({ id, at: clock });
    if (clock < upAt) {
      // What undici's fetch throws when nothing listens on the port.
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    }
    arrived.push({ id, at: clock });
    return new Response(null, { status: 204 });
  }) as unknown as typeof globalThis.fetch;
  const log = captureLogger('debug');
  const store = new MemoryStore();
  const now = () => clock;
  // Full jitter at the top of each window: the longest waits the default backoff can make.
  const courier = new Courier({
    endpoints: [endpoint],
    store,
    settings: defaults,
    logger: log.logger,
    now,
    random: () => 0.999999,
    fetch: receiver,
  });
  const events = new ChatEvents({
    deployment: 'default',
    endpoints: [endpoint],
    store,
    settings: defaults,
    logger: log.logger,
    queued: () => courier.nudge(),
    now,
  });
  courier.start();
  for (let n = 0; n < 5; n++) await events.publish(event(60 + n));

  const failures = () => log.lines().filter((l) => l.msg === 'webhook delivery failed');
  const settled = () => failures().length + arrived.length;
  const ids = new Set<string>();
  for (let step = 0; step < 100; step++) {
    // Every attempt made so far has settled: each event is delivered or waits for its next retry.
    await waitFor(() => calls.length >= 5 && calls.length === settled());
    calls.forEach((c) => ids.add(c.id));
    const waiting = [...ids].filter((id) => !arrived.some((a) => a.id === id));
    if (waiting.length === 0) break;
    // The next retry due: when its last attempt failed, and the wait it was given.
    const dueAt = Math.min(
      ...waiting.map((id) => {
        const last = failures()
          .filter((l) => l.webhookId === id)
          .at(-1)!;
        return calls.filter((c) => c.id === id).at(-1)!.at + (last.retryInMs as number);
      }),
    );
    const before = calls.length;
    clock = dueAt;
    courier.nudge();
    await waitFor(() => calls.length > before);
  }
  courier.close();

  expect(ids.size).toBe(5);
  // Each event: refused at each backoff step of the 2 minutes (at 0, 5, 15, 35 and 75 s), then delivered once.
  for (const id of ids) {
    const refused = calls.filter((c) => c.id === id && c.at < upAt).map((c) => (c.at - start) / 1000);
    expect(refused).toEqual([0, 5, 15, 35, 75].map((s) => expect.closeTo(s, 0)));
    expect(arrived.filter((a) => a.id === id)).toHaveLength(1);
  }
  expect(arrived).toHaveLength(5);
  // The next retry after the receiver is back comes within another outage's length: nothing waits for hours.
  expect(Math.max(...arrived.map((a) => a.at)) - start).toBeLessThanOrEqual(2 * 120_000 + defaults.firstRetryMs);
  expect(failures().every((l) => l.lastError === 'ECONNREFUSED')).toBe(true);
  expect(await store.queue(OUTBOX).depth()).toEqual({ queued: 0, dead: 0 });
});
