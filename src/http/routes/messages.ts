import type { z } from 'zod';
import { claimsOf, setHeadersWhileWaiting } from '../middleware';
import { AppError } from '../../domain/errors';
import {
  type AnyRouteSpec,
  historyQuery,
  historySchema,
  jsonResponse,
  readBody,
  type RouteSpec,
  sendMessageBody,
  sentMessageSchema,
} from '../spec';
import { presenter } from './attachments';
import type { ChatRouteDeps } from './deps';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** Send, read history, say the guest is typing, and say the guest read a message. */
export function messageRoutes(deps: Pick<ChatRouteDeps, 'chat' | 'attachments' | 'publicUrl'>): AnyRouteSpec[] {
  const { chat } = deps;
  const sendMessage: RouteSpec<z.infer<typeof sendMessageBody>> = {
    method: 'post',
    path: '/messages',
    summary: "Send the guest's message",
    description:
      'Sends over the Guest API (onMessage), with the attributes in message.channel.metadata.customAttributes when ' +
      'they have not reached Genesys yet. Answers with the message as Genesys echoed it. Where the deployment masks ' +
      'sensitive data (MASKING), the text is masked first: Genesys, history and the answer have only the masked ' +
      'form, and the live stream says `notice` `masked`; in refuse mode such a text is 422 `sensitive_data`.',
    auth: 'session',
    body: { kind: 'json', schema: sendMessageBody },
    headers: [
      {
        name: 'Idempotency-Key',
        description: 'Makes a retried send safe: the same key never yields two messages',
        pattern: IDEMPOTENCY_KEY.source,
      },
    ],
    responses: { 201: jsonResponse('Sent', sentMessageSchema) },
    errors: [
      'not_found',
      'message_too_long',
      'attributes_too_large',
      'conflict',
      'idempotency_key_reused',
      // MASKING_MODE=refuse: the text holds what a detector finds; nothing is sent.
      'sensitive_data',
      // Genesys's pace of messages, counted where every frame of the session is seen.
      'rate_limited',
      'upstream_unavailable',
    ],
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
    responses: { 200: jsonResponse('History', historySchema) },
    // History reads, counted where every reader's are seen.
    errors: ['rate_limited', 'upstream_unavailable'],
    async handle(req, res, { query }) {
      const claims = claimsOf(res);
      const page = await chat.history(claims, query.page, query.pageSize);
      res.json({ ...page, messages: page.messages.map(presenter(deps, req, claims)) });
    },
  };

  const typing: AnyRouteSpec = {
    method: 'post',
    path: '/typing',
    summary: 'The guest is typing (throttled to one event per 5 s, as Genesys asks)',
    description:
      'Refused with 409 `conflict` once the conversation has ended (read-only), as a message would be; nothing ' +
      'reaches Genesys then.',
    auth: 'session',
    responses: { 204: { description: 'Noted' } },
    errors: ['conflict', 'upstream_unavailable'],
    async handle(_req, res) {
      await chat.typing(claimsOf(res));
      res.status(204).end();
    },
  };

  const read: RouteSpec<z.infer<typeof readBody>> = {
    method: 'post',
    path: '/messages/read',
    summary: "The customer's page shows an agent's or bot's message: Genesys hears it was read",
    description:
      'Only where the deployment sends read receipts (`capabilities.readReceipts`, READ_RECEIPTS); otherwise 409 ' +
      '`conflict`. Name the newest message the page shows in a visible tab; Genesys is told once per message, ' +
      'however many tabs, reloads or instances report it. Nothing is sent for an ended conversation.',
    auth: 'session',
    body: { kind: 'json', schema: readBody },
    responses: { 204: { description: 'Noted' } },
    // The session's Genesys request budget, when it has no room now.
    errors: ['conflict', 'rate_limited', 'upstream_unavailable'],
    async handle(_req, res, { body }) {
      await chat.markRead(claimsOf(res), body.messageId);
      res.status(204).end();
    },
  };

  return [sendMessage, history, typing, read] as AnyRouteSpec[];
}
