import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import { OriginAllowlist } from '../../../src/config/originAllowlist';
import { securityHeaders } from '../../../src/http/app';
import { corsPolicy } from '../../../src/http/middleware/cors';
import { answerHealthFirst } from '../../../src/http/server/healthFirst';
import { Readiness } from '../../../src/observability/readiness';
import { metricsText } from '../../../src/observability/metrics';
import { PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';

/**
 * /healthz and /readyz are answered before Express (src/http/server/healthFirst.ts).
 * The same path with a query string goes through the app's middleware and
 * routes as before, so each answer is compared with the app's own: status,
 * body and every header but the ones that differ per answer.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const PER_ANSWER = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

/** The answer without what differs from one answer to the next: the event loop's lag (readiness samples it every 500 ms), and so the length. */
function comparable(res: Response) {
  const headers = Object.fromEntries(
    Object.entries(res.headers).filter(([name]) => !PER_ANSWER.has(name) && name !== 'content-length'),
  );
  const body = JSON.parse(JSON.stringify(res.body), (key, value: unknown) =>
    key === 'lagMs' ? typeof value : value,
  ) as unknown;
  return { status: res.status, body, headers };
}

/** The request went through Express: its router, the access log and the request context ran (an answer header only Express writes proves nothing, so the route label is read). */
async function routeCount(route: string, status: number): Promise<number> {
  const text = await metricsText();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`genesys_bff_http_requests_total{method="GET",route="${route}",status="${status}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe.each(['/healthz', '/readyz'])('%s', (path) => {
  test.each([
    ['no Origin', undefined],
    ['an allowed Origin', PAGE_ORIGIN],
  ])('with %s, answers as the app does', async (_label, origin) => {
    const first = stack.http.get(path);
    const viaApp = stack.http.get(`${path}?via=app`);
    if (origin) {
      first.set('Origin', origin);
      viaApp.set('Origin', origin);
    }
    const [fast, slow] = await Promise.all([first, viaApp]);
    expect(fast.status).toBe(200);
    expect(comparable(fast)).toEqual(comparable(slow));
    expect(fast.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    if (origin) expect(fast.headers['access-control-allow-origin']).toBe(origin);
    expect(fast.headers['content-security-policy']).toBeDefined();
  });

  test('a safe X-Request-Id is echoed, an unsafe one replaced', async () => {
    expect((await stack.http.get(path).set('X-Request-Id', 'probe-1.a:b')).headers['x-request-id']).toBe('probe-1.a:b');
    expect((await stack.http.get(path).set('X-Request-Id', 'no spaces <allowed>')).headers['x-request-id']).not.toBe(
      'no spaces <allowed>',
    );
  });

  test('an Origin off the allowlist is refused as on every route (403 problem+json, no CORS header)', async () => {
    const res = await stack.http.get(path).set('Origin', 'https://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('origin_not_allowed');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('is counted under its route, like an answer of the app', async () => {
    const before = await routeCount(path, 200);
    await stack.http.get(path);
    expect(await routeCount(path, 200)).toBe(before + 1);
  });
});

test('/readyz reports draining from the readiness it shares with the app: 503 with the checks', async () => {
  const local = await startStack();
  try {
    local.service.readiness.startDraining();
    const [fast, slow] = await Promise.all([local.http.get('/readyz'), local.http.get('/readyz?via=app')]);
    expect(fast.status).toBe(503);
    expect(fast.body.checks.draining.ok).toBe(false);
    expect(comparable(fast)).toEqual(comparable(slow));
  } finally {
    await local.close();
  }
});

test('the probes never reach the app; everything else does', async () => {
  const reached: string[] = [];
  const health = answerHealthFirst(
    {
      readiness: new Readiness(),
      allowlist: OriginAllowlist.parse([PAGE_ORIGIN]),
      securityHeaders: securityHeaders(),
      corsHeaders: corsPolicy(OriginAllowlist.parse([PAGE_ORIGIN]), 600).headers,
    },
    (req, res) => {
      reached.push(`${req.method} ${req.url} ${req.headers.origin ?? '-'}`);
      res.writeHead(418).end();
    },
  );
  const server = http.createServer(health);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`http://127.0.0.1:${port}${path}`, { method, headers });
  try {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz', { Origin: PAGE_ORIGIN })).status).toBe(200);
    expect(reached).toEqual([]);
    expect((await get('/healthz?x=1')).status).toBe(418);
    expect((await get('/healthz', { Origin: 'https://evil.example' })).status).toBe(418);
    expect((await get('/readyz', {}, 'HEAD')).status).toBe(418);
    expect((await get('/healthz/')).status).toBe(418);
    expect(reached).toEqual([
      'GET /healthz?x=1 -',
      'GET /healthz https://evil.example',
      'HEAD /readyz -',
      'GET /healthz/ -',
    ]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
