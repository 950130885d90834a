import { z } from 'zod';
import type { SessionHub } from '../../genesys/guest';
import type { Request } from 'express';
import type { GuestAttachments, GuestChat, Revocations, SessionTokens } from '../../session';
import { attachmentRoutes, publicBase, routingKeyOf, type AttachmentRouteDeps } from './attachments';
import { signInRoutes } from './signIn';
import { claimsOf, guestOf, spendTicket, type Guest, setHeadersWhileWaiting, type rateLimits } from '../middleware';
import { resumeAfter, type LiveStreams } from '../streams';
import { AppError, type ErrorCode } from '../../domain/errors';
import { STREAM_EVENT_ID } from '../../domain/message';
import {
  type AnyRouteSpec,
  type RouteSpec,
  attributesBodySchema,
  attributesChangedSchema,
  capabilitiesSchema,
  attributesPatchSchema,
  attributesViewSchema,
  historyQuery,
  historySchema,
  sendMessageBody,
  sentMessageSchema,
  sessionViewSchema,
  startSessionBody,
  streamQuery,
  ticketSchema,
} from '../spec';

/** The public chat API (README.md#the-chat-api), as route specs; `uploads` is where files in transit go. */
export interface ChatRouteDeps extends Pick<AttachmentRouteDeps, 'uploads'> {
  chat: GuestChat;
  attachments: GuestAttachments;
  /** PUBLIC_URL: the base of links this service hands out (else taken from each request). */
  publicUrl?: string;
  hub: SessionHub;
  tokens: SessionTokens;
  revocations: Revocations;
  streams: LiveStreams;
  limits: ReturnType<typeof rateLimits>;
}

const SEND_ERRORS: ErrorCode[] = [
  'validation_failed',
  'unauthorized',
  'not_found',
  'message_too_long',
  'attributes_too_large',
  'conflict',
  'session_expired',
  'idempotency_key_reused',
  'rate_limited',
  'upstream_unavailable',
  'store_unavailable',
];

const START_ERRORS: ErrorCode[] = [
  'validation_failed',
  'unauthorized',
  'identity_invalid',
  'attribute_locked',
  'attributes_too_large',
  'conflict',
  'session_expired',
  'rate_limited',
  'upstream_unavailable',
  'store_unavailable',
];

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

const json = (description: string, schema: z.ZodType) => ({ description, schema });

export function chatRoutes(deps: ChatRouteDeps): AnyRouteSpec[] {
  return [
    ...sessionRoutes(deps),
    ...attributeRoutes(deps),
    ...messageRoutes(deps),
    ...streamRoutes(deps),
    ...attachmentRoutes(deps),
  ];
}

/** Presents messages to this request's client: every attachment's `url` becomes an always-fresh link on this service. */
function presenter({ attachments, publicUrl }: ChatRouteDeps, req: Request, owner: Guest & { routingKey?: string }) {
  return attachments.present({ ...owner, routingKey: routingKeyOf(req, owner.routingKey) }, publicBase(req, publicUrl));
}

/** Start, resume, read and end a guest session. */
function sessionRoutes({ chat, limits }: ChatRouteDeps): AnyRouteSpec[] {
  const startSession: RouteSpec<z.infer<typeof startSessionBody>> = {
    method: 'post',
    path: '/guest-session',
    summary: 'Start a guest session, or resume the one whose token is sent',
    description:
      'Without Authorization: starts a new Genesys guest session (201). With a valid session token: resumes it (200), applying any attributes given; `startNew: true` replaces a read-only (ended) conversation.',
    auth: 'none',
    body: startSessionBody,
    headers: [
      {
        name: 'X-Chat-Session',
        description:
          "From clients older than the routingKey query parameter: a routing key the client proposes (16 to 64 of A-Z a-z 0-9 _ -), adopted as the new session's routingKey unless ?routingKey= proposes one. Send the session's routingKey as ?routingKey= with every request (the proxies hash on the query parameter).",
      },
    ],
    before: [limits.newSessions, limits.conversationChangesPerIp, limits.signInsPerIp],
    after: [limits.conversationChangesPerSession],
    responses: { 201: json('A new session', sessionViewSchema), 200: json('The resumed session', sessionViewSchema) },
    errors: [...START_ERRORS, 'reauthentication_required', 'authentication_disabled', 'cannot_downgrade'],
    async handle(req, res, { body }) {
      const guest = res.locals.guest as Guest | undefined;
      if (guest?.claims) {
        res.status(200).json(await chat.resume(guest.claims, body));
        return;
      }
      if (body.startNew)
        throw new AppError('validation_failed', '`startNew` needs the session token of the ended conversation.');
      const proposed = typeof req.query.routingKey === 'string' ? req.query.routingKey : req.headers['x-chat-session']; // header: older clients
      res
        .status(201)
        .json(await chat.start(body, req.headers.origin, typeof proposed === 'string' ? proposed : undefined));
    },
  };

  const sessionState: AnyRouteSpec = {
    method: 'get',
    path: '/guest-session',
    summary: "The session's state",
    auth: 'session',
    responses: { 200: json('The session', sessionViewSchema) },
    errors: ['unauthorized', 'session_expired', 'upstream_unavailable', 'store_unavailable'],
    async handle(_req, res) {
      res.json(await chat.state(claimsOf(res)));
    },
  };

  const endSession: AnyRouteSpec = {
    method: 'delete',
    path: '/guest-session',
    summary: 'End the chat',
    description:
      'Ends the conversation the way Genesys Messenger does: Presence Clear where the deployment allows it (the agent sees the customer leave and the conversation is cleared), else closeSession (the connections close; the conversation stays with the agent until it times out). Live streams get a `session` event. Afterwards the token opens nothing (410 session_expired); repeating the DELETE answers 204 again.',
    auth: 'session',
    allowEnded: true,
    before: [limits.conversationChangesPerIp],
    after: [limits.conversationChangesPerSession],
    responses: { 204: { description: 'Ended (also when it already was)' } },
    errors: ['unauthorized', 'session_expired', 'upstream_unavailable', 'store_unavailable'],
    async handle(_req, res) {
      await chat.end(claimsOf(res));
      res.status(204).end();
    },
  };

  return [startSession, sessionState, endSession, ...signInRoutes({ chat, limits })] as AnyRouteSpec[];
}

/** The guest's custom attributes. */
function attributeRoutes({ chat, limits }: ChatRouteDeps): AnyRouteSpec[] {
  const getAttributes: AnyRouteSpec = {
    method: 'get',
    path: '/guest-attributes',
    summary: 'The attributes and which keys are locked',
    auth: 'session',
    responses: { 200: json('Attributes', attributesViewSchema) },
    errors: ['unauthorized', 'session_expired', 'store_unavailable'],
    handle(_req, res) {
      const claims = claimsOf(res);
      res.json({ attributes: claims.attributes, locked: claims.locked });
    },
  };

  const changeAttributes = (method: 'put' | 'patch'): AnyRouteSpec => ({
    method,
    path: '/guest-attributes',
    summary: method === 'put' ? 'Replace the browser-settable attributes' : 'Merge attributes; null removes a key',
    description: 'Changes reach Genesys with the next message. Keep the returned sessionToken.',
    auth: 'session',
    body: method === 'put' ? attributesBodySchema : attributesPatchSchema,
    before: [limits.attributeWritesPerIp],
    after: [limits.attributeWritesPerSession],
    responses: { 200: json('The new attributes', attributesChangedSchema) },
    errors: [
      'validation_failed',
      'unauthorized',
      'attribute_locked',
      'attributes_too_large',
      'session_expired',
      'rate_limited',
      'store_unavailable',
    ],
    async handle(req, res) {
      res.json(await chat.changeAttributes(claimsOf(res), req.body, method === 'put' ? 'replace' : 'merge'));
    },
  });

  return [getAttributes, changeAttributes('put'), changeAttributes('patch')] as AnyRouteSpec[];
}

/** Send, read history, and say the guest is typing. */
function messageRoutes(deps: ChatRouteDeps): AnyRouteSpec[] {
  const { chat } = deps;
  const sendMessage: RouteSpec<z.infer<typeof sendMessageBody>> = {
    method: 'post',
    path: '/messages',
    summary: "Send the guest's message",
    description:
      'Sends over the Guest API (onMessage), with the attributes in message.channel.metadata.customAttributes when they have not reached Genesys yet. Answers with the message as Genesys echoed it.',
    auth: 'session',
    body: sendMessageBody,
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'Makes a retried send safe: the same key never yields two messages',
        pattern: IDEMPOTENCY_KEY.source,
      },
    ],
    responses: { 201: json('Sent', sentMessageSchema) },
    errors: SEND_ERRORS,
    async handle(req, res, { body }) {
      const key = req.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
        throw new AppError('validation_failed', 'Idempotency-Key must be 1 to 200 visible ASCII characters.');
      }
      const claims = claimsOf(res);
      const sent = await chat.send(claims, body, key, () => setHeadersWhileWaiting(res));
      res.status(201).json({ ...sent, message: presenter(deps, req, claims)(sent.message) });
    },
  };

  const history: RouteSpec<unknown, z.infer<typeof historyQuery>> = {
    method: 'get',
    path: '/messages',
    summary: 'The conversation history, oldest first',
    description:
      'Page 1 is the newest page; messages within a page are oldest first. Events (typing, presence) are left out.',
    auth: 'session',
    query: historyQuery,
    responses: { 200: json('History', historySchema) },
    errors: [
      'validation_failed',
      'unauthorized',
      'session_expired',
      'rate_limited',
      'upstream_unavailable',
      'store_unavailable',
    ],
    async handle(req, res, { query }) {
      const claims = claimsOf(res);
      const page = await chat.history(claims, query.page, query.pageSize);
      res.json({ ...page, messages: page.messages.map(presenter(deps, req, claims)) });
    },
  };

  const capabilities: AnyRouteSpec = {
    method: 'get',
    path: '/capabilities',
    summary: 'What this deployment allows a custom UI',
    description:
      "From the deployment's Messenger configuration (config.json) and this session's SessionResponse: attachments, ending a chat, typing, languages, Markdown, authentication, and when the session expires.",
    auth: 'session',
    responses: { 200: json('The capabilities', capabilitiesSchema) },
    errors: ['unauthorized', 'session_expired', 'upstream_unavailable', 'store_unavailable'],
    async handle(_req, res) {
      res.json(await chat.capabilities(claimsOf(res)));
    },
  };

  const typing: AnyRouteSpec = {
    method: 'post',
    path: '/typing',
    summary: 'The guest is typing (throttled to one event per 5 s, as Genesys asks)',
    description:
      'Refused with 409 `conflict` once the conversation has ended (read-only), as a message would be; nothing reaches Genesys then.',
    auth: 'session',
    responses: { 204: { description: 'Noted' } },
    errors: ['unauthorized', 'session_expired', 'conflict', 'upstream_unavailable', 'store_unavailable'],
    async handle(_req, res) {
      await chat.typing(claimsOf(res));
      res.status(204).end();
    },
  };

  return [sendMessage, history, typing, capabilities] as AnyRouteSpec[];
}

/** The live stream and its tickets. */
function streamRoutes(deps: ChatRouteDeps): AnyRouteSpec[] {
  const { hub, tokens, revocations, streams } = deps;
  const streamTicket: AnyRouteSpec = {
    method: 'post',
    path: '/messages/stream-ticket',
    summary: 'A short-lived ticket for EventSource',
    auth: 'session',
    responses: { 201: json('A ticket valid for one minute', ticketSchema) },
    errors: ['unauthorized', 'session_expired', 'store_unavailable'],
    async handle(_req, res) {
      res.status(201).json(await tokens.issueTicket(claimsOf(res)));
    },
  };

  const stream: RouteSpec<unknown, z.infer<typeof streamQuery>> = {
    method: 'get',
    path: '/messages/stream',
    summary: 'Live Server-Sent Events: message, typing, presence, session',
    description:
      'Authenticated by the Authorization header (fetch-based readers) or by ?ticket= from POST /messages/stream-ticket (EventSource). Every event has an id (the newest message id so far, or before the first message a time position: a `streamPosition`, the one the stream resumed from or the moment it opened); reopened with `Last-Event-ID` (or ?lastEventId=), the stream first sends the messages missed since, from history, or a `session` event `replay_incomplete` when it cannot, and says `open` once it has found that place; it does the same after `reconnected`, for what Genesys sent while the upstream socket of the service was down. Every stream ends with a `session` event whose data says whether to reconnect.',
    auth: 'session-or-ticket',
    query: streamQuery,
    headers: [
      {
        name: 'Last-Event-ID',
        description: 'The id of the last event the client saw: the messages after it are sent first, from history',
        pattern: STREAM_EVENT_ID.source,
      },
    ],
    responses: { 200: { description: 'An event stream', contentType: 'text/event-stream' } },
    errors: [
      'validation_failed',
      'unauthorized',
      'session_expired',
      'rate_limited',
      'upstream_unavailable',
      'store_unavailable',
    ],
    async handle(req, res, { query }) {
      // Checked before anything is held for the stream; HEAD has no body to stream: the headers, and nothing held open.
      resumeAfter(req, query.lastEventId);
      if (req.method === 'HEAD') {
        res.status(200).type('text/event-stream').end();
        return;
      }
      const guest = guestOf(res);
      const admitted = { guestToken: guest.guestToken, ip: req.ip ?? 'unknown' };
      // Refused before the hub holds anything for it.
      streams.admit(admitted);
      const session = hub.session(guest.guestToken, guest.signIn);
      const holder = {
        ...admitted,
        present: presenter(deps, req, { ...guest, routingKey: guest.claims?.routingKey }),
        expiresAt: () => session.expiry.at,
      };
      await session.ready();
      const history = {
        after: resumeAfter(req, query.lastEventId),
        readNewest: (reason: 'resume' | 'reconnect') => hub.history.newest(session, reason),
      };
      // A client that left while Genesys was reached gets no stream, and keeps its ticket.
      if (res.destroyed) return;
      await spendTicket(res, revocations);
      streams.serve(res, session, holder, history);
    },
  };

  return [streamTicket, stream] as AnyRouteSpec[];
}
