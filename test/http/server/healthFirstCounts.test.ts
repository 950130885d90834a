import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OriginAllowlist } from '../../../src/config/originAllowlist';
import { securityHeaders } from '../../../src/http/app';
import { corsPolicy } from '../../../src/http/middleware/cors';
import { answerHealthFirst } from '../../../src/http/server/healthFirst';
import { httpRequestDuration, httpRequests } from '../../../src/observability/metrics';
import { Readiness } from '../../../src/observability/readiness';

/**
 * What src/http/server/healthFirst.ts counts for each probe it answers before Express: the same series
 * the app would (method, route, status), and the time each one took. healthFirst.test.ts compares
 * its answers with the app's.
 */

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

let server: http.Server;
let base: string;
const readiness = new Readiness();

beforeAll(async () => {
  const handle = answerHealthFirst(
    {
      readiness,
      allowlist: OriginAllowlist.parse(['https://shop.example.com']),
      securityHeaders: securityHeaders(),
      corsHeaders: corsPolicy(OriginAllowlist.parse(['https://shop.example.com']), 600).headers,
    },
    (_req, res) => void res.writeHead(418).end(),
  );
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it.each([
  ['/healthz', true, '200'],
  ['/readyz', true, '200'],
  ['/readyz', false, '503'],
])('counts GET %s (ready: %s) as %s, and times it as it took', async (path, ready, status) => {
  readiness.set('config', { ok: ready, detail: 'set by the test' });
  const before = { counted: await count(path, status), timed: await timed(path) };
  const startedAt = performance.now();
  const answer = await fetch(`${base}${path}`);
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
