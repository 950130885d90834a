import pino, { type Logger } from 'pino';
import { currentContext } from './requestContext';

export type { Logger };

/**
 * Paths that may hold a secret, a Genesys token or a session token. pino
 * replaces their values before a line is written.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  '*.authorization',
  '*.Authorization',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  'access_token',
  '*.access_token',
  'accessToken',
  '*.accessToken',
  'sessionToken',
  '*.sessionToken',
  'identityToken',
  '*.identityToken',
  'ticket',
  '*.ticket',
  'jwt',
  '*.jwt',
  'token',
  '*.token',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; tests pass a stream to capture them. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin() {
        const ctx = currentContext();
        return ctx ? { requestId: ctx.requestId } : {};
      },
    },
    options.destination,
  );
}
