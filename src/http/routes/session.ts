import type { z } from 'zod';
import { claimsOf, type Guest } from '../middleware';
import { AppError } from '../../domain/errors';
import { type AnyRouteSpec, jsonResponse, type RouteSpec, sessionViewSchema, startSessionBody } from '../spec';
import type { ChatRouteDeps } from './deps';

/** Start, resume, read and end a guest session. */
export function sessionRoutes({
  chat,
  limits,
  notifications,
}: Pick<ChatRouteDeps, 'chat' | 'limits' | 'notifications'>): AnyRouteSpec[] {
  const startSession: RouteSpec<z.infer<typeof startSessionBody>> = {
    method: 'post',
    path: '/guest-session',
    summary: 'Start a guest session, or resume the one whose token is sent',
    description:
      'Without Authorization: starts a new Genesys guest session (201). With a valid session token: resumes it ' +
      '(200), applying any attributes given; `startNew: true` replaces a read-only (ended) conversation.',
    auth: 'none',
    body: { kind: 'json', schema: startSessionBody, optional: true },
    headers: [
      {
        name: 'X-Chat-Session',
        description:
          'From clients older than the routingKey query parameter: a routing key the client proposes (16 to 64 of ' +
          "A-Z a-z 0-9 _ -), adopted as the new session's routingKey unless ?routingKey= proposes one. Send the " +
          "session's routingKey as ?routingKey= with every request (the proxies hash on the query parameter).",
      },
    ],
    limits: {
      perAddress: [limits.newSessions, limits.conversationChangesPerIp, limits.signInsPerIp],
      perSession: [limits.conversationChangesPerSession],
    },
    responses: {
      201: jsonResponse('A new session', sessionViewSchema),
      200: jsonResponse('The resumed session', sessionViewSchema),
    },
    errors: [
      'identity_invalid',
      'attribute_locked',
      'attributes_too_large',
      'conflict',
      'upstream_unavailable',
      'reauthentication_required',
      'authentication_disabled',
      'cannot_downgrade',
      // MASKING_MODE=refuse: an attribute value holds what a detector finds.
      'sensitive_data',
    ],
    async handle(req, res, { body }) {
      const guest = res.locals.guest as Guest | undefined;
      if (guest?.claims) {
        // A page is back (docs/api.md): a push watch's socket is let go before the resume's opens.
        await notifications.pageResumed(guest.claims.guestToken);
        res.status(200).json(await chat.resume(guest.claims, body));
        return;
      }
      if (body.startNew)
        throw new AppError('validation_failed', '`startNew` needs the session token of the ended conversation.');
      // The header: from older clients.
      const proposed = typeof req.query.routingKey === 'string' ? req.query.routingKey : req.headers['x-chat-session'];
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
    responses: { 200: jsonResponse('The session', sessionViewSchema) },
    errors: ['upstream_unavailable'],
    async handle(_req, res) {
      res.json(await chat.state(claimsOf(res)));
    },
  };

  const endSession: AnyRouteSpec = {
    method: 'delete',
    path: '/guest-session',
    summary: 'End the chat',
    description:
      'Ends the conversation the way Genesys Messenger does: Presence Clear where the deployment allows it (the ' +
      'agent sees the customer leave and the conversation is cleared), else closeSession (the connections close; ' +
      'the conversation stays with the agent until it times out). Live streams get a `session` event. Afterwards ' +
      'the token opens nothing (410 session_expired); repeating the DELETE answers 204 again.',
    auth: 'session',
    allowEnded: true,
    limits: { perAddress: [limits.conversationChangesPerIp], perSession: [limits.conversationChangesPerSession] },
    responses: { 204: { description: 'Ended (also when it already was)' } },
    errors: ['upstream_unavailable'],
    async handle(_req, res) {
      const claims = claimsOf(res);
      await chat.end(claims);
      // Nothing is pushed for an ended chat (a watch elsewhere also ends when it sees the chat's standing).
      await notifications.chatEnded(claims.guestToken);
      res.status(204).end();
    },
  };

  return [startSession, sessionState, endSession] as AnyRouteSpec[];
}
