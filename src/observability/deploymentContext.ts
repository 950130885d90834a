import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which deployment (docs/configuration.md#the-deployments-file) the work under way is for. Each deployment's parts are
 * built, and each request for it served, inside `inDeployment(name, …)` (src/deployments, src/http/app.ts), so its
 * timers, sockets and awaits carry the name: the one way it reaches metric labels, log lines and spans, once each.
 */

/** The name of the deployment the single-deployment variables configure (deployments.ts keeps it in step). */
const DEFAULT_NAME = 'default';

const storage = new AsyncLocalStorage<string>();

/** Runs `work` as work for the deployment `name`: everything it starts or awaits carries the name. */
export function inDeployment<T>(name: string, work: () => T): T {
  return storage.run(name, work);
}

/** The deployment the current work is for, as a metric label: `default` for work of the process itself. */
export function currentDeployment(): string {
  return storage.getStore() ?? DEFAULT_NAME;
}

/** The deployment the current work is for; undefined for work of the process itself (its store, its listener). */
export function deploymentOfWork(): string | undefined {
  return storage.getStore();
}
