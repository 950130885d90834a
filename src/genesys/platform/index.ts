import type { Deployment, GenesysSettings } from '../../config/schema';
import type { Logger } from '../../observability/logger';
import type { Readiness } from '../../observability/readiness';
import type { GenesysHttp, RetryPolicy } from '../restClient';
import { MessengerConfigSource } from './messengerConfig';
import { TokenCache } from './tokenCache';
import { DeploymentCheck } from './deploymentCheck';
import { PlatformClient } from './platformClient';
import { AvailabilityReads } from './availabilityReads';

/**
 * Everything this service does with the Platform API and the public Messenger
 * config for one deployment. The OAuth token, the Platform client and the
 * deployment preflight exist only when the deployment has an OAuth client;
 * the Messenger config needs no credentials.
 */
export interface GenesysPlatform {
  /** The process's keep-alive HTTP client for Genesys REST calls. */
  http: GenesysHttp;
  tokenCache?: TokenCache;
  platform?: PlatformClient;
  deployment?: DeploymentCheck;
  /** The Platform reads behind GET /availability; they never retry (a 429 delays the next refresh instead). */
  availability?: AvailabilityReads;
  messengerConfig: MessengerConfigSource;
  /** Starts the background work (token, deployment preflight, Messenger config); never throws. */
  start(): void;
  close(): Promise<void>;
}

/** Seams for tests and the simulator: the clock and the retry pacing. */
interface GenesysPlatformOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  retry?: RetryPolicy;
}

/** What one deployment's Platform side is built from. */
export interface PlatformParts {
  deployment: Deployment;
  settings: GenesysSettings;
  /** The process's HTTP client for Genesys (restClient.ts); the platform uses it and leaves it open. */
  http: GenesysHttp;
  logger: Logger;
  /** Where its checks report (token, deployment, messengerConfig). */
  readiness: Readiness;
}

export function createGenesysPlatform(
  { deployment: served, settings, http, logger, readiness }: PlatformParts,
  options: GenesysPlatformOptions = {},
): GenesysPlatform {
  const genesys = served.genesys;
  const region = genesys.region.domain;
  const log = logger.child({ component: 'genesys-platform' });

  const messengerConfig = new MessengerConfigSource({
    cdnUrl: genesys.cdnUrl,
    deploymentId: genesys.deploymentId,
    region,
    named: genesys.named,
    http: http.axios,
    logger: log,
    ttlMs: settings.deploymentCacheTtlMs,
    now: options.now,
    onState: (state) => readiness.set('messengerConfig', state),
  });

  let tokenCache: TokenCache | undefined;
  let platform: PlatformClient | undefined;
  let deployment: DeploymentCheck | undefined;
  let availability: AvailabilityReads | undefined;
  if (genesys.credentials) {
    tokenCache = new TokenCache({
      loginUrl: genesys.loginUrl,
      clientId: genesys.credentials.clientId,
      clientSecret: genesys.credentials.clientSecret,
      named: genesys.named,
      http: http.axios,
      logger: log,
      now: options.now,
      sleep: options.sleep,
      retry: options.retry,
      onState: (state) => readiness.set('token', state),
    });
    platform = new PlatformClient({
      apiUrl: genesys.apiUrl,
      tokens: tokenCache,
      http: http.axios,
      logger: log,
      now: options.now,
      sleep: options.sleep,
      retry: options.retry,
    });
    availability = new AvailabilityReads(
      new PlatformClient({
        apiUrl: genesys.apiUrl,
        tokens: tokenCache,
        http: http.axios,
        logger: log,
        now: options.now,
        retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
      }),
    );
    deployment = new DeploymentCheck({
      platform,
      deploymentId: genesys.deploymentId,
      region,
      ttlMs: settings.deploymentCacheTtlMs,
      allowedOrigins: served.allowedOrigins,
      genesysOrigin: genesys.origin,
      named: genesys.named,
      logger: log,
      now: options.now,
      onState: (state) => readiness.set('deployment', state),
    });
  } else {
    log.info(
      `No OAuth client (${genesys.named.credentials} unset): ` +
        'the Platform API features and the deployment preflight are off',
    );
  }

  return {
    http,
    tokenCache,
    platform,
    deployment,
    availability,
    messengerConfig,
    start() {
      messengerConfig.start();
      // Failures land in readiness and the log; the deployment read shares this one token request.
      tokenCache?.getToken().catch(() => undefined);
      deployment?.start();
    },
    async close() {
      messengerConfig.close();
      deployment?.close();
      tokenCache?.close();
    },
  };
}
export { KB } from './messengerConfig';
export { DEFAULT_MESSENGER_FEATURES } from './messengerConfig';
export type { MessengerFeatures } from './messengerConfig';
export { AvailabilityReads, AVAILABILITY_PERMISSIONS, choosePrediction } from './availabilityReads';
export { PLATFORM_PERMISSIONS } from './permissions';
export type { EstimatedWait, QueueObservations, ScheduleGroupRead, ScheduleRead } from './availabilityReads';
export { PlatformApiError } from './platformClient';
export { NothingShared, RefreshingValue } from './refreshingValue';
export type { SharedLoad } from './refreshingValue';
