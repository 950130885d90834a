import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which deployment (docs/configuration.md#the-deployments-file) the work under way is for. Each site's stack is
 * built, and each of its requests served, inside `inDeployment(name, …)`, so its timers, sockets and awaits carry
 * the name; metrics label with it and log lines name it. Outside any, the work is the only deployment's.
 */

/** The name of the deployment the single-deployment variables configure (deployments.ts keeps it in step). */
const DEFAULT_NAME = 'default';

const storage = new AsyncLocalStorage<string>();

/** Runs `work` as work for the deployment `name`: everything it starts or awaits carries the name. */
export function inDeployment<T>(name: string, work: () => T): T {
  return storage.run(name, work);
}

/** The deployment the current work is for. */
export function currentDeployment(): string {
  return storage.getStore() ?? DEFAULT_NAME;
}
