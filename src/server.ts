import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import type { Config } from './config/schema';
import type { Deployment } from './config/deployment';
import {
  corsHeaders,
  securityHeaders,
  answerHealthFirst,
  createApp,
  createHttpServer,
  listen,
  answerClientError,
  capConnections,
  servingDeployments,
  startMetricsListener,
} from './http';
import type { Logger } from './observability/logger';
import { EventLoopCheck, Readiness } from './observability/readiness';
import {
  buildDeployment,
  buildProcessParts,
  reloadDeployments,
  ServedDeployments,
  type ReloadOutcome,
  type ServedDeployment,
} from './deployments';
import { startTracing } from './observability/tracing';

export interface RunningService {
  server: http.Server;
  url: string;
  readiness: Readiness;
  /** The deployments served now (the bench and tests reach a deployment's parts through them). */
  deployments: ServedDeployments;
  /** The Prometheus endpoint (METRICS_PORT), when on. */
  metricsUrl?: string;
  /** Graceful stop: readiness 503, no new connections, drain, close upstreams. */
  stop(): Promise<void>;
  /**
   * Serves `next` (a reloaded deployments file): deployments added, removed, their OAuth client rotated or rebuilt,
   * the unchanged ones untouched (deployments/reload.ts). The process's settings are as they were at start.
   */
  reload(next: readonly Deployment[]): Promise<ReloadOutcome>;
}

interface ServiceOptions {
  /** Extra routers mounted after the public API (tests use this to hold requests in flight). */
  routers?: Router[];
  /**
   * The clock of the chat: the Genesys sessions (rate limits, typing, history reads, socket opens, reconnect
   * windows, JWT cache), sends in doubt and the in-memory shared store. Tests move it instead of waiting;
   * default Date.now.
   */
  now?: () => number;
}

/** Builds the whole service from a validated configuration and starts listening. */
export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const settings = config.process;
  if (settings.trustProxy === true) {
    logger.warn(
      'TRUST_PROXY=true trusts every X-Forwarded-For hop: a client that reaches this instance directly ' +
        'can pick its own address and walk past the per-address limits. ' +
        'Set it to the number of proxies in front (e.g. 1) or their addresses.',
    );
  }
  // Before anything that may make a span: Genesys calls start as soon as the platform does.
  const stopTracing = settings.tracing.url
    ? startTracing({ url: settings.tracing.url, serviceName: settings.tracing.serviceName })
    : undefined;
  const readiness = new Readiness();
  readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
  const eventLoop = new EventLoopCheck(readiness);
  const parts = buildProcessParts(settings, logger, readiness, { now: options.now });
  const build = (deployment: Deployment) => buildDeployment(deployment, parts);
  const built = config.deployments.map(build);
  /** A start that fails closes what it built, so that nothing of it is left open, listening or timing. */
  const abandon = async (error: unknown): Promise<never> => {
    await closeAll(built);
    await parts.close();
    eventLoop.close();
    await stopTracing?.();
    throw error;
  };
  await parts.prepare().catch(abandon);
  const served = new ServedDeployments(built);
  const app = createApp({
    process: settings,
    logger,
    readiness,
    deploymentSpecs: () => served.all[0]!.edge.specs,
    routers: options.routers,
  });

  const { server, inFlight } = listenerFor(app, served, settings, readiness);
  await listen(server, settings.port, settings.host).catch(abandon);
  const metrics =
    settings.metricsPort === undefined
      ? undefined
      : await startMetricsListener(settings.metricsPort, settings.metricsHost, () => canaryReport(served), {
          // The deployments served now: a reload's new set is listed from the next request on.
          deadLetters: {
            names: () => served.all.map((d) => d.deployment.name),
            deadLetters: (name) => served.all.find((d) => d.deployment.name === name)?.webhooks.deadLetters,
          },
          logger: logger.child({ component: 'operator' }),
        }).catch(async (error: unknown) => {
          await new Promise((resolve) => server.close(resolve));
          return abandon(error);
        });
  for (const deployment of built) deployment.start();
  const { port } = server.address() as AddressInfo;
  const host = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  const url = `http://${host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      readiness.startDraining();
      for (const deployment of served.all) deployment.endStreams();
      // Its watched chats go to a living instance now, not at the drain's end: what it claimed meanwhile would die
      // with it (a push under way still has the drain to finish).
      for (const deployment of served.all) deployment.stopWatching();
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      logger.info({ graceMs: settings.shutdownGraceMs }, 'draining: no new connections, finishing in-flight work');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), settings.shutdownGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await closeAll(served.all);
      await parts.close();
      eventLoop.close();
      await metrics?.close();
      await stopTracing?.();
      logger.info('stopped');
    })());

  /** One reload at a time: a second SIGHUP waits for the first. */
  let reloading = Promise.resolve() as Promise<unknown>;
  const reload = (next: readonly Deployment[]) => {
    const done = reloading.then(() =>
      reloadDeployments(served, next, (deployment) => {
        const fresh = build(deployment);
        fresh.start();
        return fresh;
      }),
    );
    reloading = done.catch(() => undefined);
    return done;
  };
  return { server, url, readiness, deployments: served, metricsUrl: metrics?.url, stop, reload };
}

/** GET /canary on the metrics listener: each deployment with a canary, its interval and its last runs, newest first. */
async function canaryReport(served: ServedDeployments) {
  const deployments = await Promise.all(
    served.all
      .filter((d) => d.canary)
      .map(async (d) => ({
        deployment: d.deployment.name,
        intervalSeconds: d.deployment.canary.intervalMs! / 1000,
        runs: await d.canary!.recent(),
      })),
  );
  return { deployments };
}

async function closeAll(deployments: readonly ServedDeployment[]): Promise<void> {
  for (const deployment of deployments) await deployment.close();
}

/**
 * The listener: connection caps, the health answers first, then the request's deployment chosen and the app run.
 * Without Connection: close, a keep-alive client holds its socket (and so the drain) open until the idle timeout;
 * while draining, every response not yet started closes its connection so clients move to other instances.
 */
function listenerFor(
  app: ReturnType<typeof createApp>,
  served: ServedDeployments,
  settings: Config['process'],
  readiness: Readiness,
): { server: http.Server; inFlight: Set<http.ServerResponse> } {
  const inFlight = new Set<http.ServerResponse>();
  const server = createHttpServer(app, { keepAliveTimeout: 65_000 });
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (readiness.draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const caps = capConnections(server, {
    ...settings.connections,
    ipv6PrefixLength: settings.limits.ipv6PrefixLength,
    isTrustedProxy: app.get('trust proxy fn') as (address: string, hop: number) => boolean,
  });
  // The deployment is chosen before the app runs; the health answers come first of all.
  const serve = servingDeployments(app, (req) => served.choose(req));
  const health = answerHealthFirst(
    {
      readiness,
      // Health answers to a page of any deployment served now.
      allowlist: served,
      securityHeaders: securityHeaders(),
      corsHeaders: corsHeaders(settings.cors.maxAgeSeconds),
    },
    serve,
  );
  server.on('request', caps.guard(Object.assign(health, { handler: serve })));
  server.on('clientError', answerClientError);
  server.headersTimeout = 66_000;
  return { server, inFlight };
}
