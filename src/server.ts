import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import type { Config } from './config/schema';
import type { Deployment } from './config/deployments';
import {
  corsPolicyOf,
  securityHeaders,
  answerHealthFirst,
  createHttpServer,
  listen,
  answerClientError,
  capConnections,
  startMetricsListener,
} from './http';
import { OriginAllowlist } from './config/originAllowlist';
import type { Logger } from './observability/logger';
import { EventLoopCheck, Readiness } from './observability/readiness';
import type { GenesysPlatform } from './genesys/platform';
import { buildSite, reloadSites, Sites, type ReloadOutcome, type Site } from './sites';
import { inDeployment } from './observability/deploymentContext';
import { startTracing } from './observability/tracing';

export interface RunningService {
  server: http.Server;
  url: string;
  readiness: Readiness;
  /** The first deployment's Platform side (OAuth token cache, Platform client), for health tools and the benchmark. */
  platform: GenesysPlatform;
  /** The Prometheus endpoint (METRICS_PORT), when on. */
  metricsUrl?: string;
  /** Graceful stop: readiness 503, no new connections, drain, close upstreams. */
  stop(): Promise<void>;
  /**
   * Serves the deployments of `next` (a reloaded deployments file; its other settings are not read): sites added,
   * removed, their OAuth client rotated or rebuilt, the unchanged ones untouched (sites.ts).
   */
  reload(next: Config): Promise<ReloadOutcome>;
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
  if (config.trustProxy === true) {
    logger.warn(
      'TRUST_PROXY=true trusts every X-Forwarded-For hop: a client that reaches this instance directly ' +
        'can pick its own address and walk past the per-address limits. ' +
        'Set it to the number of proxies in front (e.g. 1) or their addresses.',
    );
  }
  // Before anything that may make a span: Genesys calls start as soon as the platform does.
  const stopTracing = config.tracing.url
    ? startTracing({ url: config.tracing.url, serviceName: config.tracing.serviceName })
    : undefined;
  const readiness = new Readiness();
  readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
  const eventLoop = new EventLoopCheck(readiness);
  const build = (deployment: Deployment) =>
    buildSite(config, deployment, logger, readiness, { now: options.now, routers: options.routers });
  const sites = config.deployments.map(build);
  /** A start that fails closes what it built, so that nothing of it is left open, listening or timing. */
  const abandon = async (error: unknown): Promise<never> => {
    await closeSites(sites);
    eventLoop.close();
    await stopTracing?.();
    throw error;
  };
  // The upload directory is one for every site: swept once.
  await sites[0]!.chat.prepare().catch(abandon);
  const served = new Sites(sites);

  // Without Connection: close, a keep-alive client holds its socket (and so the
  // drain) open until the idle timeout; while draining, every response not yet
  // started closes its connection so clients move to other instances.
  const inFlight = new Set<http.ServerResponse>();
  const server = createHttpServer(sites[0]!.app, { keepAliveTimeout: 65_000 });
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (readiness.draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  const everyOrigin = config.deployments.flatMap((d) => d.allowedOrigins);
  const caps = capConnections(server, {
    ...config.connections,
    ipv6PrefixLength: config.limits.ipv6PrefixLength,
    isTrustedProxy: sites[0]!.app.get('trust proxy fn') as (address: string, hop: number) => boolean,
  });
  const health = answerHealthFirst(
    {
      readiness,
      // Health answers to a page of any site.
      allowlist: OriginAllowlist.parse(everyOrigin),
      securityHeaders: securityHeaders(),
      corsHeaders: corsPolicyOf({ ...config, cors: { ...config.cors, allowedOrigins: everyOrigin } }).headers,
    },
    served.handle,
  );
  server.on('request', caps.guard(Object.assign(health, { handler: served.handle })));
  server.on('clientError', answerClientError);
  server.headersTimeout = 66_000;
  await listen(server, config.port, config.host).catch(abandon);
  const metrics =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsListener(config.metricsPort, config.metricsHost).catch(async (error: unknown) => {
          await new Promise((resolve) => server.close(resolve));
          return abandon(error);
        });
  for (const site of sites) startSite(site);
  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      readiness.startDraining();
      for (const site of served.all) site.chat.endStreams();
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      logger.info({ graceMs: config.shutdownGraceMs }, 'draining: no new connections, finishing in-flight work');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await closeSites(served.all);
      eventLoop.close();
      await metrics?.close();
      await stopTracing?.();
      logger.info('stopped');
    })());

  /** One reload at a time: a second SIGHUP waits for the first. */
  let reloading = Promise.resolve() as Promise<unknown>;
  const reload = (next: Config) => {
    const done = reloading.then(() =>
      reloadSites(served, next.deployments, (deployment) => startSite(build(deployment))),
    );
    reloading = done.catch(() => undefined);
    return done;
  };
  return { server, url, readiness, platform: sites[0]!.platform, metricsUrl: metrics?.url, stop, reload };
}

function startSite(site: Site): Site {
  inDeployment(site.deployment.name, () => {
    site.platform.start();
    site.chat.start();
  });
  return site;
}

async function closeSites(sites: readonly Site[]): Promise<void> {
  for (const site of sites) {
    await site.chat.close();
    await site.platform.close();
  }
}
