import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { AppError, DEFAULT_RETRY_AFTER_SECONDS, ERROR_CODES, type ErrorCode } from '../../../src/domain/errors';
import { GuestApiError } from '../../../src/genesys/guest';
import { errorHandler } from '../../../src/http/middleware/errorHandler';
import { captureLogger } from '../../support/app';
import { startStack } from '../../support/stack';

/**
 * Every 503 and 504 the service sends tells the client when to come back (`Retry-After`), whoever threw it and
 * whether or not they named a wait: AppError gives each such error a wait (src/domain/errors.ts), the error
 * handler answers with it, and /readyz says it too when it is not ready.
 */

async function answered(error: unknown) {
  const app = express();
  app.get('/fail', (_req: Request, _res: Response, next: NextFunction) => next(error));
  app.use(errorHandler(captureLogger().logger));
  const res = await request(app).get('/fail');
  return { status: res.status, retryAfter: res.headers['retry-after'] as string | undefined };
}

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const unavailable = codes.filter((code) => [503, 504].includes(ERROR_CODES[code].status));

describe('every code whose status is 503 or 504', () => {
  test('there are some (the walk below is not empty)', () => {
    expect(unavailable).toEqual(expect.arrayContaining(['upstream_unavailable', 'store_unavailable', 'not_ready']));
  });

  test.each(unavailable)('%s thrown with no wait answers with the default Retry-After', async (code) => {
    expect(await answered(new AppError(code, 'away'))).toEqual({
      status: ERROR_CODES[code].status,
      retryAfter: String(DEFAULT_RETRY_AFTER_SECONDS),
    });
  });

  test.each(unavailable)('%s thrown with its own wait keeps it', async (code) => {
    expect((await answered(new AppError(code, 'away', { retryAfterSeconds: 7 }))).retryAfter).toBe('7');
  });
});

describe('every code given 503 or 504 in place of its own status', () => {
  test.each(codes.flatMap((code) => [503, 504].map((status) => [code, status] as const)))(
    '%s as %i answers with Retry-After',
    async (code, status) => {
      expect(await answered(new AppError(code, 'away', { status }))).toEqual({
        status,
        retryAfter: String(DEFAULT_RETRY_AFTER_SECONDS),
      });
    },
  );

  test('other statuses carry none unless the error names one', async () => {
    expect((await answered(new AppError('upstream_unavailable', 'refused', { status: 502 }))).retryAfter).toBe(
      undefined,
    );
    expect((await answered(new AppError('internal_error', 'bug'))).retryAfter).toBe(undefined);
  });
});

describe('every Guest API failure answered 503 or 504', () => {
  test.each(['unavailable', 'connection_lost', 'timeout', 'store_unavailable', 'circuit_open'] as const)(
    '%s',
    async (failure) => {
      const got = await answered(new GuestApiError(failure, 'Genesys is away.'));
      expect([503, 504]).toContain(got.status);
      expect(Number(got.retryAfter)).toBeGreaterThanOrEqual(1);
    },
  );
});

describe('/readyz when not ready', () => {
  test('answers 503 with Retry-After, on the fast path and through the app', async () => {
    const stack = await startStack();
    try {
      stack.service.readiness.startDraining();
      const [fast, slow] = await Promise.all([stack.http.get('/readyz'), stack.http.get('/readyz?via=app')]);
      expect([fast.status, fast.headers['retry-after']]).toEqual([503, String(DEFAULT_RETRY_AFTER_SECONDS)]);
      expect([slow.status, slow.headers['retry-after']]).toEqual([503, String(DEFAULT_RETRY_AFTER_SECONDS)]);
    } finally {
      await stack.close();
    }
  });
});
