import { AsyncResource } from 'node:async_hooks';
import type { Request, RequestHandler } from 'express';
import { httpRequestDuration, httpRequests } from '../../observability/metrics';
import { endRequestSpan, type RequestTrace } from '../../observability/tracing';

/** Methods counted by name; anything else Node's parser lets through is `other`. */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The label for a request that no route took (an unknown path, a refused origin, a preflight): never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';

interface MatchedRoute {
  path?: unknown;
  methods?: Record<string, boolean | undefined>;
}

/** The route template Express matched (`/attachments/:id`), the same string the route spec declares. */
function routeOf(req: Request): string {
  const path = (req.route as MatchedRoute | undefined)?.path;
  return typeof path === 'string' ? path : UNMATCHED_ROUTE;
}

/** Whether a route served this method (not only refused it with 405 or let it fall through). */
function served(req: Request): boolean {
  return (req.route as MatchedRoute | undefined)?.methods?.[req.method.toLowerCase()] === true;
}

/**
 * The labelled series of a request, looked up once per label set: prom-client
 * would otherwise sort and join the labels on every request. As bounded as the
 * labels themselves (route templates, statuses, methods).
 */
const counters = new Map<string, ReturnType<typeof httpRequests.labels>>();
const timers = new Map<string, ReturnType<typeof httpRequestDuration.labels>>();

function cached<T>(made: Map<string, T>, key: string, make: () => T): T {
  let series = made.get(key);
  if (series === undefined) made.set(key, (series = make()));
  return series;
}

const countedAs = (method: string, route: string, status: number) =>
  cached(counters, `${method} ${route} ${status}`, () => httpRequests.labels(method, route, String(status)));
const timedAs = (method: string, route: string) =>
  cached(timers, `${method} ${route}`, () => httpRequestDuration.labels(method, route));

/**
 * Counts every request as its answer ends, by method, route template and
 * status (`499` when the client left before any answer), and ends its server
 * span (tracing on). Only requests a route served are timed: the histogram
 * has one set of buckets per route of the API, whatever clients send.
 */
export const observeRequests: RequestHandler = (req, res, next) => {
  const startedAt = performance.now();
  // Bound to the request's context: a client that leaves closes the response from its connection's, which is no
  // deployment's, and the request still counts under the deployment that served it.
  res.once(
    'close',
    AsyncResource.bind(() => {
      const method = METHODS.has(req.method) ? req.method : 'other';
      const route = routeOf(req);
      const status = res.headersSent ? res.statusCode : 499;
      countedAs(method, route, status).inc();
      if (served(req)) timedAs(method, route).observe((performance.now() - startedAt) / 1000);
      const span = (res.locals.trace as RequestTrace | undefined)?.span;
      if (span) endRequestSpan(span, method, route, status);
    }),
  );
  next();
};
