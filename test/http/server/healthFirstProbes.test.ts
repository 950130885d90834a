import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OriginAllowlist } from '../../../src/config/originAllowlist';
import { securityHeaders } from '../../../src/http/app';
import { corsPolicy } from '../../../src/http/middleware/cors';
import { answerHealthFirst } from '../../../src/http/server/healthFirst';
import { httpRequestDuration, httpRequests } from '../../../src/observability/metrics';
import { Readiness } from '../../../src/observability/readiness';
import { startTracing } from '../../../src/observability/tracing';

/**
 * src/http/server/healthFirst.ts built inside each test (what a suite builds in beforeAll judges no
 * mutant): each probe counted under its own series, and a probe that carries a trace context while
 * tracing is on left to the app, which traces it. healthFirstCounts.test.ts times the probes.
 */

const ORIGINS = OriginAllowlist.parse(['https://shop.example.com']);
const APP_STATUS = 418;

async function healthFirst(readiness = new Readiness()): Promise<{ base: string; close: () => Promise<void> }> {
  const handle = answerHealthFirst(
    {
      readiness,
      allowlist: ORIGINS,
      securityHeaders: securityHeaders(),
      corsHeaders: corsPolicy(ORIGINS, 600).headers,
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
