import { randomUUID } from 'node:crypto';
import type { SettingNames } from '../../../config/deployment';
import { AppError } from '../../../domain/errors';
import type { Logger } from '../../../observability/logger';
import { genesysCircuitOpen, genesysCircuitRefusals, genesysCircuitTransitions } from '../../../observability/metrics';
import { DependencyState, type Readiness } from '../../../observability/readiness';
import { fairDeadline, type FairDeadline } from '../../../scheduling/fairDeadline';
import { GuestApiError } from '../protocol';
import type { SharedStore } from '../../../store';
import { GuestSocket } from './guestSocket';

/**
 * The `guestApi` readiness check, and this instance's circuit to Genesys.
 *
 * Readiness: whether Genesys accepts this instance's guest WebSocket
 * handshakes. It starts unready and a bare handshake (no session is
 * configured) is tried at once, so an instance that cannot open a guest
 * socket (a wrong GENESYS_ORIGIN, a host it cannot reach) gets no traffic
 * rather than failing its first guest. A refused or failed handshake turns it
 * unready; while it is, the bare handshake is retried in the background, so
 * the instance proves itself healthy again without needing traffic. Any
 * successful handshake clears it.
 *
 * The circuit: calls to Genesys (socket opens and configure, sends, history
 * and token reads) go through `watch`. A few failures in a row, or a bare
 * handshake that fails or does not answer within its own short deadline
 * (tried as soon as a call fails or has run longer than `slowCallMs`), open
 * it: every call is then refused at once with `503 upstream_unavailable` and
 * `Retry-After`, instead of each waiting for GENESYS_TIMEOUT_MS, and the calls
 * already waiting on Genesys are answered then too (`onOpen`). While open,
 * the bare handshake is tried every `openProbeIntervalMs`; the first that
 * succeeds closes it, and `Retry-After` says when that next handshake will
 * have had its chance. A refused handshake (403: the configuration is wrong)
 * is not an outage and does not open it: those calls answer 502 at once anyway.
 * Nor is a handshake answered 429: Genesys is there, and the deployment's new
 * sockets a minute are spent for now; it opens and closes nothing.
 *
 * Shared (`shared`, Redis): an instance whose circuit opens says so in the
 * shared store, and keeps saying so while it stays open. Every instance of
 * the deployment reads that alarm every second; one that has not found the
 * outage itself checks Genesys at once with a bare handshake of its own, and
 * opens if that fails too. So the instances open together, within a second
 * and a handshake's deadline, however little traffic each has, and one
 * instance's own network trouble shuts no other out.
 */
interface GuestApiHealthOptions {
  webMessagingUrl: string;
  deploymentId: string;
  origin: string;
  /** The deployment id and `origin` as a refused handshake names them: the settings that gave them (Deployment). */
  named: Pick<SettingNames, 'deploymentId' | 'origin'>;
  readiness: Readiness;
  logger: Logger;
  /** Between bare handshakes while unready and the circuit closed (a refused handshake). */
  probeIntervalMs: number;
  connectTimeoutMs: number;
  /** A probe's own deadline, far shorter than a request's: a hung Genesys is found in seconds (default 2 s). */
  probeTimeoutMs?: number;
  /** A call still under way after this has a probe check Genesys meanwhile (default 1 s). */
  slowCallMs?: number;
  /** Between probes while the circuit is open (default 1 s): how long a refused caller is told to wait, at most. */
  openProbeIntervalMs?: number;
  /** Where the deployment's instances tell each other of an outage one of them found (Redis). */
  shared?: { store: Pick<SharedStore, 'get' | 'put'>; pollMs?: number };
  now?: () => number;
}

/** How long an alarm outlives the last failed handshake of the instance that raised it. */
const ALARM_TTL_MS = 10_000;
/** Failed calls in a row that have a handshake check run at once, whatever the gap between checks. */
const FAILURES_TO_CHECK = 3;

/** What a guest session and the REST calls need from the circuit. */
export interface GenesysGate {
  /** The refusal a call gets now, when the circuit is open. */
  refusal(): GuestApiError | undefined;
  /**
   * Runs a call to Genesys unless the circuit is open, and counts its outcome. With `abandonOnOpen`, a call still
   * under way when the circuit opens is refused then (a connect, a history read: what is safe to ask again; a send,
   * which may have arrived, is answered by its desk, which knows whether it was written: `onOpen`). With
   * `countFailures: false`, its failure is not counted (a send's failure repeats its socket's or its proof's).
   */
  watch<T>(call: () => Promise<T>, options?: WatchOptions): Promise<T>;
  /**
   * Tells `listener` each time the circuit opens, with the refusal calls get now (503, Retry-After), so what
   * already waits on Genesys is answered then rather than at its deadline. The function returned stops it.
   */
  onOpen(listener: (refusal: GuestApiError) => void): () => void;
}

interface WatchOptions {
  abandonOnOpen?: boolean;
  countFailures?: boolean;
}

/** Failures that say Genesys is away, not that it refused this request or this configuration. */
function isOutage(error: unknown): boolean {
  // A 429 (a handshake's is `rate_limited`) is Genesys answering: the deployment's sockets a minute are spent, Genesys
  // is not away. A socket that dropped is one guest's fault (its reconnect finds out whether Genesys is there).
  if (error instanceof GuestApiError)
    return ['unavailable', 'timeout'].includes(error.failure) && error.logDetail?.genesysCode !== 429;
  return error instanceof AppError && error.code === 'upstream_unavailable';
}

export class GuestApiHealth implements GenesysGate {
  private readonly check: DependencyState;
  private probeTimer?: NodeJS.Timeout;
  private closed = false;
  private refused = false;
  /** The bare handshake under way, ended if the instance stops first, and when it gives up. */
  private probing?: { socket: GuestSocket; deadline: FairDeadline };
  /** When the next bare handshake starts (this instance's clock). */
  private nextProbeAt = 0;
  private open = false;
  private failures = 0;
  private lastSuspectProbeAt = -Infinity;
  /** A call asked for a check while one was under way, which may have begun before that call: check again after. */
  private checkAgain = false;
  private suspectTimer?: NodeJS.Timeout;
  /** Told as soon as the circuit opens: connects under way, and the requests waiting at each session's desk. */
  private readonly openListeners = new Set<(refusal: GuestApiError) => void>();
  private readonly now: () => number;
  private readonly instance = randomUUID();
  /** The alarm this instance raised for its open circuit, renewed while it stays open. */
  private alarm?: string;
  /** The last alarm read or raised: each is acted on once. */
  private alarmSeen?: string;
  private alarmPoll?: NodeJS.Timeout;

  constructor(private readonly options: GuestApiHealthOptions) {
    this.now = options.now ?? Date.now;
    this.check = new DependencyState({
      initial: { ok: false, detail: `Checking that Genesys accepts a guest WebSocket at ${options.webMessagingUrl}.` },
      logger: options.logger,
      onState: (state) => options.readiness.set('guestApi', state),
    });
    genesysCircuitOpen.set(0);
  }

  /** The first handshake, at start-up. */
  start(): void {
    void this.probe();
    const shared = this.options.shared;
    if (!shared) return;
    this.alarmPoll = setInterval(() => void this.readAlarm(), shared.pollMs ?? 1000);
    this.alarmPoll.unref();
  }

  get circuitOpen(): boolean {
    return this.open;
  }

  /**
   * Seconds a refused caller should wait: until the probe under way, or else the next one, has had its chance to
   * close the circuit (at most `openProbeIntervalMs` and a probe's deadline).
   */
  private get retryAfterSeconds(): number {
    const now = this.now();
    const decidedAt = this.probing
      ? now + this.probing.deadline.leftMs
      : Math.max(now, this.nextProbeAt) + this.probeTimeoutMs;
    return Math.max(1, Math.ceil((decidedAt - now) / 1000));
  }

  private get probeTimeoutMs(): number {
    return Math.min(this.options.probeTimeoutMs ?? 2000, this.options.connectTimeoutMs);
  }

  private get slowCallMs(): number {
    return this.options.slowCallMs ?? 1000;
  }

  private get openProbeIntervalMs(): number {
    return this.options.openProbeIntervalMs ?? 1000;
  }

  refusal(): GuestApiError | undefined {
    if (!this.open) return undefined;
    genesysCircuitRefusals.inc();
    return new GuestApiError('circuit_open', 'Genesys is not answering just now; please retry shortly.', {
      retryAfterSeconds: this.retryAfterSeconds,
    });
  }

  async watch<T>(call: () => Promise<T>, options: WatchOptions = {}): Promise<T> {
    const refused = this.refusal();
    if (refused) throw refused;
    const slow = setTimeout(() => this.suspect(), this.slowCallMs);
    slow.unref();
    let abandon: ((error: GuestApiError) => void) | undefined;
    const work = call();
    const raced = options.abandonOnOpen
      ? Promise.race([
          work,
          new Promise<never>((_, reject) => {
            abandon = (error) => reject(error);
            this.openListeners.add(abandon);
          }),
        ])
      : work;
    try {
      const value = await raced;
      this.answered();
      return value;
    } catch (error) {
      if (options.countFailures !== false && isOutage(error)) this.callFailed();
      throw error;
    } finally {
      clearTimeout(slow);
      if (abandon) this.openListeners.delete(abandon);
    }
  }

  onOpen(listener: (refusal: GuestApiError) => void): () => void {
    this.openListeners.add(listener);
    return () => void this.openListeners.delete(listener);
  }

  /** A handshake succeeded (a guest's socket, or the bare probe). */
  succeeded(): void {
    clearTimeout(this.probeTimer);
    this.answered();
    this.check.set({
      ok: true,
      detail: this.refused ? 'Genesys accepts the guest WebSocket again.' : 'Genesys accepts the guest WebSocket.',
    });
  }

  /** A handshake failed (a guest's socket, or the bare probe). */
  failed(error: GuestApiError): void {
    // Refused for the deployment's rate (429): readiness and the circuit stay as they are, and an instance not yet
    // known to be ready checks again once the wait Genesys gave is over.
    if (error.failure === 'rate_limited') {
      if (!this.check.current.ok) this.scheduleProbe((error.retryAfterSeconds ?? 1) * 1000);
      return;
    }
    const detail =
      error.failure === 'handshake_refused'
        ? `Genesys refused the guest WebSocket handshake (HTTP 403) at ${this.options.webMessagingUrl}. ` +
          `Check ${this.options.named.deploymentId}, that the deployment is active, ` +
          `and that ${this.options.named.origin} is one of its allowed domains.`
        : `The guest WebSocket at ${this.options.webMessagingUrl} could not be opened: ${error.message}` +
          (this.open
            ? ' Calls that need Genesys are refused with 503 at once until a background handshake succeeds.'
            : '');
    this.refused = true;
    this.check.set({ ok: false, detail }, { level: 'error', fields: { genesysCode: error.logDetail?.genesysCode } });
    if (isOutage(error)) this.callFailed();
    this.scheduleProbe();
  }

  /** Genesys answered a call: the failures in a row start again, and an open circuit closes. */
  private answered(): void {
    this.failures = 0;
    if (!this.open) return;
    this.open = false;
    this.alarm = undefined;
    // A new outage right after this one is checked at once.
    this.lastSuspectProbeAt = -Infinity;
    genesysCircuitOpen.set(0);
    genesysCircuitTransitions.inc({ to: 'closed' });
    this.options.logger.info('Genesys answers again: the circuit is closed, calls go through');
  }

  private callFailed(): void {
    if (this.open) return;
    this.failures++;
    // Only a failed handshake of its own opens the circuit: calls slowed by this instance's own load (timeouts on a
    // busy CPU) must not shut every guest out. Failures in a row have that check run at once.
    if (this.failures < FAILURES_TO_CHECK) return this.suspect();
    this.lastSuspectProbeAt = this.now();
    void this.probe();
  }

  /**
   * A call failed or is slow: a probe finds out now whether Genesys is away. At most one every `slowCallMs` (a send
   * waiting its turn is slow too): one asked for sooner runs when the gap ends. No longer a gap than a call waits
   * before it asks: a check made before that call began says nothing of it, so it never delays the call's own.
   */
  private suspect(): void {
    if (this.open || this.closed || this.suspectTimer) return;
    if (this.probing) {
      this.checkAgain = true;
      return;
    }
    const gapLeft = this.lastSuspectProbeAt + this.slowCallMs - this.now();
    if (gapLeft > 0) {
      this.suspectTimer = setTimeout(() => {
        this.suspectTimer = undefined;
        this.suspect();
      }, gapLeft);
      this.suspectTimer.unref();
      return;
    }
    this.lastSuspectProbeAt = this.now();
    void this.probe();
  }

  private openCircuit(reason: string): void {
    if (this.open || this.closed) return;
    this.open = true;
    genesysCircuitOpen.set(1);
    genesysCircuitTransitions.inc({ to: 'open' });
    this.check.set(
      {
        ok: false,
        detail:
          `Genesys does not answer at ${this.options.webMessagingUrl} (${reason}): calls that need it are refused ` +
          'with 503 at once until a background handshake succeeds.',
      },
      { level: 'error' },
    );
    this.scheduleProbe();
    const refusal = new GuestApiError('circuit_open', 'Genesys stopped answering; please retry shortly.', {
      retryAfterSeconds: this.retryAfterSeconds,
    });
    for (const listener of [...this.openListeners]) listener(refusal);
    this.alarm = `${this.instance}:${this.now()}`;
    this.alarmSeen = this.alarm;
  }

  /** Raises (or renews) this instance's alarm while its circuit is open; a store that fails only loses the sharing. */
  private async raiseAlarm(): Promise<void> {
    const { shared } = this.options;
    if (!shared || !this.alarm) return;
    await shared.store.put(this.alarmKey, this.alarm, ALARM_TTL_MS).catch((error: unknown) => {
      this.options.logger.debug({ err: error }, 'could not tell the other instances that Genesys is away');
    });
  }

  /** Another instance's new alarm: a handshake of this instance's own checks Genesys now. */
  private async readAlarm(): Promise<void> {
    const { shared } = this.options;
    if (!shared || this.closed) return;
    const alarm = await shared.store.get(this.alarmKey).catch(() => undefined);
    if (alarm === undefined || alarm === this.alarmSeen) return;
    this.alarmSeen = alarm;
    if (this.open || this.closed) return;
    this.options.logger.info('another instance found Genesys away: checking with a handshake of this one');
    this.lastSuspectProbeAt = this.now();
    void this.probe();
  }

  private get alarmKey(): string {
    return `genesys-circuit:${this.options.deploymentId}`;
  }

  /** The next bare handshake, after `delayMs` (by default the interval for the circuit's state). */
  private scheduleProbe(delayMs?: number): void {
    clearTimeout(this.probeTimer);
    if (this.closed) return;
    const delay = delayMs ?? (this.open ? this.openProbeIntervalMs : this.options.probeIntervalMs);
    this.nextProbeAt = this.now() + delay;
    this.probeTimer = setTimeout(() => void this.probe(), delay);
    this.probeTimer.unref();
  }

  /**
   * A bare handshake, within the probe's own deadline: at start, from the
   * retry timer (which success and close() clear), and when a call fails or is slow.
   *
   * The deadline is this instance's to keep, and a starved event loop keeps it late: it would read Genesys's
   * answer only after judging it missing, and the handshake's steps waited on it too. So the deadline is judged once
   * the loop has read what arrived, and gives back the time the loop was stalled meanwhile (up to the connect
   * timeout): only Genesys's own silence opens the circuit (scheduling/fairDeadline.ts).
   */
  private async probe(): Promise<void> {
    if (this.probing) return;
    const timeoutMs = this.probeTimeoutMs;
    const socket = new GuestSocket(
      {
        webMessagingUrl: this.options.webMessagingUrl,
        deploymentId: this.options.deploymentId,
        origin: this.options.origin,
        named: this.options.named,
        connectTimeoutMs: Math.max(timeoutMs, this.options.connectTimeoutMs),
        pingIntervalMs: 60_000,
        logger: this.options.logger,
      },
      () => undefined,
      () => undefined,
    );
    let late = false;
    const deadline = fairDeadline(timeoutMs, this.options.connectTimeoutMs, () => {
      late = true;
      socket.close();
    });
    this.probing = { socket, deadline };
    let failure: GuestApiError | undefined;
    try {
      await socket.connect();
      socket.close();
    } catch (error) {
      failure = late
        ? new GuestApiError('unavailable', `Genesys did not answer the handshake within ${timeoutMs} ms.`, {
            cause: error,
          })
        : (error as GuestApiError);
    } finally {
      deadline.cancel();
    }
    this.probing = undefined;
    // Stopped while it ran (shutdown): its outcome says nothing.
    if (this.closed) return;
    if (!failure) this.succeeded();
    else if (isOutage(failure)) {
      this.openCircuit('a bare handshake failed or did not answer in time');
      void this.raiseAlarm();
    }
    if (failure) this.failed(failure);
    if (this.checkAgain) {
      this.checkAgain = false;
      this.suspect();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
    clearTimeout(this.suspectTimer);
    clearInterval(this.alarmPoll);
    this.probing?.socket.close();
    this.probing?.deadline.cancel();
    this.openListeners.clear();
  }
}
