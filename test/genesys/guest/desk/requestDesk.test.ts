import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import type { Pending, PendingKind } from '../../../../src/genesys/guest/desk/pendingRequests';
import { RequestDesk, type DeskLimits } from '../../../../src/genesys/guest/desk/requestDesk';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { registry } from '../../../../src/observability/metrics';
import { flushTracing, startTracing } from '../../../../src/observability/tracing';
import { StandInSocket } from '../../../support/deskSocket';

/**
 * The request desk on its own (src/genesys/guest/desk/requestDesk.ts;
 * docs/genesys-protocol.md#limits-and-timing and #rate-limits-and-refusals),
 * with a fake socket: messages one at a time and in order, the per-connection
 * budget and its reserve for messages, a 429's wait, what a dropped socket or
 * a failed session does to each request, and typing, which never queues, up
 * to the edges of each rule (a deadline met exactly, a refusal with no wait,
 * a turn that refuses a request between two messages);
 * the client span each request is with tracing on; and the timers it sets,
 * only when a request waits its turn. guestSession.test.ts drives the same
 * rules through the simulator's frames.
 */

describe('the rules, with fake timers', () => {
  const T0 = Date.parse('2026-11-23T12:00:00Z');
  /**
   * A deadline is judged on the loop's turn after it falls due (setImmediate), which fake timers run 1 ms later.
   */
  const NEXT_TURN_MS = 1;
  beforeEach(() => jest.useFakeTimers({ now: T0 }));
  afterEach(() => jest.useRealTimers());

  type Outcome =
    { state: 'waiting' } | { state: 'answered'; value: unknown } | { state: 'failed'; error: GuestApiError };

  interface Options extends Partial<DeskLimits> {
    timeoutMs?: number;
    /** Whether the socket is configured at the start (requests wait for it otherwise). */
    ready?: boolean;
  }

  function desk({
    timeoutMs = 10_000,
    ready = true,
    messagesPerSecond = 2,
    requestsPerMinute = 60,
    laneHoldMs = 1000,
  }: Options = {}) {
    const state = new StandInSocket();
    state.ready = ready;
    const d = new RequestDesk(state, timeoutMs, { messagesPerSecond, requestsPerMinute, laneHoldMs }, Date.now);
    const ids = new Map<string, string>();
    const outcomes = new Map<string, Outcome>();
    /** A request named `name` (its frame carries the name, so `written` shows it). */
    const ask = (
      kind: PendingKind,
      name: string,
      about?: { messageId?: string; text?: string; attachmentId?: string },
    ) => {
      const outcome: Outcome = { state: 'waiting' };
      outcomes.set(name, outcome);
      d.request(
        kind,
        (tracingId) => {
          ids.set(name, tracingId);
          return { name, tracingId };
        },
        about,
      ).then(
        (value) => outcomes.set(name, { state: 'answered', value }),
        (error: GuestApiError) => outcomes.set(name, { state: 'failed', error }),
      );
    };
    const send = (name: string) => ask('send', name, { messageId: name, text: name });
    const pendingOf = (name: string) => d.pending.byTracingId(ids.get(name)!) as Pending;
    const answer = (name: string) => d.settle(pendingOf(name), { value: `answer to ${name}` });
    /** Genesys's 429 (with the request's tracingId, or none) asking to wait `retryAfterSeconds`. */
    const refuse = (name: string | undefined, retryAfterSeconds: number) =>
      d.refused(
        name === undefined ? undefined : ids.get(name),
        new GuestApiError('rate_limited', 'Genesys asks to slow down; retry after the given time.', {
          retryAfterSeconds,
        }),
      );
    /** How each request stands once the promises settled so far have run. */
    const outcome = async (name: string): Promise<Outcome> => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
      return outcomes.get(name)!;
    };
    const typing = () => d.sendWithoutReply((tracingId) => ({ name: 'typing', tracingId }));
    return {
      d,
      state,
      /** What went out, by the test's name for each request ('typing' for a typing frame), in order. */
      get written(): string[] {
        return state.frames.map((frame) => frame.name as string);
      },
      ask,
      send,
      answer,
      refuse,
      outcome,
      typing,
      tracingId: (name: string) => ids.get(name)!,
    };
  }

  async function counted(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
  }

  describe('messages go one at a time, in order', () => {
    test('messages that waited for the socket go out one at a time once it is configured: the next when the lane hold ends, answered or not', async () => {
      const t = desk({ ready: false });
      t.send('m1');
      t.send('m2');
      expect(t.written).toEqual([]);
      expect(t.state.woken).toBe(2);

      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['m1']);
      await jest.advanceTimersByTimeAsync(999);
      expect(t.written).toEqual(['m1']);
      await jest.advanceTimersByTimeAsync(1);
      expect(t.written).toEqual(['m1', 'm2']);
    });

    test('with no lane hold, waiting messages go out together up to the rate', () => {
      const t = desk({ ready: false, laneHoldMs: 0 });
      t.send('m1');
      t.send('m2');
      t.send('m3');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['m1', 'm2']);
    });

    test('a message refused by an untraced 429 goes out again before the message sent after it', async () => {
      const t = desk();
      t.send('m1');
      t.ask('jwt', 'j1');
      // One refusal, two requests that could own it: nothing is decided until the JWT is answered.
      t.refuse(undefined, 1);
      await jest.advanceTimersByTimeAsync(300);
      t.answer('j1');
      expect(await t.outcome('m1')).toEqual({ state: 'waiting' });

      // The hold is over, but m1's own wait (a second from when it was found refused) is not.
      await jest.advanceTimersByTimeAsync(800);
      t.send('m2');
      expect(t.written).toEqual(['m1', 'j1']);
      await jest.advanceTimersByTimeAsync(199);
      expect(t.written).toEqual(['m1', 'j1']);
      await jest.advanceTimersByTimeAsync(1);
      expect(t.written).toEqual(['m1', 'j1', 'm1']);
      t.answer('m1');
      expect(t.written).toEqual(['m1', 'j1', 'm1', 'm2']);
    });

    test('requests other than messages take neither the lane nor a message slot and wait for neither; file requests do not wait for messages', () => {
      // One message a second: the file request after m1 would wait a second if it counted as one.
      const t = desk({ ready: false, messagesPerSecond: 1 });
      t.ask('jwt', 'j1');
      t.send('m1');
      t.ask('attachment', 'a1', { attachmentId: 'file-1' });
      t.send('m2');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['j1', 'm1', 'a1']);
    });
  });

  describe('file requests go one at a time', () => {
    test("the second waits for the first one's answer, however long", async () => {
      const t = desk();
      t.ask('attachment', 'a1', { attachmentId: 'file-1' });
      t.ask('attachment', 'a2', { attachmentId: 'file-2' });
      expect(t.written).toEqual(['a1']);
      await jest.advanceTimersByTimeAsync(5000);
      expect(t.written).toEqual(['a1']);
      t.answer('a1');
      expect(t.written).toEqual(['a1', 'a2']);
    });

    test('two that waited for the socket go out one after the other too', () => {
      const t = desk({ ready: false });
      t.ask('attachment', 'a1', { attachmentId: 'file-1' });
      t.ask('attachment', 'a2', { attachmentId: 'file-2' });
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['a1']);
      t.answer('a1');
      expect(t.written).toEqual(['a1', 'a2']);
    });
  });

  describe('the message rate', () => {
    test('the window is a full second plus 100 ms of clock slack: at 2 a second the third message waits exactly that', async () => {
      const t = desk({ messagesPerSecond: 2, laneHoldMs: 0 });
      t.send('m1');
      t.send('m2');
      t.send('m3');
      expect(t.written).toEqual(['m1', 'm2']);
      // A window shorter than a second (900 ms, say) lets the third out here already.
      await jest.advanceTimersByTimeAsync(1099);
      expect(t.written).toEqual(['m1', 'm2']);
      await jest.advanceTimersByTimeAsync(1);
      expect(t.written).toEqual(['m1', 'm2', 'm3']);
    });
  });

  describe('the per-connection budget', () => {
    test('a new connection starts a new budget: from a nearly spent one, what waited for the reconnect goes out at once', async () => {
      // 6 a minute, the lane free: five frames spend all but one of the first connection's budget.
      const t = desk({ requestsPerMinute: 6, messagesPerSecond: 10, laneHoldMs: 0 });
      for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) t.send(name);
      for (const name of ['m1', 'm2', 'm3', 'm4', 'm5']) t.answer(name);
      expect(t.written).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      await jest.advanceTimersByTimeAsync(2000);

      // A network blip: the socket drops, sends arrive meanwhile, a new one is opened and configured.
      t.state.ready = false;
      t.d.socketLost();
      t.send('after1');
      t.send('after2');
      t.send('after3');
      t.d.newConnection();
      t.ask('configure', 'configure');
      t.answer('configure');
      t.state.ready = true;
      t.d.flush();
      // Configure and three sends: four frames of a fresh six, none held for the old connection's minute.
      expect(t.written).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'configure', 'after1', 'after2', 'after3']);
      for (const name of ['after1', 'after2', 'after3']) expect(await t.outcome(name)).toEqual({ state: 'waiting' });
    });

    test('past its share of the budget a request waits for the oldest frame to leave the minute (plus 100 ms of clock slack); a message behind it still goes', async () => {
      // 4 a minute: 2 for requests other than messages, the rest kept for messages.
      const t = desk({ ready: false, requestsPerMinute: 4, timeoutMs: 120_000 });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.ask('jwt', 'j3');
      t.send('m1');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['j1', 'j2', 'm1']);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(t.written).toEqual(['j1', 'j2', 'm1']);
      await jest.advanceTimersByTimeAsync(100);
      expect(t.written).toEqual(['j1', 'j2', 'm1', 'j3']);
    });

    test('a request whose turn would come after its deadline (less the lane hold) is refused at once with the wait, never written', async () => {
      const t = desk({ ready: false, requestsPerMinute: 4, timeoutMs: 60_600 });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.ask('jwt', 'j3');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['j1', 'j2']);
      const refused = await t.outcome('j3');
      expect(refused).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', status: 429, retryAfterSeconds: 61 },
      });
      expect((refused as { error: Error }).error.message).toMatch(/only so many requests; retry after the given time/);
    });

    test('a request the budget cannot take within 70 % of its deadline is refused at once and counted; a message still has its reserve', async () => {
      const t = desk({ requestsPerMinute: 4 });
      const before = await counted('genesys_bff_limits_refused_total', { limit: 'genesys_request_budget' });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.ask('jwt', 'j3');
      t.send('m1');
      expect(t.written).toEqual(['j1', 'j2', 'm1']);
      const refused = await t.outcome('j3');
      expect(refused).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', status: 429, retryAfterSeconds: 61 },
      });
      expect((refused as { error: Error }).error.message).toMatch(/used its share of Genesys requests/);
      expect(t.d.size).toBe(3);
      expect(await counted('genesys_bff_limits_refused_total', { limit: 'genesys_request_budget' })).toBe(before + 1);
    });
  });

  test("a request asked while Genesys's wait runs past 70 % of its deadline is refused at once in its words; within it, or a configure, waits", async () => {
    // A deadline of 10 s: 7 s of waiting at most.
    const past = desk();
    const before = await counted('genesys_bff_limits_refused_total', { limit: 'genesys_request_budget' });
    past.ask('jwt', 'j1');
    past.refuse('j1', 8);
    past.ask('jwt', 'j2');
    past.send('m1');
    past.ask('configure', 'c1');
    // What holds them is Genesys's own wait, not this chat's share or its rate of messages: its words say so.
    const waitAsked = 'Genesys asked this chat to wait before its next request; retry after the given time.';
    for (const id of ['j2', 'm1'])
      expect(await past.outcome(id)).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', retryAfterSeconds: 8, message: waitAsked },
      });
    expect(await counted('genesys_bff_limits_refused_total', { limit: 'genesys_request_budget' })).toBe(before + 2);
    expect(await past.outcome('c1')).toEqual({ state: 'waiting' });

    // Genesys's wait shorter than this chat's own share: the share is what holds it, in its words and its wait.
    const shorter = desk({ requestsPerMinute: 4 });
    shorter.ask('jwt', 'j1');
    shorter.ask('jwt', 'j2');
    shorter.refuse('j1', 8);
    shorter.ask('jwt', 'j3');
    expect(await shorter.outcome('j3')).toMatchObject({
      state: 'failed',
      error: { code: 'rate_limited', retryAfterSeconds: 61, message: expect.stringMatching(/used its share/) },
    });

    const within = desk();
    within.ask('jwt', 'j1');
    within.refuse('j1', 7);
    within.ask('jwt', 'j2');
    expect(await within.outcome('j2')).toEqual({ state: 'waiting' });
  });

  test('a session allowed one request a minute keeps no reserve from it', async () => {
    const t = desk({ requestsPerMinute: 1 });
    t.ask('jwt', 'j1');
    expect(t.written).toEqual(['j1']);
  });

  test('a message whose turn, behind those waiting, would come later than 70 % of its deadline is refused at once and counted', async () => {
    const t = desk();
    const before = await counted('genesys_bff_limits_refused_total', { limit: 'session_send_rate' });
    // At 2 a second each waiting message adds 550 ms (a window of 1.1 s over 2): the 13th behind the first would wait 7.15 s.
    for (let i = 1; i <= 14; i++) t.send(`m${i}`);
    expect(t.d.size).toBe(14);
    t.send('m15');
    const refused = await t.outcome('m15');
    expect(refused).toMatchObject({
      state: 'failed',
      error: { code: 'rate_limited', status: 429, retryAfterSeconds: 8 },
    });
    expect((refused as { error: Error }).error.message).toMatch(/only a few messages a second/);
    expect(t.d.size).toBe(14);
    expect(await counted('genesys_bff_limits_refused_total', { limit: 'session_send_rate' })).toBe(before + 1);
  });

  describe('a 429 that names its request', () => {
    test('only that request goes out again, when the wait ends; nothing else is written meanwhile', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.refuse('j2', 2);
      await jest.advanceTimersByTimeAsync(500);
      t.ask('echo', 'e1');
      expect(t.written).toEqual(['j1', 'j2']);
      await jest.advanceTimersByTimeAsync(1499);
      expect(t.written).toEqual(['j1', 'j2']);
      await jest.advanceTimersByTimeAsync(1);
      expect(t.written).toEqual(['j1', 'j2', 'j2', 'e1']);
      expect(await t.outcome('j1')).toEqual({ state: 'waiting' });
    });

    test('it goes out again as long as its turn, plus the lane hold, comes by its deadline', async () => {
      const t = desk();
      t.send('m1');
      t.refuse('m1', 9);
      await jest.advanceTimersByTimeAsync(9000);
      expect(t.written).toEqual(['m1', 'm1']);
      t.answer('m1');
      expect(await t.outcome('m1')).toEqual({ state: 'answered', value: 'answer to m1' });
    });

    test('a wait that ends within the lane hold of its deadline fails it at once (not delivered, safe to retry)', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      await jest.advanceTimersByTimeAsync(500);
      t.refuse('j1', 9);
      expect(await t.outcome('j1')).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', retryAfterSeconds: 9 },
      });
      await jest.advanceTimersByTimeAsync(10_000);
      expect(t.written).toEqual(['j1']);
    });

    test('a configure is never written again by the desk: it fails with the refusal, and the link decides', async () => {
      const t = desk({ ready: false });
      t.ask('configure', 'c1');
      expect(t.written).toEqual(['c1']);
      t.refuse('c1', 1);
      expect(await t.outcome('c1')).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', retryAfterSeconds: 1 },
      });
      t.state.ready = true;
      await jest.advanceTimersByTimeAsync(2000);
      t.d.flush();
      expect(t.written).toEqual(['c1']);
    });

    test('requests not yet written whose deadline falls within the wait (plus the lane hold) fail at the next turn, not at their deadline; the others wait', async () => {
      const t = desk();
      t.ask('jwt', 'j0');
      t.ask('attachment', 'a1', { attachmentId: 'file-1' });
      t.ask('attachment', 'a2', { attachmentId: 'file-2' });
      await jest.advanceTimersByTimeAsync(2000);
      t.ask('attachment', 'a3', { attachmentId: 'file-3' });
      t.ask('jwt', 'j1');
      expect(t.written).toEqual(['j0', 'a1', 'j1']);
      // Genesys asks to wait until 9 s: a2 (deadline 10 s) cannot be written and answered in time; a3 and j1 (12 s) can.
      t.refuse('j1', 7);
      await jest.advanceTimersByTimeAsync(500);
      t.answer('a1');
      const refused = await t.outcome('a2');
      expect(refused).toMatchObject({
        state: 'failed',
        error: { code: 'rate_limited', status: 429, retryAfterSeconds: 7 },
      });
      expect((refused as { error: Error }).error.message).toMatch(/asks to slow down; retry after the given time/);
      // j0 was written before the refusal: it waits for its own answer.
      expect(await t.outcome('j0')).toEqual({ state: 'waiting' });
      expect(await t.outcome('a3')).toEqual({ state: 'waiting' });

      await jest.advanceTimersByTimeAsync(6500);
      expect(t.written).toEqual(['j0', 'a1', 'j1', 'a3', 'j1']);
    });
  });

  describe('the socket drops, or the session fails', () => {
    test('a configure under way fails; a message written is in doubt, never written again; other requests and messages not yet written go out on the next socket', async () => {
      const t = desk();
      t.ask('configure', 'c1');
      t.send('m1');
      t.ask('jwt', 'j1');
      t.send('m2');
      expect(t.written).toEqual(['c1', 'm1', 'j1']);

      t.state.ready = false;
      t.d.socketLost();
      const lost = await t.outcome('c1');
      expect(lost).toMatchObject({ state: 'failed', error: { failure: 'connection_lost' } });
      expect((lost as { error: Error }).error.message).toMatch(/dropped while configuring/);

      t.d.newConnection();
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['c1', 'm1', 'j1', 'j1', 'm2']);
      expect(await t.outcome('m1')).toEqual({ state: 'waiting' });
    });

    test('a configure asked for when its socket is already gone fails at once, so the link opens another; other requests wait for it', async () => {
      const t = desk({ ready: false });
      t.state.open = false;
      t.ask('configure', 'c1');
      t.ask('jwt', 'j1');
      const lost = await t.outcome('c1');
      expect(lost).toMatchObject({ state: 'failed', error: { failure: 'connection_lost' } });
      expect((lost as { error: Error }).error.message).toMatch(/dropped while configuring/);
      expect(await t.outcome('j1')).toEqual({ state: 'waiting' });
      expect(t.state.woken).toBe(1);
      expect(t.d.size).toBe(1);
    });

    test('failing every request: a message written may have arrived (in doubt, with the wait of the cause); the others fail with the cause itself', async () => {
      const t = desk();
      t.send('m1');
      t.ask('jwt', 'j1');
      t.send('m2');
      const before = await counted('genesys_bff_sends_in_doubt_total');
      // As when reconnecting fails: the socket is gone.
      t.state.ready = false;
      const cause = new GuestApiError('rate_limited', 'Too many connections for this chat; retry shortly.', {
        retryAfterSeconds: 5,
      });
      t.d.failAll(cause);

      const m1 = await t.outcome('m1');
      expect(m1).toMatchObject({ state: 'failed', error: { failure: 'connection_lost', retryAfterSeconds: 5 } });
      expect((m1 as { error: Error }).error.message).toMatch(/may have been delivered/);
      expect((m1 as { error: Error }).error.cause).toBe(cause);
      expect(await t.outcome('j1')).toEqual({ state: 'failed', error: cause });
      expect(await t.outcome('m2')).toEqual({ state: 'failed', error: cause });
      expect(await counted('genesys_bff_sends_in_doubt_total')).toBe(before + 1);
    });

    test("a session that ends writes nothing more: a message waiting its turn fails with the session's error, never written", async () => {
      const t = desk();
      t.send('m1');
      t.send('m2');
      const ended = new GuestApiError('signed_out', 'The customer signed out.');
      t.state.ended = ended;
      t.d.failAll(ended);
      expect(await t.outcome('m1')).toEqual({ state: 'failed', error: ended });
      expect(await t.outcome('m2')).toEqual({ state: 'failed', error: ended });
      expect(t.written).toEqual(['m1']);
    });

    test('a request with no answer in time fails as a timeout, counted; a message written fails as in doubt', async () => {
      const t = desk();
      const before = await counted('genesys_bff_genesys_errors_total', { code: 'timeout' });
      t.ask('jwt', 'j1');
      t.send('m1');
      await jest.advanceTimersByTimeAsync(10_000 + NEXT_TURN_MS);
      const j1 = await t.outcome('j1');
      expect(j1).toMatchObject({ state: 'failed', error: { failure: 'timeout', status: 504 } });
      expect((j1 as { error: Error }).error.message).toMatch(/did not answer in time; please retry/);
      expect((await t.outcome('m1')) as { error: Error }).toMatchObject({
        error: { failure: 'timeout', message: expect.stringMatching(/may have been delivered/) },
      });
      expect(await counted('genesys_bff_genesys_errors_total', { code: 'timeout' })).toBe(before + 2);
    });

    test('a reply that comes in the same turn as its deadline is taken, not judged late', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      // Due at the very moment of the request's deadline, after it: as a reply read off the socket in that turn.
      const timeouts = await counted('genesys_bff_genesys_errors_total', { code: 'timeout' });
      setTimeout(() => {
        const p = t.d.pending.byTracingId(t.tracingId('j1'));
        if (p !== undefined && p !== 'retired') t.d.settle(p, { value: 'in time' });
      }, 10_000);
      await jest.advanceTimersByTimeAsync(10_000 + NEXT_TURN_MS);
      expect(await t.outcome('j1')).toEqual({ state: 'answered', value: 'in time' });
      // Nor is it counted as a timeout once its deadline's turn has come.
      expect(await counted('genesys_bff_genesys_errors_total', { code: 'timeout' })).toBe(timeouts);
    });

    test('a request whose socket is ready only in the turn its deadline fell due is never written: it timed out', async () => {
      const t = desk({ ready: false });
      t.ask('jwt', 'j1');
      setTimeout(() => {
        t.state.ready = true;
        t.d.flush();
      }, 10_000);
      await jest.advanceTimersByTimeAsync(10_000 + NEXT_TURN_MS);
      expect(t.written).toEqual([]);
      expect(await t.outcome('j1')).toMatchObject({
        state: 'failed',
        error: { failure: 'timeout', message: expect.stringMatching(/did not answer in time; please retry/) },
      });
    });

    test('a late reply to a request that gave up is known as its own for twice the request timeout', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      await jest.advanceTimersByTimeAsync(10_000 + NEXT_TURN_MS);
      expect(await t.outcome('j1')).toMatchObject({ state: 'failed' });
      await jest.advanceTimersByTimeAsync(19_999);
      expect(t.d.pending.byTracingId(t.tracingId('j1'))).toBe('retired');
      await jest.advanceTimersByTimeAsync(2);
      expect(t.d.pending.byTracingId(t.tracingId('j1'))).toBeUndefined();
    });
  });

  describe('typing never queues', () => {
    test('it goes out at once when nothing holds it', async () => {
      const t = desk();
      await expect(t.typing()).resolves.toBe(true);
      expect(t.written).toEqual(['typing']);
    });

    test('it is dropped while Genesys asked to wait, and goes once the wait is over', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      t.refuse('j1', 2);
      await jest.advanceTimersByTimeAsync(500);
      await expect(t.typing()).resolves.toBe(false);
      await jest.advanceTimersByTimeAsync(1500);
      await expect(t.typing()).resolves.toBe(true);
      expect(t.written).toEqual(['j1', 'j1', 'typing']);
    });

    test('it is dropped while a message holds the lane, and not after the hold, answered or not', async () => {
      const t = desk();
      t.send('m1');
      await expect(t.typing()).resolves.toBe(false);
      await jest.advanceTimersByTimeAsync(1000);
      await expect(t.typing()).resolves.toBe(true);
      expect(t.written).toEqual(['m1', 'typing']);
    });

    test('it never overtakes a message waiting its turn', async () => {
      const t = desk({ ready: false });
      t.send('m1');
      await expect(t.typing()).resolves.toBe(false);
      expect(t.written).toEqual([]);
    });

    test('other requests, written or waiting, do not hold it', async () => {
      const t = desk();
      t.ask('attachment', 'a1', { attachmentId: 'file-1' });
      t.ask('attachment', 'a2', { attachmentId: 'file-2' });
      await expect(t.typing()).resolves.toBe(true);
      expect(t.written).toEqual(['a1', 'typing']);
    });

    test('it stops short of the budget kept for messages', async () => {
      const t = desk({ requestsPerMinute: 4 });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      await expect(t.typing()).resolves.toBe(false);
      expect(t.written).toEqual(['j1', 'j2']);
    });
  });
  test('when the circuit opens, what still waits is answered at once: a written send in doubt, the rest refused', async () => {
    const h = desk();
    h.send('first');
    h.send('second'); // waits for the first to free the lane
    h.ask('jwt', 'token');
    expect(h.written).toEqual(['first', 'token']);
    const [inDoubt, released] = [
      await counted('genesys_bff_sends_in_doubt_total'),
      await counted('genesys_bff_genesys_circuit_releases_total'),
    ];
    const refusal = new GuestApiError('circuit_open', 'Genesys stopped answering; please retry shortly.', {
      retryAfterSeconds: 3,
    });
    h.d.release(refusal);
    // The send Genesys has: may have arrived, so in doubt as at its deadline, but with the circuit's 503 and wait.
    expect(await h.outcome('first')).toMatchObject({
      state: 'failed',
      error: {
        failure: 'timeout',
        status: 503,
        code: 'upstream_unavailable',
        retryAfterSeconds: 3,
        message: expect.stringMatching(/may have been delivered.*same Idempotency-Key/),
      },
    });
    // Never written, or not a message: refused as the circuit refuses, safe to ask again.
    expect(await h.outcome('second')).toEqual({ state: 'failed', error: refusal });
    expect(await h.outcome('token')).toEqual({ state: 'failed', error: refusal });
    expect(await counted('genesys_bff_sends_in_doubt_total')).toBe(inDoubt + 1);
    expect(await counted('genesys_bff_genesys_circuit_releases_total')).toBe(released + 3);
    // Nothing more goes out, and a late echo of the released send is still known for the send it answers.
    await jest.advanceTimersByTimeAsync(20_000);
    expect([h.written, h.d.size]).toEqual([['first', 'token'], 0]);
    expect(h.d.pending.retiredSend(h.tracingId('first'))).toBe('first');
  });

  describe('at the edges of its rules', () => {
    test("a request on a session already over fails at once with the session's error, never queued or woken for", async () => {
      const t = desk({ ready: false });
      const ended = new GuestApiError('signed_out', 'The customer signed out.');
      t.state.ended = ended;
      t.send('m1');
      expect(await t.outcome('m1')).toEqual({ state: 'failed', error: ended });
      expect([t.d.pending.size, t.state.woken]).toEqual([0, 0]);
    });

    test('a refusal that names a request and is not to be written again fails that request now', async () => {
      const t = desk();
      t.ask('jwt', 'j1');
      const refusal = new GuestApiError('unauthorized', 'Genesys refused the credentials.');
      t.d.refused(t.tracingId('j1'), refusal, false);
      expect(await t.outcome('j1')).toEqual({ state: 'failed', error: refusal });
      await jest.advanceTimersByTimeAsync(2000);
      expect(t.written).toEqual(['j1']);
    });

    test('a refusal with no wait writes its message again on the next turn: its own earlier write holds no lane', async () => {
      const t = desk();
      t.send('m1');
      t.d.refused(t.tracingId('m1'), new GuestApiError('unauthorized', 'Genesys refused the credentials.'));
      await jest.advanceTimersByTimeAsync(1);
      expect(t.written).toEqual(['m1', 'm1']);
    });

    test("requests other than messages waiting for the socket do not lengthen a message's projected wait", async () => {
      const t = desk({ ready: false });
      for (let i = 1; i <= 13; i++) t.ask('jwt', `j${i}`);
      t.send('m1');
      expect(await t.outcome('m1')).toEqual({ state: 'waiting' });
      expect(t.d.pending.size).toBe(14);
    });

    test('a request whose turn, plus the lane hold, comes exactly at its deadline still waits for it, then goes', async () => {
      const t = desk({ ready: false, requestsPerMinute: 4, timeoutMs: 61_100 });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.ask('jwt', 'j3');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['j1', 'j2']);
      expect(await t.outcome('j3')).toEqual({ state: 'waiting' });
      await jest.advanceTimersByTimeAsync(60_100);
      expect(t.written).toEqual(['j1', 'j2', 'j3']);
    });

    test('a request refused during a turn does not let a second message past the lane', async () => {
      const t = desk({ ready: false, requestsPerMinute: 4, timeoutMs: 60_600 });
      t.ask('jwt', 'j1');
      t.ask('jwt', 'j2');
      t.ask('jwt', 'j3');
      t.send('m1');
      t.send('m2');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['j1', 'j2', 'm1']);
      expect(await t.outcome('j3')).toMatchObject({ state: 'failed', error: { code: 'rate_limited' } });
    });

    test('an answer while the socket is not configured writes nothing that waits', async () => {
      const t = desk({ ready: false });
      t.ask('configure', 'c1');
      t.ask('jwt', 'j1');
      // A configure is written when asked for; the rest waits for the link to be configured.
      expect(t.written).toEqual(['c1']);
      t.answer('c1');
      expect(t.written).toEqual(['c1']);
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['c1', 'j1']);
    });

    test('each turn keeps one timer for the next: a new one replaces the one before', () => {
      const t = desk();
      t.send('a');
      t.send('b');
      t.send('c');
      // The three deadlines and one turn.
      expect(jest.getTimerCount()).toBe(4);
    });

    test('with no lane hold, a message over the rate wakes the desk when the window ends, not before', () => {
      const t = desk({ ready: false, laneHoldMs: 0 });
      t.send('m1');
      t.send('m2');
      t.send('m3');
      t.state.ready = true;
      t.d.flush();
      expect(t.written).toEqual(['m1', 'm2']);
      jest.advanceTimersToNextTimer();
      expect(Date.now() - T0).toBe(1100);
      expect(t.written).toEqual(['m1', 'm2', 'm3']);
    });
  });
});

describe('with tracing on, each request a client span', () => {
  /**
   * With tracing on, each guest-socket request is a client span from its frame
   * to its matched reply, named `guest <kind>` (docs/operations.md#traces) and
   * carrying the request's kind and tracingId, so an operator finds the frame
   * Genesys saw. test/observability/spans.test.ts shows the span under its
   * HTTP request, through the whole service.
   */
  const exporter = new InMemorySpanExporter();
  let stopTracing: () => Promise<void>;
  beforeAll(() => {
    stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'desk-spans-under-test', exporter });
  });
  afterAll(() => stopTracing());

  function desk() {
    const written: string[] = [];
    const d = new RequestDesk(
      new StandInSocket((frame) => written.push(frame.tracingId as string)),
      10_000,
      { messagesPerSecond: 2, requestsPerMinute: 60 },
      Date.now,
    );
    return { d, written };
  }

  test('a request answered: one client span `guest <kind>` with its kind and tracingId; a refused one is marked failed', async () => {
    const { d, written } = desk();
    const jwt = d.request('jwt', (tracingId) => ({ tracingId }));
    d.settle(d.pending.byTracingId(written[0]!) as Pending, { value: 'a jwt' });
    await expect(jwt).resolves.toBe('a jwt');
    const send = d.request('send', (tracingId) => ({ tracingId }), { messageId: 'm1', text: 'hello' });
    d.settle(d.pending.byTracingId(written[1]!) as Pending, new GuestApiError('message_too_long', 'Too long.'));
    await expect(send).rejects.toMatchObject({ failure: 'message_too_long' });

    await flushTracing();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['guest jwt', 'guest send']);
    expect(spans[0]).toMatchObject({
      kind: SpanKind.CLIENT,
      attributes: { 'genesys.guest.request': 'jwt', 'genesys.guest.tracing_id': written[0] },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(spans[1]).toMatchObject({
      attributes: { 'genesys.guest.request': 'send', 'genesys.guest.tracing_id': written[1] },
      status: { code: SpanStatusCode.ERROR },
    });
  });
});

/**
 * The desk wakes the process only when a request waits its turn: a message
 * written with nothing queued behind it leaves no timer but its own deadline,
 * gone with its reply (bench/README.md: a timer per message was one more
 * wake-up per message at the rates chats run).
 */
describe('it wakes the process only when a request waits its turn', () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-11-23T12:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  function desk(messagesPerSecond = 2) {
    const written: string[] = [];
    const d = new RequestDesk(
      new StandInSocket((frame) => written.push(frame.tracingId as string)),
      10_000,
      { messagesPerSecond, requestsPerMinute: 60, laneHoldMs: 1000 },
      Date.now,
    );
    const send = (text: string) => d.request<string>('send', (tracingId) => ({ tracingId }), { messageId: text, text });
    const attach = (attachmentId: string) =>
      d.request<string>('attachment', (tracingId) => ({ tracingId }), { attachmentId });
    const jwt = () => d.request<string>('jwt', (tracingId) => ({ tracingId }));
    const reply = (tracingId: string, value: string) =>
      d.settle(d.pending.byTracingId(tracingId) as Pending, { value });
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
    // One a second: the second waits for the window (a second and 100 ms of slack) even with the lane free.
    expect(written).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1099);
    expect(written).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
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
});
