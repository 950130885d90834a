import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { AppError, type ErrorCode } from '../../domain/errors';

/**
 * How a route reads its request body, before its limits see it (they may read it):
 * - `json`: a body, when one is sent, must be JSON (415 otherwise), within the body limit (413),
 *   with no key that reaches a prototype (400); `schema` then validates it for the handler, and
 *   `optional` says the document lets a request leave it out.
 * - `multipart`: multipart/form-data, left unread for the handler, which streams it; `field`
 *   names the file part and `description` says what it is.
 * - `none`: never read.
 */
export type RouteBody<Body = unknown> =
  | { kind: 'json'; schema?: z.ZodType<Body>; optional?: boolean }
  | { kind: 'multipart'; field: string; description: string }
  | { kind: 'none' };

/**
 * A route of the public API, described once: express mounts it from this (its body reader,
 * limits, authentication, validation and handler, in that order), and /openapi.json is generated
 * from it (openapi.ts), with the errors its options imply (answerableCodes).
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
  /**
   * A token a sign-in has replaced is let through, with what that sign-in recorded (`Guest.earlierSignIn`), for the
   * route to judge: the same sign-in again is answered with its token (POST /guest-session/sign-in).
   */
  retriesSignIn?: boolean;
  /** Absent: `none` on a public route; on any other, `json` without a schema (a body sent to it is still judged). */
  body?: RouteBody<Body>;
  query?: z.ZodType<Query>;
  /** Request headers the handler reads; `pattern` when it refuses (400) a value that does not match. */
  headers?: { name: string; description: string; pattern?: string }[];
  /**
   * Each status's answer: a JSON `schema`, or a body of each of `contentType` (a document the route writes itself,
   * one of several the client may ask for); `headers`, each response header it sets with what it says.
   */
  responses: Record<
    number,
    { description: string; schema?: z.ZodType; contentType?: string | string[]; headers?: Record<string, string> }
  >;
  /** The refusals of the route's own work; those its auth, body and limits imply are added (answerableCodes). */
  errors?: ErrorCode[];
  /** Rate limits: per client address before authentication, per session after it; either implies a 429. */
  limits?: { perAddress?: RequestHandler[]; perSession?: RequestHandler[] };
  handle(req: Request, res: Response, input: { body: Body; query: Query }): Promise<void> | void;
}

export type AnyRouteSpec = RouteSpec<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A response with a JSON body of `schema`. */
export const jsonResponse = (description: string, schema: z.ZodType) => ({ description, schema });

/** The body kind of a route, its default filled in. */
export function bodyKindOf(spec: Pick<AnyRouteSpec, 'auth' | 'body'>): RouteBody['kind'] {
  return spec.body?.kind ?? (spec.auth === 'public' ? 'none' : 'json');
}

/** What mounting needs from the edge: the authentication of a spec's requests, and the JSON body reader. */
export interface MountParts {
  authenticate: (spec: AnyRouteSpec) => RequestHandler;
  readJsonBody: RequestHandler;
}

/**
 * Every route in one router, each path once: its methods' routes, then the 405 for the methods
 * it does not serve. Each route reads its body as its spec says, so one request passes through
 * its own route's middleware only.
 */
export function mountRoutes(specs: AnyRouteSpec[], { authenticate, readJsonBody }: MountParts): Router {
  const router = Router();
  for (const [path, onPath] of byPath(specs)) {
    const route = router.route(path);
    for (const spec of onPath) {
      const schema = spec.body?.kind === 'json' ? spec.body.schema : undefined;
      const validate: RequestHandler = (req, res, next) => {
        const body = schema ? schema.parse(req.body ?? {}) : undefined;
        const query = spec.query ? spec.query.parse(req.query) : undefined;
        Promise.resolve(spec.handle(req, res, { body, query })).catch(next);
      };
      route[spec.method](
        ...(bodyKindOf(spec) === 'json' ? [readJsonBody] : []),
        ...(spec.limits?.perAddress ?? []),
        ...(spec.auth === 'public' ? [] : [authenticate(spec)]),
        ...(spec.limits?.perSession ?? []),
        validate,
      );
    }
    route.all(refuseOtherMethods(onPath));
  }
  return router;
}

function byPath(specs: AnyRouteSpec[]): Map<string, AnyRouteSpec[]> {
  const paths = new Map<string, AnyRouteSpec[]>();
  for (const spec of specs) paths.set(spec.path, [...(paths.get(spec.path) ?? []), spec]);
  return paths;
}

/**
 * A path the API serves, asked with a method it does not serve there: 405 with `Allow`, before
 * any body is read, rather than a 404 saying the path does not exist. OPTIONS goes on.
 */
function refuseOtherMethods(onPath: AnyRouteSpec[]): RequestHandler {
  const methods = new Set<string>();
  for (const spec of onPath) {
    methods.add(spec.method.toUpperCase());
    if (spec.method === 'get') methods.add('HEAD');
  }
  const allow = [...methods, 'OPTIONS'].join(', ');
  return (req, res, next) => {
    if (methods.has(req.method) || req.method === 'OPTIONS') return next();
    res.setHeader('Allow', allow);
    next(new AppError('method_not_allowed', `${req.method} is not served on ${req.path}: use ${allow}.`));
  };
}
