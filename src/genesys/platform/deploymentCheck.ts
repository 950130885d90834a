import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import { DependencyState, type CheckState } from '../../observability/readiness';
import { TokenUnavailableError } from './tokenCache';
import type { SettingNames } from '../../config/deployment';
import { originMismatches } from './allowedDomains';
import { PlatformApiError, type PlatformClient } from './platformClient';
import { RefreshingValue } from './refreshingValue';

/** The permission the deployment check reads with (docs/genesys-protocol.md#web-deployments). */
export const DEPLOYMENT_CHECK_PERMISSION = 'webDeployments:deployment:view';

/**
 * The deployment preflight: reads the Messenger deployment with the Platform
 * API (`GET /api/v2/webdeployments/deployments/{id}`, docs/genesys-protocol.md#web-deployments),
 * fails readiness unless it is `Active`, and warns when the deployment's
 * allowed domains do not match this service's origins. Re-read every TTL.
 */
const webDeploymentSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  // Pending | Active | Inactive | Error | Deleting; kept a string so a new value is reported, not a crash.
  status: z.string().optional(),
  allowAllDomains: z.boolean().optional(),
  allowedDomains: z.array(z.string()).optional(),
});

interface WebDeploymentSummary {
  id: string;
  name?: string;
  status: string;
  allowAllDomains: boolean;
  allowedDomains: string[];
}

interface DeploymentState extends CheckState {
  status?: string;
}

interface DeploymentCheckOptions {
  platform: Pick<PlatformClient, 'request'>;
  deploymentId: string;
  /** The region domain, for messages. */
  region: string;
  ttlMs: number;
  allowedOrigins: readonly string[];
  /** The Origin presented to Genesys. */
  genesysOrigin: string;
  /** The deployment's settings as its messages name them. */
  named: SettingNames;
  logger: Logger;
  now?: () => number;
  onState?: (state: DeploymentState) => void;
}

/** What to do about a deployment in each status but Active; `deploymentId`: the setting that names it. */
const STATUS_ADVICE: Record<string, (deploymentId: string) => string> = {
  Pending: () => 'Genesys is still deploying it; this check passes once it is Active.',
  Inactive: (deploymentId) =>
    `activate it under Admin > Message > Messenger Deployments, or set ${deploymentId} to an active deployment.`,
  Error: () => 'Genesys could not deploy it; open it under Admin > Message > Messenger Deployments and save it again.',
  Deleting: (deploymentId) => `it is being deleted; set ${deploymentId} to another deployment.`,
};

export class DeploymentCheck {
  private readonly deployment: RefreshingValue<WebDeploymentSummary>;
  private readonly warned = new Set<string>();
  private readonly check: DependencyState<DeploymentState>;

  constructor(private readonly options: DeploymentCheckOptions) {
    this.check = new DependencyState({
      initial: { ok: false, detail: 'Checking the Messenger deployment.' },
      logger: options.logger,
      logFields: { deploymentId: options.deploymentId },
      onState: options.onState,
    });
    this.deployment = new RefreshingValue({
      load: () => this.fetch(),
      ttlMs: options.ttlMs,
      retryMs: Math.min(options.ttlMs, 30_000),
      now: options.now,
      onLoaded: (deployment) => this.loaded(deployment),
      onFailed: (error, stale) => this.failed(error, stale),
    });
  }

  /** Starts the first check; later ones follow every TTL in the background. */
  start(): void {
    this.deployment.refresh();
  }

  /** The deployment as last read (re-read when older than the TTL). */
  get(): Promise<WebDeploymentSummary> {
    return this.deployment.get();
  }

  state(): DeploymentState {
    return this.check.current;
  }

  close(): void {
    this.deployment.close();
  }

  private async fetch(): Promise<WebDeploymentSummary> {
    const data = await this.options.platform.request<unknown>({
      method: 'GET',
      path: `/api/v2/webdeployments/deployments/${encodeURIComponent(this.options.deploymentId)}`,
    });
    const parsed = webDeploymentSchema.safeParse(data);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      this.options.logger.error(
        { deploymentId: this.options.deploymentId, issues },
        'Genesys answered the deployment request with an unexpected body',
      );
      throw new AppError('upstream_unavailable', 'Genesys answered the deployment request with an unexpected body.', {
        status: 502,
      });
    }
    const { id, name, status, allowAllDomains, allowedDomains } = parsed.data;
    return {
      id,
      name,
      status: status ?? 'unknown',
      allowAllDomains: allowAllDomains ?? false,
      allowedDomains: allowedDomains ?? [],
    };
  }

  private loaded(deployment: WebDeploymentSummary): void {
    for (const warning of originMismatches(
      deployment,
      this.options.allowedOrigins,
      this.options.genesysOrigin,
      this.options.named,
    )) {
      if (this.warned.has(warning)) continue;
      this.warned.add(warning);
      this.options.logger.warn({ deploymentId: deployment.id }, warning);
    }
    const state = stateOf(deployment, this.options.named.deploymentId);
    this.check.set(state, { level: state.ok ? 'info' : 'error' });
  }

  private failed(error: unknown, stale: WebDeploymentSummary | undefined): void {
    const { region } = this.options;
    const upstream = error instanceof PlatformApiError ? error.upstream : undefined;
    if (upstream?.status === 403) {
      this.check.set(
        {
          ok: false,
          detail:
            `The OAuth client may not read the Messenger deployment in ${region} ` +
            `(403 ${upstream.code ?? 'forbidden'}): give the OAuth client a role with the permission ` +
            `${DEPLOYMENT_CHECK_PERMISSION} (Admin > Roles / Permissions, docs/genesys-setup.md), ` +
            `or unset ${this.options.named.credentials} to run without the Platform API.`,
        },
        { level: 'error' },
      );
    } else if (upstream?.status === 404) {
      this.check.set(
        {
          ok: false,
          detail:
            `Genesys has no Messenger deployment with this ${this.options.named.deploymentId} in ${region} ` +
            `(404 ${upstream.code ?? 'not found'}): copy the id from Admin > Message > Messenger Deployments ` +
            `and check that ${this.options.named.region} is the region of your Genesys Cloud org.`,
        },
        { level: 'error' },
      );
    } else if (error instanceof TokenUnavailableError) {
      // The token check reports (and logs) the cause.
      this.check.set({
        ok: false,
        detail: 'The Messenger deployment cannot be checked without an OAuth token (see the token check).',
      });
    } else if (stale) {
      // Through a Genesys hiccup the check reports the status last read.
      const last = stateOf(stale, this.options.named.deploymentId);
      this.check.set(
        { ...last, detail: `${last.detail} Re-reading it failed just now; retrying.` },
        { level: last.ok ? 'warn' : 'error' },
      );
    } else {
      this.check.set(
        { ok: false, detail: 'The Messenger deployment could not be read from Genesys (see the log); retrying.' },
        { level: 'error' },
      );
    }
  }
}

function stateOf(deployment: WebDeploymentSummary, deploymentIdNamed: string): DeploymentState {
  const label = deployment.name ? `Messenger deployment "${deployment.name}"` : 'The Messenger deployment';
  if (deployment.status === 'Active') return { ok: true, status: deployment.status, detail: `${label} is Active.` };
  const advice =
    STATUS_ADVICE[deployment.status]?.(deploymentIdNamed) ?? 'only an Active deployment can start conversations.';
  return {
    ok: false,
    status: deployment.status,
    detail: `${label} (${deploymentIdNamed}) is ${deployment.status}, not Active: ${advice}`,
  };
}
