import cors from 'cors';
import type { RequestHandler, Response } from 'express';
import { OriginAllowlist } from '../../config/originAllowlist';
import { AppError } from '../../domain/errors';

// Joined once here: `cors` joins lists on every request.
const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].join(',');
const ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Idempotency-Key',
  'X-Request-Id',
  'X-Chat-Session',
  'X-Deployment',
  'Last-Event-ID',
].join(',');
const EXPOSED_HEADERS = ['Retry-After', 'X-Request-Id', 'Content-Disposition'].join(',');

/**
 * docs/api.md#http-behaviour-common-to-every-endpoint. A request from an origin off the allowlist of the deployment
 * it is for (`allowlistOf`; none when no deployment allows the origin) is refused with 403 before any other work,
 * preflight or not, and never gets Access-Control-Allow-Origin. Requests without Origin (servers, curl) pass: the
 * origin check is not authentication, the sealed session token is.
 */
export function refuseForeignOrigins(allowlistOf: (res: Response) => OriginAllowlist | undefined): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !allowlistOf(res)?.allows(origin)) {
      // Every other answer gets Vary: Origin from `cors` below.
      res.vary('Origin');
      next(
        new AppError(
          'origin_not_allowed',
          "This website is not on the service's CORS allowlist (CORS_ALLOWED_ORIGINS, or a deployment's origins).",
          {
            logDetail: { origin },
          },
        ),
      );
      return;
    }
    next();
  };
}

/** The CORS headers of an answer to an origin already let through (they depend on the origin alone). */
export function corsHeaders(maxAgeSeconds: number): RequestHandler {
  return cors({
    // Only allowlisted origins reach this point, so reflecting the origin is exact.
    origin: true,
    methods: ALLOWED_METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: maxAgeSeconds,
    optionsSuccessStatus: 204,
  });
}
