import type { WebhookSettings } from '../../src/config/schema';
import { AppError } from '../../src/domain/errors';
import { registry } from '../../src/observability/metrics';
import { MemoryStore } from '../../src/store';
import { buildWebhooks } from '../../src/webhooks';
import { captureLogger } from '../support/app';
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

async function counted(name: string, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.filter((v) => v.labels.outcome === outcome).reduce((s, v) => s + v.value, 0);
}

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
