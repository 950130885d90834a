/**
 * The routes, one file per resource, each declared once as a `RouteSpec`: the process's own (`processRoutes`) and
 * one deployment's chat API (`chatRoutes`).
 */
export { chatRoutes, processRoutes } from './api';
export type { ChatRouteDeps } from './deps';
