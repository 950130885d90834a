import type { Config } from '../config/schema';
import { GuestApiHealth } from '../genesys/guest/guestApiHealth';
import { SessionHub } from '../genesys/guest/sessionHub';
import { WebDeploymentTokens } from '../genesys/guest/webDeploymentTokens';
import type { GenesysPlatform } from '../genesys/platform';
import { LiveStreams } from './liveStreams';
import { rateLimits } from './rateLimits';
import type { ChatRouteDeps } from './routes/chat';
import { IdentityVerifier } from '../identity/identityVerifier';
import type { Logger } from '../observability/logger';
import type { Readiness } from '../observability/readiness';
import { GuestAttachments } from '../session/attachments';
import { CustomerSignIn } from '../session/customerSignIn';
import { GuestChat } from '../session/guestChat';
import { StoreRevocations } from '../session/revocations';
import { MemoryStore, type SharedStore } from '../store/sharedStore';
import { RedisStore } from '../store/redisStore';
import { deriveKeys, Sealer } from '../session/sealing';
import { SessionTokens } from '../session/sessionToken';

/** SSE heartbeat: inside the 15 to 25 s that proxies and load balancers tolerate. */
const STREAM_HEARTBEAT_MS = 20_000;
/** A reader that has not taken what was written for this long is cut off (the kernel's buffers are not counted otherwise). */
const STREAM_STALL_MS = 30_000;

interface ChatStack {
  routes: ChatRouteDeps;
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
export function buildChatStack(config: Config, logger: Logger, platform: GenesysPlatform, readiness: Readiness, now?: () => number): ChatStack {
  const { genesys } = config;
  const guestLogger = logger.child({ component: 'guest-api' });
  const health = new GuestApiHealth({
    webMessagingUrl: genesys.webMessagingUrl,
    deploymentId: genesys.deploymentId,
    origin: genesys.origin,
    readiness,
    logger: guestLogger,
    probeIntervalMs: genesys.deploymentCacheTtlMs,
    connectTimeoutMs: genesys.timeoutMs,
  });
  const signInTokens = new WebDeploymentTokens(platform.http.axios, genesys.apiUrl, genesys.deploymentId, guestLogger);
  const tokens = new SessionTokens(new Sealer(deriveKeys(config.session.secrets)), config.session.ttlSeconds, undefined, config.session.secrets[0]);
  const identity = config.identity ? new IdentityVerifier(config.identity, config.attributeKeys) : undefined;
  const store = sharedStore(config, logger, readiness, now);
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
    renewSignIn: (signIn) => signInTokens.refresh(signIn),
    now,
  });
  const revocations = new StoreRevocations(store);
  const signIns = new CustomerSignIn({ tokens: signInTokens, messengerFeatures: platform.messengerConfig, logger: guestLogger });
  const chat = new GuestChat({ config, hub, tokens, revocations, store, identity, signIns, messengerFeatures: platform.messengerConfig, logger, now });
  const attachments = new GuestAttachments({ hub, tokens, limits: async (claims) => (await chat.capabilities(claims)).attachments, now });
  const streams = new LiveStreams({
    heartbeatMs: STREAM_HEARTBEAT_MS,
    maxBufferedBytes: 256 * 1024,
    stallMs: STREAM_STALL_MS,
    perSession: config.limits.streamsPerSession,
    perIp: config.limits.streamsPerIp,
    logger,
  });
  return {
    routes: { chat, attachments, publicUrl: config.publicUrl, hub, tokens, revocations, streams, limits: rateLimits(config.limits, store instanceof RedisStore ? store : undefined) },
    start: () => health.start(),
    endStreams: () => streams.endAll('This instance is restarting; reconnect.'),
    close: async () => {
      health.close();
      hub.close();
      await store.close();
    },
  };
}

/** Redis when REDIS_URL is set (every instance sees the same state), else this instance's memory. */
function sharedStore(config: Config, logger: Logger, readiness: Readiness, now?: () => number): SharedStore {
  if (!config.redis) return new MemoryStore(undefined, now);
  return new RedisStore({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    commandTimeoutMs: Math.min(config.genesys.timeoutMs, 2000),
    logger: logger.child({ component: 'shared-store' }),
    readiness,
  });
}
