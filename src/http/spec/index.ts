/**
 * Route declarations and what follows from them: the `RouteSpec` shape, request and response
 * schemas, and the OpenAPI and AsyncAPI documents.
 */
export { asyncApiDocument } from './asyncapi';
export { bodyKindOf, jsonResponse, mountRoutes } from './routeSpec';
export type { AnyRouteSpec, MountParts, RouteBody, RouteSpec } from './routeSpec';
export { openApiDocument } from './openapi';
export {
  attributesBodySchema,
  attributesChangedSchema,
  availabilitySchema,
  capabilitiesSchema,
  capabilitiesViewSchema,
  attributesPatchSchema,
  attributesViewSchema,
  historyQuery,
  historySchema,
  readBody,
  pushSubscriptionBody,
  emailOptInBody,
  emailOptInViewSchema,
  emailLinkQuery,
  sendMessageBody,
  sentMessageSchema,
  sessionViewSchema,
  startSessionBody,
  streamQuery,
  transcriptQuery,
  ticketSchema,
  healthSchema,
  readinessSchema,
  signInBody,
} from './schemas';
