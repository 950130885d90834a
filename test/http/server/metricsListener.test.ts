import http from 'node:http';
import net from 'node:net';
import { startMetricsListener, type MetricsListener } from '../../../src/http/server/metricsListener';
import * as metrics from '../../../src/observability/metrics';

/**
 * The scrape endpoint on METRICS_PORT (src/http/server/metricsListener.ts), started in each test:
 * GET and HEAD /metrics, a 404 in words for anything else, a 500 when collecting fails, and a stop
 * that a scraper's kept-alive connection does not hold; the URL it reports for each kind of host,
 * and a fault after listening that the start's listener must not swallow.
 * test/observability/metrics.test.ts reads the metrics a chat counts through it.
 */

let listener: MetricsListener | undefined;
afterEach(async () => {
  jest.restoreAllMocks();
  await listener?.close();
  listener = undefined;
});

describe('what it answers, and its stop', () => {
  async function start(): Promise<MetricsListener> {
    listener = await startMetricsListener(0, '127.0.0.1');
    return listener;
  }

  it('serves the registry at GET /metrics, with the process metrics, never cached', async () => {
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const text = await answer.text();
    expect(text).toContain('# TYPE genesys_bff_http_requests_total counter');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect((await fetch(`${url}?name=x`)).status).toBe(200);
  });

  it('answers HEAD /metrics with the head alone', async () => {
    const { url } = await start();
    const answer = await fetch(url, { method: 'HEAD' });
    expect({ status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() }).toEqual({
      status: 200,
      type: metrics.registry.contentType,
      body: '',
    });
  });

  it.each([
    ['GET', '/'],
    ['GET', '/metrics/'],
    ['GET', '/healthz'],
    ['POST', '/metrics'],
    ['DELETE', '/metrics'],
  ])('answers %s %s with a 404 that says where the metrics are', async (method, path) => {
    const { url } = await start();
    const answer = await fetch(new URL(path, url), { method });
    expect({ status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() }).toEqual({
      status: 404,
      type: 'text/plain; charset=utf-8',
      body: 'Not found: metrics are at GET /metrics, the canary runs at GET /canary.\n',
    });
  });

  it('answers GET /canary with the canary report, never cached, and 503 with Retry-After when it cannot be read', async () => {
    let report: () => Promise<unknown> = async () => ({ deployments: [{ deployment: 'shop', runs: [] }] });
    listener = await startMetricsListener(0, '127.0.0.1', () => report());
    const url = listener.url.replace(/\/metrics$/, '/canary');
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await answer.json()).toEqual({ deployments: [{ deployment: 'shop', runs: [] }] });
    report = () => Promise.reject(new Error('Redis is away'));
    const refused = await fetch(url);
    expect({
      status: refused.status,
      retryAfter: refused.headers.get('retry-after'),
      type: refused.headers.get('content-type'),
      body: await refused.text(),
    }).toEqual({
      status: 503,
      retryAfter: '5',
      type: 'text/plain; charset=utf-8',
      body: 'The canary runs could not be read from the shared store.\n',
    });
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  });

  it("answers the operator's webhook dead letters when given them, and only then", async () => {
    const deadLetters = { list: async () => [], replay: async () => ({ replayed: 0, notFound: 0 }) };
    const source = { names: () => ['default'], deadLetters: () => deadLetters as never };
    const logger = { child: () => logger, info() {}, warn() {}, error() {}, debug() {} } as never;
    listener = await startMetricsListener(0, '127.0.0.1', undefined, { deadLetters: source, logger });
    const url = listener.url.replace(/\/metrics$/, '/webhooks/dead-letter?deployment=default');
    const answer = await fetch(url);
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { deadLetters: [] } });
    await listener.close();
    listener = await startMetricsListener(0, '127.0.0.1');
    expect((await fetch(listener.url.replace(/\/metrics$/, '/webhooks/dead-letter'))).status).toBe(404);
  });

  it('answers 500 in words when collecting fails', async () => {
    const { url } = await start();
    jest.spyOn(metrics, 'metricsText').mockRejectedValue(new Error('a collector threw'));
    const answer = await fetch(url);
    expect({ status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() }).toEqual({
      status: 500,
      type: 'text/plain; charset=utf-8',
      body: 'Collecting the metrics failed.\n',
    });
  });

  it('refuses a port in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      await expect(
        startMetricsListener((blocker.address() as net.AddressInfo).port, '127.0.0.1'),
      ).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
    } finally {
      blocker.close();
    }
  });

  it('stops although a scraper keeps its connection alive', async () => {
    const { url } = await start();
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) => http.get(url, { agent }, (res) => res.resume().on('end', resolve)));
    await listener!.close();
    listener = undefined;
    agent.destroy();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('its address and socket', () => {
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
});
