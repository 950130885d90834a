import 'dotenv/config';
import { ConfigError, isUnconfigured, loadConfig } from './config/schema';
import { embeddedDefaultApplies, startEmbeddedDefault, type EmbeddedDefault } from './demo/embeddedDefault';
import { createLogger } from './observability/logger';
import { stopOnProcessFailure } from './processFailures';
import { startService } from './server';

async function main(): Promise<void> {
  let config;
  let embedded: EmbeddedDefault | undefined;
  try {
    // No Genesys configuration outside production: the local simulator and the demo page (README.md#configuration).
    if (embeddedDefaultApplies(process.env)) embedded = await startEmbeddedDefault(process.env);
    config = loadConfig(embedded?.env ?? process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      if (isUnconfigured(process.env) && !embeddedDefaultApplies(process.env)) {
        console.error('(With no Genesys configuration and NODE_ENV other than production, `npm start` in a checkout runs the embedded demo instead.)');
      }
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let stopping = false;
  const shutdown = (cause: { signal: string } | { failure: true }, exitCode = 0) => {
    // A signal to the process group also comes forwarded by npm: the drain runs once.
    if (stopping) return;
    stopping = true;
    logger.info(cause, 'shutdown requested');
    Promise.resolve(service?.stop())
      .then(() => embedded?.stop())
      .then(
        () => process.exit(exitCode),
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  stopOnProcessFailure(process, logger, (exitCode) => shutdown({ failure: true }, exitCode));
  try {
    service = await startService(config, logger);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(`Port ${config.port} on ${config.host} is already in use: stop what listens there, or set PORT to another port.`);
      process.exit(1);
    }
    throw error;
  }
  process.on('SIGTERM', () => shutdown({ signal: 'SIGTERM' }));
  process.on('SIGINT', () => shutdown({ signal: 'SIGINT' }));

  // Announced only once a signal can stop it: whoever reads these lines may send one at once.
  // The address it is bound to, and a URL that reaches it from this machine (0.0.0.0 is not one).
  logger.info(
    { listen: `${config.host}:${new URL(service.url).port}`, url: service.url, region: config.genesys.region.domain, metrics: service.metricsUrl, tracing: config.tracing.url !== undefined },
    'listening',
  );
  if (embedded) console.log(embedded.serviceStarted(service.url).join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
