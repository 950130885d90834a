import { statedExpiry } from '../../genesys/downloadLinks';
import { sessionKeyOf } from '../../store';

/**
 * Genesys's own download URLs, kept per attachment for as long as they are
 * valid, so a page that shows the same file again costs no `getAttachment`
 * (each counts against the connection's request budget,
 * docs/genesys-protocol.md#download-links). Filled from every message this
 * service shows (echoes, the live stream, history), every upload verdict and
 * every `getAttachment` answer; per instance, in memory, bounded.
 *
 * A URL's lifetime is read from its signature: S3 SigV4 (`X-Amz-Date` +
 * `X-Amz-Expires` seconds) or an `Expires` epoch (S3 SigV2, CloudFront).
 * One that says nothing is trusted for the unknown lifetime only
 * (DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS, `npm run verify:genesys` reports
 * what the deployment's links say).
 */

/**
 * How long, by default, a URL whose expiry it does not say is served from the cache
 * (no source gives Genesys's link lifetime).
 */
export const UNKNOWN_LIFETIME_MS = 60_000;
/**
 * A URL is handed out only while it has this much life left (or a quarter
 * of its lifetime, if shorter), so the browser reaches it in time.
 */
const MARGIN_MS = 5_000;
/** Attachments remembered per instance; the oldest go first. */
const MAX_URLS = 10_000;

interface Known {
  url: string;
  expiresAt: number;
  margin: number;
}

export class DownloadUrls {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly unknownLifetimeMs: number = UNKNOWN_LIFETIME_MS,
  ) {}

  remember(guestToken: string, attachmentId: string, url: string | undefined): void {
    if (!url) return;
    const key = keyOf(guestToken, attachmentId);
    const previous = this.known.get(key);
    if (previous?.url === url) return;
    const now = this.now();
    const expiresAt = expiryOf(url, now, this.unknownLifetimeMs);
    this.known.delete(key);
    this.known.set(key, { url, expiresAt, margin: Math.min(MARGIN_MS, Math.max(0, expiresAt - now) / 4) });
    if (this.known.size > MAX_URLS) this.known.delete(this.known.keys().next().value!);
  }

  /** Genesys's URL for this attachment while it is still valid, else undefined. */
  fresh(guestToken: string, attachmentId: string): string | undefined {
    const k = this.known.get(keyOf(guestToken, attachmentId));
    return k && this.now() < k.expiresAt - k.margin ? k.url : undefined;
  }

  /** The last URL Genesys gave for this attachment, valid or not: the fallback when Genesys will not sign a new one. */
  last(guestToken: string, attachmentId: string): string | undefined {
    return this.known.get(keyOf(guestToken, attachmentId))?.url;
  }
}

function keyOf(guestToken: string, attachmentId: string): string {
  return `${sessionKeyOf(guestToken)}:${attachmentId}`;
}

/**
 * When a presigned URL stops working, from its own parameters
 * (epoch ms); `now + unknownLifetimeMs` when it does not say.
 */
export function expiryOf(url: string, now: number, unknownLifetimeMs = UNKNOWN_LIFETIME_MS): number {
  if (!URL.canParse(url)) return now;
  return statedExpiry(url) ?? now + unknownLifetimeMs;
}
