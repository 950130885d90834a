import express from 'express';
import request from 'supertest';
import { securityHeaders } from '../../src/http/app';
import { replayedHeaders } from '../../src/http/recordedHeaders';

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
