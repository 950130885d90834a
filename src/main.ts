import 'dotenv/config';
import { ConfigError, loadConfig } from './config/schema';
import { createLogger } from './observability/logger';
import { startService } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const service = await startService(config, logger);
  logger.info({ url: service.url, region: config.genesys.region.domain }, 'listening');

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutdown requested');
    service.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
