import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { originAllowed, refuseUpgrade } from './handshake';
import { ActionLimits } from './actionLimits';
import { DATA_FILTERED, PerMinute, receiptFor, strictFrame, UNKNOWN_CLASS_FRAME } from './profile';
import type { ScriptedAgent } from './agent';
import type { AuthenticatedSessions } from './authenticatedSessions';
import type { SimulatedAttachments } from './attachments';
import type { Faults } from './faults';
import {
  attributeBytes,
  utf8Bytes,
  anyFrame,
  closeSessionFrame,
  CODES,
  configureSessionFrame,
  echoFrame,
  echoResponse,
  errorFrame,
  ERRORS,
  getJwtFrame,
  inboundEcho,
  jwtResponse,
  onMessageFrame,
  presenceEvent,
  sessionClearedEvent,
  sessionResponse,
  structuredMessage,
  tooManyRequests,
  connectionClosedEvent,
  type GuestEvent,
  type GuestMessage,
  type OnMessageFrame,
  type ServerFrame,
} from './frames';
import type { GuestJwtIssuer } from './jwt';
import type { ResolvedOptions } from './options';
import type { ReceivedFrame, Recorder } from './recorder';
import { GuestConnection, type SimulatedSession, type Sessions } from './sessions';

/** The Guest API WebSocket, `/v1?deploymentId=…`, and the handling of every client action with its replies. */
interface GuestSocketDeps {
  options: ResolvedOptions;
  sessions: Sessions;
  faults: Faults;
  recorder: Recorder;
  agent: ScriptedAgent;
  jwt: GuestJwtIssuer;
  attachments: SimulatedAttachments;
  authenticated: AuthenticatedSessions;
}

/** Big enough for any real frame; a text over the 4096-byte limit must reach the 4011 check, not a close. */
const MAX_FRAME_BYTES = 512 * 1024;

export class GuestSocketServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly open = new Set<GuestConnection>();
  private nextConnectionId = 1;
  private readonly connectionsPerMinute: PerMinute;
  private readonly actionLimits: ActionLimits;

  constructor(private readonly deps: GuestSocketDeps) {
    this.connectionsPerMinute = new PerMinute(deps.options.connectionsPerMinute, deps.options.clock);
    this.actionLimits = new ActionLimits(deps.options);
  }

  get openCount(): number {
    return this.open.size;
  }

  /**
   * The handshake needs no auth (docs/genesys-protocol.md#guest-websocket). It is refused with 403 for an unknown deploymentId,
   * or for an Origin outside a restricted deployment's allowedDomains (docs/genesys-protocol.md#guest-websocket WebsocketAccessDenied).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname !== '/v1') return refuseUpgrade(socket, 404);
    const forced = this.deps.faults.takeHandshakeRefusal();
    if (forced !== undefined) return refuseUpgrade(socket, forced.status, forced.retryAfter);
    const { options } = this.deps;
    if (url.searchParams.get('deploymentId') !== options.deploymentId) return refuseUpgrade(socket, 403);
    if (!options.allowAllDomains && !originAllowed(req.headers.origin, options.allowedDomains))
      return refuseUpgrade(socket, 403);
    // Genesys allows a deployment 1,000 new connections a minute (enforced by the strict profile).
    if (options.profile === 'strict' && this.connectionsPerMinute.take(options.deploymentId) > 0) {
      this.deps.recorder.upgradeRefused();
      return refuseUpgrade(socket, 429);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  /** Terminates (no close frame) the sockets of one session, or all of them. */
  dropSockets(sessionToken?: string): void {
    if (sessionToken === undefined) {
      for (const connection of [...this.open]) connection.terminate();
      return;
    }
    const session = this.deps.sessions.get(sessionToken);
    for (const connection of session ? [...session.connections] : []) connection.terminate();
  }

  close(): void {
    this.dropSockets();
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const strict = this.deps.options.profile === 'strict';
    const connection = new GuestConnection(
      this.nextConnectionId++,
      ws,
      (token) => this.deps.faults.frameDelay(token),
      strict ? strictFrame : undefined,
    );
    this.open.add(connection);
    this.deps.recorder.connectionOpened();
    ws.on('message', (data: RawData) => this.receive(connection, data));
    ws.on('error', () => {});
    ws.on('close', () => {
      this.open.delete(connection);
      this.deps.sessions.detach(connection);
    });
  }

  private receive(connection: GuestConnection, data: RawData): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const raw = bytes.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const frameToken = (parsed as { token?: unknown } | undefined)?.token;
    const entry: ReceivedFrame = {
      at: Date.now(),
      connectionId: connection.id,
      sessionToken: typeof frameToken === 'string' ? frameToken : connection.session?.token,
      raw,
      frame: parsed,
    };
    this.deps.recorder.frame(entry);

    const head = anyFrame.safeParse(parsed);
    if (!head.success) {
      connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed));
      return;
    }
    const drop = this.deps.faults.takeDrop(head.data.action, entry.sessionToken);
    if (drop === 'before-processing') {
      entry.dropped = drop;
      connection.terminate();
      return;
    }
    if (drop === 'after-processing') {
      entry.dropped = drop;
      connection.lost = true;
    }
    const tracingId = typeof head.data.tracingId === 'string' ? head.data.tracingId : undefined;
    if (this.deps.options.profile === 'strict' && connection.refusedOverBudget(this.deps.options, tracingId))
      return this.deps.recorder.refusedForBudget();
    if (this.refusedBeforeHandling(connection, head.data.action, entry.sessionToken, tracingId)) return;
    const slowBy = this.deps.faults.takeSlowAnswer(head.data.action, entry.sessionToken);
    void connection
      .answering(tracingId, slowBy, () => this.handle(connection, head.data.action, parsed, tracingId))
      .catch(() => connection.send(errorFrame(5000, ERRORS.requestFailed, tracingId)))
      .finally(() => {
        if (drop === 'after-processing') connection.terminate();
      });
  }

  /** A refusal armed by a test (faults.ts `refuseNext`), or the strict profile's per-action limits (actionLimits.ts). */
  private refusedBeforeHandling(
    connection: GuestConnection,
    action: string,
    sessionToken: string | undefined,
    tracingId: string | undefined,
  ): boolean {
    const refusal = this.deps.faults.takeRefusal(action, sessionToken);
    if (refusal) {
      connection.send(errorFrame(refusal.code, refusal.body, tracingId));
      return true;
    }
    if (this.deps.options.profile !== 'strict') return false;
    const retryAfter = this.actionLimits.take(action, connection.id, sessionToken);
    if (retryAfter > 0) connection.send(tooManyRequests(retryAfter, tracingId, ERRORS.actionRate(action)));
    return retryAfter > 0;
  }

  private async handle(
    connection: GuestConnection,
    action: string,
    frame: unknown,
    tracingId: string | undefined,
  ): Promise<void> {
    switch (action) {
      case 'configureSession':
        return this.configureSession(connection, frame, tracingId);
      case 'configureAuthenticatedSession':
        return this.deps.authenticated.configure(connection, frame, tracingId);
      case 'onMessage':
        return this.onMessage(connection, frame, tracingId);
      case 'echo':
        return this.echo(connection, frame, tracingId);
      case 'getJwt':
        return this.getJwt(connection, frame, tracingId);
      case 'closeSession':
        return this.closeSession(connection, frame, tracingId);
      case 'onAttachment':
      case 'getAttachment':
      case 'deleteAttachment':
        return this.onAttachmentAction(connection, action, frame, tracingId);
      default:
        connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    }
  }

  /** docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment, in attachments.ts. */
  private onAttachmentAction(
    connection: GuestConnection,
    action: string,
    frame: unknown,
    tracingId: string | undefined,
  ): void {
    const f = frame as {
      token?: unknown;
      attachmentId?: string;
      fileName?: string;
      fileType?: string;
      fileSize?: number;
    };
    const session = typeof f.token === 'string' ? this.sessionOf(connection, f.token, tracingId) : undefined;
    if (!session)
      return typeof f.token === 'string'
        ? undefined
        : connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const send = (out: ServerFrame) => connection.send(out);
    const { attachments } = this.deps;
    if (action === 'onAttachment') attachments.presign(session, f, tracingId, send);
    else if (action === 'getAttachment')
      attachments.refresh(session, f.attachmentId ?? '', tracingId, send, this.deps.options.profile === 'strict');
    else attachments.remove(session, f.attachmentId ?? '', tracingId, send);
  }

  /** The session a frame's token names, if this connection may use it: else 4007 (unknown, or not configured here) or 4006 (expired). */
  private sessionOf(
    connection: GuestConnection,
    token: string,
    tracingId: string | undefined,
  ): SimulatedSession | undefined {
    const session = this.deps.sessions.get(token);
    if (session?.expired) {
      connection.send(errorFrame(CODES.sessionExpired, ERRORS.sessionExpired, tracingId));
      return undefined;
    }
    if (!session || connection.session !== session) {
      connection.send(errorFrame(CODES.sessionNotFound, ERRORS.sessionNotFound, tracingId));
      return undefined;
    }
    return session;
  }

  /** docs/genesys-protocol.md#configuresession → docs/genesys-protocol.md#sessionresponse. */
  private configureSession(connection: GuestConnection, frame: unknown, tracingId: string | undefined): void {
    const parsed = configureSessionFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const { token, deploymentId, startNew } = parsed.data;
    const { sessions, options } = this.deps;
    if (deploymentId !== options.deploymentId) {
      return connection.send(errorFrame(CODES.badRequest, ERRORS.deploymentNotFound, tracingId));
    }
    let session = sessions.get(token);
    // Guess: a configureSession on an expired token answers 4006 like any other use of it.
    if (session?.expired) return connection.send(errorFrame(CODES.sessionExpired, ERRORS.sessionExpired, tracingId));
    if (session?.customer !== undefined)
      return connection.send(errorFrame(CODES.cannotDowngrade, ERRORS.cannotDowngrade, tracingId));
    let newSession = false;
    if (!session) {
      session = sessions.create(token);
      newSession = true;
    } else if (startNew === true && session.conversation.readOnly) {
      // docs/genesys-protocol.md#configuresession: startNew replaces a read-only conversation. On an open one it is
      // ignored (guess: [MT] only ever sends it for read-only conversations).
      session.startNewConversation();
      newSession = true;
    }
    sessions.attach(connection, session);
    // Only messages move the expiry under the strict profile ("72 h after the last message").
    if (newSession || options.profile !== 'strict') sessions.touch(session);
    connection.send(sessionResponse(sessions.describe(session, { newSession }), tracingId));
    if (options.profile === 'strict') connection.send(UNKNOWN_CLASS_FRAME);
  }

  /** docs/genesys-protocol.md#onmessage-text-and-attributes. */
  private onMessage(connection: GuestConnection, frame: unknown, tracingId: string | undefined): void {
    const parsed = onMessageFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const session = this.sessionOf(connection, parsed.data.token, tracingId);
    if (!session) return;

    // docs/genesys-protocol.md#error-codes / docs/genesys-protocol.md#limits-and-timing: TooManyRequestsErrorMessage; every onMessage counts, typing included (guess).
    const { faults, options } = this.deps;
    const forcedRetryAfter = faults.takeRateLimit(session.token);
    if (forcedRetryAfter !== undefined) return connection.send(tooManyRequests(forcedRetryAfter, tracingId));
    if (faults.takeUnauthorized(session.token))
      return connection.send(errorFrame(CODES.unauthorized, ERRORS.unauthorized, tracingId));
    const retryAfter = session.admitMessage(options.clock(), options.messagesPerSecond);
    if (retryAfter > 0) return connection.send(tooManyRequests(retryAfter, tracingId));

    const { message } = parsed.data;
    if (message.type === 'Event') return this.onEvent(connection, session, parsed.data, tracingId);
    if (message.type === 'Receipt') {
      // Taken without a reply, as typing is; the recorder keeps it for the tests to count.
      const taken = options.guestReceipts === 'accepted' && message.status === 'Read' && message.id !== undefined;
      return taken ? undefined : connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    }
    if (session.conversation.readOnly) return connection.send(errorFrame(CODES.forbidden, ERRORS.readOnly, tracingId));

    const textBytes = utf8Bytes(message.text ?? '');
    if (textBytes > options.maxTextBytes) {
      return connection.send(
        errorFrame(CODES.messageTooLong, ERRORS.messageTooLong(textBytes, options.maxTextBytes), tracingId),
      );
    }
    if (!this.acceptAttributes(connection, session, message, tracingId)) return;
    if (message.text === undefined && message.content === undefined) {
      return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    }
    const files = message.content ? this.deps.attachments.attach(session, message.content) : undefined;
    if (files && 'error' in files) return connection.send(errorFrame(files.error, ERRORS.requestFailed, tracingId));
    const echo = inboundEcho(files ? { ...message, content: files.content as typeof message.content } : message);
    this.deps.sessions.deliver(session, echo, { tracingId });
    this.deps.sessions.touch(session);
    if (options.profile !== 'strict') return this.deps.agent.onGuestMessage(session, message);
    if (filtered(message.text, options.dataFilter))
      return this.deps.sessions.deliver(session, receiptFor(echo.id, 'Failed', [DATA_FILTERED]));
    this.deps.sessions.deliver(session, receiptFor(echo.id));
    this.deps.agent.onGuestMessage(session, message, echo.id);
  }

  /**
   * docs/genesys-protocol.md#custom-attributes: custom attributes are read only from `message.channel.metadata.customAttributes`
   * (a top-level `channel`, [OVO]'s placement, is ignored). Over the per-message
   * budget the message is refused with 4013; accepted ones merge into the
   * conversation and are never removed.
   */
  private acceptAttributes(
    connection: GuestConnection,
    session: SimulatedSession,
    message: GuestMessage,
    tracingId: string | undefined,
  ): boolean {
    const attributes = message.channel?.metadata?.customAttributes;
    if (!attributes) return true;
    const max = this.deps.options.maxCustomDataBytes;
    if (attributeBytes(attributes) > max) {
      connection.send(errorFrame(CODES.attributesTooLarge, ERRORS.attributesTooLarge(max), tracingId));
      return false;
    }
    Object.assign(session.conversation.customAttributes, attributes);
    return true;
  }

  /** docs/genesys-protocol.md#onmessage-events-typing-join-clear: Typing, Presence Join (autostart) and Presence Clear, all `onMessage` Event frames. */
  private onEvent(
    connection: GuestConnection,
    session: SimulatedSession,
    frame: OnMessageFrame,
    tracingId: string | undefined,
  ): void {
    const event: GuestEvent | undefined = frame.message.events?.[0];
    const { options, sessions } = this.deps;
    if (event?.eventType === 'Typing' && event.typing?.type === 'On') {
      if (!options.showUserTypingIndicator)
        return connection.send(errorFrame(CODES.forbidden, ERRORS.typingDisabled, tracingId));
      // Whether the server echoes a guest's typing is unverified (reference, "Unverified").
      // The simulator sends nothing back, so a client must not wait for a reply to typing.
      return;
    }
    if (event?.eventType === 'Presence' && event.presence?.type === 'Join') {
      if (session.conversation.readOnly)
        return connection.send(errorFrame(CODES.forbidden, ERRORS.readOnly, tracingId));
      if (!this.acceptAttributes(connection, session, frame.message, tracingId)) return;
      sessions.deliver(
        session,
        inboundEcho({ type: 'Event', events: [presenceEvent('Join')], metadata: frame.message.metadata }),
        {
          tracingId,
        },
      );
      sessions.touch(session);
      this.deps.agent.onJoin(session);
      return;
    }
    if (event?.eventType === 'Presence' && event.presence?.type === 'Clear') {
      if (!options.conversationClear)
        return connection.send(errorFrame(CODES.forbidden, ERRORS.clearDisabled, tracingId));
      // Seen live: an Inbound Clear event and SessionClearedEvent; the transport SDK then expects
      // ConnectionClosedEvent before the connections close. Not stored: the conversation is gone.
      session.broadcast(structuredMessage(inboundEcho({ type: 'Event', events: [presenceEvent('Clear')] }), tracingId));
      for (const peer of [...session.connections]) {
        sessions.detach(peer);
        peer.send(sessionClearedEvent());
        peer.sendAndClose(connectionClosedEvent());
      }
      sessions.delete(session);
      return;
    }
    connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
  }

  /** docs/genesys-protocol.md#echo → docs/genesys-protocol.md#structuredmessage: answered with or without a session; with one, its duration rides along as strings. */
  private echo(connection: GuestConnection, frame: unknown, tracingId: string | undefined): void {
    const parsed = echoFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const session = parsed.data.token === undefined ? undefined : this.deps.sessions.get(parsed.data.token);
    if (session?.expired) return connection.send(errorFrame(CODES.sessionExpired, ERRORS.sessionExpired, tracingId));
    const duration = session
      ? {
          durationSeconds: this.deps.options.sessionDurationSeconds,
          expirationDate: Math.floor(session.expiresAt / 1000),
        }
      : undefined;
    connection.send(echoResponse(tracingId, duration));
  }

  /** docs/genesys-protocol.md#getjwt → docs/genesys-protocol.md#getjwt. */
  private async getJwt(connection: GuestConnection, frame: unknown, tracingId: string | undefined): Promise<void> {
    const parsed = getJwtFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const session = this.sessionOf(connection, parsed.data.token, tracingId);
    if (!session) return;
    const { jwt, exp } = await this.deps.jwt.issue(session.sid, this.deps.options.jwtLifetimeSeconds);
    connection.send(jwtResponse(jwt, exp, tracingId));
  }

  /**
   * docs/genesys-protocol.md#closesession: the other connections of the session get ConnectionClosedEvent (and
   * are closed); the requester gets SessionResponse connected:false,
   * readOnly:true, after which only configureSession startNew:true continues.
   */
  private closeSession(connection: GuestConnection, frame: unknown, tracingId: string | undefined): void {
    const parsed = closeSessionFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const session = this.sessionOf(connection, parsed.data.token, tracingId);
    if (!session) return;
    const { sessions } = this.deps;
    if (parsed.data.closeAllConnections !== false) {
      for (const peer of [...session.connections]) {
        if (peer === connection) continue;
        sessions.detach(peer);
        peer.sendAndClose(connectionClosedEvent());
      }
    }
    session.conversation.readOnly = true;
    connection.send(sessionResponse(sessions.describe(session, { connected: false, readOnly: true }), tracingId));
    sessions.detach(connection);
  }
}

/** Whether the deployment's data filter (a regular expression; empty for none) catches a guest's text. */
function filtered(text: string | undefined, filter: string): boolean {
  return filter !== '' && text !== undefined && new RegExp(filter, 'u').test(text);
}
