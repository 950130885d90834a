import type { IncomingMessage } from 'node:http';
import { originOverlaps } from '../config/deployment';
import { AppError } from '../domain/errors';
import type { DeploymentChoice } from '../http';
import { keyIdOf } from '../session';
import type { ServedDeployment } from './servedDeployment';

/**
 * The deployments the process serves now, and which of them a request is for
 * (docs/configuration.md#the-deployments-file):
 *
 * - a browser's request names its page's `Origin`, which belongs to one deployment (no two share one);
 * - a request without an `Origin` carrying something this service sealed (a bearer session token, a stream
 *   `ticket`, an attachment `link`, an e-mail's confirm or stop link `t`) is for the deployment whose key sealed
 *   it: what a browser loads without an `Origin`, an `<img>` or an opened link, names its deployment this way;
 * - else an `X-Deployment` header naming one (a server's or a tool's request);
 * - else, with several deployments, none: the process's own routes (health, documents, problem pages) serve it,
 *   any other route answers 400 saying how to choose.
 *
 * With one deployment every request is for it. With several, every answer varies on what could have chosen.
 */
export class ServedDeployments {
  private current: readonly ServedDeployment[] = [];
  private byName = new Map<string, ServedDeployment>();
  private byKeyId = new Map<string, ServedDeployment>();

  constructor(deployments: readonly ServedDeployment[]) {
    this.replace(deployments);
  }

  get all(): readonly ServedDeployment[] {
    return this.current;
  }

  /** Serves `deployments` from the next request on; refuses (throws) a set in which two share an origin. */
  replace(deployments: readonly ServedDeployment[]): void {
    const overlap = originOverlaps(deployments.map((d) => d.deployment))[0];
    if (overlap) {
      const { entry, earlier } = overlap;
      throw new Error(
        `origin "${entry.pattern.source}" of deployment "${entry.name}" overlaps "${earlier.pattern.source}" of ` +
          `deployment "${earlier.name}": each origin must belong to one deployment`,
      );
    }
    this.byName = new Map(deployments.map((d) => [d.deployment.name, d]));
    this.byKeyId = new Map(deployments.flatMap((d) => [...d.keyIds].map((kid) => [kid, d] as const)));
    this.current = deployments;
  }

  /** Whether a page of `origin` is served by some deployment (health answers it with CORS headers). */
  allows(origin: string): boolean {
    return this.current.some((d) => d.edge.origins.allows(origin));
  }

  /** The deployment `req` is for, or why none is. */
  choose(req: IncomingMessage): DeploymentChoice {
    const all = this.current;
    if (all.length === 1) return { deployment: all[0]!.edge, vary: [] };
    const chosen = this.chooseAmong(req);
    return { ...chosen, vary: VARY };
  }

  private chooseAmong(req: IncomingMessage): Omit<DeploymentChoice, 'vary'> {
    const origin = req.headers.origin;
    const named = header(req.headers['x-deployment']);
    if (origin !== undefined) {
      // An origin no deployment allows is refused by CORS, as any foreign origin is.
      const byOrigin = this.current.find((d) => d.edge.origins.allows(origin));
      if (byOrigin && named !== undefined && named !== byOrigin.deployment.name) {
        return {
          deployment: byOrigin.edge,
          refusal: new AppError(
            'validation_failed',
            `X-Deployment names "${named.slice(0, 40)}", which does not serve this origin.`,
          ),
        };
      }
      return { deployment: byOrigin?.edge };
    }
    const kid = sealedKeyId(req);
    const bySeal = kid === undefined ? undefined : this.byKeyId.get(kid);
    if (bySeal) return { deployment: bySeal.edge };
    const byName = named === undefined ? undefined : this.byName.get(named);
    if (byName) return { deployment: byName.edge };
    const names = this.current.map((d) => d.deployment.name).join(', ');
    return {
      refusal: new AppError(
        'validation_failed',
        named === undefined
          ? `This service serves several deployments (${names}): send the page's Origin, a session token, or ` +
              'X-Deployment naming one.'
          : `X-Deployment names "${named.slice(0, 40)}", which this service does not serve; it serves ${names}.`,
      ),
    };
  }
}

/** What chooses a deployment among several (a sealed link or ticket is part of the URL, which a cache keys on). */
const VARY = ['Origin', 'X-Deployment', 'Authorization'] as const;

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;

/** The key id of what the request carries sealed: its bearer token, stream ticket or attachment link. */
function sealedKeyId(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return keyIdOf(bearer);
  const query = req.url?.indexOf('?') ?? -1;
  if (query < 0) return undefined;
  const params = new URLSearchParams(req.url!.slice(query + 1));
  // `t`: the confirm or stop link of an e-mail.
  const sealed = params.get('ticket') ?? params.get('link') ?? params.get('t');
  return sealed === null ? undefined : keyIdOf(sealed);
}
