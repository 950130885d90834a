/**
 * The routes, one file per resource, each declared once as a `RouteSpec`; `apiRoutes` lists them all.
 */
export { apiRoutes } from './api';
export type { ChatRouteDeps } from './deps';
