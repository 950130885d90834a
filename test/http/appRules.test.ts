import request from 'supertest';
import { ALLOWED_ORIGIN, testApp } from '../support/app';

/**
 * Rules of the app's own middleware (src/http/app.ts) that edge.test.ts does not state: a JSON body
 * with any parameters is taken, every answer varies on what chose its deployment (and the app on
 * its own on Origin alone), the probes leave no access line, and an access line carries the request
 * once, as whitelisted.
 */

it('takes a JSON body whose type has parameters other than a charset, and refuses another type', async () => {
  const { app } = testApp();
  const withParameters = await request(app)
    .post('/guest-session')
    .set('Content-Type', 'application/json; profile=chat')
    .send('{"__proto__": {}}');
  // Read as JSON (so refused for its key), not refused for its type.
  expect({ status: withParameters.status, code: withParameters.body.code }).toEqual({
    status: 400,
    code: 'validation_failed',
  });
  const other = await request(app).post('/guest-session').set('Content-Type', 'text/plain').send('{}');
  expect({ status: other.status, code: other.body.code }).toEqual({ status: 415, code: 'unsupported_media_type' });
});

it('varies every answer on what chose its deployment, after the Origin that CORS varies on', async () => {
  const { app } = testApp({ vary: ['X-Deployment', 'Authorization'] });
  const res = await request(app).get('/openapi.json').set('Origin', ALLOWED_ORIGIN);
  expect({ status: res.status, vary: res.headers.vary }).toEqual({
    status: 200,
    vary: 'Origin, X-Deployment, Authorization',
  });
});

it('on its own, with no deployment chosen for it, serves its own routes to a caller that is no page, varying on Origin alone', async () => {
  const { app } = testApp();
  const res = await request(app.handler).get('/openapi.json');
  expect({ status: res.status, vary: res.headers.vary }).toEqual({ status: 200, vary: 'Origin' });
});

it('writes no access line for the probes, and one for anything else', async () => {
  const { app, log } = testApp();
  await request(app).get('/healthz');
  await request(app).get('/readyz');
  expect(log.lines().filter((l) => l.req !== undefined)).toEqual([]);
  await request(app).get('/openapi.json');
  expect(log.lines().filter((l) => l.req !== undefined)).toHaveLength(1);
});

it('writes the request on its access line once, as whitelisted', async () => {
  const { app, log } = testApp();
  await request(app).get('/openapi.json?ticket=secret-ticket-value').set('User-Agent', 'probe/1');
  const line = log
    .text()
    .split('\n')
    .find((l) => l.includes('"requestId"') && l.includes('"req"'))!;
  expect(line.match(/"req":/g)).toHaveLength(1);
  expect(line).not.toContain('secret-ticket-value');
  expect(JSON.parse(line).req).toEqual({
    method: 'GET',
    url: expect.stringMatching(/^\/openapi\.json\?ticket=/),
    userAgent: 'probe/1',
    remoteAddress: expect.any(String),
  });
});

it('hashes no answer for an ETag: every answer is fresh', async () => {
  const { app } = testApp();
  const answered = await request(app).get('/openapi.json');
  expect(answered.status).toBe(200);
  expect(answered.headers.etag).toBeUndefined();
});
