import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { mountRoutes, type AnyRouteSpec } from '../../../src/http/spec/routeSpec';
import { answerableCodes, openApiDocument } from '../../../src/http/spec/openapi';
import { jsonBodyReader } from '../../../src/http/middleware';

/**
 * mountRoutes: every route in one router, each reading its body as its spec says, and the 405 a
 * path's other methods get, with the Allow header that lists what it serves. answerableCodes: the
 * errors a spec's options imply. openApiDocument: what a spec describes (a JSON body without a schema, none).
 */

const spec = (method: AnyRouteSpec['method'], path: string, more: Partial<AnyRouteSpec> = {}): AnyRouteSpec => ({
  method,
  path,
  summary: path,
  auth: 'public',
  responses: { 200: { description: 'ok' } },
  handle(req, res) {
    res.status(299).json({ passed: req.method, body: req.body as unknown });
  },
  ...more,
});

const passThrough: RequestHandler = (_req, _res, next) => next();

function appOf(specs: AnyRouteSpec[]) {
  const app = express();
  app.use(mountRoutes(specs, { authenticate: () => passThrough, readJsonBody: jsonBodyReader(1024) }));
  // What no route answers reaches this.
  app.use((req, res) => {
    res.status(298).json({ passed: req.method });
  });
  app.use(
    (
      error: { code?: string; message?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res
        .status(Number((error as { status?: number }).status ?? 500))
        .json({ code: error.code, detail: error.message });
    },
  );
  return app;
}

describe('the methods a path serves', () => {
  it('lets HEAD through only where GET is served; elsewhere its Allow lists no HEAD', async () => {
    const app = appOf([spec('post', '/only-post'), spec('get', '/read'), spec('delete', '/read')]);
    const head = await request(app).head('/only-post');
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('POST, OPTIONS');
    expect((await request(app).head('/read')).status).toBe(299);
    const put = await request(app).put('/read');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, HEAD, DELETE, OPTIONS');
    expect(put.body.detail).toBe('PUT is not served on /read: use GET, HEAD, DELETE, OPTIONS.');
    expect((await request(app).options('/only-post')).status).toBe(298);
  });

  it('refuses another method before reading its body', async () => {
    const app = appOf([spec('get', '/read', { auth: 'session' })]);
    const put = await request(app).put('/read').set('Content-Type', 'text/plain').send('hello');
    expect({ status: put.status, code: put.body.code }).toEqual({ status: 405, code: 'method_not_allowed' });
  });
});

describe('the body a route reads', () => {
  const app = appOf([
    spec('post', '/public'),
    spec('post', '/json', { auth: 'session' }),
    spec('post', '/upload', { auth: 'session', body: { kind: 'multipart', field: 'file', description: 'a file' } }),
  ]);

  it('reads none on a public route', async () => {
    const res = await request(app).post('/public').set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(299);
    expect(res.body.body).toBeUndefined();
  });

  it('reads JSON on any other by default, and refuses another type', async () => {
    const json = await request(app).post('/json').send({ a: '1' });
    expect({ status: json.status, body: json.body.body }).toEqual({ status: 299, body: { a: '1' } });
    const text = await request(app).post('/json').set('Content-Type', 'text/plain').send('hello');
    expect({ status: text.status, code: text.body.code }).toEqual({ status: 415, code: 'unsupported_media_type' });
  });

  it('leaves a multipart body unread for its handler', async () => {
    const res = await request(app).post('/upload').attach('file', Buffer.from('x'), 'x.txt');
    expect(res.status).toBe(299);
    expect(res.body.body).toBeUndefined();
  });
});

describe('the errors a spec implies', () => {
  const limit: RequestHandler = passThrough;

  it('lists a public route its own errors and the edge', () => {
    expect(answerableCodes(spec('get', '/p', { errors: ['not_found'] }))).toEqual([
      'not_found',
      'origin_not_allowed',
      'internal_error',
    ]);
  });

  it("derives a session route's token, body and limit errors, unauthorized first among its status", () => {
    const codes = answerableCodes(
      spec('post', '/s', { auth: 'session', errors: ['upstream_unavailable'], limits: { perSession: [limit] } }),
    );
    expect(codes).toEqual([
      'unauthorized',
      'upstream_unavailable',
      'validation_failed',
      'payload_too_large',
      'unsupported_media_type',
      'rate_limited',
      'session_expired',
      'store_unavailable',
      'origin_not_allowed',
      'internal_error',
      'reauthentication_required',
      // An anonymous token's socket to a conversation Genesys signed in meanwhile (4017).
      'cannot_downgrade',
    ]);
  });

  it('gives no rate_limited to a route whose limits list none', () => {
    expect(answerableCodes(spec('get', '/q', { limits: { perAddress: [] } }))).toEqual([
      'origin_not_allowed',
      'internal_error',
    ]);
  });

  it('gives a route with an optional token its token errors, but no body errors when it reads none', () => {
    expect(answerableCodes(spec('get', '/n', { auth: 'none', body: { kind: 'none' } }))).toEqual([
      'unauthorized',
      'session_expired',
      'store_unavailable',
      'origin_not_allowed',
      'internal_error',
    ]);
  });
});

describe('the document a spec gives', () => {
  it('describes no request body for a JSON body read without a schema', () => {
    const doc = openApiDocument([spec('post', '/x', { body: { kind: 'json' } })], '1') as {
      paths: Record<string, Record<string, { requestBody?: unknown; summary: string }>>;
    };
    expect(doc.paths['/x']!.post).toMatchObject({ summary: '/x' });
    expect(doc.paths['/x']!.post!.requestBody).toBeUndefined();
  });
});
