import type { z } from 'zod';
import { claimsOf, guestOf } from '../middleware';
import { type AnyRouteSpec, jsonResponse, type RouteSpec, sessionViewSchema, signInBody } from '../spec';
import type { ChatRouteDeps } from './deps';

/** Genesys authenticated messaging mid-chat: sign in, sign out. */
export function signInRoutes({
  chat,
  limits,
  notifications,
}: Pick<ChatRouteDeps, 'chat' | 'limits' | 'notifications'>): AnyRouteSpec[] {
  const signIn: RouteSpec<z.infer<typeof signInBody>> = {
    method: 'post',
    path: '/guest-session/sign-in',
    summary: 'Sign the customer in, keeping the conversation',
    description:
      "Exchanges the identity provider's code (or ID token) at Genesys and signs this session in (authenticated " +
      'messaging): the agent sees a verified customer, and the conversation follows the customer to other devices. ' +
      'Needs the deployment to allow signing in mid-chat (GET /capabilities, `authentication.allowSessionUpgrade`); ' +
      'Genesys decides, and its refusal (422) leaves the chat as it was. ' +
      "A code's `redirectUri` must be one of the site's sign-in callbacks (SIGN_IN_REDIRECT_URIS, else a page of an " +
      'allowed origin). Every token of the conversation issued before the sign-in opens nothing afterwards (401): ' +
      'keep the one this answers with. A sign-in whose answer did not arrive, or was 503, is sent again as it was ' +
      '(the same token and grant): once Genesys has taken it, that answers with its token, even though the token ' +
      'sent opens nothing else now (a code is exchanged once). Attempts are limited per session and per address (429).',
    auth: 'session',
    retriesSignIn: true,
    body: { kind: 'json', schema: signInBody },
    limits: { perAddress: [limits.signInsPerIp], perSession: [limits.signInsPerSession] },
    responses: { 200: jsonResponse('The session, now signed in', sessionViewSchema) },
    errors: ['reauthentication_required', 'authentication_disabled', 'conflict', 'upstream_unavailable'],
    async handle(_req, res, { body }) {
      res.json(await chat.signIn(claimsOf(res), body, guestOf(res).earlierSignIn));
    },
  };

  const signOut: AnyRouteSpec = {
    method: 'post',
    path: '/guest-session/sign-out',
    summary: 'Sign the customer out, on every device',
    description:
      "Revokes the customer's sign-in at Genesys, which signs out every device of the customer, and ends this " +
      'session: its token opens nothing afterwards (410). Every live stream of the customer gets a final `session` ' +
      'event `signed_out`.',
    auth: 'session',
    limits: { perAddress: [limits.signInsPerIp], perSession: [limits.signInsPerSession] },
    responses: { 204: { description: 'Signed out' } },
    errors: ['conflict', 'upstream_unavailable'],
    async handle(_req, res) {
      const claims = claimsOf(res);
      await chat.signOut(claims);
      await notifications.chatEnded(claims.guestToken);
      res.status(204).end();
    },
  };

  return [signIn, signOut] as AnyRouteSpec[];
}
