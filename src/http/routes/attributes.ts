import { claimsOf } from '../middleware';
import {
  type AnyRouteSpec,
  attributesBodySchema,
  attributesChangedSchema,
  attributesPatchSchema,
  attributesViewSchema,
  jsonResponse,
} from '../spec';
import type { ChatRouteDeps } from './deps';

/** The guest's custom attributes. */
export function attributeRoutes({ chat, limits }: Pick<ChatRouteDeps, 'chat' | 'limits'>): AnyRouteSpec[] {
  const getAttributes: AnyRouteSpec = {
    method: 'get',
    path: '/guest-attributes',
    summary: 'The attributes and which keys are locked',
    auth: 'session',
    responses: { 200: jsonResponse('Attributes', attributesViewSchema) },
    handle(_req, res) {
      const claims = claimsOf(res);
      res.json({ attributes: claims.attributes, locked: claims.locked });
    },
  };

  const changeAttributes = (method: 'put' | 'patch'): AnyRouteSpec => ({
    method,
    path: '/guest-attributes',
    summary: method === 'put' ? 'Replace the browser-settable attributes' : 'Merge attributes; null removes a key',
    description: 'Changes reach Genesys with the next message. Keep the returned sessionToken.',
    auth: 'session',
    body: { kind: 'json', schema: method === 'put' ? attributesBodySchema : attributesPatchSchema },
    limits: { perAddress: [limits.attributeWritesPerIp], perSession: [limits.attributeWritesPerSession] },
    responses: { 200: jsonResponse('The new attributes', attributesChangedSchema) },
    // sensitive_data: MASKING_MODE=refuse, and a value holds what a detector finds.
    errors: ['attribute_locked', 'attributes_too_large', 'sensitive_data'],
    async handle(req, res) {
      res.json(await chat.changeAttributes(claimsOf(res), req.body, method === 'put' ? 'replace' : 'merge'));
    },
  });

  return [getAttributes, changeAttributes('put'), changeAttributes('patch')];
}
