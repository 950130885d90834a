import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { z } from 'zod';
import { AppError } from '../../../src/domain/errors';
import { errorHandler } from '../../../src/http/middleware/errorHandler';
import { captureLogger } from '../../support/app';

/**
 * What src/http/middleware/errorHandler.ts makes of each thing a route or a body parser may throw: the problem
 * it answers (code, status, detail in its words), its Retry-After, the level it is logged at, and a
 * failure after the answer started (the connection cut, nothing appended). edge.test.ts shows the
 * common ones through the whole app.
 */

function appThrowing(error: unknown) {
  const log = captureLogger();
  const app = express();
  app.get('/fail', (_req: Request, _res: Response, next: NextFunction) => next(error));
  app.get('/fail-late', (_req: Request, res: Response, next: NextFunction) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('partial');
    next(error);
  });
  app.use(errorHandler(log.logger));
  // Whatever the handler throws reaches Express's own handler, which would cut an answer begun as well: this sees it.
  const escaped: unknown[] = [];
  app.use((escapee: unknown, _req: Request, res: Response, _next: NextFunction) => {
    escaped.push(escapee);
    res.destroy();
  });
  return { app, log, escaped };
}

async function answer(error: unknown) {
  const { app, log } = appThrowing(error);
  const res = await request(app).get('/fail');
  return {
    status: res.status,
    type: res.headers['content-type'],
    retryAfter: res.headers['retry-after'],
    body: res.body as { code: string; status: number; detail: string; errors?: unknown },
    log,
  };
}

const parserError = (type: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(type), { type, ...extra });

describe('what a body parser refused', () => {
  // Each row is named by its type in words: a title made from the Error itself would carry its stack,
  // which names the folder the suite runs from, and a mutation run could not find the test by name.
  it.each([
    [
      'entity.too.large with its limit',
      413,
      'payload_too_large',
      'The request body is larger than 100 bytes.',
      parserError('entity.too.large', { limit: 100, status: 413 }),
    ],
    [
      'entity.too.large without one',
      413,
      'payload_too_large',
      'The request body is larger than the limit of bytes.',
      parserError('entity.too.large', { status: 413 }),
    ],
    [
      'entity.parse.failed',
      400,
      'validation_failed',
      'The request body is not valid JSON.',
      parserError('entity.parse.failed', { status: 400 }),
    ],
    [
      'encoding.unsupported',
      415,
      'unsupported_media_type',
      'The request body must be UTF-8 JSON.',
      parserError('encoding.unsupported', { status: 415 }),
    ],
    [
      'charset.unsupported',
      415,
      'unsupported_media_type',
      'The request body must be UTF-8 JSON.',
      parserError('charset.unsupported', { status: 415 }),
    ],
    [
      'request.aborted',
      400,
      'validation_failed',
      'The request was aborted by the client.',
      parserError('request.aborted', { status: 400 }),
    ],
  ])('%s: %i %s, in words', async (_type, status, code, detail, error) => {
    const got = await answer(error);
    expect({ status: got.status, type: got.type, code: got.body.code, detail: got.body.detail }).toEqual({
      status,
      type: 'application/problem+json; charset=utf-8',
      code,
      detail,
    });
  });

  it.each([400, 404, 431, 499])(
    'an unknown client error with status %i keeps its status, as a request that could not be read',
    async (status) => {
      const got = await answer(parserError('stream.not.readable', { status }));
      expect({ status: got.status, code: got.body.code, detail: got.body.detail }).toEqual({
        status,
        code: 'validation_failed',
        detail: 'The request could not be read.',
      });
    },
  );

  it.each([
    ['a status of 399', parserError('odd', { status: 399 })],
    ['a status of 500', parserError('odd', { status: 500 })],
    ['a status that is a string', parserError('odd', { status: '404' })],
    ['a plain error', new Error('boom')],
    ['a string', 'just words'],
  ])('%s is our fault: 500, logged as an error, its cause kept out of the answer', async (_what, error) => {
    const got = await answer(error);
    expect({ status: got.status, type: got.type, code: got.body.code, detail: got.body.detail }).toEqual({
      status: 500,
      type: 'application/problem+json; charset=utf-8',
      code: 'internal_error',
      detail: 'Something went wrong on our side; please retry.',
    });
    expect(got.log.lines().map((l) => l.level)).toEqual([50]);
  });

  it('logs the error that was thrown, not the answer made of it', async () => {
    const got = await answer(new TypeError('undefined is not a function'));
    const [line] = got.log.lines() as Array<{ err?: { type: string; message: string } }>;
    expect(line?.err).toMatchObject({ type: 'TypeError', message: 'undefined is not a function' });
  });

  it('logs an error of ours without a cause as itself', async () => {
    const got = await answer(new AppError('internal_error', 'The store said no.'));
    const [line] = got.log.lines() as Array<{ err?: { type: string; message: string }; msg: string }>;
    expect(line).toMatchObject({ msg: 'The store said no.', err: { type: 'AppError', message: 'The store said no.' } });
  });
});

describe('an invalid body', () => {
  it('names each of the first five problems, by path, joined', async () => {
    const schema = z.object({
      a: z.string(),
      b: z.object({ c: z.number() }),
      d: z.string(),
      e: z.string(),
      f: z.string(),
      g: z.string(),
    });
    const parsed = schema.safeParse({ b: {} });
    const got = await answer(parsed.error);
    expect(got.status).toBe(400);
    expect(got.body.code).toBe('validation_failed');
    const parts = got.body.detail.split('; ');
    expect(parts).toHaveLength(5);
    expect(parts.map((p) => p.split(':')[0])).toEqual(['a', 'b.c', 'd', 'e', 'f']);
    expect(got.body.errors).toHaveLength(6);
  });

  it('lists every problem for the client as its dotted path and its message', async () => {
    const schema = z.object({ name: z.string(), address: z.object({ lines: z.array(z.string()) }) });
    const parsed = schema.safeParse({ address: { lines: ['1 High St', 2] } });
    const got = await answer(parsed.error);
    const messages = parsed.error!.issues.map((i) => i.message);
    expect(got.body.errors).toEqual([
      { path: 'name', message: messages[0] },
      { path: 'address.lines.1', message: messages[1] },
    ]);
  });

  it('names a problem of the whole body by its message alone', async () => {
    const parsed = z.string().safeParse(1);
    const got = await answer(parsed.error);
    expect(got.body.detail).toBe(parsed.error!.issues[0]!.message);
  });
});

describe('an expected refusal', () => {
  it.each([
    [0.2, '1'],
    [2.1, '3'],
    [0, '1'],
  ])('with retryAfterSeconds %d says Retry-After: %s, and is logged at info', async (seconds, header) => {
    const got = await answer(new AppError('rate_limited', 'Slow down.', { retryAfterSeconds: seconds }));
    expect({ status: got.status, retryAfter: got.retryAfter }).toEqual({ status: 429, retryAfter: header });
    expect(got.log.lines().map((l) => [l.level, l.msg])).toEqual([[30, 'Slow down.']]);
  });

  it('has no Retry-After when it names no wait', async () => {
    expect((await answer(new AppError('not_found', 'No such thing.'))).retryAfter).toBeUndefined();
  });
});

it('cuts the connection of an answer already started, appending nothing', async () => {
  const { app, escaped } = appThrowing(new Error('too late'));
  const failed = await request(app)
    .get('/fail-late')
    .then(
      (res) => ({ cut: false, text: res.text }),
      (error: NodeJS.ErrnoException) => ({ cut: true, text: error.code }),
    );
  expect(failed.cut).toBe(true);
  expect(escaped).toEqual([]);
});

it.each([
  ['null', null],
  ['undefined', undefined],
])('answers %s handed to it as our fault', async (_what, error) => {
  // Express hands on no such error (it reads next(null) as no error), but a caller may.
  const log = captureLogger();
  const handle = errorHandler(log.logger);
  const app = express();
  app.get('/fail', (req: Request, res: Response, next: NextFunction) => handle(error, req, res, next));
  const res = await request(app).get('/fail');
  expect({ status: res.status, code: (res.body as { code: string }).code }).toEqual({
    status: 500,
    code: 'internal_error',
  });
});
