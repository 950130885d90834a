import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import type { GuestSocket } from '../../../../src/genesys/guest/link/guestSocket';
import type { Pending } from '../../../../src/genesys/guest/desk/pendingRequests';
import { RequestDesk } from '../../../../src/genesys/guest/desk/requestDesk';

/**
 * The desk wakes the process only when a request waits its turn: a message
 * written with nothing queued behind it leaves no timer but its own deadline,
 * gone with its reply (bench/README.md: a timer per message was one more
 * wake-up per message at the rates chats run).
 */

beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-11-23T12:00:00Z') }));
afterEach(() => jest.useRealTimers());

function desk(messagesPerSecond = 2) {
  const written: string[] = [];
  const socket = {
    send: (frame: { tracingId: string }) => {
      written.push(frame.tracingId);
      return Promise.resolve();
    },
  } as unknown as GuestSocket;
  const d = new RequestDesk(
    { current: () => socket, isReady: () => true, wake: () => undefined, dead: () => undefined },
    10_000,
    { messagesPerSecond, requestsPerMinute: 60, laneHoldMs: 1000 },
    Date.now,
  );
  const send = (text: string) => d.request<string>('send', (tracingId) => ({ tracingId }), { messageId: text, text });
  const attach = (attachmentId: string) =>
    d.request<string>('attachment', (tracingId) => ({ tracingId }), { attachmentId });
  const jwt = () => d.request<string>('jwt', (tracingId) => ({ tracingId }));
  const reply = (tracingId: string, value: string) => d.settle(d.pending.byTracingId(tracingId) as Pending, { value });
  return { d, written, send, attach, jwt, reply };
}

test('a message answered with nothing behind it leaves no timer', async () => {
  const { written, send, reply } = desk();
  const sent = send('hello');
  await Promise.resolve();
  expect(written).toHaveLength(1);
  reply(written[0]!, 'echo');
  await expect(sent).resolves.toBe('echo');
  expect(jest.getTimerCount()).toBe(0);
});

test('a message waiting behind the lane still goes when its turn comes', async () => {
  const { written, send, reply } = desk();
  const first = send('one');
  const second = send('two');
  await Promise.resolve();
  // The second waits: the lane is held for the first's reply.
  expect(written).toHaveLength(1);
  expect(jest.getTimerCount()).toBeGreaterThan(1);
  await jest.advanceTimersByTimeAsync(1000);
  expect(written).toHaveLength(2);
  reply(written[0]!, 'echo one');
  reply(written[1]!, 'echo two');
  await expect(Promise.all([first, second])).resolves.toEqual(['echo one', 'echo two']);
  expect(jest.getTimerCount()).toBe(0);
});

test('a message over the rate waits for the window, then goes', async () => {
  const { written, send, reply } = desk(1);
  const first = send('one');
  await Promise.resolve();
  reply(written[0]!, 'echo one');
  await first;
  const second = send('two');
  await Promise.resolve();
  // One a second: the second waits for the window even with the lane free.
  expect(written).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1200);
  expect(written).toHaveLength(2);
  reply(written[1]!, 'echo two');
  await expect(second).resolves.toBe('echo two');
});

test('a file request waiting for the one before it to be answered sets no timer: that answer is its turn', async () => {
  const { written, attach, reply } = desk();
  const first = attach('file-1');
  const second = attach('file-2');
  await Promise.resolve();
  expect(written).toHaveLength(1);
  // Only the two deadlines.
  expect(jest.getTimerCount()).toBe(2);
  reply(written[0]!, 'link one');
  expect(written).toHaveLength(2);
  reply(written[1]!, 'link two');
  await expect(Promise.all([first, second])).resolves.toEqual(['link one', 'link two']);
});

test("a request that arrives during a 429's wait wakes the desk when the wait ends, not before", async () => {
  const { d, written, jwt, reply } = desk();
  const start = Date.now();
  const first = jwt();
  await Promise.resolve();
  d.refused(
    written[0]!,
    new GuestApiError('rate_limited', 'Genesys asks to slow down; retry after the given time.', {
      retryAfterSeconds: 2,
    }),
  );
  await jest.advanceTimersByTimeAsync(500);
  const second = jwt();
  expect(written).toHaveLength(1);
  jest.advanceTimersToNextTimer();
  expect(Date.now() - start).toBe(2000);
  // The refused one again, then the one that waited.
  expect(written).toHaveLength(3);
  expect(written[1]).toBe(written[0]);
  reply(written[0]!, 'first');
  reply(written[2]!, 'second');
  await expect(Promise.all([first, second])).resolves.toEqual(['first', 'second']);
});
