import { z } from 'zod';
import { baseUrlsFor, findRegion, REGIONS, type Region } from './regions';
import { parseOriginPattern } from './originAllowlist';
import { checkRedirectUris } from './signInCallbacks';
import { checkRedis, type RedisConfig } from './redisTopology';
import { limitsOf, type LimitsConfig } from './limits';
import { availabilityOf, type AvailabilityConfig } from './availabilityVariables';
import { LOG_LEVELS } from './operationVariables';
import { envSchema } from './variables';
import { DEFAULT_DEPLOYMENT_NAME, type Deployment, type DeploymentGenesys } from './deployments';
import { deploymentsFromFile } from './servedDeployment';

export type { RedisConfig, RedisNode, RedisTopology } from './redisTopology';

/**
 * The whole configuration (docs/configuration.md) as one schema, validated once before
 * the server listens. Every problem is collected and reported together, each
 * with what to do about it. The variables themselves, each with its description, are in variables.ts.
 */

interface GenesysConfig extends DeploymentGenesys {
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

export interface IdentityConfig {
  jwtSecret?: string;
  jwksUrl?: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  /** The longest lifetime (exp - iat) an identity token may have. */
  maxTokenAgeSeconds: number;
}

export interface Config extends LimitsConfig {
  env: string;
  /**
   * Every deployment this process serves (src/sites.ts): the file's entries, or the one the variables configure.
   * The fields below (genesys, availability, cors.allowedOrigins, identity, signInRedirectUris) are the first's.
   */
  deployments: Deployment[];
  /** DEPLOYMENTS_FILE, when the deployments come from it: then each one's shared-store keys are its own. */
  deploymentsFile?: string;
  port: number;
  host: string;
  genesys: GenesysConfig;
  /** GET /availability: the Genesys routing targets it reads and how often. */
  availability: AvailabilityConfig;
  cors: { allowedOrigins: string[]; maxAgeSeconds: number };
  session: { secrets: string[]; ttlSeconds: number };
  identity?: IdentityConfig;
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
  /** The site's sign-in callback URLs (signInCallbacks.ts); unset: pages of the allowed origins. */
  signInRedirectUris?: string[];
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
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/**
 * Validates the environment, and DEPLOYMENTS_FILE when it is set. Throws a ConfigError listing every problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((i) => i.message);
  // Cross-field rules read the raw strings so that they are reported even when a field above failed.
  const e = { ...rawStrings(env), ...(parsed.success ? parsed.data : {}) } as Env;
  const fromVariables = e.DEPLOYMENTS_FILE === undefined ? deploymentFromVariables(e, problems) : undefined;
  const deployments =
    e.DEPLOYMENTS_FILE === undefined
      ? fromVariables && [fromVariables]
      : deploymentsFromFile(e.DEPLOYMENTS_FILE, env, problems);
  // The first deployment's settings fill the single-deployment fields; `deployments` lists every one served.
  const deployment = deployments?.[0];
  const secrets = checkSessionSecrets(e, problems);
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push(
      `METRICS_PORT must differ from PORT (both are ${e.PORT}): metrics are never served on the public port`,
    );
  }
  const topology = checkRedis(e, problems);
  if (problems.length > 0 || !parsed.success || !deployment) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    deployments: deployments!,
    deploymentsFile: e.DEPLOYMENTS_FILE,
    port: e.PORT,
    host: e.HOST,
    genesys: {
      ...deployment.genesys,
      timeoutMs: e.GENESYS_TIMEOUT_MS,
      messagesPerSecond: e.GENESYS_MESSAGES_PER_SECOND,
      requestsPerMinute: e.GENESYS_REQUESTS_PER_MINUTE,
      reconnectWindowMs: e.GENESYS_RECONNECT_WINDOW_SECONDS * 1000,
      deploymentCacheTtlMs: e.DEPLOYMENT_CACHE_TTL_SECONDS * 1000,
      linkUnknownLifetimeMs: e.DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS * 1000,
    },
    availability: deployment.availability,
    cors: { allowedOrigins: deployment.allowedOrigins, maxAgeSeconds: e.CORS_MAX_AGE_SECONDS },
    session: { secrets, ttlSeconds: e.SESSION_TTL_SECONDS },
    identity: deployment.identity,
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
    signInRedirectUris: deployment.signInRedirectUris,
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
  };
}

type Env = z.infer<typeof envSchema>;

/** The deployment the single-deployment variables give (its name DEFAULT_DEPLOYMENT_NAME), or undefined. */
function deploymentFromVariables(e: Env, problems: string[]): Deployment | undefined {
  const region = checkGenesys(e, problems);
  const allowedOrigins = checkAllowedOrigins(e, problems);
  const origin = checkGenesysOrigin(e, allowedOrigins, problems);
  const identity = checkIdentity(e, problems);
  const signInRedirectUris = checkRedirectUris(e.SIGN_IN_REDIRECT_URIS, problems);
  if (!region || !origin) return undefined;
  const derived = baseUrlsFor(region.domain);
  return {
    name: DEFAULT_DEPLOYMENT_NAME,
    genesys: {
      region,
      deploymentId: e.GENESYS_DEPLOYMENT_ID!,
      origin,
      loginUrl: e.GENESYS_LOGIN_URL ?? derived.loginUrl,
      apiUrl: e.GENESYS_API_URL ?? derived.apiUrl,
      webMessagingUrl: e.GENESYS_WEBMESSAGING_URL ?? derived.webMessagingUrl,
      cdnUrl: e.GENESYS_CDN_URL ?? derived.cdnUrl,
      credentials:
        e.GENESYS_CLIENT_ID !== undefined && e.GENESYS_CLIENT_SECRET !== undefined
          ? { clientId: e.GENESYS_CLIENT_ID, clientSecret: e.GENESYS_CLIENT_SECRET }
          : undefined,
    },
    allowedOrigins,
    identity,
    signInRedirectUris,
    availability: availabilityOf(e),
  };
}

function checkGenesys(e: Env, problems: string[]): Region | undefined {
  const region = e.GENESYS_REGION === undefined ? undefined : findRegion(e.GENESYS_REGION);
  if (e.GENESYS_REGION === undefined) {
    problems.push(
      'GENESYS_REGION is required: the region domain (e.g. mypurecloud.ie) or its AWS name (e.g. eu-west-1)',
    );
  } else if (!region) {
    problems.push(
      `GENESYS_REGION "${e.GENESYS_REGION}" is not a Genesys Cloud region; use one of: ` +
        REGIONS.map((r) => `${r.domain} (${r.awsRegion})`).join(', '),
    );
  }

  if (e.GENESYS_DEPLOYMENT_ID === undefined) {
    problems.push(
      'GENESYS_DEPLOYMENT_ID is required: the Messenger deployment id (Admin > Message > Messenger Deployments)',
    );
  } else if (!UUID.test(e.GENESYS_DEPLOYMENT_ID)) {
    problems.push(
      'GENESYS_DEPLOYMENT_ID must be a UUID such as 6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f ' +
        `(got "${e.GENESYS_DEPLOYMENT_ID}")`,
    );
  }

  if ((e.GENESYS_CLIENT_ID === undefined) !== (e.GENESYS_CLIENT_SECRET === undefined)) {
    problems.push(
      e.GENESYS_CLIENT_ID === undefined
        ? 'GENESYS_CLIENT_SECRET is set without GENESYS_CLIENT_ID; ' +
            'set both (an OAuth client-credentials client) or neither'
        : 'GENESYS_CLIENT_ID is set without GENESYS_CLIENT_SECRET; ' +
            'set both (an OAuth client-credentials client) or neither',
    );
  }

  return region;
}

function checkAllowedOrigins(e: Env, problems: string[]): string[] {
  const allowedOrigins = (e.CORS_ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (allowedOrigins.length === 0) {
    problems.push(
      'CORS_ALLOWED_ORIGINS is required: the comma-separated origins of the websites that may call this service, ' +
        'e.g. https://shop.example.com',
    );
  }
  for (const entry of allowedOrigins) {
    const pattern = parseOriginPattern(entry);
    if (typeof pattern === 'string') problems.push(`CORS_ALLOWED_ORIGINS: ${pattern}`);
  }

  return allowedOrigins;
}

function checkGenesysOrigin(e: Env, allowedOrigins: string[], problems: string[]): string | undefined {
  const origin = e.GENESYS_ORIGIN ?? allowedOrigins.find((o) => !o.includes('*'));
  if (origin === undefined) {
    // With no CORS_ALLOWED_ORIGINS at all, that is the one problem
    // to report (it names the fix); this would only echo it.
    if (allowedOrigins.length > 0) {
      problems.push(
        'GENESYS_ORIGIN is required when CORS_ALLOWED_ORIGINS has no exact origin: ' +
          "the Origin this service presents to Genesys, one of the deployment's allowed domains",
      );
    }
  } else if (!/^https?:\/\/[^/\s]+$/.test(origin) || !URL.canParse(origin)) {
    problems.push(`GENESYS_ORIGIN must be an origin such as https://shop.example.com (got "${origin}")`);
  }

  return origin;
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

function checkIdentity(e: Env, problems: string[]): IdentityConfig | undefined {
  let identity: IdentityConfig | undefined;
  if (e.IDENTITY_JWT_SECRET !== undefined || e.IDENTITY_JWKS_URL !== undefined) {
    if (e.IDENTITY_JWT_SECRET !== undefined && e.IDENTITY_JWKS_URL !== undefined) {
      problems.push('Set IDENTITY_JWT_SECRET (HS256) or IDENTITY_JWKS_URL (asymmetric keys), not both');
    }
    if (e.IDENTITY_JWT_SECRET !== undefined && e.IDENTITY_JWT_SECRET.length < 32) {
      problems.push('IDENTITY_JWT_SECRET must be at least 32 characters');
    }
    if (e.IDENTITY_ISSUER === undefined)
      problems.push('IDENTITY_ISSUER is required with identity tokens: the `iss` your backend puts in them');
    if (e.IDENTITY_AUDIENCE === undefined)
      problems.push('IDENTITY_AUDIENCE is required with identity tokens: the `aud` your backend puts in them');
    identity = {
      jwtSecret: e.IDENTITY_JWT_SECRET,
      jwksUrl: e.IDENTITY_JWKS_URL,
      // Unset, each is a problem above, and loadConfig throws before this is used.
      issuer: e.IDENTITY_ISSUER!,
      audience: e.IDENTITY_AUDIENCE!,
      clockToleranceSeconds: e.IDENTITY_CLOCK_TOLERANCE_SECONDS,
      maxTokenAgeSeconds: e.IDENTITY_MAX_TOKEN_AGE_SECONDS,
    };
  } else if (e.IDENTITY_ISSUER !== undefined || e.IDENTITY_AUDIENCE !== undefined) {
    problems.push(
      'IDENTITY_ISSUER/IDENTITY_AUDIENCE are set but neither IDENTITY_JWT_SECRET nor IDENTITY_JWKS_URL is; ' +
        'set one of them',
    );
  }

  return identity;
}

/** True when no Genesys deployment is configured at all: the embedded default applies. */
export function isUnconfigured(env: NodeJS.ProcessEnv): boolean {
  return !env.GENESYS_REGION && !env.GENESYS_DEPLOYMENT_ID && !env.DEPLOYMENTS_FILE?.trim();
}
