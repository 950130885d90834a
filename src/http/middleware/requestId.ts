import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { runWithContext } from '../../observability/requestContext';
import { traceRequest, withRequestSpan } from '../../observability/tracing';

/** A caller's X-Request-Id that is safe to log and echo. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Accepts a caller's X-Request-Id when it is safe to log, else makes one; echoes it back.
 * The request's trace (its `traceparent`, or its server span with tracing on) travels with it.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const offered = req.headers['x-request-id'];
  const id = typeof offered === 'string' && SAFE_REQUEST_ID.test(offered) ? offered : randomUUID();
  req.id = id;
  res.setHeader('X-Request-Id', id);
  const trace = traceRequest(req.method, req.headers);
  res.locals.trace = trace;
  runWithContext({ requestId: id, trace: trace?.ids }, () => withRequestSpan(trace, next));
};
