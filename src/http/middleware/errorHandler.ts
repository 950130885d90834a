import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from '../../observability/logger';
import { scrubDetail, scrubText } from '../../observability/scrub';
import { AppError, DEFAULT_RETRY_AFTER_SECONDS, mustAdviseRetry } from '../../domain/errors';
import { toProblem } from '../problem';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** Turns anything thrown into an AppError. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) {
    return new AppError('validation_failed', describeZodError(error), {
      extensions: { errors: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  const e = error as BodyParserError;
  switch (e?.type) {
    case 'entity.too.large':
      return new AppError('payload_too_large', `The request body is larger than ${e.limit ?? 'the limit of'} bytes.`);
    case 'entity.parse.failed':
      return new AppError('validation_failed', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'The request body must be UTF-8 JSON.');
    case 'request.aborted':
      return new AppError('validation_failed', 'The request was aborted by the client.');
    default:
      if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
        return new AppError('validation_failed', 'The request could not be read.', { status: e.status });
      }
      return new AppError('internal_error', 'Something went wrong on our side; please retry.', { cause: error });
  }
}

function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `There is no ${req.method} ${req.path} on this service.`));
};

/** The central handler: logs each failure once, then answers problem+json. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    const log = {
      code: appError.code,
      status: appError.status,
      ...(appError.logDetail ? scrubDetail(appError.logDetail) : {}),
    };
    if (appError.status >= 500) {
      logger.error({ ...log, err: appError.cause ?? appError }, scrubText(appError.message));
    } else {
      logger.info(log, scrubText(appError.message));
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // AppError gives every 503 and 504 a wait; an error that lost it on the way still gets one here.
    const retryAfter =
      appError.retryAfterSeconds ?? (mustAdviseRetry(appError.status) ? DEFAULT_RETRY_AFTER_SECONDS : undefined);
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    res
      .status(appError.status)
      .type('application/problem+json')
      .send(JSON.stringify(toProblem(appError, req.id as string | undefined)));
  };
}
