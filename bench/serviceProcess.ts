import { Router } from 'express';
import { readConfig } from '../src/config/schema';
import { createLogger } from '../src/observability/logger';
import { startService, type RunningService } from '../src/server';

/**
 * Bench only (part 3, the OAuth token): the service exactly as src/main.ts
 * builds it, plus one route that needs the Platform token, so the benchmark
 * can put Platform-bound load on it. No public route of the service fetches
 * the token on demand today (the deployment preflight does, in the
 * background); this route stands in for "any later Platform call".
 *
 *   GET /__bench/token  -> 200 {waitedUs}: how long getToken() kept this request waiting
 */
async function main(): Promise<void> {
  const config = await readConfig(process.env);
  const logger = createLogger({ level: config.process.logLevel });
  const running: { service?: RunningService } = {};
  const router = Router();
  router.get('/__bench/token', (_req, res, next) => {
    const cache = running.service?.deployments.all[0]?.platform.tokenCache;
    if (!cache) {
      res.status(503).json({ error: 'not started, or no OAuth client configured' });
      return;
    }
    const started = process.hrtime.bigint();
    cache.getToken().then(
      () => res.json({ waitedUs: Number(process.hrtime.bigint() - started) / 1000 }),
      (error: unknown) => next(error),
    );
  });
  const service = await startService(config, logger, { routers: [router] });
  running.service = service;
  logger.info({ url: service.url }, 'listening');
  const shutdown = () => {
    service.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
