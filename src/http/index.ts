/**
 * The HTTP edge: the Express app, its routes and middleware, live streams, uploads, the
 * listener with its connection caps, and the published API documents.
 */
export { LiveStreams, StreamCaps } from './streams';
export { UploadSpool } from './uploads';
export { corsHeaders, rateLimits } from './middleware';
export type { ChatRouteDeps } from './routes';
export {
  listen,
  answerHealthFirst,
  createHttpServer,
  answerClientError,
  capConnections,
  startMetricsListener,
} from './server';
export { createApp, deploymentRoutes, securityHeaders, servingDeployments } from './app';
export type { DeploymentChoice, EdgeDeployment } from './app';
