import { once, EventEmitter } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Router } from 'express';
import request from 'supertest';
import { AppError } from '../../src/domain/errors';
import { ALLOWED_ORIGIN, testApp } from '../support/app';
import { waitFor } from '../support/wait';

/** The HTTP edge: problem+json errors, body parsing, request ids, security headers, log hygiene. */

const GIVEN_UP_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Emits `hang` when a request reaches the never-answering route. */
const arrivals = new EventEmitter();

/** Throwaway routes: an echo, and several ways for a handler to fail. */
function throwawayRouter(): Router {
  const router = Router();
  router.post('/echo', (req, res) => {
    res.json({ received: req.body as unknown });
  });
  router.put('/echo', (req, res) => {
    res.json({ received: req.body as unknown });
  });
  router.get('/boom/sync', () => {
    throw new Error('kaboom: sync failure at /srv/internal/path.ts');
  });
  router.get('/boom/async', async () => {
    await Promise.resolve();
    throw new TypeError("kaboom: cannot read properties of undefined (reading 'token')");
  });
  router.get('/boom/string', () => {
    throw 'kaboom: a bare string';
  });
  router.get('/boom/after-headers', (_req, res) => {
    res.write('partial');
    throw new Error('kaboom: after headers');
  });
  router.get('/expected', () => {
    throw new AppError('rate_limited', 'Slow down.', {
      retryAfterSeconds: 2.2,
      logDetail: { upstream: 'kaboom-detail' },
    });
  });
  // Never answers: the client gives up.
  router.get('/hang', () => void arrivals.emit('hang'));
  // A careless handler that logs every header through the request's logger.
  router.get('/logs-headers', (req, res) => {
    req.log.info({ headers: req.headers }, 'handler saw headers');
    res.status(204).end();
  });
  return router;
}

function edgeApp(env: Record<string, string> = {}) {
  return testApp({ env, routers: [throwawayRouter()] });
}

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
}

function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/kaboom/);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/\.ts\b|node_modules|\/srv\//);
}

describe('HTTP edge', () => {
  it('answers an unknown path with a problem+json 404, code not_found', async () => {
    const { app } = edgeApp();
    const res = await request(app).get('/no/such/thing');
    expectProblem(res, 404, 'not_found');
    expect(res.body.detail).toContain('GET /no/such/thing');
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('answers a served path asked with another method with 405 method_not_allowed and Allow, before reading the body', async () => {
    const { app } = edgeApp();
    const res = await request(app).post('/healthz').set('Content-Type', 'text/plain').send('not json');
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD, OPTIONS');
    const param = await request(app).delete('/problems/not_found');
    expectProblem(param, 405, 'method_not_allowed');
    // The methods a path serves pass, and a path the API does not serve is still a 404.
    expect((await request(app).head('/healthz')).status).toBe(200);
    expect((await request(app).get('/problems/not_found')).status).toBe(200);
    expectProblem(await request(app).post('/no/such/thing'), 404, 'not_found');
  });

  it('answers malformed JSON with 400 validation_failed', async () => {
    const { app } = edgeApp();
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('{"text": "hi"');
    expectProblem(res, 400, 'validation_failed');
    expectNoInternals(res.text);
  });

  it('parses a JSON body and a +json body', async () => {
    const { app } = edgeApp();
    const plain = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json; charset=utf-8')
      .send('{"text":"hi"}');
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ received: { text: 'hi' } });
    const merge = await request(app)
      .put('/echo')
      .set('Content-Type', 'application/merge-patch+json')
      .send('{"a":null}');
    expect(merge.status).toBe(200);
    expect(merge.body).toEqual({ received: { a: null } });
  });

  it('refuses a JSON scalar at the top level (strict parsing)', async () => {
    const { app } = edgeApp();
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send('"just a string"');
    expectProblem(res, 400, 'validation_failed');
  });

  it('answers a body over BODY_LIMIT_BYTES with 413', async () => {
    const { app } = edgeApp({ BODY_LIMIT_BYTES: '1024' });
    const big = JSON.stringify({ text: 'x'.repeat(2000) });
    const res = await request(app).post('/echo').set('Content-Type', 'application/json').send(big);
    expectProblem(res, 413, 'payload_too_large');
    const small = await request(app)
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ text: 'x'.repeat(900) }));
    expect(small.status).toBe(200);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    'answers a %s body with 415 unsupported_media_type',
    async (type) => {
      const { app } = edgeApp();
      const res = await request(app).post('/echo').set('Content-Type', type).send('text=hi');
      expectProblem(res, 415, 'unsupported_media_type');
    },
  );

  it('answers a body without any content type with 415', async () => {
    const { app } = edgeApp();
    const res = await request(app).post('/echo').set('Content-Length', '4').send(Buffer.from('text'));
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('accepts a bodyless POST without a content type', async () => {
    const { app } = edgeApp();
    const res = await request(app).post('/echo');
    expect(res.status).toBe(200);
  });

  describe('X-Request-Id', () => {
    it.each(['abc-123', 'trace.id:1_2', 'A'.repeat(128)])('accepts the safe id %s and echoes it', async (id) => {
      const { app } = edgeApp();
      const res = await request(app).get('/no/such/thing').set('X-Request-Id', id);
      expect(res.headers['x-request-id']).toBe(id);
      expect(res.body.requestId).toBe(id);
    });

    it.each([
      ['too long', 'A'.repeat(129)],
      ['with spaces', 'a b'],
      ['with a script', '<script>alert(1)</script>'],
      ['with a log-forging quote', 'x","level":60'],
      ['empty', ''],
    ])('replaces an unsafe id (%s) with a generated one', async (_why, id) => {
      const { app } = edgeApp();
      const res = await request(app).get('/healthz').set('X-Request-Id', id);
      expect(res.headers['x-request-id']).toMatch(UUID);
      expect(res.headers['x-request-id']).not.toBe(id);
    });

    it('generates a fresh id for each request without one', async () => {
      const { app } = edgeApp();
      const a = await request(app).get('/healthz');
      const b = await request(app).get('/healthz');
      expect(a.headers['x-request-id']).toMatch(UUID);
      expect(b.headers['x-request-id']).toMatch(UUID);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it('tags the log lines of that request with the id', async () => {
      const { app, log } = edgeApp();
      await request(app).get('/no/such/thing').set('X-Request-Id', 'req-for-logs-1');
      const line = log.lines().find((l) => l.code === 'not_found');
      expect(line?.requestId).toBe('req-for-logs-1');
    });
  });

  it('sends the helmet security headers and no X-Powered-By', async () => {
    const { app } = edgeApp();
    const res = await request(app).get('/healthz');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('sends problem+json with Retry-After for an expected error, keeping log detail out of the response', async () => {
    const { app, log } = edgeApp();
    const res = await request(app).get('/expected');
    expectProblem(res, 429, 'rate_limited');
    expect(res.headers['retry-after']).toBe('3');
    expect(res.text).not.toContain('kaboom-detail');
    expect(log.text()).toContain('kaboom-detail');
  });

  describe('internal errors', () => {
    it.each(['/boom/sync', '/boom/async', '/boom/string'])(
      '%s answers 500 internal_error without a stack trace or message',
      async (path) => {
        const { app, log } = edgeApp();
        const res = await request(app).get(path);
        expectProblem(res, 500, 'internal_error');
        expectNoInternals(res.text);
        expectNoInternals(JSON.stringify(res.headers));
        // The operator's log has the cause, logged once by the central handler.
        const withCause = log.lines().filter((l) => JSON.stringify(l).includes('kaboom'));
        expect(withCause).toHaveLength(1);
        expect(withCause[0]!.level).toBe(50);
      },
    );

    it('cuts the connection when a handler fails after the response started, never appending a trace', async () => {
      const { app } = edgeApp();
      // Two pipelined requests on one connection, the second asking to close it: a response that was
      // finished properly would end its chunked body and let the second be answered; a cut connection does neither.
      const bytes = await onOneConnection(
        app,
        'GET /boom/after-headers HTTP/1.1\r\nHost: x\r\n\r\nGET /no/such/thing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      // Whatever of the started 200 got out before the cut (often nothing), it never ends and nothing follows it.
      expect(bytes.match(/HTTP\/1\.1 \d{3}/g) ?? []).not.toContain('HTTP/1.1 404');
      expect(bytes === '' || bytes.startsWith('HTTP/1.1 200 ')).toBe(true);
      expect(bytes).not.toMatch(/\r\n0\r\n\r\n/);
      expectNoInternals(bytes);
    });

    it('hides internals even in development mode', async () => {
      const { app } = edgeApp({ NODE_ENV: 'development' });
      const res = await request(app).get('/boom/sync');
      expectProblem(res, 500, 'internal_error');
      expectNoInternals(res.text);
    });
  });

  describe('log hygiene', () => {
    const bearer = 'Bearer sealed.session-token-SECRET-1234567890';
    const ticket = 'stream-ticket-SECRET-abcdef';

    it('never writes an Authorization value or a ?ticket= value, on success or failure', async () => {
      const { app, log } = edgeApp();
      await request(app).get(`/no/such/thing?ticket=${ticket}&page=2`).set('Authorization', bearer);
      await request(app).get(`/boom/sync?page=1&Ticket=${ticket}`).set('Authorization', bearer);
      await request(app).get(`/no/such/thing?%74icket=${ticket}&tok%65n=${ticket}`);
      await request(app).get(`/healthz?ticket=${ticket}`).set('Authorization', bearer);
      await request(app)
        .post(`/echo?ticket=${ticket}`)
        .set('Authorization', bearer)
        .set('Content-Type', 'application/json')
        .send('{"x":1}');
      await request(app).get('/logs-headers').set('Authorization', bearer).set('Cookie', 'sid=cookie-SECRET');
      const text = log.text();
      expect(log.lines().length).toBeGreaterThan(4);
      expect(text).not.toContain('SECRET');
      // The request is still traceable: the path and the harmless parameters stay.
      expect(text).toContain('/no/such/thing?ticket=[redacted]&page=2');
      expect(text).toContain('"authorization":"[redacted]"');
      expect(text).toContain('"cookie":"[redacted]"');
    });

    it('writes one access line per request with whitelisted fields only, tagged with the request id', async () => {
      const { app, log } = edgeApp();
      const ok = await request(app)
        .get(`/no/such/thing?ticket=${ticket}`)
        .set('Authorization', bearer)
        .set('Origin', ALLOWED_ORIGIN);
      const failed = await request(app).get('/boom/sync').set('Authorization', bearer);
      const access = log.lines().filter((l) => l.msg === 'request completed' || l.msg === 'request errored');
      expect(access).toHaveLength(2);
      const [first, second] = access as unknown as [Record<string, unknown>, Record<string, unknown>];
      expect(Object.keys(first).sort()).toEqual([
        'deployment',
        'level',
        'msg',
        'req',
        'requestId',
        'res',
        'responseTime',
        'time',
      ]);
      expect(first.requestId).toBe(ok.headers['x-request-id']);
      expect(first.deployment).toBe('default');
      expect(first.req).toEqual({
        method: 'GET',
        url: '/no/such/thing?ticket=[redacted]',
        origin: ALLOWED_ORIGIN,
        remoteAddress: expect.any(String) as string,
      });
      expect(first.res).toEqual({ statusCode: 404 });
      // A failure's access line names it; its cause and stack go to the error handler's line only.
      expect(second.requestId).toBe(failed.headers['x-request-id']);
      expect(second.err).toEqual({ type: 'Error', message: 'failed with status code 500' });
      expect(JSON.stringify(access)).not.toMatch(/SECRET|kaboom/);
    });

    // Its access line is written from no request's context: the id and the trace come from the request itself.
    it("tags the access line of a request the client gave up on with that request's id and trace", async () => {
      const { app, log } = edgeApp();
      const server = http.createServer(app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const gaveUp = new AbortController();
        const arrived = once(arrivals, 'hang');
        const pending = fetch(`http://127.0.0.1:${port}/hang`, {
          headers: { 'X-Request-Id': 'given-up-1', traceparent: `00-${GIVEN_UP_TRACE}-00f067aa0ba902b7-01` },
          signal: gaveUp.signal,
        }).catch(() => 'aborted');
        // Given up once the service holds the request, however long it took to get there.
        await arrived;
        gaveUp.abort();
        expect(await pending).toBe('aborted');
        const hangLine = () => log.lines().find((l) => (l.req as { url?: string } | undefined)?.url === '/hang');
        await waitFor(() => hangLine() !== undefined);
        expect(hangLine()).toMatchObject({ requestId: 'given-up-1', trace_id: GIVEN_UP_TRACE });
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});

/** Writes `text` on one TCP connection to the app and returns every byte until the server closes it. */
async function onOneConnection(app: http.RequestListener, text: string): Promise<string> {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.write(text);
    await once(socket, 'close');
    return received;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
