import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { AppError, type ErrorCode } from '../../domain/errors';

/**
 * A route of the public API, described once: express mounts the handler
 * from it and /openapi.json is generated from it (openapi.ts).
 */
export interface RouteSpec<Body = unknown, Query = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  description?: string;
  /**
   * `public`: no token looked at; `none`: a token is optional (resume);
   * `session`: Authorization: Bearer <sessionToken>; `session-or-ticket`: the header or `?ticket=`.
   */
  auth: 'public' | 'none' | 'session' | 'session-or-ticket';
  /** The token of an ended chat is accepted (DELETE /guest-session is idempotent). */
  allowEnded?: boolean;
  body?: z.ZodType<Body>;
  /** A multipart/form-data upload, read by the handler itself (streamed, never parsed as JSON): the file field and what it is. */
  upload?: { field: string; description: string };
  query?: z.ZodType<Query>;
  /** Request headers the handler reads; `pattern` when it refuses (400) a value that does not match. */
  headers?: { name: string; description: string; pattern?: string }[];
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  errors: ErrorCode[];
  /** Runs before validation (rate limits that do not need the session); /openapi.json then lists 429. */
  before?: RequestHandler[];
  /** Runs after authentication (per-session rate limits); /openapi.json then lists 429. */
  after?: RequestHandler[];
  handle(req: Request, res: Response, input: { body: Body; query: Query }): Promise<void> | void;
}

export type AnyRouteSpec = RouteSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function mountRoutes(specs: AnyRouteSpec[], authenticate: (spec: AnyRouteSpec) => RequestHandler): Router {
  const router = Router();
  for (const spec of specs) {
    const validate: RequestHandler = (req, res, next) => {
      const body = spec.body ? spec.body.parse(req.body ?? {}) : undefined;
      const query = spec.query ? spec.query.parse(req.query) : undefined;
      Promise.resolve(spec.handle(req, res, { body, query })).catch(next);
    };
    router[spec.method](spec.path, ...(spec.before ?? []), authenticate(spec), ...(spec.after ?? []), validate);
  }
  return router;
}

/**
 * A path the API serves, asked with a method it does not serve there: 405
 * with `Allow`, before any body is read, rather than a 404 saying the path
 * does not exist. Mounted ahead of the routes, it passes every method they take.
 */
export function refuseOtherMethods(specs: AnyRouteSpec[]): Router {
  const methodsByPath = new Map<string, Set<string>>();
  for (const spec of specs) {
    const methods = methodsByPath.get(spec.path) ?? new Set<string>();
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
    methodsByPath.set(spec.path, methods);
  }
  const router = Router();
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, 'OPTIONS'].join(', ');
    router.all(path, (req, res, next) => {
      if (methods.has(req.method) || req.method === 'OPTIONS') return next();
      res.setHeader('Allow', allow);
      next(new AppError('method_not_allowed', `${req.method} is not served on ${req.path}: use ${allow}.`));
    });
  }
  return router;
}
