import { MemoryStore, OutboxPump, type DurableQueue, type OutboxPumpOptions, type QueuedEntry } from '../../src/store';

/**
 * The loop both outboxes share (src/store/outboxPump.ts), on the memory queue under a clock the test turns: no more
 * at once than its slots, a slot freed or a nudge starts a round at once, a store outage told once and its end once,
 * a delivery that throws handed to its owner, no rounds after close, and none by themselves when polling is off.
 */

const POLL_MS = 60_000;

interface Harness {
  queue: DurableQueue;
  pump: OutboxPump;
  /** Each delivery begun, in order; `finish(id)` ends it. */
  begun: string[];
  finish: (id: string, error?: Error) => void;
  calls: { down: number; back: number; errors: string[]; rounds: number };
}

function harness(overrides: Partial<OutboxPumpOptions> = {}, queue?: DurableQueue): Harness {
  const q = queue ?? new MemoryStore().queue('outbox');
  const begun: string[] = [];
  const pending = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const calls = { down: 0, back: 0, errors: [] as string[], rounds: 0 };
  const pump = new OutboxPump({
    queue: q,
    atOnce: 2,
    leaseMs: 600_000,
    pollMs: POLL_MS,
    now: Date.now,
    deliver: (entry: QueuedEntry) =>
      new Promise<void>((resolve, reject) => {
        begun.push(entry.id);
        pending.set(entry.id, {
          resolve: () => void q.remove(entry.id).then(resolve),
          reject,
        });
      }),
    onDeliveryError: (_error, entry) => calls.errors.push(entry.id),
    afterRound: async () => {
      calls.rounds++;
    },
    onStoreDown: () => calls.down++,
    onStoreBack: () => calls.back++,
    ...overrides,
  });
  const finish = (id: string, error?: Error) => {
    const p = pending.get(id)!;
    pending.delete(id);
    if (error) p.reject(error);
    else p.resolve();
  };
  return { queue: q, pump, begun, finish, calls };
}

/** The memory queue with its lease replaced. */
function withLease(memory: DurableQueue, lease: DurableQueue['lease']): DurableQueue {
  return Object.assign(Object.create(memory) as DurableQueue, { lease });
}

const add = (queue: DurableQueue, ...ids: string[]) =>
  queue.add(
    ids.map((id) => ({ id, value: id })),
    { dueAt: Date.now(), max: 100, onceKey: `once:${ids.join()}`, onceMs: 1000 },
  );

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('holds no more than its slots at once, and a slot freed takes the next entry at once', async () => {
  const { queue, pump, begun, finish } = harness();
  await add(queue, 'a', 'b', 'c', 'd');
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['a', 'b']);
  finish('a');
  // No poll is due for a minute: the slot freed is what starts the round, and it takes one entry, not two.
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['a', 'b', 'c']);
  pump.close();
});

test('a nudge runs a round at once, and one during a round runs another at its end', async () => {
  let holdRound: Promise<void> | undefined;
  let releaseRound!: () => void;
  const { queue, pump, begun } = harness({
    atOnce: 5,
    afterRound: () => holdRound ?? Promise.resolve(),
  });
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  await add(queue, 'nudged');
  pump.nudge();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['nudged']);
  // A round past its lease (waiting on its gauges) when an entry is queued and nudged for: the entry must not wait
  // for the poll.
  holdRound = new Promise<void>((resolve) => (releaseRound = resolve));
  pump.nudge();
  await jest.advanceTimersByTimeAsync(0);
  await add(queue, 'during');
  pump.nudge();
  holdRound = undefined;
  releaseRound();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['nudged', 'during']);
  pump.close();
});

test('a nudge before start runs nothing', async () => {
  const { queue, pump, begun } = harness();
  await add(queue, 'early');
  pump.nudge();
  await jest.advanceTimersByTimeAsync(10 * POLL_MS);
  expect(begun).toEqual([]);
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['early']);
  pump.close();
});

test('a round that filled every slot runs again at once: more may be due', async () => {
  const queue = new MemoryStore().queue('outbox');
  const delivered: string[] = [];
  const pump = new OutboxPump({
    queue,
    atOnce: 2,
    leaseMs: 600_000,
    pollMs: POLL_MS,
    now: Date.now,
    // Each delivery is over before the round that leased it: no delivery's end is what starts the next round.
    deliver: async (entry) => {
      delivered.push(entry.id);
      await queue.remove(entry.id);
    },
    onDeliveryError: () => undefined,
    afterRound: () => new Promise((resolve) => setTimeout(resolve, 1)),
    onStoreDown: () => undefined,
    onStoreBack: () => undefined,
  });
  await add(queue, 'a', 'b', 'c');
  pump.start();
  await jest.advanceTimersByTimeAsync(10);
  expect(delivered).toEqual(['a', 'b', 'c']);
  pump.close();
});

test('with every slot taken, no round leases until one frees', async () => {
  const { queue, pump, begun } = harness();
  await add(queue, 'a', 'b', 'c');
  const leased = queue.lease.bind(queue);
  const limits: number[] = [];
  queue.lease = (now, leaseMs, limit) => {
    limits.push(limit);
    return leased(now, leaseMs, limit);
  };
  pump.start();
  await jest.advanceTimersByTimeAsync(3 * POLL_MS);
  expect(begun).toEqual(['a', 'b']);
  // The first round, and none while both slots are taken: no spin on a lease of nothing.
  expect(limits).toEqual([2]);
  pump.close();
});

test('polls for what nobody nudged for', async () => {
  const { queue, pump, begun } = harness();
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  await add(queue, 'left by another instance');
  await jest.advanceTimersByTimeAsync(POLL_MS - 1);
  expect(begun).toEqual([]);
  await jest.advanceTimersByTimeAsync(1);
  expect(begun).toEqual(['left by another instance']);
  pump.close();
});

test('without polling, only a nudge starts a round', async () => {
  const { queue, pump, begun } = harness({ polling: () => false });
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  await add(queue, 'x');
  await jest.advanceTimersByTimeAsync(10 * POLL_MS);
  expect(begun).toEqual([]);
  pump.nudge();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['x']);
  pump.close();
});

test('tells a store outage once and its end once, and delivers what waited', async () => {
  const memory = new MemoryStore().queue('outbox');
  let down = true;
  const queue = withLease(memory, (...a) =>
    down ? Promise.reject(new Error('store unavailable')) : memory.lease(...a),
  );
  const { pump, begun, calls } = harness({}, queue);
  await add(queue, 'waited');
  pump.start();
  await jest.advanceTimersByTimeAsync(3 * POLL_MS);
  expect(calls).toMatchObject({ down: 1, back: 0, rounds: 0 });
  expect(begun).toEqual([]);
  down = false;
  await jest.advanceTimersByTimeAsync(POLL_MS);
  expect(calls).toMatchObject({ down: 1, back: 1, rounds: 1 });
  expect(begun).toEqual(['waited']);
  await jest.advanceTimersByTimeAsync(3 * POLL_MS);
  expect(calls).toMatchObject({ down: 1, back: 1, rounds: 4 });
  // A second outage is told again, and its end.
  down = true;
  await jest.advanceTimersByTimeAsync(2 * POLL_MS);
  down = false;
  await jest.advanceTimersByTimeAsync(POLL_MS);
  expect(calls).toMatchObject({ down: 2, back: 2 });
  pump.close();
});

test('a delivery that throws is handed to its owner and frees its slot', async () => {
  const { queue, pump, begun, finish, calls } = harness({ atOnce: 1 });
  await add(queue, 'a', 'b');
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['a']);
  finish('a', new Error('store failed mid-way'));
  await jest.advanceTimersByTimeAsync(0);
  expect(calls.errors).toEqual(['a']);
  // 'a' stays leased (its lease lapses in ten minutes); the slot goes to 'b' now.
  expect(begun).toEqual(['a', 'b']);
  pump.close();
});

test('after close, a delivery that ends leaves no timer behind', async () => {
  const { queue, pump, begun, finish } = harness();
  await add(queue, 'a');
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  expect(begun).toEqual(['a']);
  pump.close();
  finish('a');
  await jest.advanceTimersByTimeAsync(0);
  expect(jest.getTimerCount()).toBe(0);
});

test('after close no round runs, nudged or due', async () => {
  const { queue, pump, begun } = harness();
  pump.start();
  await jest.advanceTimersByTimeAsync(0);
  pump.close();
  await add(queue, 'x');
  pump.nudge();
  await jest.advanceTimersByTimeAsync(10 * POLL_MS);
  expect(begun).toEqual([]);
  expect(pump.isClosed).toBe(true);
});
