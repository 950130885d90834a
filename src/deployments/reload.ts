import type { Deployment } from '../config/deployment';
import type { ServedDeployment } from './servedDeployment';
import type { ServedDeployments } from './servedDeployments';

/** What a reload did, by deployment name. */
export interface ReloadOutcome {
  added: string[];
  removed: string[];
  /** Only the OAuth client changed: the deployment kept its chats and takes its next token with the new one. */
  rotated: string[];
  /** Anything else changed: it was built anew; its streams were told to reconnect. */
  rebuilt: string[];
  unchanged: string[];
}

/** How a deployment's settings changed. */
function changeOf(before: Deployment, after: Deployment): 'none' | 'credentials' | 'other' {
  const without = (d: Deployment) => JSON.stringify({ ...d, genesys: { ...d.genesys, credentials: undefined } });
  if (without(before) !== without(after)) return 'other';
  if (JSON.stringify(before.genesys.credentials) === JSON.stringify(after.genesys.credentials)) return 'none';
  // Credentials taken away, or given where there were none, change which Platform features exist: built anew.
  return before.genesys.credentials && after.genesys.credentials ? 'credentials' : 'other';
}

/**
 * Serves `next` (a reload of the deployments file): a new deployment is built and started, a removed one stops, one
 * whose only change is its OAuth client rotates it, one otherwise changed is built anew. The others go on untouched,
 * with their chats. A deployment built anew keeps its records: they are in the process's store under its name, which
 * did not change (a renamed deployment is a removed one and a new one). `build` makes and starts a deployment.
 */
export async function reloadDeployments(
  served: ServedDeployments,
  next: readonly Deployment[],
  build: (deployment: Deployment) => ServedDeployment,
): Promise<ReloadOutcome> {
  const outcome: ReloadOutcome = { added: [], removed: [], rotated: [], rebuilt: [], unchanged: [] };
  const before = new Map(served.all.map((d) => [d.deployment.name, d]));
  const serving: ServedDeployment[] = [];
  const retired: ServedDeployment[] = [];
  const built: ServedDeployment[] = [];
  try {
    for (const deployment of next) {
      const running = before.get(deployment.name);
      before.delete(deployment.name);
      const change = running ? changeOf(running.deployment, deployment) : 'new';
      if (running && change === 'none') {
        outcome.unchanged.push(deployment.name);
        serving.push(running);
      } else if (running && change === 'credentials') {
        outcome.rotated.push(deployment.name);
        serving.push({ ...running, deployment });
      } else {
        (running ? outcome.rebuilt : outcome.added).push(deployment.name);
        if (running) retired.push(running);
        const fresh = build(deployment);
        built.push(fresh);
        serving.push(fresh);
      }
    }
    served.replace(serving);
  } catch (error) {
    // Nothing of a reload that failed half way is served: what it built stops, the running set stays.
    for (const deployment of built) await deployment.close();
    throw error;
  }
  for (const d of serving)
    if (outcome.rotated.includes(d.deployment.name)) d.platform.tokenCache!.rotate(d.deployment.genesys.credentials!);
  outcome.removed = [...before.keys()];
  retired.push(...before.values());
  for (const deployment of retired) {
    deployment.endStreams();
    await deployment.close();
  }
  return outcome;
}
