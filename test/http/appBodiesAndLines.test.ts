import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import request from 'supertest';
import { AppError } from '../../src/domain/errors';
import { testApp } from '../support/app';

/**
 * Rules of the edge (src/http/app.ts) each on an app built inside its test: a chunked body must be
 * JSON like any other, a reserved key is refused by name, and the level of each access line (an
 * operator's alert on errors counts them).
 */

function withRoutes() {
  const router = Router();
  router.post('/echo', (req, res) => void res.json({ got: req.body as unknown }));
  router.get('/status/:code', (req, _res, next) =>
    next(
      new AppError(Number(req.params.code) >= 500 ? 'internal_error' : 'not_found', 'As asked.', {
        status: Number(req.params.code),
      }),
    ),
  );
  return testApp({ routers: [router] });
}

/** POSTs `body` in chunks (Transfer-Encoding: chunked, no Content-Length) with `type`. */
async function postChunked(
  app: http.RequestListener,
  type: string,
  body: string,
): Promise<{ status: number; body: { code?: string } }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          method: 'POST',
          path: '/echo',
          headers: { 'Content-Type': type, 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { code?: string } }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 3));
      req.end(body.slice(3));
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('a chunked body, which has no Content-Length', () => {
  it('is refused with 415 when it is not JSON, before it is parsed', async () => {
    const { app } = withRoutes();
    expect(await postChunked(app, 'text/plain', '{"a":"1"}')).toEqual({
      status: 415,
      body: expect.objectContaining({ code: 'unsupported_media_type' }),
    });
  });

  it('is read when it is JSON', async () => {
    const { app } = withRoutes();
    expect(await postChunked(app, 'application/json', '{"a":"1"}')).toEqual({ status: 200, body: { got: { a: '1' } } });
  });
});

it('refuses a reserved key by its name, however deep', async () => {
  const { app } = withRoutes();
  const res = await request(app)
    .post('/echo')
    .set('Content-Type', 'application/json')
    .send('{"a":{"b":[{"constructor":{}}]}}');
  expect({ status: res.status, code: res.body.code, detail: res.body.detail }).toEqual({
    status: 400,
    code: 'validation_failed',
    detail: '"constructor" is not allowed as a key in a request body.',
  });
});

it.each([
  [404, 30],
  [499, 30],
  [500, 50],
  [503, 50],
])('writes the access line of a %i answer at level %i', async (status, level) => {
  const { app, log } = withRoutes();
  expect((await request(app).get(`/status/${status}`)).status).toBe(status);
  const access = log.lines().filter((l) => l.msg === 'request completed' || l.msg === 'request errored');
  expect(access.map((l) => l.level)).toEqual([level]);
});
