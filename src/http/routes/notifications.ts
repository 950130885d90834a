import type { z } from 'zod';
import { claimsOf } from '../middleware';
import { type AnyRouteSpec, pushSubscriptionBody, type RouteSpec } from '../spec';
import type { ChatRouteDeps } from './deps';

/** Reaching a customer who left: the chat's Web Push subscription. */
export function notificationRoutes({ notifications }: Pick<ChatRouteDeps, 'notifications'>): AnyRouteSpec[] {
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
