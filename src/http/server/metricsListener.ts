import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from './listen';
import { collectProcessMetrics, metricsText, registry } from '../../observability/metrics';

export interface MetricsListener {
  /** Where Prometheus scrapes: `http://host:port/metrics`. */
  url: string;
  close(): Promise<void>;
}

/** What `GET /canary` answers: each deployment's last canary runs (docs/operations.md#canaries). */
export type CanaryReport = () => Promise<unknown>;

/**
 * The operator's listener on its own port (METRICS_PORT), apart from the
 * public API: `GET /metrics` for the scraper, `GET /canary` for the last
 * canary runs, `404` for anything else, and nothing of it on PORT. Keep the
 * port off the internet; it is for the scraper and the operator.
 */
export async function startMetricsListener(
  port: number,
  host: string,
  canary?: CanaryReport,
): Promise<MetricsListener> {
  collectProcessMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const readable = req.method === 'GET' || req.method === 'HEAD';
    if (path === '/canary' && readable && canary) {
      canary().then(
        (report) =>
          res
            .writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
            .end(req.method === 'HEAD' ? undefined : JSON.stringify(report)),
        () =>
          res
            .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '5' })
            .end('The canary runs could not be read from the shared store.\n'),
      );
      return;
    }
    if (path !== '/metrics' || !readable) {
      res
        .writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('Not found: metrics are at GET /metrics, the canary runs at GET /canary.\n');
      return;
    }
    metricsText().then(
      (text) =>
        res
          .writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Collecting the metrics failed.\n'),
    );
  });
  // A scraper keeps its connection alive between scrapes; it must not hold up a stop.
  server.keepAliveTimeout = 65_000;
  await listen(server, port, host);
  const { port: bound } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
