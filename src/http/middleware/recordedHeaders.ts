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
export function replayedPerOrigin(
  middleware: RequestHandler,
): RequestHandler & { headersFor(origin: string | undefined): Recorded; rawFor(origin: string | undefined): string[] } {
  const byOrigin = new Map<string | undefined, { headers: Recorded; raw: string[] }>();
  const recorded = (origin: string | undefined) => {
    let entry = byOrigin.get(origin);
    if (entry === undefined) {
      const headers = recordHeaders(middleware, origin);
      entry = { headers, raw: rawHeaders(headers) };
      if (byOrigin.size >= REMEMBERED_ORIGINS) byOrigin.delete(byOrigin.keys().next().value);
      byOrigin.set(origin, entry);
    }
    return entry;
  };
  const headersFor = (origin: string | undefined): Recorded => recorded(origin).headers;
  const rawFor = (origin: string | undefined): string[] => recorded(origin).raw;
  const replay: RequestHandler = (req, res, next) => {
    if (req.method === 'OPTIONS') return middleware(req, res, next);
    for (const [name, value] of headersFor(req.headers.origin)) res.setHeader(name, value);
    next();
  };
  return Object.assign(replay, { headersFor, rawFor });
}

/**
 * Recorded headers as Node's raw list of names and values
 * (`writeHead(status, list)`), a repeated header once per value.
 */
export function rawHeaders(headers: Recorded): string[] {
  const raw: string[] = [];
  for (const [name, value] of headers)
    for (const one of Array.isArray(value) ? value : [value]) raw.push(name, String(one));
  return raw;
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
