import type { Request } from 'express';
import type { z } from 'zod';
import { claimsOf } from '../middleware';
import {
  type AnyRouteSpec,
  emailLinkQuery,
  emailOptInBody,
  emailOptInViewSchema,
  jsonResponse,
  pushSubscriptionBody,
  type RouteSpec,
} from '../spec';
import type { ChatRouteDeps } from './deps';

/** Reaching a customer who left: the chat's Web Push subscription and e-mail opt-in. */
export function notificationRoutes(deps: Pick<ChatRouteDeps, 'notifications' | 'publicUrl'>): AnyRouteSpec[] {
  return [...pushRoutes(deps), ...emailRoutes(deps)];
}

function pushRoutes({ notifications }: Pick<ChatRouteDeps, 'notifications'>): AnyRouteSpec[] {
  const subscribe: RouteSpec<z.infer<typeof pushSubscriptionBody>> = {
    method: 'put',
    path: '/notifications/push',
    summary: "Push the chat's replies to this browser once nobody is looking at it",
    description:
      "The page's `PushSubscription.toJSON()` (subscribed with `capabilities.notifications.push.vapidPublicKey`), " +
      'and optionally `url`, the page a push opens (of the session’s origin; unset: that origin’s `/`). Replaces ' +
      "the chat's subscription. Once no page stream of the chat has been open for NOTIFY_AFTER_SECONDS, each agent " +
      'or bot reply is pushed once (replies within a few seconds as one push), RFC 8291 `aes128gcm` with a VAPID ' +
      'signature, the payload `{ "type": "reply", "from", "preview"?, "url" }`. The endpoint must be `https:` ' +
      '(`http:` on loopback outside production). Ending the chat, or its expiry, removes the subscription. ' +
      '409 `conflict` when the deployment has no VAPID key pair.',
    auth: 'session',
    body: { kind: 'json', schema: pushSubscriptionBody },
    responses: { 204: { description: 'Stored' } },
    errors: ['conflict', 'rate_limited'],
    async handle(_req, res, { body }) {
      await notifications.subscribe(claimsOf(res), body);
      res.status(204).end();
    },
  };
  const unsubscribe: AnyRouteSpec = {
    method: 'delete',
    path: '/notifications/push',
    summary: "Stop pushing the chat's replies",
    description: 'Removes the chat’s subscription (also when there is none); nothing more is pushed.',
    auth: 'session',
    responses: { 204: { description: 'Removed' } },
    async handle(_req, res) {
      await notifications.unsubscribe(claimsOf(res));
      res.status(204).end();
    },
  };
  return [subscribe, unsubscribe] as AnyRouteSpec[];
}

/** The e-mail opt-in, and the links its e-mails carry (they work without a session). */
function emailRoutes({ notifications, publicUrl }: Pick<ChatRouteDeps, 'notifications' | 'publicUrl'>): AnyRouteSpec[] {
  const optIn: RouteSpec<z.infer<typeof emailOptInBody>> = {
    method: 'put',
    path: '/notifications/email',
    summary: "E-mail the chat's unread human replies to this address once nobody is looking at it",
    description:
      '`{ "address", "url"? }` (`url`: the chat page an e-mail links back to, of the session’s origin; unset: that ' +
      "origin's `/`). Replaces the chat's opt-in. Unless the session's verified identity (an identity token's " +
      '`email`) has this address, a confirmation e-mail is sent, and nothing else is until its confirm link is ' +
      "opened. Once no page stream of the chat is open, a human agent's reply still unread EMAIL_AFTER_SECONDS " +
      'later is e-mailed, with the others of that window (their text, or a notice: EMAIL_PREVIEW) and a link back; ' +
      'a bot’s reply never is. Every e-mail carries a stop link. One e-mail per chat per window, at most ' +
      'EMAIL_DAILY_MAX per address a day. Ending the chat, or its expiry, ends the opt-in. 409 `conflict` when the ' +
      'deployment has no SMTP relay; 429 after 3 confirmations asked by one chat in a day.',
    auth: 'session',
    body: { kind: 'json', schema: emailOptInBody },
    responses: {
      202: jsonResponse('Stored; a confirmation is sent unless the address is vouched for', emailOptInViewSchema),
    },
    errors: ['conflict', 'rate_limited'],
    async handle(req, res, { body }) {
      const view = await notifications.optInEmail(claimsOf(res), body, publicUrl ?? requestBase(req));
      res.status(202).json(view);
    },
  };
  const optOut: AnyRouteSpec = {
    method: 'delete',
    path: '/notifications/email',
    summary: "Stop e-mailing the chat's replies",
    description: 'Removes the chat’s e-mail opt-in (also when there is none); nothing more is e-mailed.',
    auth: 'session',
    responses: { 204: { description: 'Removed' } },
    async handle(_req, res) {
      await notifications.optOutEmail(claimsOf(res));
      res.status(204).end();
    },
  };
  const link = (act: 'confirm' | 'stop', method: 'get' | 'post', summary: string, description: string) =>
    ({
      method,
      path: `/notifications/email/${act}`,
      summary,
      description,
      auth: 'public',
      query: emailLinkQuery,
      responses: { 200: { description: 'A short page saying what was done', contentType: 'text/html' } },
      errors: ['validation_failed', 'not_found'],
      async handle(_req, res, { query }) {
        const outcome = await notifications.followEmailLink(query.t, act);
        const shown: LinkPage = outcome === 'nothing' ? `${act}-nothing` : outcome;
        res.type('text/html; charset=utf-8').send(PAGES[shown]);
      },
    }) satisfies RouteSpec<unknown, z.infer<typeof emailLinkQuery>>;
  return [
    optIn,
    optOut,
    link(
      'confirm',
      'get',
      'Confirm an e-mail opt-in (the link of its confirmation e-mail)',
      "No session: `t` names the chat and the opt-in. From then on the chat's unread human replies are e-mailed. " +
        'A link of an opt-in since replaced or stopped does nothing. 400 for a link this service did not make.',
    ),
    link(
      'stop',
      'get',
      'Stop the e-mails of a chat (the link every e-mail carries)',
      'No session: `t` names the chat and the opt-in, which ends; nothing more is e-mailed for the chat. Opening it ' +
        'again, or a link of an earlier opt-in, does nothing. 400 for a link this service did not make.',
    ),
    link(
      'stop',
      'post',
      'Stop the e-mails of a chat, from a mail client (RFC 8058 one-click)',
      'What `List-Unsubscribe-Post: List-Unsubscribe=One-Click` has a mail client send to the `List-Unsubscribe` ' +
        'link; the same as GET. The body is not read.',
    ),
  ] as AnyRouteSpec[];
}

/** The service's address as the request reached it (PUBLIC_URL, when set, is used instead). */
function requestBase(req: Request): string {
  return `${req.protocol}://${req.host}`;
}

const page = (title: string, text: string) =>
  [
    '<!doctype html>',
    `<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title}</title></head>`,
    `<body><h1>${title}</h1><p>${text}</p></body></html>`,
    '',
  ].join('\n');

/** The pages a followed link answers with: fixed text, nothing from the request. */
const PAGES: Record<LinkPage, string> = {
  confirmed: page(
    'E-mail confirmed',
    'When an agent replies and you are not in the chat, the reply is e-mailed to you. Every e-mail has a link to stop.',
  ),
  stopped: page('E-mails stopped', 'No more e-mails are sent about this chat.'),
  'confirm-nothing': page(
    'Nothing to confirm',
    'This chat has no e-mail request this link belongs to any more: it ended, was stopped, or asked again since.',
  ),
  'stop-nothing': page('Nothing to stop', 'No e-mails are being sent about this chat with this link.'),
};

type LinkPage = 'confirmed' | 'stopped' | 'confirm-nothing' | 'stop-nothing';
