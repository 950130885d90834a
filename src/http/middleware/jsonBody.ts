import express, { type RequestHandler } from 'express';
import { AppError } from '../../domain/errors';
import { RESERVED_KEYS } from '../../domain/reservedKeys';

/** The Content-Type clients send: `application/json`, alone or with `; charset=utf-8`. */
const PLAIN_JSON = /^application\/json(; ?charset=utf-8)?$/i;

/**
 * Reads a JSON body into `req.body`, on the routes that take one (and for requests no route
 * took): a body, when there is one, must be JSON (415 before it is read), no larger than
 * `limitBytes` (413), and free of keys that reach an object's prototype (400). A request with
 * neither Content-Length nor Transfer-Encoding has no body, and passes at once.
 */
export function jsonBodyReader(limitBytes: number): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (length === undefined && !chunked) return next();
    // The usual header is checked directly; anything else is judged by type-is.
    if (
      (chunked || Number(length) > 0) &&
      !PLAIN_JSON.test(req.headers['content-type'] ?? '') &&
      !req.is(['application/json', 'application/*+json'])
    ) {
      next(new AppError('unsupported_media_type', 'Send the request body as application/json.'));
      return;
    }
    parse(req, res, (error?: unknown) => {
      if (error) next(error);
      else next(reservedKeyIn(req.body));
    });
  };
}

/**
 * Keys that reach an object's prototype are refused anywhere in a body, loudly, rather than
 * dropped by a schema on the way.
 */
function reservedKeyIn(body: unknown): AppError | undefined {
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      if (RESERVED_KEYS.has(key))
        return new AppError('validation_failed', `"${key}" is not allowed as a key in a request body.`);
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return undefined;
}
