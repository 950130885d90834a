import type { AttachmentView } from '../../domain/api';
import type { NormalizedMessage } from '../../domain/message';
import { type UploadBody, type SessionHub, GuestApiError } from '../../genesys/guest';
import type { GuestInputMask } from '../masking';
import type { UploadLimits } from './attachmentPolicy';
import type { DownloadUrls } from './downloadUrls';
import type { UploadSlots } from './uploadSlots';
import type { SessionClaims, SessionTokens } from '../tokens';

/**
 * The guest's files as the public API sees them: uploads checked and handed
 * to Genesys, and links that never go stale. Genesys's download URLs expire
 * after minutes; every attachment this service shows carries instead a URL
 * on the service (`/attachments/{id}/content?link=…`) that redirects to
 * Genesys's URL while it is valid (downloadUrls.ts), to one Genesys signs
 * anew (`getAttachment`) once it has expired, and to the last one Genesys
 * gave when it will not sign another (for an agent's file, unverified).
 * The link is sealed like a session token, names one attachment of one
 * session, and lives as long as a session token does, so an `<img src>`
 * (which sends no Authorization header) keeps working.
 */

interface AttachmentsDeps {
  hub: SessionHub;
  /** Sensitive data in a file's name, hidden (or the upload refused) before Genesys sees it; unset: none. */
  mask?: GuestInputMask;
  tokens: SessionTokens;
  /** What this session may upload now (capabilities.ts). */
  limits(claims: SessionClaims): Promise<UploadLimits>;
  /** The instance's upload slots, shared by every deployment. */
  slots: UploadSlots;
  /** Genesys's download URLs while they are valid: the instance's, shared by every deployment. */
  urls: DownloadUrls;
}

/** Whose attachment a link opens, and the routing key that brings its request to the right instance. */
type LinkOwner = Pick<SessionClaims, 'guestToken' | 'origin' | 'signIn'> & { routingKey?: string };

export class GuestAttachments {
  /** Genesys's download URLs while they are valid. */
  private readonly urls: DownloadUrls;

  constructor(private readonly deps: AttachmentsDeps) {
    this.urls = deps.urls;
  }

  /** What an upload may be now: the deployment's limits, and whether the conversation still takes files. */
  async limits(claims: SessionClaims): Promise<UploadLimits> {
    const [limits, info] = await Promise.all([
      this.deps.limits(claims),
      this.deps.hub.session(claims.guestToken, claims.signIn).ready(),
    ]);
    return { ...limits, readOnly: info.readOnly };
  }

  /**
   * Reserves the session's one upload slot (Genesys takes one file at a
   * time) before the body is read, within the instance's and the client
   * address's share, so one client cannot hold every slot; the returned
   * function frees it.
   */
  reserve(claims: SessionClaims, ip: string): () => void {
    return this.deps.slots.reserve(claims.guestToken, ip);
  }

  async upload(claims: SessionClaims, file: { fileName: string } & UploadBody, base: string): Promise<AttachmentView> {
    const name = this.deps.mask?.fileName(file.fileName) ?? { value: file.fileName, detectors: [] };
    const session = this.deps.hub.session(claims.guestToken, claims.signIn);
    const { attachmentId, downloadUrl } = await session.attachments.upload({ ...file, fileName: name.value });
    this.urls.remember(claims.guestToken, attachmentId, downloadUrl);
    if (name.detectors.length > 0)
      session.notice({ type: 'notice', code: 'masked', detectors: name.detectors, attachmentId });
    return {
      id: attachmentId,
      fileName: name.value,
      mediaType: file.mediaType,
      size: file.size,
      url: this.link(claims, attachmentId, base),
    };
  }

  async remove(claims: SessionClaims, attachmentId: string): Promise<void> {
    await this.deps.hub.session(claims.guestToken, claims.signIn).attachments.remove(attachmentId);
  }

  /**
   * A Genesys download URL that works now: the one Genesys gave while it is
   * valid, else a new one (`getAttachment`), else, when Genesys refuses to
   * sign one, the last it gave. Waiting is Genesys's to ask for: a request
   * budget spent is a 429 with its Retry-After, never a stale link.
   */
  async freshUrl(owner: Pick<SessionClaims, 'guestToken' | 'signIn'>, attachmentId: string): Promise<string> {
    const cached = this.urls.fresh(owner.guestToken, attachmentId);
    if (cached) return cached;
    try {
      const url = await this.deps.hub.session(owner.guestToken, owner.signIn).attachments.freshUrl(attachmentId);
      this.urls.remember(owner.guestToken, attachmentId, url);
      return url;
    } catch (error) {
      const last = this.urls.last(owner.guestToken, attachmentId);
      if (last && error instanceof GuestApiError && refusedToSign(error)) return last;
      throw error;
    }
  }

  /** The routing key rides along, so a proxy hashing on it brings the `<img>` request to the session's instance. */
  link(claims: LinkOwner, attachmentId: string, base: string): string {
    const link = this.deps.tokens.attachmentLink(claims, attachmentId);
    const route = claims.routingKey ? `routingKey=${claims.routingKey}&` : '';
    return `${base}/attachments/${encodeURIComponent(attachmentId)}/content?${route}link=${link}`;
  }

  /** The message with every attachment's `url` replaced by a link on this service. */
  present(claims: LinkOwner, base: string): (message: NormalizedMessage) => NormalizedMessage {
    return (message) => {
      if (!message.attachments?.length) return message;
      for (const a of message.attachments) if (a.id) this.urls.remember(claims.guestToken, a.id, a.url);
      return {
        ...message,
        attachments: message.attachments.map((a) => (a.id ? { ...a, url: this.link(claims, a.id, base) } : a)),
      };
    };
  }
}

/**
 * Genesys answered, but would not sign a new URL (not found,
 * refused, failed): the last one it gave is better than none.
 */
function refusedToSign(error: GuestApiError): boolean {
  return !error.fatalForSession && error.failure !== 'rate_limited' && error.failure !== 'store_unavailable';
}
