import { ConfigError, isUnconfigured, readConfig, type Config } from './config/schema';
import { loadDeploymentsFile } from './config/deploymentsFile';
import { embeddedDefaultApplies, startEmbeddedDefault, type EmbeddedDefault } from './demo/embeddedDefault';
import type { Logger } from './observability/logger';
import { stopOnProcessFailure } from './processFailures';
import { startService, type RunningService } from './server';

/**
 * What the service's process life needs of its process (src/main.ts passes the real one): its
 * environment, where signals and unhandled failures arrive, its exit, its console, and the logger
 * for the configured level. A test passes its own to run the whole life in process.
 */
export interface ServiceProcess {
  env: NodeJS.ProcessEnv;
  /** Emits SIGTERM, SIGINT, SIGHUP, `unhandledRejection` and `uncaughtException`. */
  events: NodeJS.EventEmitter;
  /** Ends the process; returns only where the process is a test's stand-in. */
  exit(code: number): void;
  console: Pick<Console, 'log' | 'error'>;
  logger(level: string): Logger;
}

/**
 * The service's process life: its configuration (or the embedded demo when there is none outside
 * production, README.md#configuration), the service, a reload of the deployments file on SIGHUP, one drain on
 * SIGTERM, SIGINT or a failure nothing handled, and the exit code that tells the orchestrator how it went. It never
 * rejects:
 * anything unexpected is printed and exits 1.
 */
export async function runProcess(proc: ServiceProcess): Promise<void> {
  try {
    await run(proc);
  } catch (error) {
    proc.console.error(error);
    proc.exit(1);
  }
}

async function run(proc: ServiceProcess): Promise<void> {
  let config;
  let embedded: EmbeddedDefault | undefined;
  try {
    if (embeddedDefaultApplies(proc.env)) embedded = await startEmbeddedDefault(proc.env);
    config = await readConfig(embedded?.env ?? proc.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    proc.console.error(error.message);
    if (isUnconfigured(proc.env) && !embeddedDefaultApplies(proc.env)) {
      proc.console.error(
        '(With no Genesys configuration and NODE_ENV other than production, ' +
          '`npm start` in a checkout runs the embedded demo instead.)',
      );
    }
    return proc.exit(1);
  }
  const { process: settings } = config;
  const logger = proc.logger(settings.logLevel);
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
        () => proc.exit(exitCode),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          proc.exit(1);
        },
      );
  };
  stopOnProcessFailure(proc.events, logger, (exitCode) => shutdown({ failure: true }, exitCode));
  try {
    service = await startService(config, logger);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    proc.console.error(
      `Port ${settings.port} on ${settings.host} is already in use: ` +
        'stop what listens there, or set PORT to another port.',
    );
    await embedded?.stop();
    return proc.exit(1);
  }
  proc.events.on('SIGHUP', () => void reloadDeployments(proc, config, service!, logger));
  proc.events.on('SIGTERM', () => shutdown({ signal: 'SIGTERM' }));
  proc.events.on('SIGINT', () => shutdown({ signal: 'SIGINT' }));

  // Announced only once a signal can stop it: whoever reads these lines may send one at once.
  // The address it is bound to, and a URL that reaches it from this machine (0.0.0.0 is not one).
  logger.info(
    {
      listen: `${settings.host}:${new URL(service.url).port}`,
      url: service.url,
      deployments: config.deployments.map((d) => `${d.name} (${d.genesys.region.domain})`),
      metrics: service.metricsUrl,
      tracing: settings.tracing.url !== undefined,
    },
    'listening',
  );
  if (embedded) proc.console.log(embedded.serviceStarted(service.url).join('\n'));
}

/**
 * SIGHUP: reads DEPLOYMENTS_FILE again and serves what it lists now (docs/configuration.md#the-deployments-file). A
 * file that fails in any way (unreadable, too large, unparsable, invalid) is refused with every problem logged, and
 * the running deployments stay; nothing a reload meets ends the process. Only the deployments are reloaded: the
 * process's variables are as they were at start.
 */
async function reloadDeployments(
  proc: ServiceProcess,
  running: Config,
  service: RunningService,
  logger: Logger,
): Promise<void> {
  const file = running.process.deploymentsFile;
  if (file === undefined) {
    logger.warn('SIGHUP: nothing to reload; the deployment comes from variables, read once at start');
    return;
  }
  try {
    const read = await loadDeploymentsFile(file, proc.env);
    if ('problems' in read) {
      const refused = 'SIGHUP: the deployments file was refused; the running deployments stay';
      logger.error({ file, problems: read.problems }, refused);
      return;
    }
    const outcome = await service.reload(read.deployments);
    logger.info({ file, ...outcome }, 'SIGHUP: deployments reloaded');
  } catch (error) {
    logger.error({ file, err: error }, 'SIGHUP: the reload failed; the running deployments stay');
  }
}
