import express, { type RequestHandler, type Response } from 'express';
import request from 'supertest';
import { securityHeaders } from '../../../src/http/app';
import { replayedHeaders, recordHeaders, replayedPerOrigin } from '../../../src/http/middleware/recordedHeaders';

/**
 * What src/http/middleware/recordedHeaders.ts records and replays: compared with helmet's and CORS's
 * own answers, and, with middleware of the test's own, what the recorder lets a middleware read back,
 * the bound on origins remembered, the preflight that always runs the middleware, and a middleware it
 * cannot record.
 */

describe('the replay, compared with helmet and CORS themselves', () => {
  /** The security headers, recorded once from helmet and replayed on every answer, are the ones helmet itself sets. */
  test('replayed helmet headers are exactly helmet’s', async () => {
    const answer = (middleware: express.RequestHandler) => {
      const app = express();
      app.disable('x-powered-by');
      app.use(middleware);
      app.get('/x', (_req, res) => res.json({ ok: true }));
      return request(app).get('/x');
    };
    const [direct, replayed] = await Promise.all([
      answer(securityHeaders()),
      answer(replayedHeaders(securityHeaders())),
    ]);
    const without = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
    expect(without(replayed.headers)).toEqual(without(direct.headers));
    expect(replayed.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(Object.keys(replayed.headers).length).toBeGreaterThan(10);
  });

  test('CORS headers are recorded per origin and replayed; a preflight still goes to the middleware', async () => {
    const { corsHeaders } = await import('../../../src/http/middleware/cors');
    const { replayedPerOrigin } = await import('../../../src/http/middleware/recordedHeaders');
    const answer = (middleware: express.RequestHandler, origin: string | undefined, method: 'get' | 'options') => {
      const app = express();
      app.disable('x-powered-by');
      app.use(middleware);
      app.get('/x', (_req, res) => res.json({ ok: true }));
      const req =
        method === 'get'
          ? request(app).get('/x')
          : request(app).options('/x').set('Access-Control-Request-Method', 'POST');
      return origin ? req.set('Origin', origin) : req;
    };
    const policy = () => corsHeaders(600);
    const replayed = replayedPerOrigin(policy());
    for (const origin of [
      undefined,
      'https://shop.example.com',
      'https://a.example.org',
      'https://b.example.org',
      'https://a.example.org',
    ]) {
      for (const method of ['get', 'options'] as const) {
        const [direct, again] = await Promise.all([answer(policy(), origin, method), answer(replayed, origin, method)]);
        const without = (h: Record<string, string>) =>
          Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
        expect({ status: again.status, headers: without(again.headers) }).toEqual({
          status: direct.status,
          headers: without(direct.headers),
        });
      }
    }
    expect(
      replayed
        .headersFor('https://a.example.org')
        .find(([name]) => name.toLowerCase() === 'access-control-allow-origin')?.[1],
    ).toBe('https://a.example.org');
  });
});

describe("with middleware of the test's own", () => {
  /** A response stand-in that keeps what is set on it. */
  function response() {
    const set: Record<string, unknown> = {};
    return {
      set,
      res: { setHeader: (name: string, value: unknown) => void (set[name] = value) } as unknown as Response,
    };
  }

  describe('recordHeaders', () => {
    it('lets a middleware read back, replace and remove what it set, whatever the case of the name', () => {
      const middleware: RequestHandler = (req, res, next) => {
        res.setHeader('Vary', 'Origin');
        res.setHeader('vary', `${String(res.getHeader('VARY'))}, Accept`);
        res.setHeader('X-Gone', 'soon');
        res.removeHeader('x-GONE');
        res.setHeader('X-Method', req.method);
        res.setHeader('X-Sent', String(res.headersSent));
        res.setHeader('X-Origin', String(req.headers.origin));
        next();
      };
      expect(recordHeaders(middleware, 'https://shop.example.com')).toEqual([
        ['vary', 'Origin, Accept'],
        ['X-Method', 'GET'],
        ['X-Sent', 'false'],
        ['X-Origin', 'https://shop.example.com'],
      ]);
      expect(recordHeaders(middleware, undefined)).toContainEqual(['X-Origin', 'undefined']);
    });

    it('refuses a middleware that does not go on at once, and passes on the error of one that fails', () => {
      expect(() => recordHeaders(() => undefined, undefined)).toThrow(
        new Error('A header middleware did not go on synchronously; it cannot be recorded.'),
      );
      const failure = new Error('bad header');
      expect(() => recordHeaders((_req, _res, next) => next(failure), undefined)).toThrow(failure);
    });
  });

  describe('replayedPerOrigin', () => {
    it('records each origin once, and forgets the oldest past 1000', () => {
      const recorded: (string | undefined)[] = [];
      const replay = replayedPerOrigin((req, res, next) => {
        recorded.push(req.headers.origin);
        res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
        next();
      });
      const origin = (i: number) => `https://site-${i}.example.com`;
      for (let i = 0; i < 1000; i++) replay.headersFor(origin(i));
      replay.headersFor(origin(0));
      expect(recorded).toHaveLength(1000);
      replay.headersFor(origin(1000));
      expect(recorded).toHaveLength(1001);
      // The oldest (site-0) made room for site-1000; site-1 is still remembered.
      replay.headersFor(origin(1));
      expect(recorded).toHaveLength(1001);
      replay.headersFor(origin(0));
      expect(recorded.slice(-1)).toEqual([origin(0)]);
    });

    it('replays on a GET and runs the middleware itself on a preflight', () => {
      const runs: string[] = [];
      const replay = replayedPerOrigin((req, res, next) => {
        runs.push(req.method);
        res.setHeader('X-Seen', 'yes');
        next();
      });
      const get = response();
      const next = jest.fn();
      replay({ method: 'GET', headers: { origin: 'https://a.example' } } as never, get.res, next);
      replay({ method: 'GET', headers: { origin: 'https://a.example' } } as never, get.res, next);
      expect(get.set).toEqual({ 'X-Seen': 'yes' });
      expect(runs).toEqual(['GET']);
      replay({ method: 'OPTIONS', headers: { origin: 'https://a.example' } } as never, response().res, next);
      expect(runs).toEqual(['GET', 'OPTIONS']);
      expect(next).toHaveBeenCalledTimes(3);
    });
  });
});
