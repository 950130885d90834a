import { Webhook } from 'standardwebhooks';
import type { WebhookSettings } from '../../src/config/schema';
import { inDeployment } from '../../src/observability/deploymentContext';
import { MemoryStore, type DurableQueue } from '../../src/store';
import { OUTBOX } from '../../src/webhooks/chatEvents';
import { Courier, disabledKey } from '../../src/webhooks/courier';
import { endpointKey, entryId, type OutboxEntry } from '../../src/webhooks/outboxEntry';
import { registryTotal } from '../support/metrics';
import { captureLogger } from '../support/app';
import { waitFor } from '../support/wait';
import { WEBHOOK_SECRET } from '../support/webhookReceiver';

/**
 * What the courier (src/webhooks/courier.ts) does with each entry of the outbox and each answer: the request it
 * makes, what a 2xx, a 410, any other status or no answer at all leaves in the outbox and the dead-letter list, how
 * long a retry waits, how long a lease and a disabled endpoint last, and how often the outbox is looked at. Entries
 * are put in the outbox by hand, so each case chooses the attempts and times it starts from; the courier's clock
 * (and the store's) is the test's, and deliveries go to a stand-in fetch.
 */

const DAY_MS = 24 * 3600_000;
const endpoint = { url: 'https://hooks.example.com/h', secret: WEBHOOK_SECRET };
const KEY = endpointKey(endpoint);

const settingsOf = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({
  retryMs: DAY_MS,
  firstRetryMs: 1000,
  timeoutMs: 60_000,
  concurrency: 4,
  outboxMax: 100,
  ...over,
});

/** The store's queues, each call of `lease` counted (a round of the courier leases once). */
class CountingStore extends MemoryStore {
  leases = 0;
  /** Methods of the queue that throw instead, while their count lasts. */
  readonly failing: Partial<Record<keyof DurableQueue, number>> = {};
  /** What they throw: an Error naming the method by default. */
  thrown?: unknown;

  override queue(name: string): DurableQueue {
    const queue = super.queue(name);
    return new Proxy(queue, {
      get: (target, property: keyof DurableQueue) => {
        const method = Reflect.get(target, property) as (...args: unknown[]) => Promise<unknown>;
        return async (...args: unknown[]) => {
          try {
            if ((this.failing[property] ?? 0) > 0) {
              this.failing[property]!--;
              throw this.thrown ?? new Error(`store refused ${property}`);
            }
            return await method.apply(target, args);
          } finally {
            if (property === 'lease') this.leases++;
          }
        };
      },
    });
  }
}

type Answer = (call: number) => Response | Promise<Response>;

function courierOn(
  options: {
    settings?: Partial<WebhookSettings>;
    answer?: Answer;
    random?: () => number;
    endpoints?: (typeof endpoint)[];
    startAt?: number;
  } = {},
) {
  const clock = { at: options.startAt ?? Date.UTC(2026, 10, 30, 12) };
  const now = () => clock.at;
  const store = new CountingStore(1000, now);
  const log = captureLogger('debug');
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const answer = options.answer ?? (() => new Response(null, { status: 204 }));
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return answer(calls.length);
  }) as unknown as typeof globalThis.fetch;
  const courier = new Courier({
    endpoints: options.endpoints ?? [endpoint],
    store,
    settings: settingsOf(options.settings),
    logger: log.logger,
    now,
    random: options.random ?? (() => 0.5),
    fetch,
  });
  const queue = store.queue(OUTBOX);
  let entries = 0;
  /** Puts an entry in the outbox, due now. */
  const put = async (over: Partial<OutboxEntry> = {}): Promise<OutboxEntry> => {
    entries++;
    const entry: OutboxEntry = {
      endpoint: KEY,
      msgId: `msg_${entries}`,
      body: JSON.stringify({ type: 'chat.started', n: entries }),
      type: 'chat.started',
      firstAt: clock.at,
      attempts: 0,
      ...over,
    };
    const id = entryId(entry.msgId, entry.endpoint);
    await queue.add([{ id, value: JSON.stringify(entry) }], {
      dueAt: clock.at,
      max: 1000,
      onceKey: id,
      onceMs: 1,
    });
    return entry;
  };
  const SETTLED = ['webhook delivered', 'webhook delivery failed', 'webhook event moved to the dead-letter list'];
  const settledCount = () => log.lines().filter((l) => SETTLED.includes(l.msg)).length;
  /** Delivers what is due now, and waits until `count` more entries have settled. */
  const settle = async (count = 1) => {
    const before = settledCount();
    courier.nudge();
    await waitFor(() => settledCount() >= before + count);
  };
  /** Waits for one whole round to begin and end from now. */
  const aRound = async () => {
    const before = store.leases;
    courier.nudge();
    await waitFor(() => store.leases > before);
    // The round's lease has answered; what it leased starts at once (calls are counted as they begin).
    await new Promise((resolve) => setImmediate(resolve));
  };
  const dead = async () => (await queue.dead(100)).map((d) => JSON.parse(d.value) as OutboxEntry);
  /** The entries queued and due by `at`, read without disturbing them (a lease of nothing is no lease). */
  const dueBy = async (at: number) => {
    const leased = await queue.lease(at, 0, 100);
    return leased.map((e) => JSON.parse(e.value) as OutboxEntry);
  };
  courier.start();
  return { clock, store, log, calls, courier, queue, put, settle, aRound, dead, dueBy };
}

type Harness = ReturnType<typeof courierOn>;
let open: Harness[] = [];
const harness = (...args: Parameters<typeof courierOn>) => {
  const h = courierOn(...args);
  open.push(h);
  return h;
};
afterEach(() => {
  open.forEach((h) => h.courier.close());
  open = [];
});

const counted = (name: string, outcome: string) => registryTotal(name, { outcome });

test('a delivery is one POST of the body as queued, signed per Standard Webhooks for its id and time, following no redirect', async () => {
  // Standard Webhooks refuses a timestamp five minutes off: the courier's clock is the wall clock here, at the last
  // millisecond of a second (the header counts whole seconds, so it is that second's).
  const second = Math.floor(Date.now() / 1000);
  const h = harness({ startAt: second * 1000 + 999 });
  const entry = await h.put();
  await h.settle();
  expect(h.calls).toHaveLength(1);
  const { url, init } = h.calls[0]!;
  expect(url).toBe(endpoint.url);
  expect(init).toMatchObject({ method: 'POST', body: entry.body, redirect: 'manual' });
  expect(init.signal).toBeInstanceOf(AbortSignal);
  const headers = init.headers as Record<string, string>;
  expect(headers).toEqual({
    'content-type': 'application/json',
    'user-agent': 'genesys-messaging-bff-webhooks',
    'webhook-id': entry.msgId,
    'webhook-timestamp': String(second),
    'webhook-signature': expect.stringMatching(/^v1,/),
  });
  expect(new Webhook(WEBHOOK_SECRET).verify(entry.body, headers)).toEqual(JSON.parse(entry.body));
  // Signed for that id: the same signature does not hold for another.
  expect(() => new Webhook(WEBHOOK_SECRET).verify(entry.body, { ...headers, 'webhook-id': 'msg_other' })).toThrow();
});

test.each([200, 204, 299])(
  'a %i delivers: the entry leaves the outbox, counted and logged with its attempts',
  async (status) => {
    const h = harness({ answer: () => new Response(null, { status }) });
    const delivered = await counted('genesys_bff_webhook_deliveries_total', 'delivered');
    const entry = await h.put({ attempts: 2 });
    await h.settle();
    expect(await h.queue.depth()).toEqual({ queued: 0, dead: 0 });
    expect(await counted('genesys_bff_webhook_deliveries_total', 'delivered')).toBe(delivered + 1);
    expect(h.log.lines().find((l) => l.msg === 'webhook delivered')).toMatchObject({
      webhookId: entry.msgId,
      webhookEvent: 'chat.started',
      endpoint: KEY,
      status,
      attempts: 3,
    });
  },
);

test('what answers is not read past what has arrived: its body is cancelled, and a body that will not cancel is no failure', async () => {
  let cancelled = 0;
  const answers = [
    new Response(new ReadableStream({ cancel: () => void cancelled++ }), { status: 200 }),
    new Response(
      new ReadableStream({
        cancel: () => {
          throw new Error('will not cancel');
        },
      }),
      { status: 200 },
    ),
  ];
  const h = harness({ answer: (n) => answers[n - 1]! });
  await h.put();
  await h.put();
  await h.settle(2);
  expect(cancelled).toBe(1);
  expect(h.log.lines().filter((l) => l.msg === 'webhook delivered')).toHaveLength(2);
  expect(await h.queue.depth()).toEqual({ queued: 0, dead: 0 });
});

test.each([300, 302, 400, 500])(
  'a %i is a failure: retried later, with the status as its last error',
  async (status) => {
    const h = harness({ answer: () => new Response(null, { status }) });
    const failed = await counted('genesys_bff_webhook_deliveries_total', 'failed');
    const entry = await h.put();
    await h.settle();
    expect(await counted('genesys_bff_webhook_deliveries_total', 'failed')).toBe(failed + 1);
    expect(await h.dead()).toEqual([]);
    expect(await h.dueBy(h.clock.at + DAY_MS)).toEqual([{ ...entry, attempts: 1, lastError: `status ${status}` }]);
  },
);

test.each([
  { attempts: 0, random: 0.5, waits: 500 },
  { attempts: 0, random: 0.999, waits: 999 },
  { attempts: 3, random: 0.5, waits: 4000 },
  // 2^12 s is past an hour: the ceiling is the hour.
  { attempts: 12, random: 0.5, waits: 1_800_000 },
  { attempts: 40, random: 0.999, waits: 3_596_400 },
])(
  'after $attempts failed attempts, a failure waits a share ($random) of WEBHOOK_RETRY_FIRST_MS doubled each time, at most an hour: $waits ms',
  async ({ attempts, random, waits }) => {
    const h = harness({ answer: () => new Response(null, { status: 503 }), random: () => random });
    const entry = await h.put({ attempts });
    await h.settle();
    const failure = h.log.lines().find((l) => l.msg === 'webhook delivery failed');
    expect(failure).toMatchObject({ webhookId: entry.msgId, retryInMs: waits, attempts: attempts + 1 });
    // Due again exactly then, not a millisecond before.
    expect(await h.dueBy(h.clock.at + waits - 1)).toEqual([]);
    expect(await h.dueBy(h.clock.at + waits)).toEqual([{ ...entry, attempts: attempts + 1, lastError: 'status 503' }]);
  },
);

test('a retry never falls past the end of its window: the last one comes at its end', async () => {
  const h = harness({ answer: () => new Response(null, { status: 503 }), random: () => 0.999 });
  const entry = await h.put({ attempts: 5, firstAt: Date.UTC(2026, 10, 30, 12) - DAY_MS + 1500 });
  await h.settle();
  expect(h.log.lines().find((l) => l.msg === 'webhook delivery failed')).toMatchObject({ retryInMs: 1500 });
  expect(await h.dueBy(h.clock.at + 1499)).toEqual([]);
  expect(await h.dueBy(h.clock.at + 1500)).toEqual([{ ...entry, attempts: 6, lastError: 'status 503' }]);
});

test('a failure at the end of WEBHOOK_RETRY_HOURS is a dead letter; a millisecond before, it is tried once more', async () => {
  const h = harness({ answer: () => new Response(null, { status: 502 }) });
  const start = h.clock.at;
  const deadLettered = await counted('genesys_bff_webhook_deliveries_total', 'dead_lettered');
  const last = await h.put({ attempts: 9, firstAt: start - DAY_MS + 1 });
  await h.settle();
  expect(await h.dead()).toEqual([]);
  expect(await h.dueBy(start + 1)).toEqual([{ ...last, attempts: 10, lastError: 'status 502' }]);

  const ended = await h.put({ attempts: 9, firstAt: start - DAY_MS });
  await h.settle();
  expect(await h.dead()).toEqual([{ ...ended, attempts: 10, lastError: 'status 502', reason: 'retry_window' }]);
  expect(await counted('genesys_bff_webhook_deliveries_total', 'dead_lettered')).toBe(deadLettered + 1);
  expect(h.log.lines().find((l) => l.msg === 'webhook event moved to the dead-letter list')).toMatchObject({
    webhookId: ended.msgId,
    webhookEvent: 'chat.started',
    endpoint: KEY,
    reason: 'retry_window',
    lastError: 'status 502',
  });
});

test('a 410 disables the endpoint for 30 days: its events go to the dead-letter list, the later ones without a request', async () => {
  const h = harness({ answer: () => new Response(null, { status: 410 }) });
  const start = h.clock.at;
  const disabled = await counted('genesys_bff_webhook_deliveries_total', 'disabled');
  const gone = await h.put({ attempts: 1 });
  await h.settle();
  expect(await h.dead()).toEqual([{ ...gone, attempts: 2, lastError: 'status 410', reason: 'endpoint_disabled' }]);
  expect(await counted('genesys_bff_webhook_deliveries_total', 'disabled')).toBe(disabled + 1);
  expect(h.log.lines().find((l) => /answered 410 Gone/.test(l.msg))).toMatchObject({
    msg:
      'webhook endpoint answered 410 Gone: it is disabled, and its events go to the dead-letter list ' +
      '(replay them once it takes events again)',
    endpoint: KEY,
    level: 50,
  });
  expect(await h.store.get(disabledKey(KEY))).toBe(String(start));

  const later = await h.put();
  await h.settle();
  expect(h.calls).toHaveLength(1);
  expect((await h.dead()).at(-1)).toEqual({ ...later, reason: 'endpoint_disabled' });

  h.clock.at = start + 30 * DAY_MS - 1;
  await h.put();
  await h.settle();
  expect(h.calls).toHaveLength(1);
  // Thirty days on, the endpoint is asked again.
  h.clock.at = start + 30 * DAY_MS;
  await h.put();
  await h.settle();
  expect(h.calls).toHaveLength(2);
  expect(await h.store.get(disabledKey(KEY))).toBe(String(start + 30 * DAY_MS));
});

test('an entry it cannot read leaves the outbox untried; one for an endpoint no longer configured is a dead letter', async () => {
  const h = harness();
  await h.queue.add([{ id: 'written-by-another-version', value: 'not json' }], {
    dueAt: h.clock.at,
    max: 100,
    onceKey: 'x',
    onceMs: 1,
  });
  await h.aRound();
  await waitFor(async () => (await h.queue.depth()).queued === 0);
  expect(await h.dead()).toEqual([]);

  const orphan = await h.put({ endpoint: endpointKey({ url: 'https://removed.example.com/h' }) });
  await h.settle();
  expect(await h.dead()).toEqual([{ ...orphan, reason: 'endpoint_removed' }]);
  expect(h.calls).toEqual([]);
});

test('a failure names what went wrong: a timeout, the connection error code, the error, or that the network failed', async () => {
  const thrown: unknown[] = [
    new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }),
    new TypeError('fetch failed'),
    { message: 'not an Error at all' },
  ];
  const h = harness({
    answer: (n) => {
      throw thrown[n - 1];
    },
  });
  for (let n = 0; n < thrown.length; n++) await h.put();
  await h.settle(thrown.length);
  const errors = h.log
    .lines()
    .filter((l) => l.msg === 'webhook delivery failed')
    .map((l) => [l.webhookId, l.lastError]);
  expect(errors.sort()).toEqual([
    ['msg_1', 'timeout'],
    ['msg_2', 'ECONNRESET'],
    ['msg_3', 'TypeError'],
    ['msg_4', 'network error'],
  ]);
});

test('the dead-letter list holds at most WEBHOOK_OUTBOX_MAX letters: past it the oldest go, and it says so', async () => {
  const h = harness({ settings: { outboxMax: 2 } });
  const dropped = () => h.log.lines().filter((l) => /oldest dead letters were dropped/.test(l.msg));
  const orphan = () => h.put({ endpoint: 'removed' });
  const buried: OutboxEntry[] = [];
  for (let n = 0; n < 2; n++) {
    buried.push(await orphan());
    await h.aRound();
    h.clock.at += 1000;
  }
  await waitFor(async () => (await h.dead()).length === 2);
  expect(dropped()).toEqual([]);
  buried.push(await orphan());
  await h.aRound();
  await waitFor(() => dropped().length === 1);
  expect(dropped()[0]).toMatchObject({ dropped: 1, level: 50 });
  expect((await h.dead()).map((d) => d.msgId)).toEqual([buried[1]!.msgId, buried[2]!.msgId]);
});

test('a dead letter is kept 30 days: one buried that long after it sees it go', async () => {
  const h = harness();
  const start = h.clock.at;
  const dropped = () => h.log.lines().filter((l) => /oldest dead letters were dropped/.test(l.msg));
  const orphan = () => h.put({ endpoint: 'removed' });
  await orphan();
  await h.aRound();
  h.clock.at = start + 30 * DAY_MS - 1;
  const second = await orphan();
  await h.aRound();
  await waitFor(async () => (await h.dead()).length === 2);
  expect(dropped()).toEqual([]);
  h.clock.at = start + 30 * DAY_MS;
  const third = await orphan();
  await h.aRound();
  await waitFor(() => dropped().length === 1);
  expect(dropped()[0]).toMatchObject({ dropped: 1 });
  expect((await h.dead()).map((d) => d.msgId)).toEqual([second.msgId, third.msgId]);
});

test('after each round the gauges show how many wait in the outbox and how many are dead letters', async () => {
  const never = () => new Promise<Response>(() => undefined);
  const h = inDeployment('courier-gauges', () => harness({ answer: never }));
  await h.put();
  await h.put();
  await h.put({ endpoint: 'removed' });
  const gauge = (name: string) => registryTotal(name, { deployment: 'courier-gauges' });
  inDeployment('courier-gauges', () => h.courier.nudge());
  await waitFor(async () => (await gauge('genesys_bff_webhook_dead_letters')) === 1);
  await waitFor(async () => (await gauge('genesys_bff_webhook_outbox_depth')) === 2);
});

test('a delivery under way holds its entry for twice WEBHOOK_TIMEOUT_MS and 5 s: no other round takes it before', async () => {
  const release: Array<() => void> = [];
  const h = harness({
    settings: { timeoutMs: 60_000 },
    answer: () => new Promise<Response>((resolve) => release.push(() => resolve(new Response(null, { status: 204 })))),
  });
  const start = h.clock.at;
  await h.put();
  await h.aRound();
  await waitFor(() => h.calls.length === 1);
  h.clock.at = start + 2 * 60_000 + 5000 - 1;
  expect(await h.dueBy(h.clock.at)).toEqual([]);
  await h.aRound();
  expect(h.calls).toHaveLength(1);
  // The lease has run out: the entry is due again, as it would be had this instance died mid-delivery.
  h.clock.at = start + 2 * 60_000 + 5000;
  await h.aRound();
  await waitFor(() => h.calls.length === 2);
  release.forEach((r) => r());
});

test('a delivery the store cannot record is logged, and left for its lease to bring back', async () => {
  const h = harness();
  h.store.failing.remove = 1;
  const start = h.clock.at;
  const entry = await h.put();
  await h.aRound();
  await waitFor(() =>
    h.log.lines().some((l) => l.msg === 'webhook delivery could not be recorded; it will be tried again'),
  );
  expect(h.log.lines().find((l) => /could not be recorded/.test(l.msg))).toMatchObject({
    storeError: 'store refused remove',
    level: 40,
  });
  expect(await h.queue.depth()).toEqual({ queued: 1, dead: 0 });
  expect(await h.dueBy(start + 2 * 60_000 + 5000 - 1)).toEqual([]);
  expect(await h.dueBy(start + 2 * 60_000 + 5000)).toEqual([entry]);
});

test('an outbox the store cannot read is said once when it goes and once when it is back', async () => {
  const h = harness({ settings: { firstRetryMs: 20 } });
  h.store.failing.lease = 3;
  // What a client library may throw: not always an Error.
  h.store.thrown = 'ECONNREFUSED';
  await waitFor(() => h.log.lines().some((l) => l.msg === 'webhook outbox readable again'));
  const said = h.log.lines().filter((l) => /webhook outbox (unreadable|readable again)/.test(l.msg));
  expect(said.map((l) => [l.level, l.storeError])).toEqual([
    [40, 'ECONNREFUSED'],
    [30, undefined],
  ]);
});

describe('on a clock the test moves', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test.each([
    { firstRetryMs: 50, lookEveryMs: 50 },
    { firstRetryMs: 400, lookEveryMs: 400 },
    { firstRetryMs: 5000, lookEveryMs: 1000 },
  ])(
    'with nothing to nudge it, the outbox is looked at every $lookEveryMs ms when the first retry is $firstRetryMs ms',
    async ({ firstRetryMs, lookEveryMs }) => {
      const h = harness({ settings: { firstRetryMs } });
      await jest.advanceTimersByTimeAsync(1);
      const first = h.store.leases;
      expect(first).toBe(1);
      await jest.advanceTimersByTimeAsync(10 * lookEveryMs - 2);
      expect(h.store.leases).toBe(first + 9);
      await jest.advanceTimersByTimeAsync(2);
      expect(h.store.leases).toBe(first + 10);
    },
  );

  test('without endpoints, one round moves what waits to the dead-letter list; then nothing looks, and a nudge does nothing', async () => {
    const h = harness({ endpoints: [] });
    await h.put();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(h.store.leases).toBe(1);
    expect((await h.dead()).map((d) => d.reason)).toEqual(['endpoint_removed']);
    h.courier.nudge();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(h.store.leases).toBe(1);
  });
});
