import pino, { type Logger } from 'pino';
import { deploymentOfWork } from './deploymentContext';
import { currentContext } from './requestContext';
import { serializeError } from './scrub';
import type { TraceIds } from './tracing';

export type { Logger };

/**
 * Paths that may hold a secret, a Genesys token or a session token. pino
 * replaces their values before a line is written.
 */
export const EXACT_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  'headers.cookie',
  'clientSecret',
  'client_secret',
  'access_token',
  'accessToken',
  'sessionToken',
  'identityToken',
  'ticket',
  'jwt',
  'token',
];

/** The same keys one level down, under any key. Each wildcard costs about 1 µs per line. */
const WILDCARD_REDACT_PATHS = [
  '*.authorization',
  '*.Authorization',
  '*.clientSecret',
  '*.access_token',
  '*.accessToken',
  '*.sessionToken',
  '*.identityToken',
  '*.ticket',
  '*.jwt',
  '*.token',
];

const REDACT_PATHS = [...EXACT_REDACT_PATHS, ...WILDCARD_REDACT_PATHS];
export const REDACT_CENSOR = '[redacted]';

interface LoggerOptions {
  level: string;
  /** Where lines go (default stdout, in batches); tests pass a stream to capture them. */
  destination?: pino.DestinationStream;
}

/**
 * Lines reach stdout in batches: written once 4 KiB have gathered or every
 * 250 ms, whichever comes first, and at exit. Written one by one, every
 * request's access line cost a round trip through libuv's thread pool (a
 * thread woken to write, the event loop woken for its completion), which at
 * the rates chats run was more than a tenth of the service's CPU per request
 * (bench/README.md). Writes stay asynchronous: a slow reader of stdout holds
 * up the log, never the requests.
 */
const BATCH_BYTES = 4096;
const BATCH_MS = 250;

/** A trace as log fields, named as OpenTelemetry's log data model names them. */
export function traceFields(trace: TraceIds): { trace_id: string; span_id: string } {
  return { trace_id: trace.traceId, span_id: trace.spanId };
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
      // An error is logged as a whitelist of fields (scrub.ts), never with its request config or headers.
      serializers: { err: serializeError, error: serializeError },
      // A line names the deployment its work is for (none for the process's own), a request's its request and trace.
      mixin() {
        const deployment = deploymentOfWork();
        const ctx = currentContext();
        const fields = deployment === undefined ? {} : { deployment };
        if (!ctx) return fields;
        return ctx.trace
          ? { ...fields, requestId: ctx.requestId, ...traceFields(ctx.trace) }
          : { ...fields, requestId: ctx.requestId };
      },
    },
    options.destination ?? pino.destination({ dest: 1, minLength: BATCH_BYTES, periodicFlush: BATCH_MS }),
  );
}
