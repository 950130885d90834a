import type { RequestHandler } from 'express';

/**
 * Header middleware whose headers never depend on the request (helmet's, as
 * configured here), run once and replayed: the same headers, set in one loop
 * instead of a dozen middleware calls per answer (bench/README.md).
 */
export function replayedHeaders(middleware: RequestHandler): RequestHandler {
  const headers = recordHeaders(middleware, undefined);
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/** Origins whose CORS headers are remembered; past this the oldest is dropped (recorded again if it comes back). */
const REMEMBERED_ORIGINS = 1000;

type Recorded = [string, string | number | readonly string[]][];

/**
 * The headers `middleware` sets for each `Origin` (CORS's, for origins the
 * allowlist let through), recorded the first time an origin comes and
 * replayed after that; a preflight (OPTIONS), which the middleware answers
 * itself, still runs it.
 */
export function replayedPerOrigin(middleware: RequestHandler): RequestHandler & { headersFor(origin: string | undefined): Recorded } {
  const byOrigin = new Map<string | undefined, Recorded>();
  const headersFor = (origin: string | undefined): Recorded => {
    let headers = byOrigin.get(origin);
    if (headers === undefined) {
      headers = recordHeaders(middleware, origin);
      if (byOrigin.size >= REMEMBERED_ORIGINS) byOrigin.delete(byOrigin.keys().next().value);
      byOrigin.set(origin, headers);
    }
    return headers;
  };
  const replay: RequestHandler = (req, res, next) => {
    if (req.method === 'OPTIONS') return middleware(req, res, next);
    for (const [name, value] of headersFor(req.headers.origin)) res.setHeader(name, value);
    next();
  };
  return Object.assign(replay, { headersFor });
}

/** The headers `middleware` sets on an answer to a GET with this `Origin`, in the order it sets them. */
export function recordHeaders(middleware: RequestHandler, origin: string | undefined): Recorded {
  const headers = new Map<string, [string, string | number | readonly string[]]>();
  const recorder = {
    getHeader: (name: string) => headers.get(name.toLowerCase())?.[1],
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), [name, value]);
      return recorder;
    },
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
    get headersSent() {
      return false;
    },
  };
  const req = { method: 'GET', url: '/healthz', headers: origin === undefined ? {} : { origin } };
  let done = false;
  middleware(req as never, recorder as never, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error('A header middleware did not go on synchronously; it cannot be recorded.');
  return [...headers.values()];
}
