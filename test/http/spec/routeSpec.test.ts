import express from 'express';
import request from 'supertest';
import { refuseOtherMethods, type AnyRouteSpec } from '../../../src/http/spec/routeSpec';

/** refuseOtherMethods: the 405 a path's other methods get, and the Allow header that lists what it serves. */

const spec = (method: AnyRouteSpec['method'], path: string): AnyRouteSpec => ({
  method,
  path,
  summary: path,
  auth: 'public',
  responses: { 200: { description: 'ok' } },
  errors: [],
  handle() {},
});

function appOf(specs: AnyRouteSpec[]) {
  const app = express();
  app.use(refuseOtherMethods(specs));
  // What passes the guard reaches this: the route itself in the service.
  app.use((req, res) => {
    res.status(299).json({ passed: req.method });
  });
  app.use((error: { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(405).json({ code: error.code });
  });
  return app;
}

test('HEAD passes only where GET is served; a POST-only path refuses it with an Allow that lists no HEAD', async () => {
  const app = appOf([spec('post', '/only-post'), spec('get', '/read'), spec('delete', '/read')]);
  const head = await request(app).head('/only-post');
  expect(head.status).toBe(405);
  expect(head.headers.allow).toBe('POST, OPTIONS');
  expect((await request(app).head('/read')).status).toBe(299);
  const put = await request(app).put('/read');
  expect(put.status).toBe(405);
  expect(put.headers.allow).toBe('GET, HEAD, DELETE, OPTIONS');
  expect((await request(app).options('/only-post')).status).toBe(299);
});
