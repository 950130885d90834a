import { DEFAULT_DEPLOYMENT_NAME, type Deployment } from '../config/deployment';
import { loadDeploymentsFile } from '../config/deploymentsFile';
import { variablesBesideFile } from '../config/deploymentVariables';
import { baseUrlsFor, findRegion } from '../config/regions';
import { availabilityTargetFromEnv } from './verifyAvailability';
import type { VerifyTarget } from './verifyRun';

/**
 * Which deployments `npm run verify:genesys` checks: with DEPLOYMENTS_FILE, the file's, read by the service's own
 * loader (so a file the service would refuse is refused with the same problems), every one in turn or the one
 * named; else the one the single-deployment variables describe.
 */

/** The deployments a run checks, in the file's order, or every problem that stops it. */
export type VerifyTargets = { targets: VerifyTarget[] } | { problems: string[] };

/** The Genesys settings of one deployment of the file, as the service would use them. */
export function targetOfDeployment(deployment: Deployment, timeoutMs?: number): VerifyTarget {
  const { genesys, availability } = deployment;
  return {
    name: deployment.name,
    deploymentId: genesys.deploymentId,
    origin: genesys.origin,
    webMessagingUrl: genesys.webMessagingUrl,
    apiUrl: genesys.apiUrl,
    cdnUrl: genesys.cdnUrl,
    timeoutMs,
    availability: {
      loginUrl: genesys.loginUrl,
      apiUrl: genesys.apiUrl,
      clientId: genesys.credentials?.clientId,
      clientSecret: genesys.credentials?.clientSecret,
      queueIds: availability.queueIds,
      scheduleGroupId: availability.scheduleGroupId,
      emergencyGroupId: availability.emergencyGroupId,
    },
  };
}

/**
 * The deployments to check: DEPLOYMENTS_FILE's when it is set (each, or only `name`), else the variables' one (which
 * `name`, if given, must call `default`, the name the service gives it).
 */
export async function verifyTargets(env: NodeJS.ProcessEnv, name?: string): Promise<VerifyTargets> {
  const timeout = env.GENESYS_TIMEOUT_MS?.trim();
  const timeoutMs = timeout ? Number(timeout) : undefined;
  const file = env.DEPLOYMENTS_FILE?.trim();
  let targets: VerifyTarget[];
  if (file) {
    const read = await loadDeploymentsFile(file, env);
    const problems = [
      ...('problems' in read ? read.problems : []),
      ...variablesBesideFile(env, file, read.variablesRead),
    ];
    if ('problems' in read || problems.length > 0) return { problems };
    targets = read.deployments.map((d) => targetOfDeployment(d, timeoutMs));
  } else {
    const single = targetFromEnv(env);
    if (Array.isArray(single)) return { problems: single };
    targets = [single];
  }
  if (name === undefined) return { targets };
  const chosen = targets.filter((t) => t.name === name);
  if (chosen.length > 0) return { targets: chosen };
  const known = targets.map((t) => t.name).join(', ');
  return {
    problems: [
      file
        ? `--deployment ${name}: ${file} has no deployment of that name (it has ${known})`
        : `--deployment ${name}: without DEPLOYMENTS_FILE the one deployment is named ${DEFAULT_DEPLOYMENT_NAME}`,
    ],
  };
}

/**
 * The Genesys part of the service's environment, read as the service reads it (a blank value is unset; the origin
 * falls back to the first exact CORS_ALLOWED_ORIGINS entry); nothing else is needed. What is missing is named, and
 * only that.
 */
export function targetFromEnv(env: NodeJS.ProcessEnv): VerifyTarget | string[] {
  const value = (name: string) => env[name]?.trim() || undefined;
  const problems: string[] = [];
  const regionName = value('GENESYS_REGION');
  const region = regionName ? findRegion(regionName) : undefined;
  if (!regionName) problems.push('GENESYS_REGION is not set (e.g. mypurecloud.ie)');
  else if (!region) problems.push(`GENESYS_REGION "${regionName}" is not a Genesys Cloud region`);
  const deploymentId = value('GENESYS_DEPLOYMENT_ID');
  if (!deploymentId) problems.push('GENESYS_DEPLOYMENT_ID is not set (the Messenger deployment id)');
  const allowed = value('CORS_ALLOWED_ORIGINS');
  const origin =
    value('GENESYS_ORIGIN') ??
    allowed
      ?.split(',')
      .map((o) => o.trim())
      .find((o) => o && !o.includes('*'));
  if (!origin) {
    problems.push(
      allowed
        ? 'GENESYS_ORIGIN is not set and CORS_ALLOWED_ORIGINS has no exact origin to fall back on: ' +
            "set GENESYS_ORIGIN to an origin on the deployment's allowed domains, e.g. https://shop.example.com"
        : 'no origin to present to Genesys: set CORS_ALLOWED_ORIGINS (its first exact origin is used, ' +
            'as by the service) or GENESYS_ORIGIN, e.g. https://shop.example.com, ' +
            "an origin on the deployment's allowed domains",
    );
  }
  if (problems.length > 0 || !region || !deploymentId || !origin) return problems;
  const derived = baseUrlsFor(region.domain);
  const timeout = value('GENESYS_TIMEOUT_MS');
  return {
    name: DEFAULT_DEPLOYMENT_NAME,
    deploymentId,
    origin,
    webMessagingUrl: value('GENESYS_WEBMESSAGING_URL') ?? derived.webMessagingUrl,
    apiUrl: value('GENESYS_API_URL') ?? derived.apiUrl,
    cdnUrl: value('GENESYS_CDN_URL') ?? derived.cdnUrl,
    timeoutMs: timeout ? Number(timeout) : undefined,
    availability: availabilityTargetFromEnv(env, {
      loginUrl: derived.loginUrl,
      apiUrl: value('GENESYS_API_URL') ?? derived.apiUrl,
    }),
  };
}
