import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  connectionClosedEvent,
  ERRORS,
  sessionExpiredEvent,
  tooManyRequests,
  structuredMessage,
  type ServerFrame,
  type SessionBody,
  type StructuredMessageBody,
} from './frames';
import type { ResolvedOptions } from './options';

/**
 * Guest sessions as Genesys keeps them: a client-generated token (docs/genesys-protocol.md#configuresession) names
 * a session; the session holds the current conversation, its custom
 * attributes ("participant data", docs/genesys-protocol.md#custom-attributes) and up to three connections (docs/genesys-protocol.md#lifecycle-events).
 */

/** Node timers cannot wait longer than this; longer session lifetimes re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Conversation {
  readonly id: string;
  /** Oldest first; typing events are not kept (they are not conversation history). */
  readonly messages: StructuredMessageBody[];
  /** Everything that reached the conversation; sent data is never removed (docs/genesys-protocol.md#custom-attributes). */
  readonly customAttributes: Record<string, string>;
  /** Disconnected in ReadOnly mode, or closed with closeSession (docs/genesys-protocol.md#sessionresponse readOnly). */
  readOnly: boolean;
  /** A signed-in customer's conversation: the sessions (devices) it reaches. */
  members?: Set<SimulatedSession>;
}

export const newConversation = (): Conversation => ({
  id: randomUUID(),
  messages: [],
  customAttributes: {},
  readOnly: false,
});

/** One accepted WebSocket. Sends go through here so faults (delay, lost replies) apply in one place. */
export class GuestConnection {
  session?: SimulatedSession;
  /**
   * The session it served last. Its frame delay still applies once the connection has left it (closeSession, an
   * eviction), to an answer still being made and to a last close event, so nothing overtakes frames held before.
   */
  private servedToken?: string;
  /** Set by a drop fault: nothing more reaches this socket. */
  lost = false;
  private requestTimes: number[] = [];
  /** Frames held by a frame delay, in the order they were sent, each with when it may go. */
  private readonly held: { at: number; write: () => void }[] = [];
  /** Requests Genesys answers late (faults.ts `slowAnswer`): by tracingId, how much later. */
  private readonly slowAnswers = new Map<string, number>();
  /** While such a request is handled, how late what it sends this socket is. */
  private slowNow = 0;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    private readonly delayFor: (sessionToken: string | undefined) => number,
    /** How this simulator's profile shapes a frame before it goes out (profile.ts). */
    readonly shape: (frame: ServerFrame) => ServerFrame = (f) => f,
  ) {}

  /**
   * Admits one request under a limit of `perMinute` on this connection
   * (docs/genesys-protocol.md#limits-and-timing, all WS requests per connection):
   * 0 when admitted, else the seconds to wait.
   */
  admitRequest(now: number, perMinute: number): number {
    this.requestTimes = this.requestTimes.filter((t) => t > now - 60_000);
    if (this.requestTimes.length >= perMinute)
      return Math.max(1, Math.ceil((this.requestTimes[0]! + 60_000 - now) / 1000));
    this.requestTimes.push(now);
    return 0;
  }

  /** Counts a request against the connection's budget (docs/genesys-protocol.md#limits-and-timing, strict profile); over it, answers an untraced 429 itself and says so. */
  refusedOverBudget(
    options: { clock: () => number; requestsPerConnectionPerMinute: number },
    tracingId: string | undefined,
  ): boolean {
    const retryAfter = this.admitRequest(options.clock(), options.requestsPerConnectionPerMinute);
    if (retryAfter > 0) this.send(tooManyRequests(retryAfter, tracingId, ERRORS.connectionBudget));
    return retryAfter > 0;
  }

  send(frame: ServerFrame): void {
    this.sendShaped(frame, JSON.stringify(this.shape(frame)));
  }

  /** Sends `frame` as `raw`, already shaped (a broadcast shapes once for every connection). */
  sendShaped(frame: ServerFrame, raw: string): void {
    this.lateIfSlow(frame, () => {
      if (!this.lost) this.inTurn(() => this.write(raw));
    });
  }

  /** Sends a last frame, then a normal close, both in their turn so the order holds. */
  sendAndClose(frame: ServerFrame): void {
    const raw = JSON.stringify(this.shape(frame));
    this.lateIfSlow(frame, () =>
      this.inTurn(() => {
        this.write(raw);
        if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
      }),
    );
  }

  /**
   * Handles one request; when Genesys answers it late (`by` ms, faults.ts `slowAnswer`), what its handling sends
   * here (now, or later with its tracingId) is queued only once that time has passed, in the order it was sent.
   */
  answering<T>(tracingId: string | undefined, by: number, handle: () => T): T {
    if (by <= 0) return handle();
    if (tracingId !== undefined) this.slowAnswers.set(tracingId, by);
    this.slowNow = by;
    try {
      return handle();
    } finally {
      this.slowNow = 0;
    }
  }

  private lateIfSlow(frame: ServerFrame, queue: () => void): void {
    const by = this.slowNow || (frame.tracingId === undefined ? 0 : (this.slowAnswers.get(frame.tracingId) ?? 0));
    if (by > 0) setTimeout(queue, by).unref();
    else queue();
  }

  /**
   * Writes after the frame delay now in force, and never before a frame queued earlier: one socket is one TCP
   * stream, so a delay cleared or a session changed while frames are held cannot let a later frame overtake them.
   */
  private inTurn(write: () => void): void {
    const delay = this.delayFor(this.delayedAs);
    if (delay <= 0 && this.held.length === 0) {
      write();
      return;
    }
    const last = this.held[this.held.length - 1]?.at ?? 0;
    this.held.push({ at: Math.max(Date.now() + Math.max(delay, 0), last), write });
    if (this.held.length === 1) this.armRelease();
  }

  private armRelease(): void {
    const next = this.held[0];
    if (next) setTimeout(() => this.release(), Math.max(0, next.at - Date.now())).unref();
  }

  private release(): void {
    const now = Date.now();
    while (this.held.length > 0 && this.held[0]!.at <= now) this.held.shift()!.write();
    this.armRelease();
  }

  /** Leaves its session; see `servedToken`. */
  leave(): void {
    this.servedToken = this.delayedAs;
    this.session = undefined;
  }

  /** Whose frame delay applies to what it sends. */
  private get delayedAs(): string | undefined {
    return this.session?.token ?? this.servedToken;
  }

  /** Drops the TCP connection without a close frame. */
  terminate(): void {
    this.lost = true;
    this.ws.terminate();
  }

  private write(raw: string): void {
    if (!this.lost && this.ws.readyState === WebSocket.OPEN) this.ws.send(raw);
  }
}

export class SimulatedSession {
  /** Names the session inside guest JWTs, so the JWT never carries the session token itself. */
  readonly sid = randomUUID();
  /** The signed-in customer (authenticated messaging); an authenticated session never goes back to anonymous. */
  customer?: string;
  /** Oldest first (insertion order), which is the order a 4th connection evicts in. */
  readonly connections = new Set<GuestConnection>();
  conversation = newConversation();
  expiresAt = 0;
  expired = false;
  expiryTimer?: NodeJS.Timeout;
  expiryTimerMs = 0;
  /** Ring of the last N accepted message times, for the N-per-second limit. */
  private rateWindow: number[] = [];
  private rateCursor = 0;

  constructor(readonly token: string) {}

  startNewConversation(): void {
    this.conversation.members?.delete(this);
    this.conversation = newConversation();
  }

  /**
   * Admits one message under a limit of `perSecond` per rolling second
   * (docs/genesys-protocol.md#limits-and-timing `messages.per.session.rate.per.second`). Answers 0 when admitted,
   * else the seconds to wait (the `retryAfter` of the 429 frame).
   */
  admitMessage(now: number, perSecond: number): number {
    if (!Number.isFinite(perSecond) || perSecond <= 0) return 0;
    if (this.rateWindow.length !== perSecond) {
      this.rateWindow = new Array<number>(perSecond).fill(-Infinity);
      this.rateCursor = 0;
    }
    const oldest = this.rateWindow[this.rateCursor]!;
    if (now - oldest < 1000) return Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
    this.rateWindow[this.rateCursor] = now;
    this.rateCursor = (this.rateCursor + 1) % perSecond;
    return 0;
  }

  broadcast(frame: ServerFrame): void {
    const first = this.connections.values().next().value;
    if (!first) return;
    const raw = JSON.stringify(first.shape(frame));
    for (const connection of this.connections) connection.sendShaped(frame, raw);
  }
}

export class Sessions {
  private readonly byToken = new Map<string, SimulatedSession>();
  private readonly bySid = new Map<string, SimulatedSession>();
  /** Each signed-in customer's one conversation, across devices. */
  private readonly byCustomer = new Map<string, Conversation>();

  constructor(
    private readonly options: ResolvedOptions,
    /** `open`: how many connections the session has now, the new one included (before any eviction). */
    private readonly onConnectionJoined: (token: string, open: number) => void,
    /** Told when a connection is closed because its session (`token`) has too many. */
    private readonly onConnectionEvicted: (token: string) => void = () => {},
  ) {}

  get(token: string): SimulatedSession | undefined {
    return this.byToken.get(token);
  }

  getBySid(sid: string): SimulatedSession | undefined {
    return this.bySid.get(sid);
  }

  create(token: string): SimulatedSession {
    const session = new SimulatedSession(token);
    this.byToken.set(token, session);
    this.bySid.set(session.sid, session);
    return session;
  }

  /** The signed-in customer's open conversation, if any. */
  customerConversation(customer: string): Conversation | undefined {
    const conversation = this.byCustomer.get(customer);
    return conversation && !conversation.readOnly ? conversation : undefined;
  }

  /** Makes `session` the customer's device on `conversation`, which becomes the customer's one conversation. */
  joinCustomer(session: SimulatedSession, customer: string, conversation: Conversation): void {
    session.customer = customer;
    session.conversation.members?.delete(session);
    session.conversation = conversation;
    conversation.members ??= new Set();
    conversation.members.add(session);
    this.byCustomer.set(customer, conversation);
  }

  /** Every session signed in as the customer. */
  sessionsOf(customer: string): SimulatedSession[] {
    return [...(this.byCustomer.get(customer)?.members ?? [])];
  }

  /** Forgets a session (after a Presence Clear): the token can start afresh. */
  delete(session: SimulatedSession): void {
    session.conversation.members?.delete(session);
    clearTimeout(session.expiryTimer);
    if (this.byToken.get(session.token) === session) this.byToken.delete(session.token);
    this.bySid.delete(session.sid);
  }

  clear(): void {
    for (const session of this.byToken.values()) clearTimeout(session.expiryTimer);
    this.byToken.clear();
    this.bySid.clear();
    this.byCustomer.clear();
  }

  /**
   * Attaches a connection to a session. A connection serves one session at a
   * time (docs/genesys-protocol.md#guest-websocket: one socket per guest). Past `maxConnectionsPerSession` the
   * oldest connection gets ConnectionClosedEvent `{}` and is closed (docs/genesys-protocol.md#lifecycle-events).
   */
  attach(connection: GuestConnection, session: SimulatedSession): void {
    if (connection.session === session) return;
    this.detach(connection);
    connection.session = session;
    session.connections.add(connection);
    this.onConnectionJoined(session.token, session.connections.size);
    while (session.connections.size > this.options.maxConnectionsPerSession) {
      const oldest = session.connections.values().next().value!;
      this.detach(oldest);
      this.onConnectionEvicted(session.token);
      oldest.sendAndClose(connectionClosedEvent());
    }
  }

  detach(connection: GuestConnection): void {
    connection.session?.connections.delete(connection);
    connection.leave();
  }

  /**
   * The session lives `sessionDurationSeconds` after the guest's last activity
   * (docs/genesys-protocol.md#limits-and-timing "default 72 h after the last message"). Which frames count as activity
   * is not in the sources; here configureSession and onMessage do.
   */
  touch(session: SimulatedSession, now = Date.now()): void {
    const ms = this.options.sessionDurationSeconds * 1000;
    session.expiresAt = now + ms;
    this.armExpiry(session, ms);
  }

  private armExpiry(session: SimulatedSession, delayMs: number): void {
    const timerMs = Math.min(Math.max(delayMs, 0), MAX_TIMER_MS);
    if (session.expiryTimer && session.expiryTimerMs === timerMs) {
      session.expiryTimer.refresh();
      return;
    }
    clearTimeout(session.expiryTimer);
    session.expiryTimerMs = timerMs;
    session.expiryTimer = setTimeout(() => this.onExpiryTimer(session), timerMs).unref();
  }

  private onExpiryTimer(session: SimulatedSession): void {
    session.expiryTimer = undefined;
    if (session.expired || this.byToken.get(session.token) !== session) return;
    const now = Date.now();
    if (now < session.expiresAt) this.armExpiry(session, session.expiresAt - now);
    else this.expire(session);
  }

  /** docs/genesys-protocol.md#lifecycle-events: connected sockets get SessionExpiredEvent; later use of the token gets 4006. */
  expire(session: SimulatedSession): void {
    if (session.expired) return;
    session.expired = true;
    clearTimeout(session.expiryTimer);
    session.expiryTimer = undefined;
    session.broadcast(sessionExpiredEvent());
  }

  /** Adds a message to the conversation and pushes it to every connection of the session (of every device, when signed in). */
  deliver(
    session: SimulatedSession,
    given: StructuredMessageBody,
    opts: { tracingId?: string; store?: boolean } = {},
  ): void {
    const { conversation } = session;
    const body = this.options.clockTimesMessages
      ? { ...given, channel: { ...given.channel, time: new Date(this.options.clock()).toISOString() } }
      : given;
    if (opts.store !== false) conversation.messages.push(body);
    const frame = structuredMessage(body, opts.tracingId);
    for (const member of conversation.members ?? [session]) member.broadcast(frame);
  }

  /** docs/genesys-protocol.md#sessionresponse SessionResponse body for this session. */
  describe(session: SimulatedSession, overrides: Partial<SessionBody> = {}): SessionBody {
    return {
      connected: true,
      newSession: false,
      readOnly: session.conversation.readOnly,
      maxCustomDataBytes: this.options.maxCustomDataBytes,
      ...(this.options.allowedMedia !== 'absent' ? { allowedMedia: this.options.allowedMedia } : {}),
      blockedExtensions: this.options.blockedExtensions,
      clearedExistingSession: false,
      durationSeconds: this.options.sessionDurationSeconds,
      expirationDate: Math.floor(session.expiresAt / 1000),
      ...overrides,
    };
  }
}
