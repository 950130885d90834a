import type { z } from 'zod';
import { claimsOf, guestOf, spendTicket } from '../middleware';
import { resumeAfter } from '../streams';
import { type NormalizedMessage, STREAM_EVENT_ID } from '../../domain/message';
import { type AnyRouteSpec, jsonResponse, type RouteSpec, streamQuery, ticketSchema } from '../spec';
import { presenter } from './attachments';
import type { ChatRouteDeps } from './deps';

type StreamDeps = Pick<
  ChatRouteDeps,
  'hub' | 'tokens' | 'revocations' | 'streams' | 'attachments' | 'publicUrl' | 'limits' | 'notifications'
>;

/** The live stream and its tickets. */
export function streamRoutes(deps: StreamDeps): AnyRouteSpec[] {
  const { hub, tokens, revocations, streams } = deps;
  const streamTicket: AnyRouteSpec = {
    method: 'post',
    path: '/messages/stream-ticket',
    summary: 'A short-lived ticket for EventSource',
    auth: 'session',
    responses: { 201: jsonResponse('A ticket valid for one minute', ticketSchema) },
    // EventSource cannot read a refusal's Retry-After; the ticket's fetch can. While the circuit holds Genesys for
    // away, a stream is refused here, with the wait, rather than after the ticket where the client cannot see it.
    errors: ['upstream_unavailable'],
    async handle(_req, res) {
      const claims = claimsOf(res);
      const refused = hub.upstreamRefusal();
      if (refused) throw refused;
      res.status(201).json(await tokens.issueTicket(claims));
    },
  };

  const stream: RouteSpec<unknown, z.infer<typeof streamQuery>> = {
    method: 'get',
    path: '/messages/stream',
    summary: 'Live Server-Sent Events: message, typing, presence, session',
    description:
      'Authenticated by the Authorization header (fetch-based readers) or by ?ticket= from POST ' +
      '/messages/stream-ticket (EventSource). Every event has an id (the newest message id so far, not one that ' +
      'came while a guest message waited for its echo, or before the ' +
      'first message a time position: a `streamPosition`, the one the stream resumed from or the moment it opened); ' +
      'reopened with `Last-Event-ID` (or ?lastEventId=), the stream first sends the messages missed since, from ' +
      'history, or a `session` event `replay_incomplete` when it cannot, and says `open` once it has found that ' +
      'place; it does the same after `reconnected`, for what Genesys sent while the upstream socket of the service ' +
      'was down. Every stream ends with a `session` event whose data says whether to reconnect.',
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
    // Too many live streams open at once (liveStreams.ts).
    errors: ['rate_limited', 'upstream_unavailable'],
    async handle(req, res, { query }) {
      // Checked before anything is held for the stream; HEAD has no body to stream: the headers, and nothing held open.
      resumeAfter(req, query.lastEventId);
      if (req.method === 'HEAD') {
        res.status(200).type('text/event-stream').end();
        return;
      }
      const guest = guestOf(res);
      const admitted = { guestToken: guest.guestToken, ip: deps.limits.clientAddress(req) };
      // Refused before the hub holds anything for it.
      streams.admit(admitted);
      // The chat is looked at from now (docs/api.md), before the stream's socket opens: a push watch's socket is
      // let go first, so it never sits beside this one (Genesys allows a session 3).
      const pageClosed = await deps.notifications.pageOpened(guest.guestToken);
      if (res.destroyed) pageClosed();
      else res.once('close', pageClosed);
      const session = hub.session(guest.guestToken, guest.signIn);
      const holder = {
        ...admitted,
        present: shownBy(presenter(deps, req, { ...guest, routingKey: guest.claims?.routingKey }), (message) =>
          deps.notifications.shown(guest.guestToken, message),
        ),
        expiry: { at: () => session.expiry.at, confirm: () => session.expiry.confirm() },
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

/** `present`, telling `shown` of each message it presents (what the page shows is never pushed). */
function shownBy(
  present: (message: NormalizedMessage) => NormalizedMessage,
  shown: (message: NormalizedMessage) => void,
): (message: NormalizedMessage) => NormalizedMessage {
  return (message) => {
    shown(message);
    return present(message);
  };
}
