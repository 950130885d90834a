import type { Deployment } from './deployments';
import { readDeploymentsFile } from './deploymentsFile';
import type { envSchema } from './variables';

/**
 * The deployments loadConfig takes from DEPLOYMENTS_FILE (docs/configuration.md#the-deployments-file): every entry
 * of the file, each served by this one process (src/sites.ts).
 */

/** The variables of one deployment, with the file key that takes each one's place in a deployments file. */
export const DEPLOYMENT_VARIABLES = {
  GENESYS_REGION: 'region',
  GENESYS_DEPLOYMENT_ID: 'deploymentId',
  CORS_ALLOWED_ORIGINS: 'origins',
  GENESYS_ORIGIN: 'genesysOrigin',
  GENESYS_CLIENT_ID: 'clientId',
  GENESYS_CLIENT_SECRET: 'clientSecret or clientSecretEnv',
  GENESYS_LOGIN_URL: 'loginUrl',
  GENESYS_API_URL: 'apiUrl',
  GENESYS_WEBMESSAGING_URL: 'webMessagingUrl',
  GENESYS_CDN_URL: 'cdnUrl',
  IDENTITY_JWT_SECRET: 'identity.jwtSecret or identity.jwtSecretEnv',
  IDENTITY_JWKS_URL: 'identity.jwksUrl',
  IDENTITY_ISSUER: 'identity.issuer',
  IDENTITY_AUDIENCE: 'identity.audience',
  IDENTITY_CLOCK_TOLERANCE_SECONDS: 'identity.clockToleranceSeconds',
  IDENTITY_MAX_TOKEN_AGE_SECONDS: 'identity.maxTokenAgeSeconds',
  SIGN_IN_REDIRECT_URIS: 'signIn.redirectUris',
  GENESYS_QUEUE_ID: 'availability.queueIds',
  GENESYS_SCHEDULE_GROUP_ID: 'availability.scheduleGroupId',
  GENESYS_EMERGENCY_GROUP_ID: 'availability.emergencyGroupId',
  AVAILABILITY_REFRESH_SECONDS: 'availability.refreshSeconds',
  AVAILABILITY_STALE_SECONDS: 'availability.staleSeconds',
} as const satisfies Partial<Record<keyof typeof envSchema.shape, string>>;

/**
 * The deployments DEPLOYMENTS_FILE gives, for loadConfig, their problems added to `problems`: the file's own, and a
 * deployment variable set beside it (unless the file names it as a secret's source).
 */
export function deploymentsFromFile(
  file: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
  read?: (file: string) => string,
): Deployment[] | undefined {
  const result = readDeploymentsFile(file, env, read);
  for (const [variable, key] of Object.entries(DEPLOYMENT_VARIABLES)) {
    if (env[variable]?.trim() && !result.variablesRead.includes(variable)) {
      problems.push(
        `${variable} is set with DEPLOYMENTS_FILE: the deployment's settings come from the file alone; ` +
          `give it as \`${key}\` in ${file} and unset ${variable}`,
      );
    }
  }
  if ('problems' in result) {
    problems.push(...result.problems);
    return undefined;
  }
  return result.deployments;
}
