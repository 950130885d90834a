import { claimsOf } from '../middleware';
import { type AnyRouteSpec, capabilitiesSchema, jsonResponse } from '../spec';
import type { ChatRouteDeps } from './deps';

/** What this deployment allows a custom UI. */
export function capabilityRoutes({ chat }: Pick<ChatRouteDeps, 'chat'>): AnyRouteSpec[] {
  return [
    {
      method: 'get',
      path: '/capabilities',
      summary: 'What this deployment allows a custom UI',
      description:
        "From the deployment's Messenger configuration (config.json) and this session's SessionResponse: " +
        'attachments, ending a chat, typing, languages, Markdown, authentication, and when the session expires.',
      auth: 'session',
      responses: { 200: jsonResponse('The capabilities', capabilitiesSchema) },
      errors: ['upstream_unavailable'],
      async handle(_req, res) {
        res.json(await chat.capabilities(claimsOf(res)));
      },
    },
  ];
}
