import type { CanaryConfig } from '../../config/deployment';
import { AppError } from '../../domain/errors';
import type { NormalizedMessage } from '../../domain/message';
import { GuestApiError, type GuestSession, type SessionHub } from '../../genesys/guest';
import type { LiveStreams } from '../../http';
import { CANARY_STEPS } from '../../observability/metrics';
import { serializeError } from '../../observability/scrub';
import type { GuestChat, SessionClaims, SessionTokens } from '../../session';
import { StreamWitness } from './streamWitness';

/**
 * One canary conversation, through the code a customer's chat goes through (docs/operations.md#canaries): the
 * session started by GuestChat with the canary attribute, a message sent by it, the flow's first answer as the
 * session hears it, the same answer on a live stream served by LiveStreams, in history, and the chat ended. Each
 * step is `ok`, `failed` or `skipped` (after a failure, or when Genesys is unavailable or asks to back off), with its
 * duration and, when it failed, why, in words scrubbed of anything like a credential.
 */

export type CanaryStepName = (typeof CANARY_STEPS)[number];
export type CanaryOutcome = 'ok' | 'failed' | 'skipped';

export interface CanaryStep {
  step: CanaryStepName;
  outcome: CanaryOutcome;
  durationMs: number;
  reason?: string;
}

/** What a run found, before it is stamped with when, where and its trace. */
export interface CanaryResult {
  outcome: CanaryOutcome;
  steps: CanaryStep[];
  /** The step that failed first, or that made the run skip. */
  failedStep?: CanaryStepName;
  reason?: string;
  /** Genesys asked to wait (a 429): no run before this many seconds. */
  backOffSeconds?: number;
  durationMs: number;
}

/** What a run uses of its deployment: the same parts its customers' requests use. */
export interface CanaryParts {
  chat: Pick<GuestChat, 'start' | 'send' | 'history' | 'end'>;
  tokens: Pick<SessionTokens, 'open'>;
  hub: Pick<SessionHub, 'session'>;
  streams: Pick<LiveStreams, 'serve'>;
  /** The deployment read with its OAuth client, when it has one: what a customer's chat needs of the Platform API. */
  platformCheck?: () => Promise<unknown>;
  canary: Pick<CanaryConfig, 'attribute' | 'expect'>;
  /** The longest a run waits for the flow's first answer, and then for it on the stream. */
  answerWaitMs: number;
  /** A run that takes longer fails (the objective's bound). */
  objectiveMs: number;
  now: () => number;
}

/** The most of a reason that is kept: enough for Genesys's answer, never a whole page. */
const MAX_REASON = 500;
/** Reads of history before the answer counts as missing from it: Genesys may show it a moment later. */
const HISTORY_READS = 3;
const HISTORY_GAP_MS = 300;

/** Why a step failed, as an operator reads it: the error's code, status and message, and Genesys's own words. */
export function reasonOf(error: unknown): string {
  const logged = serializeError(error);
  if (!logged) return 'unknown';
  const head = [logged.code ?? logged.type, logged.status === undefined ? undefined : `HTTP ${logged.status}`]
    .filter(Boolean)
    .join(', ');
  const detail = Object.entries(logged.detail ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const text = `${head}: ${logged.message}${detail ? ` (${detail})` : ''}`;
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

/** Genesys is unavailable (the circuit is open) or asks to wait (429): the run is skipped, not failed. */
function skipOf(error: unknown): { reason: string; backOffSeconds?: number } | undefined {
  if (error instanceof GuestApiError && error.failure === 'circuit_open')
    return { reason: 'skipped: Genesys unavailable (the circuit to Genesys is open)' };
  if (error instanceof AppError && error.code === 'rate_limited') {
    const seconds = error.retryAfterSeconds ?? 1;
    return { reason: `skipped: Genesys asked to wait ${seconds} s (429); backing off`, backOffSeconds: seconds };
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `promise` at most `ms`, else rejects with what `late` says then. */
function within<T>(promise: Promise<T>, ms: number, late: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const what = () => (typeof late === 'string' ? late : late());
  const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}

/**
 * The flow's answer to the canary's message, as the session hears it: the first message to the guest (an agent's or
 * bot's) once `arm` is called that holds `expected` (any, when unset). With `expected`, a greeting the deployment sends
 * as the session starts is told from the answer; without it, a greeting that comes after the message was sent is
 * taken for the answer. `seen` holds the first few messages to the guest, for a failure to name.
 */
function answerTo(session: GuestSession, expected: string | undefined) {
  let armed = false;
  const seen: string[] = [];
  let stop = () => {};
  const answer = new Promise<NormalizedMessage>((resolve) => {
    stop = session.subscribe((event) => {
      if (!armed || event.type !== 'message') return;
      const { message } = event;
      if (message.direction !== 'outbound' || message.type === 'event') return;
      const text = message.text ?? '';
      if (seen.length < 3) seen.push(JSON.stringify(text.slice(0, 120)));
      if (expected !== undefined && !text.includes(expected)) return;
      stop();
      resolve(message);
    });
  });
  return { answer, seen, arm: () => (armed = true), stop: () => stop() };
}

/** Runs one canary conversation saying `text`; `key` makes its send idempotent. Never throws. */
export async function runCanary(parts: CanaryParts, text: string, key: string): Promise<CanaryResult> {
  const { chat, tokens, hub, canary, now } = parts;
  const startedAt = now();
  const steps: CanaryStep[] = [];
  let stopped: Pick<CanaryResult, 'outcome' | 'failedStep' | 'reason' | 'backOffSeconds'> | undefined;

  const step = async <T>(name: CanaryStepName, work: () => Promise<T>, always = false): Promise<T | undefined> => {
    if (stopped && !always) {
      steps.push({ step: name, outcome: 'skipped', durationMs: 0 });
      return undefined;
    }
    const began = now();
    try {
      const value = await work();
      steps.push({ step: name, outcome: 'ok', durationMs: now() - began });
      return value;
    } catch (error) {
      const skip = skipOf(error);
      const reason = skip?.reason ?? reasonOf(error);
      steps.push({ step: name, outcome: skip ? 'skipped' : 'failed', durationMs: now() - began, reason });
      stopped ??= skip
        ? { outcome: 'skipped', failedStep: name, reason, backOffSeconds: skip.backOffSeconds }
        : { outcome: 'failed', failedStep: name, reason };
      return undefined;
    }
  };

  let claims: SessionClaims | undefined;
  const witness = new StreamWitness();
  let listening: ReturnType<typeof answerTo> | undefined;
  try {
    await step('session', async () => {
      await parts.platformCheck?.();
      const view = await chat.start({ attributes: { [canary.attribute.name]: canary.attribute.value } }, undefined);
      claims = await tokens.open(view.sessionToken, undefined);
      const session = hub.session(claims.guestToken);
      // Listening before the message leaves, as a customer's page does: the answer can come at once.
      listening = answerTo(session, canary.expect);
      parts.streams.serve(witness.response, session, { guestToken: claims.guestToken, ip: 'canary' });
    });
    await step('send', async () => {
      listening!.arm();
      const sent = await chat.send(claims!, { text }, key);
      claims = await tokens.open(sent.sessionToken, undefined);
    });
    const answer = await step('first_answer', () => {
      const { expect } = canary;
      const wanted = expect === undefined ? 'no answer' : `no answer containing ${JSON.stringify(expect)}`;
      return within(listening!.answer, parts.answerWaitMs, () =>
        listening!.seen.length === 0
          ? `the flow sent no answer within ${parts.answerWaitMs} ms`
          : `the flow sent ${wanted} within ${parts.answerWaitMs} ms; it sent ${listening!.seen.join(', ')}`,
      );
    });
    await step('stream', () => witness.sawMessage(answer!.id, parts.answerWaitMs));
    await step('history', async () => {
      for (let read = 1; ; read++) {
        const page = await chat.history(claims!, 1, 25);
        if (page.messages.some((m) => m.id === answer!.id)) return;
        if (read >= HISTORY_READS) throw new Error(`the answer is not in history after ${read} reads`);
        await sleep(HISTORY_GAP_MS);
      }
    });
  } finally {
    listening?.stop();
    witness.close();
  }
  // Ended whatever happened before, so no canary conversation is left open; skipped only if none started.
  if (claims) await step('end', () => chat.end(claims!), true);
  else await step('end', async () => {});

  const durationMs = now() - startedAt;
  if (!stopped && durationMs > parts.objectiveMs) {
    const slowest = steps.reduce((a, b) => (b.durationMs > a.durationMs ? b : a));
    stopped = {
      outcome: 'failed',
      failedStep: slowest.step,
      reason: `the run took ${durationMs} ms, over the objective's ${parts.objectiveMs} ms (slowest: ${slowest.step})`,
    };
  }
  return { outcome: 'ok', ...stopped, steps, durationMs };
}
