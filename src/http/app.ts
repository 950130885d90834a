import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import type { IncomingMessage } from 'node:http';
import { stdSerializers } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config/schema';
import { EXACT_REDACT_PATHS, REDACT_CENSOR, traceFields, type Logger } from '../observability/logger';
import type { RequestTrace } from '../observability/tracing';
import { loggableUrlOf } from '../observability/scrub';
import type { Readiness } from '../observability/readiness';
import {
  corsPolicy,
  deferred,
  runPendingHeadersBeforeWriting,
  replayedHeaders,
  replayedPerOrigin,
  errorHandler,
  notFound,
  requestId,
  observeRequests,
  authenticator,
  jsonBodyReader,
} from './middleware';
import { OriginAllowlist } from '../config/originAllowlist';
import { mountRoutes } from './spec';
import { apiRoutes, type ChatRouteDeps } from './routes';

interface AppParts {
  config: Config;
  logger: Logger;
  readiness: Readiness;
  /** The chat API (sessions, attributes, messages); without it only health and the document are served. */
  chat?: ChatRouteDeps;
  /** Extra routers mounted after the chat API (tests). */
  routers?: Router[];
}

/** Query parameters whose values are safe to log; every other value is redacted, however its name is spelled. */
const LOGGABLE_PARAMETERS: ReadonlySet<string> = new Set(['page', 'pageSize']);

function loggableUrl(url: string): string {
  return loggableUrlOf(url, LOGGABLE_PARAMETERS)!;
}

export function createApp({ config, logger, readiness, chat, routers = [] }: AppParts): Express {
  const specs = apiRoutes({ readiness, chat }, API_VERSION);
  const authenticate = chat ? authenticator(chat.tokens, chat.revocations) : () => passThrough;
  const readJsonBody = jsonBodyReader(config.limits.bodyBytes);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  // API answers change with every call (a fresh sessionToken): hashing each body for an ETag is wasted work.
  app.set('etag', false);

  app.use(requestId);
  app.use(observeRequests);
  app.use(accessLog(logger));
  // Security and CORS headers go on every answer, set while the request waits on Genesys or as its
  // headers are written (deferredHeaders.ts); a foreign origin is refused before any work, and its
  // refusal never gets CORS headers.
  runPendingHeadersBeforeWriting(app);
  app.use(deferred(replayedHeaders(securityHeaders())));
  const cors = corsPolicyOf(config);
  app.use(cors.refuseForeignOrigins, deferred(replayedPerOrigin(cors.headers)));
  // A request no site of several could be chosen for (src/sites.ts) is refused here, with the headers any gets.
  app.use((_req, res, next) => next(res.locals.refusal as Error | undefined));
  // Each route reads its own body, as its spec says (routeSpec.ts).
  app.use(mountRoutes(specs, { authenticate, readJsonBody }));
  // A request no route took has its body judged as a route's would be before its 404, and the
  // extra routers get it read.
  app.use(readJsonBody);
  for (const router of routers) app.use(router);
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/** The request as its access line shows it: whitelisted fields, the URL's query values redacted. */
const accessRequest = (req: IncomingMessage & { originalUrl?: string }) => ({
  method: req.method,
  url: loggableUrl(req.originalUrl ?? req.url ?? ''),
  origin: req.headers.origin,
  userAgent: req.headers['user-agent'],
  remoteAddress: req.socket?.remoteAddress,
});

/**
 * The request's trace ids on its access line, bound from the request like its id (not from the context, for the same
 * reason).
 */
function accessTrace(res: object) {
  const trace = (res as { locals?: { trace?: RequestTrace } }).locals?.trace;
  return trace ? traceFields(trace.ids) : undefined;
}

/** One line per request as its answer ends (pino-http). */
function accessLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req) => req.id as string,
    // The access line's fields are whitelisted by the serializers below, so the per-line walk of
    // the wildcard redaction paths (three quarters of a line's cost) finds nothing there. This
    // replaces the logger's paths for pino-http's own loggers (req.log, res.log): the service logs
    // through `logger` only, which the lint config enforces.
    redact: { paths: EXACT_REDACT_PATHS, censor: REDACT_CENSOR },
    // pino-http binds the request to a child logger as the request starts, which serializes it then,
    // on the request's critical path; under this key it binds nothing (its serializer drops it), and
    // the line gets `req` as it is written, once the answer is out. The request id is bound here
    // too rather than taken from the request context: a stream's answer ends from another
    // request's work, and an aborted request from no request's at all.
    customAttributeKeys: { req: 'unboundRequest' },
    customSuccessObject: (req, res, value: object) => ({
      ...value,
      req: accessRequest(req),
      requestId: req.id,
      ...accessTrace(res),
    }),
    customErrorObject: (req, res, _err, value: object) => ({
      ...value,
      req: accessRequest(req),
      requestId: req.id,
      ...accessTrace(res),
    }),
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    // The serializers take the response and error as they are: pino-http's standard wrappers would
    // first copy each into a fuller object that these whitelists then throw away.
    wrapSerializers: false,
    serializers: {
      unboundRequest: () => undefined,
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      // The failure itself is logged (redacted) by the error handler; the access line names it.
      err: (err: Error) => {
        const { type, message } = stdSerializers.err(err);
        return { type, message };
      },
    },
  });
}

const API_VERSION = '1.0.0';

/** The security headers on every answer (helmet); `/healthz` and `/readyz` replay the same ones (healthFirst.ts). */
export function securityHeaders(): express.RequestHandler {
  return helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } });
}

/** The CORS policy of this configuration (cors.ts). */
export function corsPolicyOf(config: Config): ReturnType<typeof corsPolicy> {
  return corsPolicy(OriginAllowlist.parse(config.cors.allowedOrigins), config.cors.maxAgeSeconds);
}

const passThrough: express.RequestHandler = (_req, _res, next) => next();
