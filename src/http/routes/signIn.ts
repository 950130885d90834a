import type { z } from 'zod';
import type { GuestChat } from '../../session';
import { claimsOf, type rateLimits } from '../middleware';
import { type AnyRouteSpec, type RouteSpec, sessionViewSchema, signInBody } from '../spec';

const json = (description: string, schema: z.ZodType) => ({ description, schema });

/** Genesys authenticated messaging mid-chat: sign in, sign out. */
export function signInRoutes({
  chat,
  limits,
}: {
  chat: GuestChat;
  limits: ReturnType<typeof rateLimits>;
}): AnyRouteSpec[] {
  const signIn: RouteSpec<z.infer<typeof signInBody>> = {
    method: 'post',
    path: '/guest-session/sign-in',
    summary: 'Sign the customer in, keeping the conversation',
    description:
      "Exchanges the identity provider's code (or ID token) at Genesys and signs this session in (authenticated messaging): the agent sees a verified customer, and the conversation follows the customer to other devices. Needs the deployment to allow signing in mid-chat (GET /capabilities, `authentication.allowSessionUpgrade`). A code's `redirectUri` must be one of the site's sign-in callbacks (SIGN_IN_REDIRECT_URIS, else a page of an allowed origin). Every token of the conversation issued before the sign-in opens nothing afterwards (401): keep the one this answers with. Attempts are limited per session and per address (429).",
    auth: 'session',
    body: signInBody,
    before: [limits.signInsPerIp],
    after: [limits.signInsPerSession],
    responses: { 200: json('The session, now signed in', sessionViewSchema) },
    errors: [
      'validation_failed',
      'unauthorized',
      'reauthentication_required',
      'authentication_disabled',
      'conflict',
      'session_expired',
      'rate_limited',
      'upstream_unavailable',
      'store_unavailable',
    ],
    async handle(_req, res, { body }) {
      res.json(await chat.signIn(claimsOf(res), body));
    },
  };

  const signOut: AnyRouteSpec = {
    method: 'post',
    path: '/guest-session/sign-out',
    summary: 'Sign the customer out, on every device',
    description:
      "Revokes the customer's sign-in at Genesys, which signs out every device of the customer, and ends this session: its token opens nothing afterwards (410). Every live stream of the customer gets a final `session` event `signed_out`.",
    auth: 'session',
    before: [limits.signInsPerIp],
    after: [limits.signInsPerSession],
    responses: { 204: { description: 'Signed out' } },
    errors: [
      'unauthorized',
      'conflict',
      'session_expired',
      'rate_limited',
      'upstream_unavailable',
      'store_unavailable',
    ],
    async handle(_req, res) {
      await chat.signOut(claimsOf(res));
      res.status(204).end();
    },
  };

  return [signIn, signOut] as AnyRouteSpec[];
}
