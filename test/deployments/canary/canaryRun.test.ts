import { runCanary, type CanaryParts } from '../../../src/deployments/canary';
import { reasonOf } from '../../../src/deployments/canary/canaryRun';
import { AppError } from '../../../src/domain/errors';
import { GuestApiError } from '../../../src/genesys/guest';
import { scriptedCanaryParts } from '../../support/canaryParts';
import { startStack, type Stack } from '../../support/stack';

/**
 * One canary run (src/deployments/canary/canaryRun.ts) through a served deployment's own chat, against the strict
 * simulator with autostart on and a greeting: the greeting is not the answer to the canary's message, the expected
 * text is looked for in the answer, and every step is timed.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ sim: { autoStart: true, agent: { greeting: 'Welcome to the shop!' } } });
});
afterAll(() => stack.close());

function partsOf(expect?: string, answerWaitMs = 5000): CanaryParts {
  const { chat, hub, tokens, streams } = stack.service.deployments.all[0]!.chat;
  return {
    chat,
    hub,
    tokens,
    streams,
    canary: { attribute: { name: 'bffCanary', value: 'yes' }, expect },
    answerWaitMs,
    objectiveMs: 10_000,
    now: Date.now,
  };
}

test('the answer to its message is what it waits for, not the greeting the session started with', async () => {
  const result = await runCanary(partsOf('You said'), 'canary check 1', 'canary-run-1');
  expect(result).toMatchObject({ outcome: 'ok' });
  expect(result.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual([
    'session:ok',
    'send:ok',
    'first_answer:ok',
    'stream:ok',
    'history:ok',
    'end:ok',
  ]);
  // The chat was ended at Genesys: Presence Clear, or closeSession where the deployment does not allow it.
  const sent = stack.sim.received.find((r) => r.frame?.message?.text === 'canary check 1')!;
  const frames = stack.sim.framesFor(sent.sessionToken!).map((r) => JSON.stringify(r.frame));
  expect(frames.some((f) => f.includes('"closeSession"') || f.includes('"Clear"'))).toBe(true);
});

test('answers without the expected text fail the run at first_answer, saying what came, and the chat still ends', async () => {
  const result = await runCanary(partsOf('Bonjour', 1000), 'canary check 2', 'canary-run-2');
  expect(result).toMatchObject({
    outcome: 'failed',
    failedStep: 'first_answer',
    reason: expect.stringContaining('the flow sent no answer containing "Bonjour" within 1000 ms; it sent '),
  });
  expect(result.reason).toContain('"You said: canary check 2"');
  expect(result.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual([
    'session:ok',
    'send:ok',
    'first_answer:failed',
    'stream:skipped',
    'history:skipped',
    'end:ok',
  ]);
});

describe('a run on scripted parts: each step, its timing and its words', () => {
  const outcomes = (result: { steps: Array<{ step: string; outcome: string }> }) =>
    result.steps.map((s) => `${s.step}:${s.outcome}`);

  test('starts the chat with the canary attribute and watches it on a stream of its own', async () => {
    const { parts, chat, serve, unsubscribed } = scriptedCanaryParts({});
    const result = await runCanary(parts, 'hello', 'key-1');
    expect(result.outcome).toBe('ok');
    expect(chat.start).toHaveBeenCalledWith({ attributes: { bffCanary: 'yes' } }, undefined);
    expect(serve).toHaveBeenCalledWith(expect.anything(), expect.anything(), {
      guestToken: 'guest-of-session-token-1',
      ip: 'canary',
    });
    // The end is said with the token the send gave back.
    expect(chat.end).toHaveBeenCalledWith({ guestToken: 'guest-of-session-token-2' });
    expect(unsubscribed).toHaveBeenCalledTimes(1);
  });

  test('takes only a message to the guest for the answer, naming the first three it saw, each cut at 120', async () => {
    const long = 'a long reply '.repeat(16);
    const { parts, unsubscribed } = scriptedCanaryParts({
      expect: 'never said',
      replies: [
        { id: 'echo', direction: 'inbound', type: 'text', text: 'the guest' },
        { id: 'joined', direction: 'outbound', type: 'event', text: 'an event' },
        { id: 'no-text', direction: 'outbound', type: 'structured' },
        { id: 'long', direction: 'outbound', type: 'text', text: long },
        { id: 'third', direction: 'outbound', type: 'text', text: 'third' },
        { id: 'fourth', direction: 'outbound', type: 'text', text: 'fourth' },
      ],
    });
    parts.answerWaitMs = 300;
    const result = await runCanary(parts, 'hello', 'key-2');
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'first_answer' });
    expect(result.reason).toBe(
      `Error: the flow sent no answer containing "never said" within 300 ms; it sent "", "${long.slice(0, 120)}", "third"`,
    );
    // Nothing listens on after the run.
    expect(unsubscribed).toHaveBeenCalledTimes(1);
  });

  test('without an expected text, the answer is the first message after the send, not one from before it', async () => {
    const greeting = { id: 'greeting', direction: 'outbound', type: 'text', text: 'Welcome!' } as const;
    const { parts } = scriptedCanaryParts({ before: greeting });
    // Taken for the answer, the greeting would be looked for on the stream and in history, which hold only the answer.
    expect(await runCanary(parts, 'hello', 'key-12')).toMatchObject({ outcome: 'ok' });
  });

  test('without an expected text and with nothing said, the failure says no answer came', async () => {
    const { parts } = scriptedCanaryParts({ replies: [] });
    parts.answerWaitMs = 200;
    const result = await runCanary(parts, 'hello', 'key-3');
    expect(result).toMatchObject({
      outcome: 'failed',
      failedStep: 'first_answer',
      reason: 'Error: the flow sent no answer within 200 ms',
    });
  });

  test('reads history again after a gap when the answer is not there yet, and fails after three reads', async () => {
    const late = scriptedCanaryParts({ inHistory: 2 });
    const timers = jest.spyOn(global, 'setTimeout');
    expect((await runCanary(late.parts, 'hello', 'key-4')).outcome).toBe('ok');
    expect(late.historyReads()).toBe(2);
    // The gap between the reads: 300 ms.
    expect(timers.mock.calls.filter(([, ms]) => ms === 300)).toHaveLength(1);
    timers.mockRestore();

    const never = scriptedCanaryParts({ inHistory: 99 });
    const result = await runCanary(never.parts, 'hello', 'key-5');
    expect(result).toMatchObject({
      outcome: 'failed',
      failedStep: 'history',
      reason: 'Error: the answer is not in history after 3 reads',
    });
    expect(never.historyReads()).toBe(3);
  });

  test('a session that never started skips every step after it, its end too, and ends nothing', async () => {
    const { parts, chat } = scriptedCanaryParts({});
    chat.start.mockRejectedValueOnce(new GuestApiError('circuit_open', 'the circuit is open'));
    const result = await runCanary(parts, 'hello', 'key-6');
    expect(result).toMatchObject({
      outcome: 'skipped',
      failedStep: 'session',
      reason: 'skipped: Genesys unavailable (the circuit to Genesys is open)',
    });
    expect(outcomes(result)).toEqual([
      'session:skipped',
      'send:skipped',
      'first_answer:skipped',
      'stream:skipped',
      'history:skipped',
      'end:skipped',
    ]);
    expect(chat.end).not.toHaveBeenCalled();
  });

  test.each([
    ['a 429 with Retry-After', new AppError('rate_limited', 'slow down', { retryAfterSeconds: 7 }), 7],
    ['a 429 without', Object.assign(new AppError('rate_limited', 'slow down'), { retryAfterSeconds: undefined }), 1],
  ])('%s skips the run and backs off', async (_, error, seconds) => {
    const { parts, chat } = scriptedCanaryParts({});
    chat.send.mockRejectedValueOnce(error);
    const result = await runCanary(parts, 'hello', 'key-7');
    expect(result).toMatchObject({
      outcome: 'skipped',
      failedStep: 'send',
      backOffSeconds: seconds,
      reason: `skipped: Genesys asked to wait ${seconds} s (429); backing off`,
    });
    // The chat that started is ended all the same.
    expect(outcomes(result).at(-1)).toBe('end:ok');
  });

  test.each([
    [
      'another refusal of the service',
      new AppError('upstream_unavailable', 'Genesys is not answering'),
      'upstream_unavailable, HTTP 503: Genesys is not answering',
    ],
    [
      'another failure of the Guest API',
      new GuestApiError('timeout', 'no answer in time'),
      // Its code, status and words, and the Guest API's failure among the details.
      'upstream_unavailable, HTTP 504: no answer in time (guestFailure=timeout)',
    ],
  ])('%s fails the run, in its words', async (_, error, reason) => {
    const { parts, chat } = scriptedCanaryParts({});
    chat.send.mockRejectedValueOnce(error);
    const result = await runCanary(parts, 'hello', 'key-8');
    expect(result).toMatchObject({ outcome: 'failed', failedStep: 'send', reason });
    expect(result.backOffSeconds).toBeUndefined();
  });

  test('times each step by its clock, and a run over the objective fails naming its slowest step', async () => {
    const { parts } = scriptedCanaryParts({});
    // Each reading of the clock is 1 s after the last, but those of the history step, 3 s.
    let clock = 0;
    const history = parts.chat.history;
    let inHistory = false;
    parts.chat.history = async (...args) => ((inHistory = true), await history(...args));
    parts.now = () => (clock += inHistory ? ((inHistory = false), 3_000) : 1_000);
    parts.objectiveMs = 14_000;
    const result = await runCanary(parts, 'hello', 'key-9');
    expect(result.steps.map((s) => s.durationMs)).toEqual([1_000, 1_000, 1_000, 1_000, 3_000, 1_000]);
    expect(result).toMatchObject({
      outcome: 'failed',
      failedStep: 'history',
      durationMs: 15_000,
      reason: "the run took 15000 ms, over the objective's 14000 ms (slowest: history)",
    });
    // At the objective, not over it: ok.
    const { parts: exact } = scriptedCanaryParts({ tickMs: 1_000 });
    exact.objectiveMs = 13_000;
    expect(await runCanary(exact, 'hello', 'key-10')).toMatchObject({ outcome: 'ok', durationMs: 13_000 });
    // Of steps equally slow, the first is named.
    const { parts: even } = scriptedCanaryParts({ tickMs: 1_000 });
    even.objectiveMs = 12_000;
    expect((await runCanary(even, 'hello', 'key-14')).reason).toBe(
      "the run took 13000 ms, over the objective's 12000 ms (slowest: session)",
    );
    // A step that failed is timed as one that did not.
    const { parts: failing, chat } = scriptedCanaryParts({ tickMs: 1_000 });
    chat.send.mockRejectedValueOnce(new Error('no'));
    const failed = await runCanary(failing, 'hello', 'key-13');
    expect(failed.steps.slice(0, 2)).toEqual([
      { step: 'session', outcome: 'ok', durationMs: 1_000 },
      { step: 'send', outcome: 'failed', durationMs: 1_000, reason: 'Error: no' },
    ]);
  });

  test('leaves no timer behind once it is done', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const { parts } = scriptedCanaryParts({});
      parts.answerWaitMs = 60_000;
      expect((await runCanary(parts, 'hello', 'key-11')).outcome).toBe('ok');
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('why a step failed, in an operator’s words', () => {
  test('code, status, message and detail, strings as they are, other values as JSON', () => {
    const error = Object.assign(new Error('Genesys refused'), {
      code: 'upstream_error',
      status: 502,
      logDetail: { genesysText: 'bad gateway', attempts: 2, final: true },
    });
    expect(reasonOf(error)).toBe(
      'upstream_error, HTTP 502: Genesys refused (genesysText=bad gateway attempts=2 final=true)',
    );
    expect(reasonOf(new Error('plain'))).toBe('Error: plain');
    expect(reasonOf(null)).toBe('unknown');
  });

  test('at most 500 characters, then an ellipsis', () => {
    const words = 'the flow said no more '.repeat(30);
    const fits = new Error(words.slice(0, 500 - 'Error: '.length));
    expect(reasonOf(fits)).toBe(`Error: ${fits.message}`);
    expect(reasonOf(new Error(words))).toBe(`Error: ${words.slice(0, 493)}…`);
  });
});
