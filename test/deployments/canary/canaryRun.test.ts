import { runCanary, type CanaryParts } from '../../../src/deployments/canary';
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
