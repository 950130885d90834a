import type { AvailabilityState } from './availabilityStates';
import { ALLOWED_MEDIA, BLOCKED_EXTENSIONS } from './frames';
import type { Profile } from './profile';
import { ALL_AVAILABILITY_GRANTS } from './platformAccess';

/** Options of the simulated Genesys org, with the defaults a real deployment has (docs/genesys-protocol.md#sessionresponse, docs/genesys-protocol.md#limits-and-timing). */
export interface SimulatorOptions {
  /** 0 = ephemeral (default 0). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default DEFAULT_DEPLOYMENT_ID. */
  deploymentId?: string;
  /** Accepted OAuth client credentials. */
  clientId?: string;
  clientSecret?: string;
  /** OAuth `expires_in` in seconds, default 86400 (docs/genesys-protocol.md#oauth-client-credentials). */
  tokenExpiresIn?: number;
  /** Default true. */
  allowAllDomains?: boolean;
  /** Hostnames, used when allowAllDomains is false. */
  allowedDomains?: string[];
  /** config.json autoStart.enabled, default false. */
  autoStart?: boolean;
  /** Default true; when false, guest typing events get 403 (docs/genesys-protocol.md#onmessage-events-typing-join-clear, docs/genesys-protocol.md#error-codes). */
  showUserTypingIndicator?: boolean;
  /** config.json's `languages` and `defaultLanguage` (default `['en-us']` and `en-us`). */
  languages?: string[];
  defaultLanguage?: string;
  /** Default true; when false, Presence Clear gets 403 (docs/genesys-protocol.md#onmessage-events-typing-join-clear). */
  conversationClear?: boolean;
  /** Default 2048 (docs/genesys-protocol.md#limits-and-timing). */
  maxCustomDataBytes?: number;
  /** Default 4096 (docs/genesys-protocol.md#limits-and-timing). */
  maxTextBytes?: number;
  /**
   * A guest's text this matches (a regular expression) is refused by the deployment's data filtering: Genesys
   * answers its echo with a `Failed` receipt (reason `DataFiltered`) under the strict profile, and no agent sees it.
   * Default: a card number (13 to 16 digits, spaces or dashes between); `''` filters nothing.
   */
  dataFilter?: string;
  /**
   * What a guest's `Receipt` (status `Read`, naming an agent's message by `id`) gets: `refused` (the default: no
   * source shows Genesys taking one from a web guest, so the unkinder reading) answers it 400 as a malformed
   * message; `accepted` takes it without a reply, as typing is taken.
   */
  guestReceipts?: 'accepted' | 'refused';
  /** `onMessage` frames a session may send a second, default 2 (Genesys's Dec 2023 announcement; a copy of the limits page says 5): docs/genesys-protocol.md#limits-and-timing. */
  messagesPerSecond?: number;
  /** Frames one connection may send a minute under the strict profile, default 60 (docs/genesys-protocol.md#limits-and-timing); the excess gets an untraced 429. */
  requestsPerConnectionPerMinute?: number;
  /** Default 3 (docs/genesys-protocol.md#lifecycle-events `session.connections.max`). */
  maxConnectionsPerSession?: number;
  /** Default 259200 (docs/genesys-protocol.md#limits-and-timing, 72 h). */
  sessionDurationSeconds?: number;
  /** Lifetime of the guest JWT from getJwt, default 3600 (no value in the sources, docs/genesys-protocol.md#limits-and-timing). */
  jwtLifetimeSeconds?: number;
  /** The scripted agent/bot. Defaults: enabled, typing after 20 ms, reply after 60 ms, 'Bot'. */
  agent?: AgentOptions;
  /** The contact centre's state at start (availabilityStates.ts); default `open`, around the clock. */
  availabilityState?: AvailabilityState;
  /**
   * Record every received frame and REST request (default true). A long
   * benchmark run can turn it off; the counters in `stats` keep working.
   */
  record?: boolean;
  /** Milliseconds now, for the per-second message limit, presigned links and sign-in JWTs; a test can freeze it or move it on (default Date.now). */
  clock?: () => number;
  /** Stamps each message's `channel.time` with `clock` instead of the wall clock, so a test that moves the clock moves Genesys's times too (default false). */
  clockTimesMessages?: boolean;
  /** config.json `messenger.fileUpload.modes` (default: images and PDF up to 10 MB). */
  fileUploadModes?: { fileTypes: string[]; maxFileSizeKB: number }[];
  /**
   * config.json `messenger.fileUpload.enableAttachments` (default `'absent'`, left out): present, true or
   * false, the session's allowedMedia decides, as Genesys's SDK reads it; absent, `modes` apply.
   */
  enableAttachments?: boolean | 'absent';
  /** `strict` sends every shape the official SDK fixtures allow (profile.ts); default `default`. */
  profile?: Profile;
  /** New WebSocket connections a minute per deployment under the strict profile (default 1000). */
  connectionsPerMinute?: number;
  /** History reads a minute per session under the strict profile (default 10). */
  historyReadsPerMinute?: number;
  /**
   * Platform API requests one OAuth token may make in a minute under the strict profile, default 300 (the limit
   * `client.credentials.token.rate.per.minute`, docs/genesys-protocol.md#errors-and-retries); the excess gets 429
   * with `Retry-After` (platformAccess.ts).
   */
  platformRequestsPerMinute?: number;
  /**
   * What the OAuth client's roles grant: each permission, with the divisions it holds it in (`'*'`: all of them).
   * A read of an availability object (queue, schedule group, schedule, emergency group) whose division the
   * permission does not cover answers 403. Default: the availability permissions, in every division.
   */
  clientGrants?: Record<string, readonly string[] | '*'>;
  /**
   * The media types queue observations come grouped by under the strict profile, one result per queue and media type
   * (default voice, chat, email, callback, message). No source says which groups Genesys sends; these are analytics'
   * names for them (`voice`, not the routing API's `call`).
   */
  observationMediaTypes?: string[];
  /**
   * SessionResponse `allowedMedia` (default: any type, `*\/*`, and video/3gpp, up to 10240 KB), which uploads are checked against.
   * Without `maxFileSizeKB` the session states no size, and `'absent'` leaves `allowedMedia` out: no capture shows either
   * (unverified), and the simulator then checks nothing the session did not state (any size; any type when absent).
   */
  allowedMedia?: { inbound: { fileTypes: { type: string }[]; maxFileSizeKB?: number } } | 'absent';
  /** SessionResponse `blockedExtensions` (default: the sample's ten, `.exe` among them), which uploads are checked against. */
  blockedExtensions?: string[];
  /** How long a presigned upload URL is valid (default 60 s). */
  uploadUrlTtlSeconds?: number;
  /**
   * Ids for the files the agent sends: `uuid`, `opaque` (`att_` and 22 URL-safe base64 characters), since no source
   * says Genesys's ids are always UUIDs, or `auto` (default), `opaque` under the strict profile, else `uuid`.
   */
  agentAttachmentIds?: 'uuid' | 'opaque' | 'auto';
  /** How long a presigned download URL is valid (default 600 s, about what Genesys's links last). */
  downloadUrlTtlSeconds?: number;
  /**
   * The shape of download links: `signed`, S3 SigV4 with a readable `X-Amz-Expires`; `opaque`, a link that states no
   * expiry and answers with a redirect to a freshly signed storage URL; `auto` (default), `opaque` under the strict
   * profile, else `signed`. No source shows which Genesys sends (docs/genesys-protocol.md#download-links).
   */
  downloadLinks?: 'signed' | 'opaque' | 'auto';
  /** `echo` frames one connection may send a minute under the strict profile, default 2 (docs/genesys-protocol.md#limits-and-timing). */
  echoesPerConnectionPerMinute?: number;
  /** `configureSession` frames one session may send a minute under the strict profile, default 60 (same source). */
  configuresPerSessionPerMinute?: number;
  /** config.json `auth.enabled`: customers can sign in (authenticated messaging), default true. */
  authEnabled?: boolean;
  /** config.json `auth.allowSessionUpgrade`: an anonymous chat can sign in mid-way, default true. */
  allowSessionUpgrade?: boolean;
  /** Lifetime of the sign-in JWT from the token exchange, default 900 (15 min, a Genesys developer in the SDK's PR #176). */
  authJwtLifetimeSeconds?: number;
  /** Lifetime of the sign-in refresh token, default 86400 (24 h, same source; configurable in the integration). */
  refreshTokenLifetimeSeconds?: number;
}

export interface AgentOptions {
  enabled?: boolean;
  typingDelayMs?: number;
  replyDelayMs?: number;
  originatingEntity?: 'Bot' | 'Human';
  /** Sent as an Outbound Text when a guest's Presence Join (autostart) arrives; none by default. */
  greeting?: string;
}

/** What a data filter catches by default: a card number. */
export const DATA_FILTER = String.raw`\b\d(?:[ -]?\d){12,15}\b`;

/** A fixed v4 UUID, so a standalone simulator and its tests agree without configuration. */
export const DEFAULT_DEPLOYMENT_ID = '5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30';
export const DEFAULT_CLIENT_ID = 'sim-client-id';
export const DEFAULT_CLIENT_SECRET = 'sim-client-secret-0123456789';

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'agent'>> & {
  agent: Required<Omit<AgentOptions, 'greeting'>> & Pick<AgentOptions, 'greeting'>;
};

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    port: 0,
    host: '127.0.0.1',
    deploymentId: DEFAULT_DEPLOYMENT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    tokenExpiresIn: 86_400,
    allowAllDomains: true,
    allowedDomains: [],
    autoStart: false,
    showUserTypingIndicator: true,
    languages: ['en-us'],
    defaultLanguage: 'en-us',
    conversationClear: true,
    maxCustomDataBytes: 2048,
    maxTextBytes: 4096,
    dataFilter: DATA_FILTER,
    guestReceipts: 'refused',
    messagesPerSecond: 2,
    requestsPerConnectionPerMinute: 60,
    maxConnectionsPerSession: 3,
    sessionDurationSeconds: 259_200,
    jwtLifetimeSeconds: 3600,
    record: true,
    clock: Date.now,
    clockTimesMessages: false,
    profile: 'default',
    fileUploadModes: [{ fileTypes: ['image/png', 'image/jpeg', 'image/gif', 'application/pdf'], maxFileSizeKB: 10240 }],
    enableAttachments: 'absent',
    connectionsPerMinute: 1000,
    historyReadsPerMinute: 10,
    platformRequestsPerMinute: 300,
    clientGrants: ALL_AVAILABILITY_GRANTS,
    observationMediaTypes: ['voice', 'chat', 'email', 'callback', 'message'],
    allowedMedia: ALLOWED_MEDIA,
    blockedExtensions: BLOCKED_EXTENSIONS,
    uploadUrlTtlSeconds: 60,
    agentAttachmentIds: 'auto',
    availabilityState: 'open',
    downloadUrlTtlSeconds: 600,
    downloadLinks: 'auto',
    echoesPerConnectionPerMinute: 2,
    configuresPerSessionPerMinute: 60,
    authEnabled: true,
    allowSessionUpgrade: true,
    authJwtLifetimeSeconds: 900,
    refreshTokenLifetimeSeconds: 86_400,
    agent: { enabled: true, typingDelayMs: 20, replyDelayMs: 60, originatingEntity: 'Bot' },
  };
  applyOptions(resolved, options);
  return resolved;
}

/** Merges a patch in place, so every module holding the options object sees the change. */
export function applyOptions(target: ResolvedOptions, patch: SimulatorOptions): void {
  const { agent, ...rest } = patch;
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined) (target as unknown as Record<string, unknown>)[key] = value;
  }
  if (agent) {
    for (const [key, value] of Object.entries(agent)) {
      if (value !== undefined) (target.agent as Record<string, unknown>)[key] = value;
    }
    // The greeting is optional, so an explicit `greeting: undefined` turns it off.
    if ('greeting' in agent) target.agent.greeting = agent.greeting;
  }
}
