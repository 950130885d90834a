import { claimsOf } from '../middleware';
import { type AnyRouteSpec, capabilitiesViewSchema, jsonResponse } from '../spec';
import type { ChatRouteDeps } from './deps';

/** What this deployment allows a custom UI. */
export function capabilityRoutes({ chat, availability }: Pick<ChatRouteDeps, 'chat' | 'availability'>): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/capabilities',
      summary: 'What this deployment allows a custom UI',
      description:
        "From the deployment's Messenger configuration (config.json) and this session's SessionResponse: " +
        'attachments, ending a chat, typing, languages, Markdown, authentication, and when the session expires; ' +
        'and whether GET /availability reads anything from Genesys.',
      auth: 'session',
      responses: { 200: jsonResponse('The capabilities', capabilitiesViewSchema) },
      errors: ['upstream_unavailable'],
      async handle(_req, res) {
        res.json({
          ...(await chat.capabilities(claimsOf(res))),
          availability: { configured: availability.configured },
        });
      },
    },
  ];
}
