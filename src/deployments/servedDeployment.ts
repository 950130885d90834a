import { DEFAULT_DEPLOYMENT_NAME, type Deployment } from '../config/deployment';
import { OriginAllowlist } from '../config/originAllowlist';
import { signInCallbacks } from '../config/signInCallbacks';
import { AvailabilityService } from '../genesys/availability';
import { GuestApiHealth, type GuestEvent, SessionHub, WebDeploymentTokens } from '../genesys/guest';
import { createGenesysPlatform, type GenesysPlatform } from '../genesys/platform';
import { deploymentRoutes, LiveStreams, type ChatRouteDeps, type EdgeDeployment } from '../http';
import { inDeployment } from '../observability/deploymentContext';
import { DeploymentReadiness, type Readiness } from '../observability/readiness';
import {
  ChatWebhooks,
  ChatNotifications,
  CustomerSignIn,
  deriveKeys,
  GuestAttachments,
  GuestChat,
  GuestInputMask,
  IdentityVerifier,
  Sealer,
  SessionTokens,
  StoreRevocations,
} from '../session';
import type { SharedStore } from '../store';
import { DeploymentCanary } from './canary';
import { buildWebhooks, type DeploymentWebhooks } from '../webhooks';
import type { ProcessParts } from './processParts';

/** SSE heartbeat: inside the 15 to 25 s that proxies and load balancers tolerate. */
const STREAM_HEARTBEAT_MS = 20_000;
/** A reader that has not taken what was written for this long is cut off (the kernel's buffers are not counted). */
const STREAM_STALL_MS = 30_000;
/** The longest the first GET /availability waits for the first read from Genesys. */
const FIRST_AVAILABILITY_WAIT_MS = 3_000;
/** The canary's objective: a run that takes longer fails (docs/operations.md#canaries). */
const CANARY_OBJECTIVE_MS = 10_000;
/** Canary runs GET /canary shows, per deployment. */
const CANARY_RUNS_KEPT = 20;

/**
 * One deployment as the process serves it: its Genesys side (OAuth token, Messenger configuration, the circuit to
 * its Guest API, its session hub), its chat (sealed tokens, identity, sign-in, attachments, availability, live
 * streams) and its routes, all on the process's shared parts.
 */
export interface ServedDeployment {
  deployment: Deployment;
  platform: GenesysPlatform;
  chat: ChatRouteDeps;
  /** Its scope of the shared store (tests read its records). */
  store: SharedStore;
  /** What the edge needs of it: its name, its origins and its routes. */
  edge: EdgeDeployment;
  /** Its webhooks: the outbox its chats' events go to, their delivery, and the dead letters. */
  webhooks: DeploymentWebhooks;
  /** The ids of the keys its tokens are sealed with: a token names its deployment. */
  keyIds: ReadonlySet<string>;
  /** Its canary, when CANARY_INTERVAL_SECONDS (or `canary.intervalSeconds`) turns it on. */
  canary?: DeploymentCanary;
  /** Background work that talks to Genesys (the first handshake, the token, availability), once the service listens. */
  start(): void;
  /** Tells every live stream of it to reconnect (a drain, or the deployment rebuilt or removed by a reload). */
  endStreams(): void;
  /** Lets go of the chats it watches for Web Push and e-mail, and takes no more (a drain: the instance goes). */
  stopWatching(): void;
  /** Closes its upstream sockets and background work. */
  close(): Promise<void>;
}

/**
 * How a deployment's records are kept apart in the shared store and its tokens sealed: the deployment named
 * `default` (the single-deployment variables', or a file entry so named) keeps the keys those variables have always
 * used, so its chats live on across the move from variables to a file; any other has keys under its name.
 */
export const scopeOf = (name: string) => (name === DEFAULT_DEPLOYMENT_NAME ? undefined : name);

/** The shared store as one deployment sees it: its keys under `REDIS_KEY_PREFIX` + its name + `:`. */
export function storeOf(parts: Pick<ProcessParts, 'store'>, name: string): SharedStore {
  const scope = scopeOf(name);
  return scope === undefined ? parts.store : parts.store.scoped(`${scope}:`);
}

/** Builds one deployment on the process's parts; everything it starts (timers, sockets) runs as that deployment's. */
export function buildDeployment(deployment: Deployment, parts: ProcessParts): ServedDeployment {
  return inDeployment(deployment.name, () => {
    const scope = scopeOf(deployment.name);
    // Named `brand-a/guestApi` in /readyz, but for `default`, whose checks keep their names.
    const readiness: Readiness =
      scope === undefined ? parts.readiness : new DeploymentReadiness(parts.readiness, deployment.name);
    const store = storeOf(parts, deployment.name);
    const platform = createGenesysPlatform({
      deployment,
      settings: parts.config.genesys,
      http: parts.http,
      logger: parts.logger,
      readiness,
    });
    const keys = deriveKeys(parts.config.session.secrets, scope);
    const tokens = new SessionTokens(
      new Sealer(keys),
      parts.config.session.ttlSeconds,
      undefined,
      parts.config.session.secrets[0],
    );
    const webhooks = buildWebhooks(deployment, store, parts.config.webhooks, parts.logger);
    const chatWebhooks = new ChatWebhooks(
      deployment.webhooks.length > 0 ? webhooks.events : undefined,
      deployment.canary.intervalMs === undefined ? undefined : deployment.canary.attribute,
    );
    const { health, hub, watchHub, jwtHub, signInTokens } = guestApi(
      deployment,
      parts,
      platform,
      readiness,
      store,
      chatWebhooks,
      // Built below; a session's events come once requests are served.
      (token, event) => chat.notifications.heard(token, event),
    );
    const chat = chatOf(deployment, parts, platform, {
      hub,
      watchHub,
      jwtHub,
      signInTokens,
      tokens,
      store,
      keys,
      chatWebhooks,
    });
    const canary = canaryOf(deployment, parts, platform, { chat, health, store });
    return {
      deployment,
      platform,
      chat,
      store,
      edge: {
        name: deployment.name,
        origins: OriginAllowlist.parse(deployment.allowedOrigins),
        ...deploymentRoutes(chat, parts.config.limits.bodyBytes),
      },
      webhooks,
      keyIds: new Set(keys.map((k) => k.kid)),
      canary,
      start: () =>
        inDeployment(deployment.name, () => {
          platform.start();
          health.start();
          chat.availability.start();
          canary?.start();
          webhooks.start();
        }),
      endStreams: () => chat.streams.endAll('This instance is restarting; reconnect.'),
      stopWatching: () => chat.notifications.stopWatching(),
      close: async () => {
        await canary?.close();
        webhooks.close();
        chat.availability.close();
        chat.notifications.close();
        health.close();
        hub.close();
        watchHub.close();
        jwtHub.close();
        await platform.close();
      },
    };
  });
}

/**
 * The deployment's canary, when it has one: a conversation through the same chat, hub and live streams its customers'
 * requests use, and the deployment read with its OAuth client, as the deployment's checks read it.
 */
function canaryOf(
  deployment: Deployment,
  parts: ProcessParts,
  platform: GenesysPlatform,
  own: { chat: ChatRouteDeps; health: GuestApiHealth; store: SharedStore },
): DeploymentCanary | undefined {
  const { intervalMs, attribute, expect } = deployment.canary;
  if (intervalMs === undefined) return undefined;
  const { chat, hub, tokens, streams } = own.chat;
  const client = platform.platform;
  const path = `/api/v2/webdeployments/deployments/${encodeURIComponent(deployment.genesys.deploymentId)}`;
  return new DeploymentCanary({
    deployment: deployment.name,
    intervalMs,
    parts: {
      chat,
      tokens,
      hub,
      streams,
      platformCheck: client && (() => client.request({ method: 'GET', path })),
      canary: { attribute, expect },
      answerWaitMs: Math.min(CANARY_OBJECTIVE_MS, intervalMs / 2),
      objectiveMs: CANARY_OBJECTIVE_MS,
      now: parts.now ?? Date.now,
    },
    store: own.store,
    circuit: own.health,
    instanceId: parts.instanceId,
    logger: parts.logger.child({ component: 'canary' }),
    keep: CANARY_RUNS_KEPT,
  });
}

/**
 * The deployment's Guest API side: the circuit to Genesys, the web deployment's sign-in tokens, and the session hub
 * under the instance's ceiling.
 */
function guestApi(
  deployment: Deployment,
  parts: ProcessParts,
  platform: GenesysPlatform,
  readiness: Readiness,
  store: SharedStore,
  chatWebhooks: ChatWebhooks,
  /** Told every event the live sockets hear (notifications keep a reply heard after its page left). */
  heardLive: (token: string, event: GuestEvent) => void,
) {
  const { genesys } = deployment;
  const settings = parts.config.genesys;
  const logger = parts.logger.child({ component: 'guest-api' });
  const health = new GuestApiHealth({
    webMessagingUrl: genesys.webMessagingUrl,
    deploymentId: genesys.deploymentId,
    origin: genesys.origin,
    named: genesys.named,
    readiness,
    logger,
    probeIntervalMs: settings.deploymentCacheTtlMs,
    connectTimeoutMs: settings.timeoutMs,
    // With Redis, an outage one instance finds has every instance of the deployment check Genesys at once.
    ...(store.shared ? { shared: { store } } : {}),
  });
  const signInTokens = new WebDeploymentTokens(
    platform.http.axios,
    genesys.apiUrl,
    genesys.deploymentId,
    logger,
    health,
  );
  const hubOptions: ConstructorParameters<typeof SessionHub>[0] = {
    deploymentId: genesys.deploymentId,
    webMessagingUrl: genesys.webMessagingUrl,
    apiUrl: genesys.apiUrl,
    origin: genesys.origin,
    named: genesys.named,
    http: platform.http.axios,
    logger,
    requestTimeoutMs: settings.timeoutMs,
    messagesPerSecond: settings.messagesPerSecond,
    requestsPerMinute: settings.requestsPerMinute,
    reconnectWindowMs: settings.reconnectWindowMs,
    idleMs: parts.config.guestSockets.idleMs,
    ceiling: parts.sessions,
    opensPerSessionPerMinute: parts.config.guestSockets.opensPerSessionPerMinute,
    // Socket opens and history reads per session, counted once for every instance with Redis.
    store,
    onSocketOpened: () => health.succeeded(),
    onSocketFailed: (error) => health.failed(error),
    // Fail fast while Genesys is away: calls are refused at once until a background handshake succeeds.
    upstream: health,
    renewSignIn: (signIn) => signInTokens.refresh(signIn),
    instanceId: parts.instanceId,
    now: parts.now,
    // Whichever instance holds the session's socket hears Genesys: its webhook events are told from there.
    observe: (token, event) => chatWebhooks.heard(token, event),
    // And whichever reads the chat's newest page tells the replies on it: one the holder heard and died before
    // telling is told when the chat is read again (a stream's resume, a push watch's catch-up). Every hub's reads.
    onNewestPage: (token, page) => chatWebhooks.found(token, page),
  };
  const hub = new SessionHub({
    ...hubOptions,
    observe: (token, event) => {
      chatWebhooks.heard(token, event);
      heardLive(token, event);
    },
  });
  // The sockets that watch chats nobody is looking at (Web Push), under a ceiling of their own. They take no part in
  // the live socket's ownership (sessionOwnership.ts): a watch's socket taking it would hand over a page's live one
  // (its streams told to reconnect), and a page's would end the watch, each opening again beside the other. A watch
  // holds its socket only while no page stream is open: its lease and the chat's `notify-seen` record see to that.
  const watchHub = new SessionHub({
    ...hubOptions,
    instanceId: undefined,
    logger: logger.child({ hub: 'watch' }),
    ceiling: parts.notifySockets,
  });
  // Past that ceiling: brief sockets that only fetch the guest JWT a history read of a watched chat needs.
  // Its sockets tell no webhook (one lives for one getJwt); the history polls it serves do tell the replies they read.
  const jwtHub = new SessionHub({
    ...hubOptions,
    instanceId: undefined,
    logger: logger.child({ hub: 'jwt' }),
    observe: undefined,
    ceiling: parts.notifyJwtSockets,
  });
  return { health, hub, watchHub, jwtHub, signInTokens };
}

/** What a deployment's chat is built on that the deployment owns (its hubs, keys, store and webhooks). */
interface ChatOwnParts {
  hub: SessionHub;
  watchHub: SessionHub;
  jwtHub: SessionHub;
  signInTokens: WebDeploymentTokens;
  tokens: SessionTokens;
  store: SharedStore;
  keys: ReturnType<typeof deriveKeys>;
  chatWebhooks: ChatWebhooks;
}

/** The deployment's chat as the routes use it: sessions, sign-in, attachments, availability and live streams. */
function chatOf(
  deployment: Deployment,
  parts: ProcessParts,
  platform: GenesysPlatform,
  own: ChatOwnParts,
): ChatRouteDeps & { availability: AvailabilityService; notifications: ChatNotifications } {
  const { now, config, logger } = parts;
  const { hub, signInTokens, tokens, store, chatWebhooks } = own;
  const guestLogger = logger.child({ component: 'guest-api' });
  const identity = deployment.identity ? new IdentityVerifier(deployment.identity, config.attributeKeys) : undefined;
  const revocations = new StoreRevocations(store, tokens.lifetimeMs);
  const signIns = new CustomerSignIn({
    tokens: signInTokens,
    redirectUriAllowed: signInCallbacks(deployment.signInRedirectUris, deployment.allowedOrigins),
    messengerFeatures: platform.messengerConfig,
    logger: guestLogger,
  });
  // The guest's input is screened once, where it enters: nothing after it sees what was hidden.
  const mask = new GuestInputMask(deployment.masking, logger.child({ component: 'masking' }));
  const chat = new GuestChat({
    config,
    mask,
    hub,
    tokens,
    revocations,
    store,
    identity,
    signIns,
    messengerFeatures: platform.messengerConfig,
    readReceipts: deployment.readReceipts,
    webhooks: chatWebhooks,
    signedIn: (claims) => notifications.signedIn(claims), // built below; called once requests are served
    logger,
    now,
  });
  const attachments = new GuestAttachments({
    hub,
    mask,
    tokens,
    limits: async (claims) => (await chat.capabilities(claims)).attachments,
    slots: parts.uploads,
    urls: parts.downloadUrls,
    uploaded: (guestToken, attachment) => chatWebhooks.uploaded(guestToken, attachment),
  });
  const availability = availabilityOf(deployment, parts, platform, store);
  const streams = new LiveStreams({
    heartbeatMs: STREAM_HEARTBEAT_MS,
    maxBufferedBytes: 256 * 1024,
    stallMs: STREAM_STALL_MS,
    caps: parts.streams,
    logger,
    now,
    availability,
  });
  const notifications = notificationsOf(deployment, parts, { ...own, revocations });
  return {
    chat,
    notifications,
    attachments,
    publicUrl: config.publicUrl,
    hub,
    tokens,
    revocations,
    streams,
    uploads: {
      spool: parts.spool,
      pace: { minBytesPerSecond: config.uploads.minBytesPerSecond, windowMs: config.uploads.rateWindowMs },
    },
    availability,
    limits: parts.limits,
  };
}

/** Reaching the deployment's customers who left: Web Push and e-mail, and the watch of chats nobody looks at. */
function notificationsOf(
  deployment: Deployment,
  parts: ProcessParts,
  own: Pick<ChatOwnParts, 'store' | 'watchHub' | 'jwtHub' | 'keys' | 'tokens'> & { revocations: StoreRevocations },
): ChatNotifications {
  return new ChatNotifications({
    config: deployment.notifications,
    store: own.store,
    watchHub: own.watchHub,
    room: () => parts.notifySockets.size < parts.notifySockets.max,
    history: {
      hub: own.jwtHub,
      room: () => parts.notifyJwtSockets.size < parts.notifyJwtSockets.max,
      pacer: parts.notifyReads,
      pollMs: parts.config.notifyWatch.pollMs,
      pollMaxMs: parts.config.notifyWatch.pollMaxMs,
    },
    sealer: new Sealer(own.keys),
    revocations: own.revocations,
    // A standing record's lifetime (session/tokens/revocations.ts): as long as a token of the chat could be valid.
    recordMs: own.tokens.lifetimeMs + 120_000,
    instanceId: parts.instanceId,
    production: parts.config.env === 'production',
    timeoutMs: parts.config.genesys.timeoutMs,
    emailAttribute: parts.config.attributeKeys.email,
    logger: parts.logger,
    now: parts.now,
  });
}

/** Whether anyone is there for the deployment's routing targets, read from Genesys in the background. */
function availabilityOf(
  deployment: Deployment,
  parts: ProcessParts,
  platform: GenesysPlatform,
  store: SharedStore,
): AvailabilityService {
  return new AvailabilityService({
    targets: deployment.availability,
    reads: platform.availability,
    credentialsNamed: deployment.genesys.named.credentials,
    store,
    refreshMs: deployment.availability.refreshMs,
    staleMs: deployment.availability.staleMs,
    // The first request waits at most this long for the first read; a refresh is bounded by the Genesys deadline.
    firstAnswerWaitMs: Math.min(parts.config.genesys.timeoutMs, FIRST_AVAILABILITY_WAIT_MS),
    leaseMs: 3 * parts.config.genesys.timeoutMs,
    logger: parts.logger.child({ component: 'availability' }),
    now: parts.now,
  });
}
