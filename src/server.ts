import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/schema';
import { createApp } from './http/app';
import type { Logger } from './observability/logger';
import { Readiness } from './observability/readiness';
import { createPlatformSide } from './genesys/platform';

export interface RunningService {
  server: http.Server;
  url: string;
  readiness: Readiness;
  /** Graceful stop: readiness 503, no new connections, drain, close upstreams. */
  stop(): Promise<void>;
}

/** Builds the whole service from a validated configuration and starts listening. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const readiness = new Readiness();
  readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
  const platform = createPlatformSide(config, logger, readiness);
  const app = createApp({ config, logger, readiness });

  const server = http.createServer({ keepAliveTimeout: 65_000 }, app);
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  platform.start();
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      readiness.startDraining();
      logger.info({ graceMs: config.shutdownGraceMs }, 'draining: no new connections, finishing in-flight work');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await platform.close();
      logger.info('stopped');
    })());

  return { server, url, readiness, stop };
}
