import express from 'express';
import request from 'supertest';
import { securityHeaders } from '../../../src/http/app';
import { replayedHeaders } from '../../../src/http/middleware/recordedHeaders';

/** The security headers, recorded once from helmet and replayed on every answer, are the ones helmet itself sets. */
test('replayed helmet headers are exactly helmet’s', async () => {
  const answer = (middleware: express.RequestHandler) => {
    const app = express();
    app.disable('x-powered-by');
    app.use(middleware);
    app.get('/x', (_req, res) => res.json({ ok: true }));
    return request(app).get('/x');
  };
  const [direct, replayed] = await Promise.all([answer(securityHeaders()), answer(replayedHeaders(securityHeaders()))]);
  const without = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
  expect(without(replayed.headers)).toEqual(without(direct.headers));
  expect(replayed.headers['content-security-policy']).toMatch(/default-src 'self'/);
  expect(Object.keys(replayed.headers).length).toBeGreaterThan(10);
});

test('CORS headers are recorded per origin and replayed; a preflight still goes to the middleware', async () => {
  const { corsPolicy } = await import('../../../src/http/middleware/cors');
  const { OriginAllowlist } = await import('../../../src/config/originAllowlist');
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
  const policy = () =>
    corsPolicy(OriginAllowlist.parse(['https://shop.example.com', 'https://*.example.org']), 600).headers;
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
