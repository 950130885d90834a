import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response } from 'supertest';
import { OriginAllowlist } from '../../../src/config/originAllowlist';
import { securityHeaders } from '../../../src/http/app';
import { corsHeaders } from '../../../src/http/middleware/cors';
import { answerHealthFirst } from '../../../src/http/server/healthFirst';
import { httpRequestDuration, httpRequests, metricsText } from '../../../src/observability/metrics';
import { Readiness } from '../../../src/observability/readiness';
import { startTracing } from '../../../src/observability/tracing';
import { parseScrape } from '../../support/metrics';
import { PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';

/**
 * /healthz and /readyz are answered before Express (src/http/server/healthFirst.ts). The same path
 * with a query string goes through the app's middleware and routes as before, so each answer is
 * compared with the app's own: status, body and every header but the ones that differ per answer.
 * Each probe it answers is counted under the series the app would use (method, route, status) and
 * timed; a probe that carries a trace context while tracing is on is left to the app, which traces it.
 */

const ORIGINS = OriginAllowlist.parse(['https://shop.example.com']);
const APP_STATUS = 418;

/** healthFirst.ts in front of an "app" that answers 418, on a port of its own. */
async function healthFirst(readiness = new Readiness()): Promise<{ base: string; close: () => Promise<void> }> {
  const handle = answerHealthFirst(
    {
      readiness,
      allowlist: ORIGINS,
      securityHeaders: securityHeaders(),
      corsHeaders: corsHeaders(600),
    },
    (_req, res) => void res.writeHead(APP_STATUS).end(),
  );
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('answers as the app does, before Express', () => {
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
    const scrape = parseScrape(await metricsText());
    return scrape.value('genesys_bff_http_requests_total', { method: 'GET', route, status: String(status) });
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
      expect((await stack.http.get(path).set('X-Request-Id', 'probe-1.a:b')).headers['x-request-id']).toBe(
        'probe-1.a:b',
      );
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
        corsHeaders: corsHeaders(600),
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
});

describe('counts and times each probe it answers', () => {
  const count = async (route: string, status: string) =>
    (await httpRequests.get()).values.find(
      (v) => v.labels.method === 'GET' && v.labels.route === route && v.labels.status === status,
    )?.value ?? 0;

  async function timed(route: string): Promise<{ count: number; sum: number }> {
    const values = (await httpRequestDuration.get()).values.filter(
      (v) => v.labels.method === 'GET' && v.labels.route === route,
    );
    return {
      count: values.find((v) => v.metricName === 'genesys_bff_http_request_duration_seconds_count')?.value ?? 0,
      sum: values.find((v) => v.metricName === 'genesys_bff_http_request_duration_seconds_sum')?.value ?? 0,
    };
  }

  let probe: { base: string; close: () => Promise<void> };
  const readiness = new Readiness();
  beforeAll(async () => (probe = await healthFirst(readiness)));
  afterAll(() => probe.close());

  it.each([
    ['/healthz', true, '200'],
    ['/readyz', true, '200'],
    ['/readyz', false, '503'],
  ])('counts GET %s (ready: %s) as %s, and times it as it took', async (path, ready, status) => {
    readiness.set('config', { ok: ready, detail: 'set by the test' });
    const before = { counted: await count(path, status), timed: await timed(path) };
    const startedAt = performance.now();
    const answer = await fetch(`${probe.base}${path}`);
    await answer.text();
    const took = (performance.now() - startedAt) / 1000;
    expect(answer.status).toBe(Number(status));
    expect(await count(path, status)).toBe(before.counted + 1);
    const after = await timed(path);
    expect(after.count).toBe(before.timed.count + 1);
    const observed = after.sum - before.timed.sum;
    expect(observed).toBeGreaterThanOrEqual(0);
    expect(observed).toBeLessThanOrEqual(took);
  });
});

describe('each probe under its own series, and a traced probe left to the app', () => {
  /** Every GET series of httpRequests, as `route status` → count. */
  async function series(): Promise<Record<string, number>> {
    const values = (await httpRequests.get()).values.filter((v) => v.labels.method === 'GET');
    return Object.fromEntries(values.map((v) => [`${v.labels.route} ${v.labels.status}`, v.value]));
  }

  /** How many GET requests the duration histogram has timed, per route. */
  async function timed(): Promise<Record<string, number>> {
    const values = (await httpRequestDuration.get()).values.filter(
      (v) => v.labels.method === 'GET' && v.metricName === 'genesys_bff_http_request_duration_seconds_count',
    );
    return Object.fromEntries(values.map((v) => [String(v.labels.route), v.value]));
  }

  function grown(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
    return Object.fromEntries(
      Object.entries(after)
        .filter(([key, n]) => n !== (before[key] ?? 0))
        .map(([key, n]) => [key, n - (before[key] ?? 0)]),
    );
  }

  it.each([
    ['/healthz', true, { '/healthz 200': 1 }],
    ['/readyz', true, { '/readyz 200': 1 }],
    ['/readyz', false, { '/readyz 503': 1 }],
  ])('counts and times GET %s (ready: %s) under its own series and no other', async (path, ready, expected) => {
    const readiness = new Readiness();
    readiness.set('config', { ok: ready, detail: 'set by the test' });
    const probe = await healthFirst(readiness);
    try {
      const before = { counted: await series(), timed: await timed() };
      await (await fetch(`${probe.base}${path}`)).text();
      expect(grown(before.counted, await series())).toEqual(expected);
      expect(grown(before.timed, await timed())).toEqual({ [path]: 1 });
    } finally {
      await probe.close();
    }
  });

  describe('with tracing on', () => {
    let stopTracing: () => Promise<void>;
    beforeEach(
      () => (stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'health-first-test' })),
    );
    afterEach(() => stopTracing());

    it('leaves a probe with a trace context to the app, and answers one without', async () => {
      const probe = await healthFirst();
      try {
        const traced = await fetch(`${probe.base}/healthz`, {
          headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        });
        expect(traced.status).toBe(APP_STATUS);
        expect((await fetch(`${probe.base}/healthz`)).status).toBe(200);
        expect((await fetch(`${probe.base}/readyz`)).status).not.toBe(APP_STATUS);
      } finally {
        await probe.close();
      }
    });
  });

  it('answers GET /healthz itself with a JSON status of ok', async () => {
    const probe = await healthFirst();
    try {
      const res = await fetch(`${probe.base}/healthz`);
      expect({ status: res.status, type: res.headers.get('content-type'), body: await res.text() }).toEqual({
        status: 200,
        type: 'application/json; charset=utf-8',
        body: '{"status":"ok"}',
      });
    } finally {
      await probe.close();
    }
  });
});
