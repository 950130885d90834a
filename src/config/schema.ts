import type { z } from 'zod';
import { checkRedis, type RedisConfig } from './redisTopology';
import { limitsOf, type LimitsConfig } from './limits';
import { LOG_LEVELS } from './operationVariables';
import { envSchema } from './variables';
import type { Deployment } from './deployment';
import type { DeploymentsRead } from './deploymentRules';
import {
  DEPLOYMENT_VARIABLES,
  deploymentOfVariables,
  variablesBesideFile,
  type DeploymentVariable,
  type VariableValues,
} from './deploymentVariables';
import { loadDeploymentsFile, type DeploymentsFileRead } from './deploymentsFile';

export type { RedisConfig, RedisNode, RedisTopology } from './redisTopology';
export type { Deployment, DeploymentGenesys, IdentityConfig, WebhookEndpoint } from './deployment';

/**
 * The whole configuration (docs/configuration.md) as one schema, validated once before
 * the server listens. Every problem is collected and reported together, each
 * with what to do about it. The variables themselves, each with its description, are in variables.ts.
 */

/** How the service talks to Genesys, the same for every deployment. */
export interface GenesysSettings {
  timeoutMs: number;
  /** `onMessage` frames a session sends a second (Genesys: 2, announced Dec 2023; 5 on a copy of the limits page). */
  messagesPerSecond: number;
  /** Guest API requests one upstream socket sends a minute (Genesys's limits page: 60 per connection). */
  requestsPerMinute: number;
  /** How long a session with live streams keeps trying to reconnect (the transport SDK: 300 s). */
  reconnectWindowMs: number;
  deploymentCacheTtlMs: number;
  /** How long a download link whose URL states no lifetime is reused (DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS). */
  linkUnknownLifetimeMs: number;
}

/** What holds for the whole process, whichever deployment a request is for. */
export interface ProcessConfig extends LimitsConfig {
  env: string;
  /** DEPLOYMENTS_FILE, when the deployments come from it (read at start and on SIGHUP). */
  deploymentsFile?: string;
  port: number;
  host: string;
  genesys: GenesysSettings;
  cors: { maxAgeSeconds: number };
  session: { secrets: string[]; ttlSeconds: number };
  /**
   * Custom-attribute keys that carry the well-known guest details, and the
   * two the service sets itself to say whether (and by whom) identity was verified.
   */
  attributeKeys: {
    firstName: string;
    lastName: string;
    email: string;
    phone: string;
    customerId: string;
    identityVerified: string;
    identityIssuer: string;
  };
  shutdownGraceMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  trustProxy: boolean | number | string;
  redis?: RedisConfig; // the shared store for many instances; without it, state is in memory
  publicUrl?: string; // where browsers reach the service (attachment links); else each request's own host
  /** Prometheus metrics on their own port (never PORT); undefined: off. */
  metricsPort?: number;
  /** Where the metrics listener binds (METRICS_HOST): loopback unless set, apart from `host`. */
  metricsHost: string;
  /** OpenTelemetry traces: `url` is the OTLP/HTTP traces endpoint, undefined when tracing is off. */
  tracing: { url?: string; serviceName: string };
  /** How every deployment's webhooks are delivered (docs/api.md#webhooks). */
  webhooks: WebhookSettings;
}

/** How webhooks are delivered, retried and bounded, the same for every deployment. */
export interface WebhookSettings {
  /** How long an event is retried before it is a dead letter (WEBHOOK_RETRY_HOURS). */
  retryMs: number;
  /** The longest wait before the first retry; each later one may wait twice as long, up to an hour. */
  firstRetryMs: number;
  timeoutMs: number;
  /** Deliveries at once per deployment on this instance. */
  concurrency: number;
  /** Events waiting per deployment (and dead letters kept). */
  outboxMax: number;
}

/**
 * The whole configuration (docs/configuration.md): what the process shares, and the deployments it serves (the
 * entries of DEPLOYMENTS_FILE, or the one the single-deployment variables describe), in one shape either way.
 */
export interface Config {
  process: ProcessConfig;
  deployments: Deployment[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function rawStrings(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key]?.trim();
    out[key] = v === '' ? undefined : v;
  }
  return out;
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

type Env = z.infer<typeof envSchema>;

/**
 * Validates the environment and the deployments it describes: `file`, DEPLOYMENTS_FILE as readConfig read it, or
 * else the single-deployment variables, read as a one-entry list by the same rules. Throws a ConfigError listing
 * every problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv, file?: DeploymentsFileRead): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => i.message);
  const raw = rawStrings(env);
  // Cross-field rules read the raw strings so that they are reported even when a field above failed.
  const e = { ...raw, ...(parsed.success ? parsed.data : {}) } as Env;
  const deployments = deploymentsFrom(env, raw, parsed, file, problems);
  const secrets = checkSessionSecrets(e, problems);
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push(
      `METRICS_PORT must differ from PORT (both are ${e.PORT}): metrics are never served on the public port`,
    );
  }
  const topology = checkRedis(e, problems);
  if (problems.length > 0 || !parsed.success || !deployments) throw new ConfigError(problems);

  return {
    deployments,
    process: {
      env: e.NODE_ENV,
      deploymentsFile: e.DEPLOYMENTS_FILE,
      port: e.PORT,
      host: e.HOST,
      genesys: {
        timeoutMs: e.GENESYS_TIMEOUT_MS,
        messagesPerSecond: e.GENESYS_MESSAGES_PER_SECOND,
        requestsPerMinute: e.GENESYS_REQUESTS_PER_MINUTE,
        reconnectWindowMs: e.GENESYS_RECONNECT_WINDOW_SECONDS * 1000,
        deploymentCacheTtlMs: e.DEPLOYMENT_CACHE_TTL_SECONDS * 1000,
        linkUnknownLifetimeMs: e.DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS * 1000,
      },
      cors: { maxAgeSeconds: e.CORS_MAX_AGE_SECONDS },
      session: { secrets, ttlSeconds: e.SESSION_TTL_SECONDS },
      attributeKeys: {
        firstName: e.ATTRIBUTE_KEY_FIRST_NAME,
        lastName: e.ATTRIBUTE_KEY_LAST_NAME,
        email: e.ATTRIBUTE_KEY_EMAIL,
        phone: e.ATTRIBUTE_KEY_PHONE,
        customerId: e.ATTRIBUTE_KEY_CUSTOMER_ID,
        identityVerified: e.ATTRIBUTE_KEY_IDENTITY_VERIFIED,
        identityIssuer: e.ATTRIBUTE_KEY_IDENTITY_ISSUER,
      },
      ...limitsOf(e),
      shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
      logLevel: e.LOG_LEVEL,
      trustProxy: parseTrustProxy(e.TRUST_PROXY),
      redis: topology && {
        ...topology,
        keyPrefix: e.REDIS_KEY_PREFIX,
        password: e.REDIS_PASSWORD,
        tls: e.REDIS_TLS === 'true',
      },
      publicUrl: e.PUBLIC_URL,
      metricsPort: e.METRICS_PORT,
      metricsHost: e.METRICS_HOST,
      tracing: {
        // The OpenTelemetry convention: the traces endpoint as given, else the general one with the signal's path.
        url:
          e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
          (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${e.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`),
        serviceName: e.OTEL_SERVICE_NAME,
      },
      webhooks: {
        retryMs: e.WEBHOOK_RETRY_HOURS * 3600_000,
        firstRetryMs: e.WEBHOOK_RETRY_FIRST_MS,
        timeoutMs: e.WEBHOOK_TIMEOUT_MS,
        concurrency: e.WEBHOOK_CONCURRENCY,
        outboxMax: e.WEBHOOK_OUTBOX_MAX,
      },
    },
  };
}

/** Validates the environment, reading DEPLOYMENTS_FILE first when it is set (loadConfig). */
export async function readConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const file = env.DEPLOYMENTS_FILE?.trim();
  return loadConfig(env, file ? await loadDeploymentsFile(file, env) : undefined);
}

/** The deployments: the file's, or the one of the variables; undefined with their problems added to `problems`. */
function deploymentsFrom(
  env: NodeJS.ProcessEnv,
  raw: Record<string, string | undefined>,
  parsed: ReturnType<typeof envSchema.safeParse>,
  file: DeploymentsFileRead | undefined,
  problems: string[],
): Deployment[] | undefined {
  const path = raw.DEPLOYMENTS_FILE;
  let read: DeploymentsRead;
  if (path !== undefined) {
    read = file ?? { problems: [`DEPLOYMENTS_FILE: ${path} was not read (readConfig reads it)`] };
    problems.push(...variablesBesideFile(env, path, file?.variablesRead ?? []));
  } else {
    // Each variable that is set, as its own shape parsed it; one that failed is reported by it and left out here.
    const failed = new Set(parsed.success ? [] : parsed.error.issues.map((i) => String(i.path[0])));
    const values: VariableValues = {};
    for (const variable of Object.keys(DEPLOYMENT_VARIABLES) as DeploymentVariable[]) {
      if (raw[variable] === undefined || failed.has(variable)) continue;
      values[variable] = parsed.success ? parsed.data[variable] : raw[variable];
    }
    read = deploymentOfVariables(values, env);
  }
  if ('problems' in read) {
    problems.push(...read.problems);
    return undefined;
  }
  return read.deployments;
}

function checkSessionSecrets(e: Env, problems: string[]): string[] {
  const secrets = (e.SESSION_SECRET ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (secrets.length === 0) {
    problems.push(
      'SESSION_SECRET is required: at least 32 random characters (e.g. `openssl rand -base64 48`); ' +
        'a comma-separated list rotates keys',
    );
  } else if (secrets.some((s) => s.length < 32)) {
    problems.push('SESSION_SECRET: every key must be at least 32 characters (e.g. `openssl rand -base64 48`)');
  }

  return secrets;
}

/** True when no Genesys deployment is configured at all: the embedded default applies. */
export function isUnconfigured(env: NodeJS.ProcessEnv): boolean {
  return !env.GENESYS_REGION && !env.GENESYS_DEPLOYMENT_ID && !env.DEPLOYMENTS_FILE?.trim();
}
