import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger';

declare module 'http' {
  interface IncomingMessage {
    /** The request id (requestId middleware). */
    id: string;
    /** The service logger; its lines carry the request id (logger mixin). */
    log: Logger;
  }
}

export interface AccessLogOptions {
  /** Requests not logged (health probes). */
  ignore: (url: string) => boolean;
  /** The URL as it may appear in a log line (secrets in the query string redacted). */
  loggableUrl: (url: string) => string;
}

/**
 * One line per request when its response is finished (or the client went
 * away first): method, loggable URL, origin, user agent, remote address,
 * status and time taken, tagged with the request id; `error` level for a
 * 5xx, else `info`. Handlers log through `req.log`.
 *
 * The line is written by a child logger without redaction: it holds only
 * the fields above (the URL already passed `loggableUrl`), so the redaction
 * walk every other line pays for would find nothing, and it cost about
 * three quarters of the line's price on a path taken by every request
 * (bench/README.md). This replaces pino-http, whose per-request child
 * logger showed in the same profile.
 */
export function accessLog(logger: Logger, options: AccessLogOptions): RequestHandler {
  const access = logger.child({}, { redact: [] });
  return (req, res, next) => {
    req.log = logger;
    if (options.ignore(req.url)) return next();
    const started = Date.now();
    const line = (aborted: boolean) => ({
      req: {
        method: req.method,
        url: options.loggableUrl(req.originalUrl ?? req.url),
        origin: req.headers.origin,
        userAgent: req.headers['user-agent'],
        remoteAddress: req.socket?.remoteAddress,
      },
      res: { statusCode: aborted ? undefined : res.statusCode },
      responseTime: Date.now() - started,
      requestId: req.id,
    });
    let done = false;
    res.once('finish', () => {
      done = true;
      if (res.statusCode >= 500) access.error(line(false), 'request completed');
      else access.info(line(false), 'request completed');
    });
    res.once('close', () => {
      if (!done) access.info(line(true), 'request aborted');
    });
    next();
  };
}
