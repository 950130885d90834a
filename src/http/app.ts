import express, { type Express, type RequestHandler, type Router } from 'express';
import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stdSerializers } from 'pino';
import { pinoHttp } from 'pino-http';
import type { ProcessConfig } from '../config/schema';
import type { OriginAllowlist } from '../config/originAllowlist';
import type { AppError } from '../domain/errors';
import { inDeployment } from '../observability/deploymentContext';
import { EXACT_REDACT_PATHS, REDACT_CENSOR, traceFields, type Logger } from '../observability/logger';
import type { RequestTrace } from '../observability/tracing';
import { loggableUrlOf } from '../observability/scrub';
import type { Readiness } from '../observability/readiness';
import {
  corsHeaders,
  refuseForeignOrigins,
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
import { mountRoutes, type AnyRouteSpec } from './spec';
import { chatRoutes, processRoutes, type ChatRouteDeps } from './routes';

/** A deployment as the edge serves it: its name, the origins it allows, and its routes (a router of its own). */
export interface EdgeDeployment {
  name: string;
  origins: OriginAllowlist;
  routes: RequestHandler;
  /** What its routes are, for the published document. */
  specs: AnyRouteSpec[];
}

/**
 * Which deployment a request is for, chosen before the app runs (the deployments unit decides it). A `refusal` is
 * answered like any error, with the headers every answer gets; neither: the request is for no deployment, which
 * only the process's own routes (health, documents, problem pages) serve.
 */
export interface DeploymentChoice {
  deployment?: EdgeDeployment;
  refusal?: AppError;
  /** The request headers that chose (or could have chosen) the deployment: every answer varies on them. */
  vary: readonly string[];
}

interface AppParts {
  process: Pick<ProcessConfig, 'trustProxy' | 'limits' | 'cors'>;
  logger: Logger;
  readiness: Readiness;
  /** The routes of the API, as one deployment mounts them, for the published document (none: only the process's). */
  deploymentSpecs?: () => AnyRouteSpec[];
  /** Extra routers mounted after the API (tests). */
  routers?: Router[];
}

/** Query parameters whose values are safe to log; every other value is redacted, however its name is spelled. */
const LOGGABLE_PARAMETERS: ReadonlySet<string> = new Set(['page', 'pageSize']);

function loggableUrl(url: string): string {
  return loggableUrlOf(url, LOGGABLE_PARAMETERS)!;
}

const CHOICE = Symbol('the deployment this request is for');
type Chosen = { [CHOICE]?: DeploymentChoice };

/** The request listener: chooses the request's deployment, then runs `app` as that deployment's work. */
export function servingDeployments(
  app: Express,
  choose: (req: IncomingMessage) => DeploymentChoice,
): ((req: IncomingMessage, res: ServerResponse) => void) & { handler: Express } {
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const choice = choose(req);
    (res as Chosen)[CHOICE] = choice;
    if (choice.deployment === undefined) return app(req, res);
    return inDeployment(choice.deployment.name, () => app(req, res));
  };
  return Object.assign(serve, { handler: app });
}

const choiceOf = (res: ServerResponse): DeploymentChoice => (res as Chosen)[CHOICE] ?? { vary: [] };

/**
 * The one app of the process (docs/architecture.md#a-request-end-to-end): what every request passes through, the
 * process's own routes, then the routes of the deployment the request is for, chosen before it runs
 * (servingDeployments).
 */
export function createApp({ process, logger, readiness, deploymentSpecs, routers = [] }: AppParts): Express {
  const specs = processRoutes(readiness, () => deploymentSpecs?.() ?? [], API_VERSION);
  const readJsonBody = jsonBodyReader(process.limits.bodyBytes);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', process.trustProxy);
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
  app.use(refuseForeignOrigins((res) => choiceOf(res).deployment?.origins));
  app.use(deferred(replayedPerOrigin(corsHeaders(process.cors.maxAgeSeconds))));
  // After CORS's own `Vary: Origin`: what else could have chosen the deployment.
  app.use(
    deferred((_req, res, next) => {
      for (const header of choiceOf(res).vary) res.vary(header);
      next();
    }),
  );
  // The process's own routes need no deployment; every other needs the one the request is for.
  app.use(mountRoutes(specs, { authenticate: () => passThrough, readJsonBody }));
  app.use((req, res, next) => {
    const { deployment, refusal } = choiceOf(res);
    if (deployment) return deployment.routes(req, res, next);
    next(refusal);
  });
  // A request no route took has its body judged as a route's would be before its 404, and the
  // extra routers get it read.
  app.use(readJsonBody);
  for (const router of routers) app.use(router);
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/** The routes of one deployment: the chat API on its parts, with the process's body limit. */
export function deploymentRoutes(
  chat: ChatRouteDeps,
  bodyLimitBytes: number,
): Pick<EdgeDeployment, 'routes' | 'specs'> {
  const specs = chatRoutes(chat);
  const routes = mountRoutes(specs, {
    authenticate: authenticator(chat.tokens, chat.revocations),
    readJsonBody: jsonBodyReader(bodyLimitBytes),
  });
  return { routes, specs };
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

const passThrough: express.RequestHandler = (_req, _res, next) => next();
