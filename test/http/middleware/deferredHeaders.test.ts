import { Router, type RequestHandler, type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { setHeadersWhileWaiting, deferred } from '../../../src/http/middleware/deferredHeaders';
import { testApp } from '../../support/app';

/**
 * src/http/middleware/deferredHeaders.ts. Helmet's and the CORS headers are set while a request
 * waits on Genesys, or at the latest as its answer's headers are written: on every answer either
 * way, and no CORS headers on a refused origin's answer. A deferred header middleware that fails
 * fails where it runs: its error is thrown out of setHeadersWhileWaiting (and so out of writeHead),
 * never swallowed into an answer without its headers.
 */

describe('the headers on every answer', () => {
  const ORIGIN = 'https://shop.example.com';

  function appWith(route: (seen: Record<string, unknown>) => RequestHandler) {
    const seen: Record<string, unknown> = {};
    const router = Router();
    router.all('/probe', route(seen));
    return { app: testApp({ routers: [router] }).app, seen };
  }

  test('a route waiting on Genesys gets the headers set as it starts waiting, before its answer', async () => {
    const { app, seen } = appWith((seen) => (_req, res) => {
      seen.before = res.getHeader('x-frame-options');
      setHeadersWhileWaiting(res);
      seen.whileWaiting = [
        res.getHeader('x-frame-options'),
        res.getHeader('access-control-allow-origin'),
        res.getHeader('vary'),
      ];
      setHeadersWhileWaiting(res);
      res.json({ ok: true });
    });
    const res = await request(app)
      .post('/probe')
      .set('Origin', ORIGIN)
      .set('Content-Type', 'application/json')
      .send('{}');
    expect(res.status).toBe(200);
    expect(seen).toEqual({ before: undefined, whileWaiting: ['SAMEORIGIN', ORIGIN, 'Origin'] });
    expect(res.headers).toMatchObject({
      'x-frame-options': 'SAMEORIGIN',
      'access-control-allow-origin': ORIGIN,
      vary: 'Origin',
      'x-content-type-options': 'nosniff',
    });
  });

  test('a route that never waits, a streamed answer and an error answer all carry the headers', async () => {
    const { app } = appWith(() => (req, res, next) => {
      if (req.query.kind === 'error') return next(new Error('kaboom'));
      if (req.query.kind === 'stream') {
        res.setHeader('Content-Type', 'text/plain');
        res.flushHeaders();
        res.end('streamed');
        return;
      }
      res.status(204).end();
    });
    for (const kind of ['plain', 'stream', 'error']) {
      const res = await request(app).get(`/probe?kind=${kind}`).set('Origin', ORIGIN);
      expect({ kind, frame: res.headers['x-frame-options'], cors: res.headers['access-control-allow-origin'] }).toEqual(
        {
          kind,
          frame: 'SAMEORIGIN',
          cors: ORIGIN,
        },
      );
    }
  });

  test("a refused origin's answer has the security headers and no CORS headers", async () => {
    const { app } = appWith(() => (_req, res) => void res.json({ reached: true }));
    const res = await request(app).get('/probe').set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-expose-headers']).toBeUndefined();
    expect(res.headers.vary).toBe('Origin');
  });
});

describe('a middleware that fails, or goes on', () => {
  it('throws the error a deferred middleware passes on, when its turn comes', () => {
    const failure = new Error('no headers for you');
    const middleware = deferred((_req, _res, next) => next(failure));
    const res = {} as Response;
    const next = jest.fn();
    middleware({ method: 'GET' } as Request, res, next as NextFunction);
    expect(next).toHaveBeenCalledWith();
    expect(() => setHeadersWhileWaiting(res)).toThrow(failure);
  });

  it('runs a middleware that goes on without error once, and nothing after that', () => {
    let runs = 0;
    const middleware = deferred((_req, _res, next) => {
      runs += 1;
      next();
    });
    const res = {} as Response;
    middleware({ method: 'GET' } as Request, res, jest.fn() as NextFunction);
    expect(runs).toBe(0);
    setHeadersWhileWaiting(res);
    setHeadersWhileWaiting(res);
    expect(runs).toBe(1);
  });
});
