import { originOverlaps, type Deployment } from './deployments';
import { OriginAllowlist } from './originAllowlist';

/**
 * Which deployment serves a request (docs/configuration.md#the-deployments-file): the one whose origins allow the
 * request's `Origin`. Each origin belongs to one deployment (the resolver refuses a set where two share one), so an
 * explicit deployment name can only confirm the origin's deployment, never pick another site's. Pure: no I/O.
 */

export type Resolution =
  | { deployment: Deployment }
  | {
      refused:
        /** No deployment allows the Origin. */
        | 'unknown-origin'
        /** The name is not the Origin's deployment (another site's, or no deployment's). */
        | 'not-for-origin'
        /** No Origin (not a browser's request) and more than one deployment to choose from. */
        | 'origin-required';
    };

export class DeploymentResolver {
  private readonly sites: ReadonlyArray<{ deployment: Deployment; origins: OriginAllowlist }>;

  constructor(deployments: readonly Deployment[]) {
    const overlaps = originOverlaps(deployments);
    if (overlaps.length > 0) {
      const { entry, earlier } = overlaps[0]!;
      throw new Error(
        `origin "${entry.pattern.source}" of deployment "${entry.name}" overlaps "${earlier.pattern.source}" of ` +
          `deployment "${earlier.name}": each origin must belong to one deployment`,
      );
    }
    this.sites = deployments.map((deployment) => ({
      deployment,
      origins: OriginAllowlist.parse(deployment.allowedOrigins),
    }));
  }

  /** The deployment whose origins allow `origin`, if any. */
  forOrigin(origin: string): Deployment | undefined {
    return this.sites.find((site) => site.origins.allows(origin))?.deployment;
  }

  /**
   * The deployment for a request with this `Origin` (undefined: none sent) and, optionally, an explicit deployment
   * name. Without an Origin the only deployment serves, as the service does today; with several, none is guessed.
   */
  resolve(origin: string | undefined, name?: string): Resolution {
    const deployment =
      origin === undefined ? (this.sites.length === 1 ? this.sites[0]!.deployment : undefined) : this.forOrigin(origin);
    if (deployment === undefined) return { refused: origin === undefined ? 'origin-required' : 'unknown-origin' };
    if (name !== undefined && name !== deployment.name) return { refused: 'not-for-origin' };
    return { deployment };
  }
}
