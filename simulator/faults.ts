import type { RestTarget } from './recorder';

/**
 * Fault injection, switched on from a test. Rules with a count are consumed
 * one per matching event; rules without one stay until `clear()`. The hot
 * paths ask these questions on every frame, so each answer is a map lookup or
 * a scan of a list that is empty unless a test armed it.
 */

export type DropWhen = 'before-processing' | 'after-processing';
export type RestFaultTarget = Exclude<RestTarget, 'domains'>;

export interface RestFault {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many requests fail; default until cleared. */
  times?: number;
  /** Wait this long before answering with the failure. */
  delayMs?: number;
}

export interface FaultControls {
  /** Terminates (no close frame) every socket of this session, or every socket when no token is given. */
  dropSocket(sessionToken?: string): void;
  /**
   * Terminates the socket that receives the next frame with this action (`'*'` = any),
   * either instead of processing it (the frame is lost) or after processing it
   * (the server acted on it, the replies to that socket are lost).
   */
  dropOnNext(action: string, opts?: { sessionToken?: string; when?: DropWhen }): void;
  /**
   * Delays every outgoing frame by `ms` (0 clears), for one session or globally: network latency, so a socket's
   * frames keep their order (one socket is one TCP stream) when the delay is cleared or the socket changes session.
   */
  delayFrames(ms: number, sessionToken?: string): void;
  /**
   * Refuses WebSocket handshakes with this HTTP status (default 403), `times` times or until cleared; with
   * `retryAfter` (seconds) the refusal carries a `Retry-After` header.
   */
  refuseHandshake(status?: number, times?: number, retryAfter?: number): void;
  /** Answers the next `times` (default 1) onMessage frames with TooManyRequestsErrorMessage. */
  rateLimit(opts: { retryAfter: number; times?: number; sessionToken?: string }): void;
  /** Answers the next `times` (default 1) onMessage frames with a plain 401 "User is unauthorized" (untraced under the strict profile), as a running session whose credentials lapsed would. */
  refuseUnauthorized(opts?: { times?: number; sessionToken?: string }): void;
  /**
   * Answers the next `times` (default 1) frames with this action with an error frame (`class: "string"`) instead of
   * acting on them: a mid-session 401 or a 403 asking to authenticate again (REAUTHENTICATE), 4008 (attachment expired)
   * or 5000 on a file frame. Genesys sends each of these (docs/genesys-protocol.md#error-codes); no script here does.
   */
  refuseNext(action: string, opts: { code: number; body?: string; times?: number; sessionToken?: string }): void;
  /**
   * Genesys acts on the next `times` (default 1) frames with this action at once but finishes answering them `ms`
   * later: what handling one sends this socket (its answer, the events it causes, a close) waits, in order, while
   * answers to requests that came after it go out meanwhile. The Guest API pairs answers with requests by
   * `tracingId` and gives no ordering guarantee (docs/genesys-protocol.md#envelope-and-correlation-tracingid).
   */
  slowAnswer(action: string, ms: number, opts?: { times?: number; sessionToken?: string }): void;
  /** The next `times` (default 1) uploads are refused after their PUT: UploadFailureEvent 4003 instead of UploadSuccessEvent. */
  failNextUpload(times?: number): void;
  /** Makes a REST endpoint fail with a status and a real-looking body (default: the ErrorBody for that status). */
  failRest(target: RestFaultTarget, opts: RestFault): void;
  /** Delays a REST endpoint's answers by `ms` (to simulate timeouts), `times` times or until cleared. */
  delayRest(target: RestFaultTarget, ms: number, opts?: { times?: number }): void;
  /**
   * Holds a REST endpoint's next `times` (default 1) requests unanswered until `release()`: a read
   * that stays under way for exactly as long as a test needs (`held()` says how many wait now).
   */
  holdRest(target: RestFaultTarget, opts?: { times?: number }): RestHold;
  /** Expires the session now: SessionExpiredEvent to its sockets, 4006 afterwards. */
  expireSession(sessionToken: string): void;
  clear(): void;
}

export interface RestHold {
  /** Requests waiting on this hold now. */
  held(): number;
  /** Answers every request held, and holds no more. */
  release(): void;
}

interface Counted {
  remaining: number;
}
interface DropRule extends Counted {
  action: string;
  sessionToken?: string;
  when: DropWhen;
}
interface RefusalRule extends Counted {
  action: string;
  code: number;
  body: string;
  sessionToken?: string;
}
/** How a handshake is refused: its HTTP status, and the seconds of its `Retry-After` when it has one. */
export interface HandshakeRefusal {
  status: number;
  retryAfter?: number;
}
interface RateRule extends Counted {
  retryAfter: number;
  sessionToken?: string;
}

function take<T extends Counted>(rules: T[], index: number): T {
  const rule = rules[index]!;
  rule.remaining -= 1;
  if (rule.remaining <= 0) rules.splice(index, 1);
  return rule;
}

export class Faults implements FaultControls {
  private drops: DropRule[] = [];
  private rateRules: RateRule[] = [];
  private unauthorizedRules: (Counted & { sessionToken?: string })[] = [];
  private refusalRules: RefusalRule[] = [];
  private slowRules: (Counted & { action: string; ms: number; sessionToken?: string })[] = [];
  private globalFrameDelay = 0;
  private readonly frameDelays = new Map<string, number>();
  private handshake?: HandshakeRefusal & { remaining: number };
  private readonly restFaults = new Map<RestFaultTarget, RestFault & Counted>();
  private readonly restDelays = new Map<RestFaultTarget, { ms: number } & Counted>();
  private readonly restHolds = new Map<
    RestFaultTarget,
    Counted & { waiting: number; released: Promise<void>; release(): void }
  >();

  constructor(
    private readonly actions: {
      dropSocket(sessionToken?: string): void;
      expireSession(sessionToken: string): void;
      failNextUploads(times: number): void;
    },
  ) {}

  failNextUpload(times = 1): void {
    this.actions.failNextUploads(times);
  }

  dropSocket(sessionToken?: string): void {
    this.actions.dropSocket(sessionToken);
  }

  dropOnNext(action: string, opts: { sessionToken?: string; when?: DropWhen } = {}): void {
    this.drops.push({ action, sessionToken: opts.sessionToken, when: opts.when ?? 'before-processing', remaining: 1 });
  }

  delayFrames(ms: number, sessionToken?: string): void {
    if (sessionToken === undefined) this.globalFrameDelay = ms;
    else if (ms > 0) this.frameDelays.set(sessionToken, ms);
    else this.frameDelays.delete(sessionToken);
  }

  refuseHandshake(status = 403, times = Infinity, retryAfter?: number): void {
    this.handshake = { status, retryAfter, remaining: times };
  }

  rateLimit(opts: { retryAfter: number; times?: number; sessionToken?: string }): void {
    this.rateRules.push({ retryAfter: opts.retryAfter, sessionToken: opts.sessionToken, remaining: opts.times ?? 1 });
  }

  refuseUnauthorized(opts: { times?: number; sessionToken?: string } = {}): void {
    this.unauthorizedRules.push({ sessionToken: opts.sessionToken, remaining: opts.times ?? 1 });
  }

  refuseNext(action: string, opts: { code: number; body?: string; times?: number; sessionToken?: string }): void {
    const body = opts.body ?? 'Request failed.';
    this.refusalRules.push({
      action,
      code: opts.code,
      body,
      sessionToken: opts.sessionToken,
      remaining: opts.times ?? 1,
    });
  }

  slowAnswer(action: string, ms: number, opts: { times?: number; sessionToken?: string } = {}): void {
    this.slowRules.push({ action, ms, sessionToken: opts.sessionToken, remaining: opts.times ?? 1 });
  }

  failRest(target: RestFaultTarget, opts: RestFault): void {
    this.restFaults.set(target, { ...opts, remaining: opts.times ?? Infinity });
  }

  delayRest(target: RestFaultTarget, ms: number, opts: { times?: number } = {}): void {
    this.restDelays.set(target, { ms, remaining: opts.times ?? Infinity });
  }

  holdRest(target: RestFaultTarget, opts: { times?: number } = {}): RestHold {
    this.restHolds.get(target)?.release();
    let open = () => {};
    const released = new Promise<void>((resolve) => (open = resolve));
    const rule = {
      remaining: opts.times ?? 1,
      waiting: 0,
      released,
      release: () => {
        if (this.restHolds.get(target) === rule) this.restHolds.delete(target);
        rule.remaining = 0;
        open();
      },
    };
    this.restHolds.set(target, rule);
    return { held: () => rule.waiting, release: rule.release };
  }

  expireSession(sessionToken: string): void {
    this.actions.expireSession(sessionToken);
  }

  clear(): void {
    this.drops = [];
    this.rateRules = [];
    this.unauthorizedRules = [];
    this.refusalRules = [];
    this.slowRules = [];
    this.globalFrameDelay = 0;
    this.frameDelays.clear();
    this.handshake = undefined;
    this.restFaults.clear();
    this.restDelays.clear();
    for (const hold of [...this.restHolds.values()]) hold.release();
  }

  // --- questions asked by the simulator --------------------------------------

  takeDrop(action: string, sessionToken: string | undefined): DropWhen | undefined {
    if (this.drops.length === 0) return undefined;
    const i = this.drops.findIndex(
      (r) =>
        (r.action === '*' || r.action === action) && (r.sessionToken === undefined || r.sessionToken === sessionToken),
    );
    return i < 0 ? undefined : take(this.drops, i).when;
  }

  takeRateLimit(sessionToken: string): number | undefined {
    if (this.rateRules.length === 0) return undefined;
    const i = this.rateRules.findIndex((r) => r.sessionToken === undefined || r.sessionToken === sessionToken);
    return i < 0 ? undefined : take(this.rateRules, i).retryAfter;
  }

  takeRefusal(action: string, sessionToken: string | undefined): { code: number; body: string } | undefined {
    if (this.refusalRules.length === 0) return undefined;
    const i = this.refusalRules.findIndex(
      (r) => r.action === action && (r.sessionToken === undefined || r.sessionToken === sessionToken),
    );
    return i < 0 ? undefined : take(this.refusalRules, i);
  }

  /** How much later the answer to this request goes out (`slowAnswer`): 0 for at once. */
  takeSlowAnswer(action: string, sessionToken: string | undefined): number {
    if (this.slowRules.length === 0) return 0;
    const i = this.slowRules.findIndex(
      (r) => r.action === action && (r.sessionToken === undefined || r.sessionToken === sessionToken),
    );
    return i < 0 ? 0 : take(this.slowRules, i).ms;
  }

  takeUnauthorized(sessionToken: string): boolean {
    const i = this.unauthorizedRules.findIndex((r) => r.sessionToken === undefined || r.sessionToken === sessionToken);
    if (i < 0) return false;
    take(this.unauthorizedRules, i);
    return true;
  }

  frameDelay(sessionToken: string | undefined): number {
    if (sessionToken !== undefined && this.frameDelays.size > 0) {
      const ms = this.frameDelays.get(sessionToken);
      if (ms !== undefined) return ms;
    }
    return this.globalFrameDelay;
  }

  takeHandshakeRefusal(): HandshakeRefusal | undefined {
    const rule = this.handshake;
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.handshake = undefined;
    return { status: rule.status, retryAfter: rule.retryAfter };
  }

  takeRestFault(target: RestFaultTarget): RestFault | undefined {
    const rule = this.restFaults.get(target);
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.restFaults.delete(target);
    return rule;
  }

  /** Resolves when a hold on `target` lets this request go (at once when none is armed). */
  async waitForRestHold(target: RestFaultTarget): Promise<void> {
    const rule = this.restHolds.get(target);
    if (!rule || rule.remaining <= 0) return;
    rule.remaining -= 1;
    rule.waiting += 1;
    try {
      await rule.released;
    } finally {
      rule.waiting -= 1;
    }
  }

  takeRestDelay(target: RestFaultTarget): number {
    const rule = this.restDelays.get(target);
    if (!rule) return 0;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.restDelays.delete(target);
    return rule.ms;
  }
}
