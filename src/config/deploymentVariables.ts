import { DEFAULT_DEPLOYMENT_NAME } from './deployment';
import { deploymentsOf, type DeploymentsRead, type Naming } from './deploymentRules';
import type { envSchema } from './variables';

/**
 * The single-deployment variables, read as what they are: another way to write one entry of the deployments list.
 * Each variable stands for one key of an entry; the entry they make is checked by the rules every file entry is
 * (deploymentRules.ts), and its problems name the variables.
 */

type Variable = keyof typeof envSchema.shape;

/** Each variable of one deployment, and the key of a deployments-file entry that takes its place. */
export const DEPLOYMENT_VARIABLES = {
  GENESYS_REGION: 'region',
  GENESYS_DEPLOYMENT_ID: 'deploymentId',
  CORS_ALLOWED_ORIGINS: 'origins',
  GENESYS_ORIGIN: 'genesysOrigin',
  GENESYS_CLIENT_ID: 'clientId',
  GENESYS_CLIENT_SECRET: 'clientSecret',
  GENESYS_LOGIN_URL: 'loginUrl',
  GENESYS_API_URL: 'apiUrl',
  GENESYS_WEBMESSAGING_URL: 'webMessagingUrl',
  GENESYS_CDN_URL: 'cdnUrl',
  READ_RECEIPTS: 'readReceipts',
  IDENTITY_JWT_SECRET: 'identity.jwtSecret',
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
  CANARY_INTERVAL_SECONDS: 'canary.intervalSeconds',
  CANARY_ATTRIBUTE: 'canary.attribute',
  CANARY_EXPECT: 'canary.expect',
  MASKING: 'masking.detectors',
  MASKING_MODE: 'masking.mode',
  MASKING_PATTERNS: 'masking.patterns',
  WEBHOOK_URL: 'webhooks.url',
  WEBHOOK_SECRET: 'webhooks.secret',
  WEBHOOK_EVENTS: 'webhooks.events',
  VAPID_PUBLIC_KEY: 'notifications.vapidPublicKey',
  VAPID_PRIVATE_KEY: 'notifications.vapidPrivateKey',
  VAPID_SUBJECT: 'notifications.vapidSubject',
  NOTIFY_AFTER_SECONDS: 'notifications.afterSeconds',
  NOTIFY_PREVIEW: 'notifications.preview',
  SMTP_URL: 'notifications.smtpUrl',
  EMAIL_FROM: 'notifications.emailFrom',
  EMAIL_AFTER_SECONDS: 'notifications.emailAfterSeconds',
  EMAIL_PREVIEW: 'notifications.emailPreview',
  EMAIL_DAILY_MAX: 'notifications.emailDailyMax',
} as const satisfies Partial<Record<Variable, string>>;

export type DeploymentVariable = keyof typeof DEPLOYMENT_VARIABLES;

/** Keys a file may give as the name of the variable holding the secret instead (`clientSecretEnv`). */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'clientSecret',
  'identity.jwtSecret',
  'webhooks.secret',
  'notifications.vapidPrivateKey',
  'notifications.smtpUrl',
]);

const VARIABLE_OF: ReadonlyMap<string, DeploymentVariable> = new Map(
  Object.entries(DEPLOYMENT_VARIABLES).map(([variable, key]) => [key, variable as DeploymentVariable]),
);

const LIST_KEYS: ReadonlySet<string> = new Set([
  'origins',
  'signIn.redirectUris',
  'availability.queueIds',
  'masking.detectors',
  'webhooks.events',
]);

/** What loadConfig has of each variable: the parsed value where it parsed, else the raw string (or nothing). */
export type VariableValues = Partial<Record<DeploymentVariable, unknown>>;

/** A problem's subject: a variable stands before a verb (`GENESYS_REGION is required`), else before a colon. */
function written(variable: string | undefined, message: string): string {
  if (variable === undefined) return `${message[0]!.toUpperCase()}${message.slice(1)}`;
  return /^(is|must|may|names|give) /.test(message) ? `${variable} ${message}` : `${variable}: ${message}`;
}

const naming: Naming = {
  problem: (_index, path, message) => {
    const key = path.filter((p) => typeof p === 'string').join('.');
    return written(VARIABLE_OF.get(key), message);
  },
  key: (key) => VARIABLE_OF.get(key) ?? key,
  settings: (_deployment, keys) => keys.map((key) => VARIABLE_OF.get(key) ?? key).join(' and '),
};

/** `value` split at commas, blanks dropped; a value already parsed is taken as it is. */
function list(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The entry the variables describe, as a file would write it: each key from its variable, a group (identity,
 * sign-in) only when one of its variables is set. `values` holds each variable loadConfig read, parsed where its
 * own shape parsed it (numbers, URLs) and left out where that failed (the variable's own problem is reported).
 */
export function entryOfVariables(values: VariableValues): Record<string, unknown> {
  const entry: Record<string, unknown> = { name: DEFAULT_DEPLOYMENT_NAME, availability: {}, notifications: {} };
  for (const [variable, key] of Object.entries(DEPLOYMENT_VARIABLES)) {
    const value = values[variable as DeploymentVariable];
    if (value === undefined) continue;
    const [group, field] = key.includes('.') ? key.split('.') : [undefined, key];
    const written = LIST_KEYS.has(key) ? list(value) : value;
    if (group === undefined) entry[field!] = written;
    else entry[group] = { ...(entry[group] as object | undefined), [field!]: written };
  }
  // GENESYS_SCHEDULE_GROUP_ID and GENESYS_EMERGENCY_GROUP_ID name one id each; their shapes read a list.
  const availability = entry.availability as Record<string, unknown>;
  for (const one of ['scheduleGroupId', 'emergencyGroupId'])
    if (Array.isArray(availability[one])) availability[one] = (availability[one] as unknown[])[0];
  // The webhook variables describe one endpoint of the list a file gives.
  if (entry.webhooks !== undefined) entry.webhooks = [entry.webhooks];
  // CORS_ALLOWED_ORIGINS unset or blank: the origins are missing, however the variable was written.
  if (Array.isArray(entry.origins) && entry.origins.length === 0) delete entry.origins;
  return entry;
}

/** The one deployment the variables describe, or every problem with it, each naming its variable. */
export function deploymentOfVariables(values: VariableValues, env: NodeJS.ProcessEnv): DeploymentsRead {
  return deploymentsOf([entryOfVariables(values)], env, naming);
}

/**
 * A deployment variable set beside DEPLOYMENTS_FILE is a mistake (the file alone says what the deployments are),
 * unless the file names it as a secret's source.
 */
export function variablesBesideFile(env: NodeJS.ProcessEnv, file: string, namedByFile: readonly string[]): string[] {
  return Object.entries(DEPLOYMENT_VARIABLES)
    .filter(([variable]) => env[variable]?.trim() && !namedByFile.includes(variable))
    .map(
      ([variable, key]) =>
        `${variable} is set with DEPLOYMENTS_FILE: the deployments come from the file alone; ` +
        `give it as \`${key}\` of an entry in ${file} and unset ${variable}`,
    );
}
