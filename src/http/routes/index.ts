/**
 * The routes, one file per resource, each declared once as a `RouteSpec`.
 */
export { chatRoutes } from './chat';
export type { ChatRouteDeps } from './chat';
export { healthRoutes } from './health';
export { problemRoutes } from './problems';
