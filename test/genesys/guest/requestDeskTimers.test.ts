import type { GuestSocket } from '../../../src/genesys/guest/guestSocket';
import type { Pending } from '../../../src/genesys/guest/pendingRequests';
import { RequestDesk } from '../../../src/genesys/guest/requestDesk';

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
  const d = new RequestDesk({ current: () => socket, isReady: () => true, wake: () => undefined, dead: () => undefined }, 10_000, { messagesPerSecond, requestsPerMinute: 60, laneHoldMs: 1000 }, Date.now);
  const send = (text: string) => d.request<string>('send', (tracingId) => ({ tracingId }), { messageId: text, text });
  const reply = (tracingId: string, value: string) => d.settle(d.pending.byTracingId(tracingId) as Pending, { value });
  return { d, written, send, reply };
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
