/**
 * The listening socket and what it answers before Express: connection caps, client errors,
 * the health fast path, and the separate metrics listener.
 */
export { listen } from './listen';
export { answerHealthFirst } from './healthFirst';
export { createHttpServer } from './httpServer';
export { answerClientError } from './clientError';
export { capConnections } from './connectionCaps';
export { startMetricsListener } from './metricsListener';
export type { DeadLetterSource } from './deadLetterRoutes';
