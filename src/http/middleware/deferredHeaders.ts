import type { Express, RequestHandler, Response } from 'express';

/**
 * Response headers that need not be set before the work starts (helmet's,
 * CORS's): their middleware runs once the request has handed its work to
 * Genesys and waits for the answer (`setHeadersWhileWaiting`), or at the
 * latest as the answer's headers are written, whichever comes first. Every
 * answer carries them as before; a request that waits on Genesys no longer
 * sets them before its frame goes out, on its critical path
 * (bench/README.md). A preflight (OPTIONS), which CORS answers itself, runs
 * them in the request's flow.
 */
const PENDING = Symbol('header middleware not run yet');

type Pending = Response & { [PENDING]?: (() => void)[] };

/** Runs the request's pending header middleware now; nothing once they ran. */
export function setHeadersWhileWaiting(res: Response): void {
  const pending = (res as Pending)[PENDING];
  if (!pending) return;
  (res as Pending)[PENDING] = undefined;
  for (const run of pending) run();
}

/**
 * Makes `app`'s responses run their pending header middleware before their
 * headers are written (every status line goes out through writeHead).
 */
export function runPendingHeadersBeforeWriting(app: Express): void {
  const response = app.response as Pending;
  const writeHead = response.writeHead;
  response.writeHead = function (this: Pending, ...args: Parameters<typeof writeHead>) {
    setHeadersWhileWaiting(this);
    return writeHead.apply(this, args);
  } as typeof writeHead;
}

/** `middleware` (which only sets headers and goes on) as pending work of each request. */
export function deferred(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'OPTIONS') {
      setHeadersWhileWaiting(res);
      return middleware(req, res, next);
    }
    const pending = ((res as Pending)[PENDING] ??= []);
    pending.push(() =>
      middleware(req, res, (error?: unknown) => {
        if (error) throw error;
      }),
    );
    next();
  };
}
