import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { observeRequests, UNMATCHED_ROUTE } from '../../../src/http/middleware/observe';
import { inDeployment } from '../../../src/observability/deploymentContext';
import { httpRequestDuration, httpRequests } from '../../../src/observability/metrics';
import { waitFor } from '../../support/wait';

/**
 * What src/http/middleware/observe.ts counts and times for each request, on a bare app: the method (or `other`),
 * the route template (or `unmatched`), the status (499 for a client gone before any answer), and a
 * time only for a request a route served, under its own route.
 */

async function counted(method: string, route: string, status: string): Promise<number> {
  return (
    (await httpRequests.get()).values.find(
      (v) => v.labels.method === method && v.labels.route === route && v.labels.status === status,
    )?.value ?? 0
  );
}

async function timed(method: string, route: string): Promise<number> {
  return (
    (await httpRequestDuration.get()).values.find(
      (v) =>
        v.metricName === 'genesys_bff_http_request_duration_seconds_count' &&
        v.labels.method === method &&
        v.labels.route === route,
    )?.value ?? 0
  );
}

let server: http.Server;
let base: string;
let hung: http.ServerResponse[] = [];

beforeAll(async () => {
  const app = express();
  app.use(observeRequests);
  app.get('/observed/things/:id', (_req, res) => void res.json({ ok: true }));
  app.post('/observed/others', (_req, res) => void res.status(201).end());
  // A router's all() takes every method as one (refuseOtherMethods answers 405 so); the app's all() registers each.
  app.use(express.Router().all('/observed/any', (_req, res) => void res.status(204).end()));
  app.get('/observed/hang', (_req, res) => void hung.push(res));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/**
 * Waits for the count to move: a request is counted as its answer closes, after the client has it.
 * Within 2 s, well inside a mutation run's 5 s bound, so that a count that never moves fails here, in words.
 */
async function after(request: () => Promise<unknown>, method: string, route: string, status: string): Promise<void> {
  const before = await counted(method, route, status);
  await request();
  await waitFor(async () => (await counted(method, route, status)) === before + 1, 2000, 5);
}

it('counts and times a served request under its route template, each route apart', async () => {
  const [things, others] = [await timed('GET', '/observed/things/:id'), await timed('POST', '/observed/others')];
  await after(() => fetch(`${base}/observed/things/42`), 'GET', '/observed/things/:id', '200');
  await after(() => fetch(`${base}/observed/others`, { method: 'POST' }), 'POST', '/observed/others', '201');
  expect(await timed('GET', '/observed/things/:id')).toBe(things + 1);
  expect(await timed('POST', '/observed/others')).toBe(others + 1);
});

it('counts a request no route took as unmatched, and does not time it', async () => {
  const before = await timed('GET', UNMATCHED_ROUTE);
  await after(() => fetch(`${base}/observed/nowhere/7`), 'GET', UNMATCHED_ROUTE, '404');
  expect(await timed('GET', UNMATCHED_ROUTE)).toBe(before);
});

it('counts a route taken for every method under its template, but times it only where it serves that method', async () => {
  const before = await timed('PUT', '/observed/any');
  await after(() => fetch(`${base}/observed/any`, { method: 'PUT' }), 'PUT', '/observed/any', '204');
  expect(await timed('PUT', '/observed/any')).toBe(before);
});

it('counts a method outside the usual ones as other', async () => {
  await after(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(`${base}/observed/things/1`, { method: 'PROPFIND' }, (res) =>
          res.resume().on('end', resolve),
        );
        req.on('error', reject);
        req.end();
      }),
    'other',
    UNMATCHED_ROUTE,
    '404',
  );
});

it('counts a request whose client left before any answer as 499', async () => {
  const controller = new AbortController();
  const gone = fetch(`${base}/observed/hang`, { signal: controller.signal }).catch(() => undefined);
  await waitFor(() => hung.length > 0, 5000, 5);
  await after(
    async () => {
      controller.abort();
      await gone;
    },
    'GET',
    '/observed/hang',
    '499',
  );
  hung = [];
});

it("counts a request under the deployment that served it, though its client left and the close came from the connection's", async () => {
  const served = (status: string) =>
    httpRequests
      .get()
      .then(
        ({ values }) =>
          values.find(
            (v) =>
              v.labels.route === '/observed/hang' && v.labels.status === status && v.labels.deployment === 'brand-a',
          )?.value ?? 0,
      );
  // A site's requests are dispatched inside its deployment (src/server.ts); the connection is nobody's.
  const site = express();
  site.use(observeRequests);
  site.get('/observed/hang', (_req, res) => void hung.push(res));
  site.get('/observed/things/:id', (_req, res) => void res.json({ ok: true }));
  const siteServer = http.createServer((req, res) => inDeployment('brand-a', () => site(req, res)));
  await new Promise<void>((resolve) => siteServer.listen(0, '127.0.0.1', resolve));
  const siteBase = `http://127.0.0.1:${(siteServer.address() as AddressInfo).port}`;
  try {
    const before = await served('499');
    const controller = new AbortController();
    const gone = fetch(`${siteBase}/observed/hang`, { signal: controller.signal }).catch(() => undefined);
    await waitFor(() => hung.length > 0, 5000, 5);
    controller.abort();
    await gone;
    await waitFor(async () => (await served('499')) === before + 1, 2000, 5);
    await fetch(`${siteBase}/observed/things/9`).then((r) => r.arrayBuffer());
    await waitFor(
      async () =>
        (await httpRequestDuration.get()).values.some(
          (v) =>
            v.metricName === 'genesys_bff_http_request_duration_seconds_count' &&
            v.labels.route === '/observed/things/:id' &&
            v.labels.deployment === 'brand-a',
        ),
      2000,
      5,
    );
  } finally {
    hung = [];
    siteServer.closeAllConnections();
    await new Promise<void>((resolve) => siteServer.close(() => resolve()));
  }
});
