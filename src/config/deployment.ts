import { parseOriginPattern, type OriginPattern } from './originAllowlist';
import type { MaskingConfig } from './masking';
import type { Region } from './regions';
import type { WebhookEventType } from '../domain/webhookEvent';

/**
 * One Messenger deployment the service serves (docs/configuration.md#the-deployments-file): each entry of a
 * deployments file, or the one entry the single-deployment variables describe. Both are validated by the same rules
 * (deploymentRules.ts) into this one shape.
 */

/**
 * A deployment's settings as its messages name them: the variables (`GENESYS_DEPLOYMENT_ID`) for the deployment they
 * describe, a deployments file's keys (`deploymentId of deployment "shop"`) for its entries.
 */
export interface SettingNames {
  deploymentId: string;
  region: string;
  origins: string;
  /** The client id and secret together (`GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET`). */
  credentials: string;
  /**
   * `origin`: the setting that gave it, or how it was derived when that setting is unset
   * (`GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)`).
   */
  origin: string;
}

export interface DeploymentGenesys {
  region: Region;
  deploymentId: string;
  /** The Origin presented to Genesys on the guest WebSocket. */
  origin: string;
  /** The settings as messages about this deployment name them, so that advice points at what its operator wrote. */
  named: SettingNames;
  loginUrl: string;
  apiUrl: string;
  webMessagingUrl: string;
  cdnUrl: string;
  credentials?: { clientId: string; clientSecret: string };
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

/** What GET /availability reads of Genesys for the deployment, and how often. */
export interface AvailabilityConfig {
  queueIds: string[];
  scheduleGroupId?: string;
  emergencyGroupId?: string;
  refreshMs: number;
  staleMs: number;
}

/** The deployment's canary: a synthetic conversation once per interval (docs/operations.md#canaries). */
export interface CanaryConfig {
  /** Between runs; undefined: no canary. */
  intervalMs?: number;
  /** The custom attribute a canary carries, for the flow to route on. */
  attribute: { name: string; value: string };
  /** Text the flow's first answer must contain. */
  expect?: string;
}

/** One endpoint the deployment's webhooks go to (docs/api.md#webhooks). */
export interface WebhookEndpoint {
  url: string;
  /** `whsec_` and base64: the Standard Webhooks signing secret. Never logged. */
  secret: string;
  /** The events it gets; undefined: every event. */
  events?: readonly WebhookEventType[];
}

/**
 * Reaching a customer who left: Web Push with the deployment's VAPID pair (unset: push is off), and e-mail through
 * the site's SMTP relay (unset: e-mail is off).
 */
export interface NotificationsConfig {
  push?: { publicKey: string; privateKey: string; subject: string };
  email?: EmailConfig;
  /** How long no page stream of a chat has been open before its replies are pushed. */
  afterMs: number;
  /** Whether a push carries the reply's first characters. */
  preview: boolean;
}

/** E-mail to a customer who left: the relay, the sender, and when and how much is sent. */
export interface EmailConfig {
  /** `smtp:` or `smtps:`, perhaps with credentials: never logged. */
  smtpUrl: string;
  from: string;
  /** How long a human agent's reply stays unread before it is e-mailed; a chat's window of one e-mail. */
  afterMs: number;
  /** Whether the e-mail carries the replies' text. */
  preview: boolean;
  /** The most e-mails one address gets a UTC day. */
  dailyMax: number;
}

export interface Deployment {
  /** A short id for metrics, logs and shared-store keys; bounded by the configuration, so a label made of it is. */
  name: string;
  genesys: DeploymentGenesys;
  /** The websites this deployment serves (CORS allowlist entries); no two deployments share an origin. */
  allowedOrigins: string[];
  /** Tell Genesys when the customer's page shows an agent's or bot's message (POST /messages/read). */
  readReceipts: boolean;
  identity?: IdentityConfig;
  /** The site's sign-in callback URLs; unset: pages of the allowed origins. */
  signInRedirectUris?: string[];
  availability: AvailabilityConfig;
  canary: CanaryConfig;
  /** What is hidden of the guest's input before anything sees it (docs/api.md#masking); undefined: nothing. */
  masking?: MaskingConfig;
  /** Where its chats' events are posted, signed; empty: no webhooks. */
  webhooks: WebhookEndpoint[];
  notifications: NotificationsConfig;
}

/** A deployment's name: lower case, a letter first, at most 32 characters. */
export const DEPLOYMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** The name of the deployment the single-deployment variables describe. */
export const DEFAULT_DEPLOYMENT_NAME = 'default';

/** A Genesys id: a UUID, in any case. */
export const GENESYS_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether some browser Origin is allowed by both allowlist entries. */
export function patternsOverlap(a: OriginPattern, b: OriginPattern): boolean {
  if (a.scheme !== b.scheme || a.port !== b.port) return false;
  // Two wildcards each cover one label under their host: the same host or nothing in common.
  if (a.wildcard === b.wildcard) return a.host === b.host;
  const [exact, wildcard] = a.wildcard ? [b, a] : [a, b];
  const dot = exact.host.indexOf('.');
  return dot > 0 && exact.host.slice(dot + 1) === wildcard.host && LABEL.test(exact.host.slice(0, dot));
}

/** Where an origin entry sits: its deployment's index and name, and its own index. */
export interface OriginEntry {
  deployment: number;
  name: string;
  origin: number;
  pattern: OriginPattern;
}

export interface OriginOverlap {
  entry: OriginEntry;
  /** The earlier entry, of another deployment, it overlaps. */
  earlier: OriginEntry;
}

/**
 * Origin entries of different deployments that some browser Origin matches both of: each is a configuration error, as
 * a request from that origin could not tell which deployment it is for. Entries that do not parse are skipped (their
 * own problem is reported where they are read).
 */
export function originOverlaps(
  deployments: ReadonlyArray<{ name: string; allowedOrigins: readonly string[] }>,
): OriginOverlap[] {
  const entries: OriginEntry[] = [];
  deployments.forEach((d, deployment) =>
    d.allowedOrigins.forEach((source, origin) => {
      const pattern = parseOriginPattern(source);
      if (typeof pattern !== 'string') entries.push({ deployment, name: d.name, origin, pattern });
    }),
  );
  const overlaps: OriginOverlap[] = [];
  entries.forEach((entry, i) => {
    const earlier = entries
      .slice(0, i)
      .find((e) => e.deployment !== entry.deployment && patternsOverlap(e.pattern, entry.pattern));
    if (earlier) overlaps.push({ entry, earlier });
  });
  return overlaps;
}
