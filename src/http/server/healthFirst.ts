import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { RequestHandler } from 'express';
import type { OriginAllowlist } from '../../config/originAllowlist';
import { httpRequestDuration, httpRequests } from '../../observability/metrics';
import type { Readiness } from '../../observability/readiness';
import { tracingOn } from '../../observability/tracing';
import { DEFAULT_RETRY_AFTER_SECONDS } from '../../domain/errors';
import { SAFE_REQUEST_ID, rawHeaders, recordHeaders, replayedPerOrigin } from '../middleware';

interface HealthFirstParts {
  readiness: Readiness;
  /** The origins whose pages may read the answers: every served deployment's, as they are now. */
  allowlist: Pick<OriginAllowlist, 'allows'>;
  /** The app's own security-headers middleware (helmet): its headers are recorded once and replayed. */
  securityHeaders: RequestHandler;
  /**
   * The app's own CORS-headers middleware: its headers for each
   * allowed origin are recorded once (bounded) and replayed.
   */
  corsHeaders: RequestHandler;
}

/**
 * `GET /healthz` and `GET /readyz` answered before Express and its
 * middleware, with the same answer the app gives (test/http/server/healthFirst.test.ts
 * compares them): the same status and body, the security headers helmet
 * sets, the CORS headers for an allowed `Origin`, an `X-Request-Id` (the
 * caller's when it is safe, else a new one), counted in
 * `http_requests_total` and timed like any route. A probe runs every few
 * seconds on every instance, and the app's middleware (request context,
 * access log, routers) costs several times the answer itself
 * (bench/README.md).
 *
 * Anything that is not exactly such a request goes to `app`: another method
 * or a query string, an `Origin` off the allowlist (refused there, with its
 * problem+json), and, with tracing on, a request carrying `traceparent` (the
 * app continues its trace).
 */
export function answerHealthFirst(
  parts: HealthFirstParts,
  app: (req: http.IncomingMessage, res: http.ServerResponse) => void,
) {
  const security = rawHeaders(recordHeaders(parts.securityHeaders, undefined));
  const cors = replayedPerOrigin(parts.corsHeaders);
  const counted = {
    healthz: {
      ok: httpRequests.labels('GET', '/healthz', '200'),
      timed: httpRequestDuration.labels('GET', '/healthz'),
    },
    readyz: {
      ok: httpRequests.labels('GET', '/readyz', '200'),
      notReady: httpRequests.labels('GET', '/readyz', '503'),
      timed: httpRequestDuration.labels('GET', '/readyz'),
    },
  };
  const HEALTHY = JSON.stringify({ status: 'ok' });

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url;
    if (req.method !== 'GET' || (url !== '/healthz' && url !== '/readyz')) return app(req, res);
    const origin = req.headers.origin;
    if (origin !== undefined && !parts.allowlist.allows(origin)) return app(req, res);
    if (req.headers.traceparent !== undefined && tracingOn()) return app(req, res);
    const startedAt = performance.now();
    let status = 200;
    let body = HEALTHY;
    if (url === '/readyz') {
      const { ready, status: state, checks } = parts.readiness.report();
      status = ready ? 200 : 503;
      body = JSON.stringify({ status: state, checks });
    }
    const offered = req.headers['x-request-id'];
    const requestId = typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
    // One raw header list (Node merges it with any header set before, such as Connection: close while draining).
    res.writeHead(status, [
      ...security,
      ...cors.rawFor(origin),
      'X-Request-Id',
      requestId,
      'Content-Type',
      'application/json; charset=utf-8',
      'Content-Length',
      String(Buffer.byteLength(body)),
      // Like every 503 the service sends, an unready answer says when to ask again.
      ...(status === 503 ? ['Retry-After', String(DEFAULT_RETRY_AFTER_SECONDS)] : []),
    ]);
    res.end(body);
    const metric = url === '/healthz' ? counted.healthz : counted.readyz;
    (status === 200 ? metric.ok : counted.readyz.notReady).inc();
    metric.timed.observe((performance.now() - startedAt) / 1000);
  };
  return handle;
}
