import { randomUUID } from 'node:crypto';
import type { Config } from './config/schema';
import { signInCallbacks } from './config/signInCallbacks';
import { GuestApiHealth, SessionHub, WebDeploymentTokens } from './genesys/guest';
import type { GenesysPlatform } from './genesys/platform';
import { AvailabilityService } from './genesys/availability';
import { LiveStreams, UploadSpool, rateLimits, type ChatRouteDeps } from './http';
import {
  IdentityVerifier,
  GuestAttachments,
  CustomerSignIn,
  GuestChat,
  SECURITY_RECORD_PREFIXES,
  StoreRevocations,
  deriveKeys,
  Sealer,
  SessionTokens,
} from './session';
import type { Logger } from './observability/logger';
import type { Readiness } from './observability/readiness';
import { openSharedStore, type RedisStore, type SharedStore } from './store';

/** SSE heartbeat: inside the 15 to 25 s that proxies and load balancers tolerate. */
const STREAM_HEARTBEAT_MS = 20_000;
/**
 * A reader that has not taken what was written for this long
 * is cut off (the kernel's buffers are not counted otherwise).
 */
const STREAM_STALL_MS = 30_000;
/** The longest the first GET /availability waits for the first read from Genesys. */
const FIRST_AVAILABILITY_WAIT_MS = 3_000;

export interface ChatStack {
  routes: ChatRouteDeps;
  /** Work before the service listens: the sweep of upload files a stopped process left behind. */
  prepare(): Promise<void>;
  /** Background checks that talk to Genesys (the first guest handshake), once the service listens. */
  start(): void;
  /** Tells every live stream to reconnect elsewhere (start of a drain). */
  endStreams(): void;
  /** Closes the upstream guest sockets and the shared store (end of a drain). */
  close(): Promise<void>;
}

/**
 * What the chat routes need, built once per instance: the Guest API session
 * hub, sealed tokens, identity, ended sessions and live streams.
 */
export function buildChatStack(
  config: Config,
  logger: Logger,
  platform: GenesysPlatform,
  readiness: Readiness,
  options: {
    now?: () => number;
    /** Seals session tokens with keys of this deployment's own (one of several: src/sites.ts). */
    sealScope?: string;
  } = {},
): ChatStack {
  const { now } = options;
  const guestLogger = logger.child({ component: 'guest-api' });
  const store = openSharedStore(config, logger, readiness, { protectedPrefixes: SECURITY_RECORD_PREFIXES, now });
  const { health, signInTokens, hub } = guestApiSide(config, guestLogger, platform, readiness, store, now);
  const tokens = new SessionTokens(
    new Sealer(deriveKeys(config.session.secrets, options.sealScope)),
    config.session.ttlSeconds,
    undefined,
    config.session.secrets[0],
  );
  const identity = config.identity ? new IdentityVerifier(config.identity, config.attributeKeys) : undefined;
  const revocations = new StoreRevocations(store, tokens.lifetimeMs);
  const signIns = new CustomerSignIn({
    tokens: signInTokens,
    redirectUriAllowed: signInCallbacks(config.signInRedirectUris, config.cors.allowedOrigins),
    messengerFeatures: platform.messengerConfig,
    logger: guestLogger,
  });
  const chat = new GuestChat({
    config,
    hub,
    tokens,
    revocations,
    store,
    identity,
    signIns,
    messengerFeatures: platform.messengerConfig,
    logger,
    now,
  });
  const attachments = new GuestAttachments({
    hub,
    tokens,
    limits: async (claims) => (await chat.capabilities(claims)).attachments,
    maxInFlight: config.uploads.maxInFlight,
    perIp: config.uploads.perIp,
    unknownLinkLifetimeMs: config.genesys.linkUnknownLifetimeMs,
    now,
  });
  const spool = new UploadSpool(config.uploads.tmpDir);
  const uploads = {
    spool,
    pace: { minBytesPerSecond: config.uploads.minBytesPerSecond, windowMs: config.uploads.rateWindowMs },
  };
  const { availability, streams } = liveParts(config, logger, platform, store, now);
  return {
    routes: {
      chat,
      attachments,
      publicUrl: config.publicUrl,
      hub,
      tokens,
      revocations,
      streams,
      uploads,
      availability,
      limits: rateLimits(config.limits, config.redis ? (store as RedisStore) : undefined),
    },
    prepare: async () => {
      const swept = await spool.sweep().catch((error: NodeJS.ErrnoException) => {
        throw new Error(
          `UPLOAD_TMP_DIR ${spool.dir} cannot hold uploads (${error.code ?? error.message}): ` +
            'set it to a writable directory.',
          { cause: error },
        );
      });
      if (swept > 0) logger.info({ swept, dir: spool.dir }, 'removed upload files a stopped process left behind');
    },
    start: () => {
      health.start();
      availability.start();
    },
    endStreams: () => streams.endAll('This instance is restarting; reconnect.'),
    close: async () => {
      availability.close();
      health.close();
      hub.close();
      await spool.close();
      await store.close();
    },
  };
}

/** The Guest API side: the circuit to Genesys, the sign-in tokens of the web deployment, and the session hub. */
function guestApiSide(
  config: Config,
  guestLogger: Logger,
  platform: GenesysPlatform,
  readiness: Readiness,
  store: SharedStore,
  now: (() => number) | undefined,
) {
  const { genesys } = config;
  const health = new GuestApiHealth({
    webMessagingUrl: genesys.webMessagingUrl,
    deploymentId: genesys.deploymentId,
    origin: genesys.origin,
    readiness,
    logger: guestLogger,
    probeIntervalMs: genesys.deploymentCacheTtlMs,
    connectTimeoutMs: genesys.timeoutMs,
    // With Redis, an outage one instance finds has every instance of the deployment check Genesys at once.
    ...(store.shared ? { shared: { store } } : {}),
  });
  const signInTokens = new WebDeploymentTokens(
    platform.http.axios,
    genesys.apiUrl,
    genesys.deploymentId,
    guestLogger,
    health,
  );
  const hub = new SessionHub({
    deploymentId: genesys.deploymentId,
    webMessagingUrl: genesys.webMessagingUrl,
    apiUrl: genesys.apiUrl,
    origin: genesys.origin,
    http: platform.http.axios,
    logger: guestLogger,
    requestTimeoutMs: genesys.timeoutMs,
    messagesPerSecond: genesys.messagesPerSecond,
    requestsPerMinute: genesys.requestsPerMinute,
    reconnectWindowMs: genesys.reconnectWindowMs,
    idleMs: config.guestSockets.idleMs,
    maxSessions: config.guestSockets.max,
    opensPerSessionPerMinute: config.guestSockets.opensPerSessionPerMinute,
    // Socket opens and history reads per session, counted once for every instance with Redis.
    store,
    onSocketOpened: () => health.succeeded(),
    onSocketFailed: (error) => health.failed(error),
    // Fail fast while Genesys is away: calls are refused at once until a background handshake succeeds.
    upstream: health,
    renewSignIn: (signIn) => signInTokens.refresh(signIn),
    // Each process is its own owner of the sessions whose socket it holds (one socket per session across instances).
    instanceId: randomUUID(),
    now,
  });
  return { health, signInTokens, hub };
}

/** What is pushed to pages: availability, read from Genesys for the whole deployment, and the live streams. */
function liveParts(
  config: Config,
  logger: Logger,
  platform: GenesysPlatform,
  store: SharedStore,
  now: (() => number) | undefined,
) {
  const { genesys } = config;
  const availability = new AvailabilityService({
    targets: config.availability,
    reads: platform.availability,
    store,
    refreshMs: config.availability.refreshMs,
    staleMs: config.availability.staleMs,
    // The first request waits at most this long for the first read; a refresh is bounded by the Genesys deadline.
    firstAnswerWaitMs: Math.min(genesys.timeoutMs, FIRST_AVAILABILITY_WAIT_MS),
    leaseMs: 3 * genesys.timeoutMs,
    logger: logger.child({ component: 'availability' }),
    now,
  });
  const streams = new LiveStreams({
    heartbeatMs: STREAM_HEARTBEAT_MS,
    maxBufferedBytes: 256 * 1024,
    stallMs: STREAM_STALL_MS,
    perSession: config.limits.streamsPerSession,
    perIp: config.limits.streamsPerIp,
    logger,
    now,
    availability,
  });
  return { availability, streams };
}
