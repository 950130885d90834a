/**
 * A deployment's canary (docs/operations.md#canaries): a synthetic conversation through the service's own chat once
 * per interval, one instance running it for all, its outcome counted, kept for GET /canary and logged.
 */
export { DeploymentCanary, canaryText } from './deploymentCanary';
export type { DeploymentCanaryOptions } from './deploymentCanary';
export type { CanaryRecord } from './canaryRecords';
export { runCanary } from './canaryRun';
export type { CanaryParts, CanaryResult, CanaryStep, CanaryOutcome } from './canaryRun';
