import { claimsOf } from '../middleware';
import { type AnyRouteSpec, capabilitiesViewSchema, jsonResponse } from '../spec';
import type { ChatRouteDeps } from './deps';

/** What this deployment allows a custom UI. */
export function capabilityRoutes({
  chat,
  availability,
  notifications,
}: Pick<ChatRouteDeps, 'chat' | 'availability' | 'notifications'>): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/capabilities',
      summary: 'What this deployment allows a custom UI',
      description:
        "From the deployment's Messenger configuration (config.json) and this session's SessionResponse: " +
        'attachments, ending a chat, typing, languages, Markdown, authentication, and when the session expires; ' +
        'whether GET /availability reads anything from Genesys; and how the chat can reach a customer who left ' +
        '(`notifications`: the VAPID public key for Web Push, or null).',
      auth: 'session',
      responses: { 200: jsonResponse('The capabilities', capabilitiesViewSchema) },
      errors: ['upstream_unavailable'],
      async handle(_req, res) {
        res.json({
          ...(await chat.capabilities(claimsOf(res))),
          availability: { configured: availability.configured },
          notifications: notifications.capabilities,
        });
      },
    },
  ];
}
