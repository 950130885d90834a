import { randomBytes } from 'node:crypto';
import { sessionKeyOf, type SharedStore } from '../../store';

/**
 * What a sealed token cannot say for itself: that its chat was ended, that a
 * sign-in replaced it, or that a stream ticket was already used. Tokens are sealed, not stored, so
 * they cannot be revoked; instead each session has a standing record in the
 * store, `standing:{session}`: `live:<anchor>` from its start, `ended` once
 * ended, kept alive by use as long as any token for it could still be valid.
 * While an end is under way, `ending:{session}` says so: Genesys may forget
 * the conversation before the end is recorded.
 * A sign-in records a cut-off, `notbefore:{session}`: every token of the
 * conversation sealed before it is refused. With the cut-off, in the same
 * record, goes what that sign-in got from Genesys, sealed: a retry of the same
 * sign-in (whose answer was lost) reads it there, as a code is exchanged
 * once. Before Genesys is asked to sign the session in, what the exchange gave
 * is kept, sealed, in `signin:{session}`: an instance lost between Genesys
 * signing the session in and the cut-off leaves its retry the token there.
 * Each ticket's id is remembered until the ticket expires.
 *
 * The anchor is a random word sealed into every token of the session. A
 * token whose session has no standing record although it carries an anchor
 * proves that the store lost its records (emptied, restarted without
 * persistence, failed over to an empty replica, evicted): whether the chat
 * was ended is then unknowable, so the session is `lost` and refused rather
 * than brought back to life. Its Idempotency-Key records went with it, so
 * refusing it is also what keeps a retried send from going out twice.
 *
 * In memory (one instance, no REDIS_URL) this holds for the instance that saw
 * the DELETE and only while it runs: a restart forgets every record, so a
 * missing one is taken as live (the documented limit of one instance).
 */
export interface Standing {
  state: 'live' | 'ended' | 'lost';
  /** Tokens of the conversation sealed before this (epoch ms; 0: none) open nothing: a sign-in replaced them. */
  cutOffMs: number;
  /** What the sign-in that set the cut-off got from Genesys, sealed (SessionTokens.sealSignIn), when it says. */
  signedIn?: string;
}

/**
 * Key prefixes of the records that must outlive any flood of others: the
 * in-memory store gives them a bound of their own (src/store/sharedStore.ts).
 */
export const SECURITY_RECORD_PREFIXES: readonly string[] = ['standing:', 'notbefore:', 'signin:'];

export interface Revocations {
  /** Records a new session; answers the anchor its tokens are to carry. */
  markLive(guestToken: string): Promise<string>;
  /** Remembers `guestToken` as ended until `untilMs` (epoch ms). */
  markEnded(guestToken: string, untilMs: number): Promise<void>;
  /**
   * The chat's end begins: Genesys may forget the conversation from now on, before the end is remembered
   * (markEnded). Remembered for `ttlMs`, longer than an end takes.
   */
  markEnding(guestToken: string, ttlMs: number): Promise<void>;
  /** Whether the chat was ended, or its end has begun and may have reached Genesys; undefined when neither. */
  endOf(guestToken: string): Promise<'ended' | 'ending' | undefined>;
  /** The session's standing for a token sealed with `anchor` (undefined: sealed before anchors existed). */
  standing(guestToken: string, anchor: string | undefined): Promise<Standing>;
  isEnded(guestToken: string): Promise<boolean>;
  /** True the first time a ticket id is claimed, false ever after (until `untilMs`). */
  claimTicket(ticketId: string, untilMs: number): Promise<boolean>;
  /** Whether a ticket id was already claimed; claims nothing. */
  ticketUsed(ticketId: string): Promise<boolean>;
  /**
   * Refuses every token of `guestToken`'s conversation issued before `atMs` (a sign-in changed who the
   * conversation belongs to), for `lifetimeMs`, after which any of them would have expired anyway; `signedIn`, what
   * that sign-in got from Genesys (sealed), is kept with it for the sign-in's retry.
   */
  cutOff(guestToken: string, atMs: number, lifetimeMs: number, signedIn?: string): Promise<void>;
  /**
   * Keeps what a sign-in's exchange got from Genesys (sealed) for `ttlMs`, before Genesys is asked to sign the
   * session in with it: its retry, on any instance, finds it there even when no cut-off was written.
   */
  keepExchanged(guestToken: string, sealed: string, ttlMs: number): Promise<void>;
  /** What keepExchanged kept for the session, sealed; undefined when nothing is. */
  exchanged(guestToken: string): Promise<string | undefined>;
}

/** When the session an anchor names began (epoch ms); undefined for a token sealed before anchors carried it. */
export function bornAtOf(anchor: string | undefined): number | undefined {
  const at = anchor === undefined ? NaN : parseInt(anchor.split('.')[1] ?? '', 36);
  return Number.isFinite(at) ? at : undefined;
}

/**
 * Renewed at most about once a minute per session, and always with a minute to spare beyond any token issued meanwhile.
 */
const RENEW_SLACK_MS = 60_000;

/** Standing records and used tickets as keys in the shared store (in memory, or Redis for every instance). */
export class StoreRevocations implements Revocations {
  /**
   * @param tokenLifetimeMs how long a token issued now stays valid: a standing
   * record outlives every token of its session.
   */
  constructor(
    private readonly store: SharedStore,
    private readonly tokenLifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private get recordMs(): number {
    return this.tokenLifetimeMs + 2 * RENEW_SLACK_MS;
  }

  async markLive(guestToken: string): Promise<string> {
    const anchor = `${randomBytes(9).toString('base64url')}.${this.now().toString(36)}`;
    await this.store.put(`standing:${sessionKeyOf(guestToken)}`, `live:${anchor}`, this.recordMs);
    return anchor;
  }

  async markEnded(guestToken: string, untilMs: number): Promise<void> {
    await this.store.put(
      `standing:${sessionKeyOf(guestToken)}`,
      'ended',
      Math.max(1, untilMs - this.now()) + RENEW_SLACK_MS,
    );
  }

  async markEnding(guestToken: string, ttlMs: number): Promise<void> {
    await this.store.put(`ending:${sessionKeyOf(guestToken)}`, '1', ttlMs);
  }

  async endOf(guestToken: string): Promise<'ended' | 'ending' | undefined> {
    const key = sessionKeyOf(guestToken);
    const [standing, ending] = await Promise.all([this.store.get(`standing:${key}`), this.store.get(`ending:${key}`)]);
    if (standing === 'ended') return 'ended';
    return ending === undefined ? undefined : 'ending';
  }

  async standing(guestToken: string, anchor: string | undefined): Promise<Standing> {
    const key = sessionKeyOf(guestToken);
    const [value, cutOff] = await Promise.all([
      this.store.getRenewing(`standing:${key}`, this.recordMs, this.recordMs - RENEW_SLACK_MS),
      this.store.get(`notbefore:${key}`),
    ]);
    // `<atMs>`, or `<atMs> <sealed sign-in>`.
    const [at, signedIn] = (cutOff ?? '').split(' ');
    return {
      state: stateOf(value, anchor, this.store.shared),
      cutOffMs: Number(at) || 0,
      ...(signedIn ? { signedIn } : {}),
    };
  }

  async cutOff(guestToken: string, atMs: number, lifetimeMs: number, signedIn?: string): Promise<void> {
    const record = signedIn === undefined ? String(atMs) : `${atMs} ${signedIn}`;
    await this.store.put(`notbefore:${sessionKeyOf(guestToken)}`, record, lifetimeMs);
  }

  async keepExchanged(guestToken: string, sealed: string, ttlMs: number): Promise<void> {
    await this.store.put(`signin:${sessionKeyOf(guestToken)}`, sealed, ttlMs);
  }

  exchanged(guestToken: string): Promise<string | undefined> {
    return this.store.get(`signin:${sessionKeyOf(guestToken)}`);
  }

  async isEnded(guestToken: string): Promise<boolean> {
    return (await this.store.get(`standing:${sessionKeyOf(guestToken)}`)) === 'ended';
  }

  async claimTicket(ticketId: string, untilMs: number): Promise<boolean> {
    return this.store.claim(`ticket:${ticketId}`, '1', Math.max(1, untilMs - this.now()));
  }

  async ticketUsed(ticketId: string): Promise<boolean> {
    return (await this.store.get(`ticket:${ticketId}`)) !== undefined;
  }
}

function stateOf(record: string | undefined, anchor: string | undefined, shared: boolean): Standing['state'] {
  if (record === 'ended') return 'ended';
  if (record === undefined) return anchor === undefined || !shared ? 'live' : 'lost';
  return anchor === undefined || record === `live:${anchor}` ? 'live' : 'lost';
}
