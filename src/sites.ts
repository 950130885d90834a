import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { Config } from './config/schema';
import type { Deployment } from './config/deployments';
import { DeploymentResolver } from './config/deploymentResolver';
import { createGenesysPlatform, type GenesysPlatform } from './genesys/platform';
import { buildChatStack, type ChatStack } from './chatStack';
import { createApp } from './http';
import { AppError } from './domain/errors';
import { inDeployment } from './observability/deploymentContext';
import type { Logger } from './observability/logger';
import { DeploymentReadiness, type Readiness } from './observability/readiness';
import { deriveKeys } from './session';

/**
 * The sites one process serves (docs/configuration.md#the-deployments-file): for each deployment, its own Genesys
 * platform (OAuth token, Messenger configuration), chat stack (sessions, sockets, budgets, shared-store keys) and
 * routes; and which of them a request is for.
 */

export interface Site {
  deployment: Deployment;
  /** The process's configuration with this deployment's settings in place of the first's. */
  config: Config;
  platform: GenesysPlatform;
  chat: ChatStack;
  app: Express;
  /** The key ids its session tokens are sealed with: a token names its site. */
  kids: ReadonlySet<string>;
}

/**
 * The configuration a deployment's site runs with. Deployments from a file each keep their shared-store keys under
 * their own name and seal with keys of their own; the single deployment of the variables keeps the keys it has
 * always had, so an upgrade finds its chats.
 */
export function siteConfig(config: Config, deployment: Deployment): Config {
  const namespaced = config.deploymentsFile !== undefined;
  return {
    ...config,
    genesys: { ...config.genesys, ...deployment.genesys },
    availability: deployment.availability,
    cors: { ...config.cors, allowedOrigins: deployment.allowedOrigins },
    identity: deployment.identity,
    signInRedirectUris: deployment.signInRedirectUris,
    redis:
      config.redis && namespaced
        ? { ...config.redis, keyPrefix: `${config.redis.keyPrefix}${deployment.name}:` }
        : config.redis,
  };
}

/** The scope a site's session tokens are sealed under (undefined: the single deployment of the variables). */
const sealScopeOf = (config: Config, deployment: Deployment) =>
  config.deploymentsFile === undefined ? undefined : deployment.name;

/** Builds one deployment's site; everything it starts (timers, sockets) runs as that deployment's work. */
export function buildSite(
  config: Config,
  deployment: Deployment,
  logger: Logger,
  readiness: Readiness,
  options: { now?: () => number; routers?: Parameters<typeof createApp>[0]['routers'] },
): Site {
  return inDeployment(deployment.name, () => {
    const own = siteConfig(config, deployment);
    // A file's deployments are named in /readyz and on log lines; the variables' one keeps today's names.
    const named = config.deploymentsFile !== undefined;
    const checks = named ? new DeploymentReadiness(readiness, deployment.name) : readiness;
    const log = named ? logger.child({ deployment: deployment.name }) : logger;
    const sealScope = sealScopeOf(config, deployment);
    const platform = createGenesysPlatform(own, log, checks);
    const chat = buildChatStack(own, log, platform, checks, { now: options.now, sealScope });
    const app = createApp({ config: own, logger: log, readiness, chat: chat.routes, routers: options.routers });
    const kids = new Set(deriveKeys(config.session.secrets, sealScope).map((k) => k.kid));
    return { deployment, config: own, platform, chat, app, kids };
  });
}

/**
 * The sites a process serves, and the handler that hands each request to its site, run as that site's work. The
 * request's `Origin` chooses (each origin belongs to one deployment); without one (a server's or a tool's request),
 * its session token's key does, else an `X-Deployment` header naming the deployment. A request from an origin no
 * deployment allows goes to the first site, whose CORS policy refuses it as a single site would.
 */
export class Sites {
  private current: readonly Site[] = [];
  private resolver = new DeploymentResolver([]);
  private byName = new Map<string, Site>();

  constructor(sites: readonly Site[]) {
    this.replace(sites);
  }

  get all(): readonly Site[] {
    return this.current;
  }

  /** Serves `sites` from the next request on. */
  replace(sites: readonly Site[]): void {
    this.resolver = new DeploymentResolver(sites.map((s) => s.deployment));
    this.byName = new Map(sites.map((s) => [s.deployment.name, s]));
    this.current = sites;
  }

  /**
   * The request listener. Its `handler` is the first site's app: every site routes the same paths, so a tool that
   * walks a listener's `handler`s to the app (connection caps, health answers) finds them there.
   */
  readonly handle = Object.defineProperty(
    (req: IncomingMessage, res: ServerResponse) => this.dispatch(req, res),
    'handler',
    { get: () => this.current[0]?.app },
  );

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const sites = this.current;
    if (sites.length === 1) return inDeployment(sites[0]!.deployment.name, () => sites[0]!.app(req, res));
    const site = siteFor(req, this.resolver, this.byName, sites);
    if (!(site instanceof AppError)) return inDeployment(site.deployment.name, () => site.app(req, res));
    // Refused as any site refuses (its headers, its problem+json): createApp answers `refusal` before any route.
    Object.assign(res, { locals: { refusal: site } });
    return sites[0]!.app(req, res);
  }
}

function siteFor(
  req: IncomingMessage,
  resolver: DeploymentResolver,
  byName: ReadonlyMap<string, Site>,
  sites: readonly Site[],
): Site | AppError {
  const origin = req.headers.origin;
  const named = header(req.headers['x-deployment']);
  if (origin !== undefined) {
    const resolved = resolver.resolve(origin, named);
    // An origin no deployment allows: the first site's CORS policy refuses it, as it refuses any foreign origin.
    if ('deployment' in resolved) return byName.get(resolved.deployment.name)!;
    if (resolved.refused === 'unknown-origin') return sites[0]!;
    return new AppError('validation_failed', `X-Deployment names "${named}", which does not serve this origin.`);
  }
  const url = new URL(req.url ?? '/', 'http://service');
  // The documents are the same for every site.
  if (DOCUMENTS.has(url.pathname)) return sites[0]!;
  const kid = kidOf(req, url);
  const bySeal = kid === undefined ? undefined : sites.find((s) => s.kids.has(kid));
  if (bySeal) return bySeal;
  if (named !== undefined && byName.has(named)) return byName.get(named)!;
  return new AppError(
    'validation_failed',
    'This service serves several deployments: send the page’s Origin, a session token, or X-Deployment ' +
      `naming one of ${sites.map((s) => s.deployment.name).join(', ')}.`,
  );
}

const DOCUMENTS: ReadonlySet<string> = new Set(['/openapi.json', '/asyncapi.json']);

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;

/** The key id in the header of the request's sealed token (bearer, or a stream ticket), if it has one. */
function kidOf(req: IncomingMessage, url: URL): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const ticket = url.searchParams.get('ticket') ?? undefined;
  const token = bearer ?? ticket;
  if (!token) return undefined;
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/** What a reload did, by deployment name. */
export interface ReloadOutcome {
  added: string[];
  removed: string[];
  /** Only the OAuth client changed: the site kept its chats and takes its next token with the new one. */
  rotated: string[];
  /** Anything else changed: a new site serves it; the old one's streams were told to reconnect. */
  rebuilt: string[];
  unchanged: string[];
}

/** How a deployment's settings changed. */
function changeOf(before: Deployment, after: Deployment): 'none' | 'credentials' | 'other' {
  const without = (d: Deployment) => JSON.stringify({ ...d, genesys: { ...d.genesys, credentials: undefined } });
  if (without(before) !== without(after)) return 'other';
  if (JSON.stringify(before.genesys.credentials) === JSON.stringify(after.genesys.credentials)) return 'none';
  // Credentials taken away, or given where there were none, change which Platform features exist: a new site.
  return before.genesys.credentials && after.genesys.credentials ? 'credentials' : 'other';
}

/**
 * Serves `next`'s deployments (a reload of the deployments file): a site for each new one, none for a removed
 * one, the new OAuth client for one whose only change it is, and a new site for one otherwise changed. The sites
 * of deployments that did not change go on untouched, with their chats. `build` makes and starts a site.
 */
export async function reloadSites(
  sites: Sites,
  next: readonly Deployment[],
  build: (deployment: Deployment) => Site,
): Promise<ReloadOutcome> {
  const outcome: ReloadOutcome = { added: [], removed: [], rotated: [], rebuilt: [], unchanged: [] };
  const before = new Map(sites.all.map((s) => [s.deployment.name, s]));
  const serving: Site[] = [];
  const retired: Site[] = [];
  for (const deployment of next) {
    const site = before.get(deployment.name);
    before.delete(deployment.name);
    const change = site ? changeOf(site.deployment, deployment) : 'new';
    if (site && change === 'none') {
      outcome.unchanged.push(deployment.name);
      serving.push(site);
    } else if (site && change === 'credentials') {
      site.platform.tokenCache!.rotate(deployment.genesys.credentials!);
      outcome.rotated.push(deployment.name);
      serving.push({
        ...site,
        deployment,
        config: { ...site.config, genesys: { ...site.config.genesys, ...deployment.genesys } },
      });
    } else {
      (site ? outcome.rebuilt : outcome.added).push(deployment.name);
      if (site) retired.push(site);
      serving.push(build(deployment));
    }
  }
  outcome.removed = [...before.keys()];
  retired.push(...before.values());
  sites.replace(serving);
  for (const site of retired) {
    site.chat.endStreams();
    await site.chat.close();
    await site.platform.close();
  }
  return outcome;
}
