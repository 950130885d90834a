import { Router } from 'express';
import request from 'supertest';
import { testApp } from '../../support/app';

/**
 * README.md#http-behaviour-common-to-every-endpoint against the real edge. The test allowlist is
 * https://shop.example.com, http://localhost:3000 and https://*.example.org. Which entries and origins
 * the allowlist takes, case by case: test/config/originAllowlist.test.ts.
 */

function appWithProbe(env: Record<string, string> = {}) {
  let reached = 0;
  const probe = Router();
  probe.all('/probe', (_req, res) => {
    reached += 1;
    res.json({ ok: true });
  });
  const { app } = testApp({ env, routers: [probe] });
  return { app, reached: () => reached };
}

const ALLOWED: [why: string, origin: string][] = [
  ['exact match', 'https://shop.example.com'],
  ['exact match with a port', 'http://localhost:3000'],
  ['one label under a wildcard', 'https://chat.example.org'],
  ['another label under a wildcard', 'https://www-2.example.org'],
];

const REFUSED: [why: string, origin: string][] = [
  ['port mismatch', 'https://shop.example.com:8443'],
  ['port mismatch on localhost', 'http://localhost:3001'],
  ['missing port', 'http://localhost'],
  ['scheme mismatch', 'http://shop.example.com'],
  ['scheme mismatch under a wildcard', 'http://chat.example.org'],
  ['deeper subdomain under a wildcard', 'https://a.b.example.org'],
  ['the bare domain under a wildcard', 'https://example.org'],
  ['a subdomain of an exact entry', 'https://www.shop.example.com'],
  ['a parent of an exact entry', 'https://example.com'],
  ['the literal null origin', 'null'],
  ['a suffix lookalike', 'https://shop.example.com.evil.test'],
  ['a prefix lookalike under a wildcard', 'https://evilexample.org'],
  ['a lookalike with a dash', 'https://shop-example.com'],
  ['a path after the origin', 'https://shop.example.com/'],
  ['upper case (browsers serialise origins in lower case)', 'https://SHOP.example.com'],
  ['an explicit default port (never sent by browsers)', 'https://shop.example.com:443'],
  ['not a URL', 'shop.example.com'],
  ['an empty Origin', ''],
  ['a wildcard sent as an origin', 'https://*.example.org'],
];

describe('CORS', () => {
  describe.each(ALLOWED)('allowed: %s (%s)', (_why, origin) => {
    it('answers with that exact origin, Vary: Origin and the exposed headers', async () => {
      const { app, reached } = appWithProbe();
      const res = await request(app).get('/probe').set('Origin', origin);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
      const exposed = (res.headers['access-control-expose-headers'] ?? '').toLowerCase().split(/\s*,\s*/);
      expect(exposed).toEqual(expect.arrayContaining(['retry-after', 'x-request-id']));
      expect(reached()).toBe(1);
    });

    it('preflights with 204, the methods, the headers and a max-age', async () => {
      const { app, reached } = appWithProbe();
      const res = await request(app)
        .options('/probe')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      const methods = res.headers['access-control-allow-methods']!.split(/\s*,\s*/);
      expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']));
      const headers = res.headers['access-control-allow-headers']!.toLowerCase().split(/\s*,\s*/);
      expect(headers).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']));
      expect(res.headers['access-control-max-age']).toBe('600');
      expect(res.headers.vary).toMatch(/\bOrigin\b/);
      expect(reached()).toBe(0);
    });
  });

  describe.each(REFUSED)('refused: %s (%s)', (_why, origin) => {
    it.each(['GET', 'POST', 'DELETE'])(
      '%s is 403 origin_not_allowed before any work, without Access-Control-Allow-Origin',
      async (method) => {
        const { app, reached } = appWithProbe();
        let req = request(app)[method.toLowerCase() as 'get' | 'post' | 'delete']('/probe').set('Origin', origin);
        if (method === 'POST') req = req.set('Content-Type', 'application/json').send('{"text":"hi"}');
        const res = await req;
        expect(res.status).toBe(403);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 403, code: 'origin_not_allowed' });
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        expect(res.headers['access-control-allow-credentials']).toBeUndefined();
        expect(reached()).toBe(0);
      },
    );

    it('a preflight is 403 origin_not_allowed without any CORS grant', async () => {
      const { app } = appWithProbe();
      const res = await request(app)
        .options('/probe')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('origin_not_allowed');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
      expect(res.headers['access-control-allow-headers']).toBeUndefined();
    });
  });

  it('never gives a refused origin Access-Control-Allow-Origin on any path, health included', async () => {
    const { app } = appWithProbe();
    for (const [, origin] of REFUSED) {
      for (const path of ['/probe', '/healthz', '/readyz', '/no-such-path', '/guest-session']) {
        const res = await request(app).get(path).set('Origin', origin);
        expect({ origin, path, acao: res.headers['access-control-allow-origin'] }).toEqual({
          origin,
          path,
          acao: undefined,
        });
        expect(res.status).toBe(403);
      }
    }
  });

  it('tells the page what to change, and the operator which origin was refused', async () => {
    const { app, log } = testApp({ routers: [] });
    const res = await request(app).get('/healthz').set('Origin', 'https://evil.example');
    expect(res.body.detail).toBe(
      "This website is not on the service's CORS allowlist (CORS_ALLOWED_ORIGINS, or a deployment's origins).",
    );
    const refusal = log.lines().find((l) => l.code === 'origin_not_allowed');
    expect(refusal).toMatchObject({ origin: 'https://evil.example', msg: res.body.detail });
  });

  it('serves a request without Origin (servers, curl) and adds no Access-Control-Allow-Origin', async () => {
    const { app, reached } = appWithProbe();
    const res = await request(app).get('/probe');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(reached()).toBe(1);
  });

  it('keeps the CORS grant on error responses so the page can read the problem and its request id', async () => {
    const { app } = appWithProbe();
    const res = await request(app).get('/no-such-path').set('Origin', 'https://shop.example.com');
    expect(res.status).toBe(404);
    expect(res.headers['access-control-allow-origin']).toBe('https://shop.example.com');
    expect(res.headers['access-control-expose-headers']).toMatch(/X-Request-Id/i);
  });

  it('takes max-age from CORS_MAX_AGE_SECONDS', async () => {
    const { app } = appWithProbe({ CORS_MAX_AGE_SECONDS: '120' });
    const res = await request(app)
      .options('/probe')
      .set('Origin', 'http://localhost:3000')
      .set('Access-Control-Request-Method', 'PUT');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-max-age']).toBe('120');
  });
});
