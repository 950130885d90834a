/** What the PINGs found: Redis answers, missed one PING (a second is on its way), or missed two in a row. */
export type PingState = 'answering' | 'suspect' | 'silent';

/** Why a PING counted as unanswered, and how late this loop ran its deadline (its own lag, not Redis's). */
export interface Miss {
  reason: string;
  lagMs: number;
}

/** A PING's verdict: the state it leads to, with the miss when it went unanswered. */
export type PingVerdict = { state: 'answering' } | { state: 'suspect' | 'silent'; miss: Miss };

interface PingCheckOptions {
  /** Sends one PING; settles when Redis answers it. Bounded by the check, not by the caller. */
  ping(): Promise<unknown>;
  /** False while the connection is being made again: no PING is sent then (the connection's events judge it). */
  connected(): boolean;
  intervalMs: number;
  timeoutMs: number;
  /** Told after each PING. */
  onVerdict(verdict: PingVerdict): void;
}

/** Where one PING's outcome leads: any answer is `answering`; a miss, `suspect` the first time, then `silent`. */
export function nextState(state: PingState, answered: boolean): PingState {
  if (answered) return 'answering';
  return state === 'answering' ? 'suspect' : 'silent';
}

/**
 * Whether Redis answers, judged by a PING bounded in time every `intervalMs`, not by the connection's events alone:
 * a Redis that is stopped (SIGSTOP) or cut off by the network keeps its TCP connection up and answers nothing.
 *
 * The deadline is kept by this process's own event loop, which a starved CPU makes late, and a late loop must not
 * read as a silent Redis. So:
 * - A deadline is judged only once the loop has read what arrived meanwhile: a loop that was busy past the deadline
 *   runs its due timers before it reads its sockets, where Redis's answer may be waiting.
 * - One PING unanswered makes Redis `suspect`, not `silent`: a second goes out at once, and only two in a row
 *   unanswered are silence. A stall of a few hundred milliseconds (this loop's, or Redis's own fork or fsync)
 *   refuses nothing.
 * A stopped Redis is so found within the interval and two deadlines (2 s with the store's 1 s and 500 ms), later by
 * the loop's own lateness at each deadline when it lags; one answer ends it.
 */
export class PingCheck {
  private state: PingState = 'answering';
  private pinging = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: PingCheckOptions) {
    this.timer = setInterval(() => void this.round(), options.intervalMs);
    this.timer.unref();
  }

  /** A new connection: what the PINGs on the old one found is behind it. */
  reset(): void {
    this.state = 'answering';
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** One PING and its verdict; a first miss has a second PING sent at once. At most one PING is judged at a time. */
  private async round(): Promise<void> {
    if (this.pinging || this.closed || !this.options.connected()) return;
    this.pinging = true;
    let miss: Miss | undefined;
    try {
      miss = await this.missOf();
    } finally {
      this.pinging = false;
    }
    if (this.closed) return;
    const state = nextState(this.state, miss === undefined);
    this.state = state;
    if (state === 'answering' || miss === undefined) return this.options.onVerdict({ state: 'answering' });
    this.options.onVerdict({ state, miss });
    if (state === 'suspect') void this.round();
  }

  /** Sends a PING: undefined once it is answered within the deadline, else the miss. */
  private missOf(): Promise<Miss | undefined> {
    const { timeoutMs } = this.options;
    return new Promise((resolve) => {
      const settle = (miss?: Miss) => {
        clearTimeout(deadline);
        resolve(miss);
      };
      const due = Date.now() + timeoutMs;
      const deadline = setTimeout(() => {
        const lagMs = Math.max(0, Date.now() - due);
        // This turn reads its sockets after its timers: an answer that arrived while the loop was busy is read first.
        setImmediate(() => settle({ reason: `no answer to PING within ${timeoutMs} ms`, lagMs }));
      }, timeoutMs);
      let sent: Promise<unknown>;
      try {
        sent = this.options.ping();
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        () => settle(),
        (error: unknown) => settle({ reason: error instanceof Error ? error.message : String(error), lagMs: 0 }),
      );
    });
  }
}
