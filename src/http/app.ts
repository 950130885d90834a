import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config/schema';
import type { Logger } from '../observability/logger';
import type { Readiness } from '../observability/readiness';
import { corsPolicy } from './cors';
import { errorHandler, notFound } from './errorHandler';
import { OriginAllowlist } from './originAllowlist';
import { requestId } from './requestId';
import { healthRoutes } from './routes/health';
import { AppError } from './problem';

export interface AppParts {
  config: Config;
  logger: Logger;
  readiness: Readiness;
  /** The public API routers (sessions, attributes, messages), mounted after the edge. */
  routers?: Router[];
}

/** Never log a stream ticket or other secrets that may sit in a query string. */
export function loggableUrl(url: string): string {
  return url.replace(/([?&](?:ticket|token|access_token)=)[^&]*/gi, '$1[redacted]');
}

export function createApp({ config, logger, readiness, routers = [] }: AppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');

  app.use(requestId);
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => req.id as string,
      quietReqLogger: true,
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
      serializers: {
        req: (req: { method: string; url: string; headers: Record<string, string | undefined>; remoteAddress?: string }) => ({
          method: req.method,
          url: loggableUrl(req.url),
          origin: req.headers.origin,
          userAgent: req.headers['user-agent'],
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(corsPolicy(OriginAllowlist.parse(config.cors.allowedOrigins), config.cors.maxAgeSeconds));
  app.use(healthRoutes(readiness));
  app.use(requireJsonBody);
  app.use(express.json({ limit: config.limits.bodyBytes, strict: true, type: () => true }));
  for (const router of routers) app.use(router);
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

/** A body, when there is one, must be JSON; anything else is a 415 before parsing. */
const requireJsonBody: express.RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    next(new AppError('unsupported_media_type', 'Send the request body as application/json.'));
    return;
  }
  next();
};
