import { MemoryStore } from '../../src/store';
import { OUTBOX } from '../../src/webhooks/chatEvents';
import { disabledKey } from '../../src/webhooks/courier';
import { DeadLetters } from '../../src/webhooks/deadLetters';
import { entryId, type OutboxEntry } from '../../src/webhooks/outboxEntry';
import { captureLogger } from '../support/app';

/**
 * The dead-letter list as its operator reads and replays it (src/webhooks/deadLetters.ts), on the outbox of a store
 * in memory: a listing bounded by its page, a replay of the letters named (or all), which counts the names it did
 * not find, enables their endpoints again and gives each a fresh retry window.
 */

const NOW = Date.UTC(2026, 10, 28, 12);
const settings = { retryMs: 60_000, firstRetryMs: 20, timeoutMs: 1000, concurrency: 4, outboxMax: 100 };

async function withDead(count: number) {
  const store = new MemoryStore();
  const captured = captureLogger();
  const queue = store.queue(OUTBOX);
  for (let n = 1; n <= count; n += 1) {
    const entry: OutboxEntry = {
      endpoint: `endpoint-${n}`,
      msgId: `msg_${n}`,
      body: JSON.stringify({ type: 'chat.started', n }),
      type: 'chat.started',
      firstAt: NOW - 3_600_000,
      attempts: 7,
      lastError: 'status 500',
      reason: 'retry_window',
    };
    const queued = { id: entryId(entry.msgId, entry.endpoint), value: JSON.stringify(entry) };
    await queue.add([queued], { dueAt: NOW, max: 100, onceKey: `once-${n}`, onceMs: 1 });
    await queue.bury(queued, NOW + n, { max: 100, keepMs: 86_400_000 });
    await store.put(disabledKey(entry.endpoint), String(NOW), 86_400_000);
  }
  const letters = new DeadLetters({ store, settings, logger: captured.logger, now: () => NOW });
  return { store, queue, letters, captured };
}

test('a listing shows each letter as the operator reads it, at most as many as asked', async () => {
  const { letters } = await withDead(3);
  const listed = await letters.list();
  expect(listed).toHaveLength(3);
  expect(listed[0]).toEqual({
    id: 'msg_1.endpoint-1',
    webhookId: 'msg_1',
    type: 'chat.started',
    endpoint: 'endpoint-1',
    reason: 'retry_window',
    attempts: 7,
    lastError: 'status 500',
    queuedAt: new Date(NOW - 3_600_000).toISOString(),
    event: { type: 'chat.started', n: 1 },
  });
  expect(await letters.list(2)).toHaveLength(2);
});

test('a replay of named letters queues those alone, fresh, enables their endpoints, and counts the unknown', async () => {
  const { store, queue, letters, captured } = await withDead(3);
  expect(await letters.replay(['msg_2.endpoint-2', 'no-such-letter'])).toEqual({ replayed: 1, notFound: 1 });
  expect((await letters.list()).map((l) => l.id)).toEqual(['msg_1.endpoint-1', 'msg_3.endpoint-3']);
  expect(await store.get(disabledKey('endpoint-2'))).toBeUndefined();
  expect(await store.get(disabledKey('endpoint-1'))).toBe(String(NOW));
  const [revived] = await queue.lease(NOW, 1000, 10);
  expect(JSON.parse(revived!.value)).toEqual({
    endpoint: 'endpoint-2',
    msgId: 'msg_2',
    body: JSON.stringify({ type: 'chat.started', n: 2 }),
    type: 'chat.started',
    firstAt: NOW,
    attempts: 0,
  });
  expect(captured.lines()).toContainEqual(
    expect.objectContaining({ msg: 'webhook dead letters replayed', replayed: 1 }),
  );
});

test('a replay naming none queues every letter, and has nothing to call not found', async () => {
  const { queue, letters } = await withDead(2);
  expect(await letters.replay()).toEqual({ replayed: 2, notFound: 0 });
  expect(await letters.list()).toEqual([]);
  expect(await queue.depth()).toEqual({ queued: 2, dead: 0 });
});
