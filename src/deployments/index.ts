/**
 * The deployments this process serves (docs/architecture.md#deployments): the parts the process builds once and
 * every deployment shares, one deployment's own parts on them, which deployment a request is for, and a reload.
 */
export { buildProcessParts, type ProcessParts } from './processParts';
export { buildDeployment, scopeOf, storeOf, type ServedDeployment } from './servedDeployment';
export { ServedDeployments } from './servedDeployments';
export { reloadDeployments, type ReloadOutcome } from './reload';
