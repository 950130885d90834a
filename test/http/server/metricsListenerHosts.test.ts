import http from 'node:http';
import { startMetricsListener, type MetricsListener } from '../../../src/http/server/metricsListener';

/**
 * The scrape endpoint's address and socket (src/http/server/metricsListener.ts): the URL it reports for each
 * kind of host, a HEAD's length, and a fault after listening that the start's listener must not swallow.
 * metricsListener.test.ts covers what it answers.
 */

let listener: MetricsListener | undefined;
afterEach(async () => {
  jest.restoreAllMocks();
  await listener?.close();
  listener = undefined;
});

it.each([
  ['0.0.0.0', '127.0.0.1'],
  ['::', '127.0.0.1'],
  ['127.0.0.1', '127.0.0.1'],
  ['localhost', 'localhost'],
])('reports a URL a local scraper can use when the host is %s', async (host, shown) => {
  listener = await startMetricsListener(0, host);
  const url = new URL(listener.url);
  expect(`${url.protocol}//${url.hostname}${url.pathname}`).toBe(`http://${shown}/metrics`);
  expect(Number(url.port)).toBeGreaterThan(0);
  expect((await fetch(listener.url)).status).toBe(200);
});

it('lets a fault after listening reach the process, rather than a start that finished long ago', async () => {
  let server: http.Server | undefined;
  const real = http.createServer;
  jest
    .spyOn(http, 'createServer')
    .mockImplementation(((...args: Parameters<typeof real>) => (server = real(...args))) as typeof real);
  listener = await startMetricsListener(0, '127.0.0.1');
  expect(() => server!.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).toThrow(
    'accept EMFILE',
  );
});
