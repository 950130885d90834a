import { AppError } from '../../src/domain/errors';
import { serializeError } from '../../src/observability/scrub';

/** AppError (src/domain/errors.ts): what the operator's log shows of it (the error handler logs the cause in its place). */

test('keeps the failure it stands for as its cause, which the log shows', () => {
  const failure = new Error('ECONNRESET reading the shared store');
  const error = new AppError('internal_error', 'Something went wrong on our side; please retry.', { cause: failure });
  expect(error.cause).toBe(failure);
  expect(serializeError(error)?.cause).toMatchObject({ type: 'Error', message: 'ECONNRESET reading the shared store' });
});

test('is logged as an AppError with its detail', () => {
  expect(serializeError(new AppError('rate_limited', 'Too many requests.'))).toMatchObject({
    type: 'AppError',
    message: 'Too many requests.',
  });
});
