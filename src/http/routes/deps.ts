import type { AvailabilityService } from '../../genesys/availability';
import type { SessionHub } from '../../genesys/guest';
import type { ChatNotifications, GuestAttachments, GuestChat, Revocations, SessionTokens } from '../../session';
import type { rateLimits } from '../middleware';
import type { LiveStreams } from '../streams';
import type { AttachmentRouteDeps } from './attachments';

/** What the public chat API (docs/api.md) works with; `uploads` is where files in transit go. */
export interface ChatRouteDeps extends Pick<AttachmentRouteDeps, 'uploads'> {
  chat: GuestChat;
  /** Web Push and e-mail: opt-ins, the page streams that say the chat is looked at, and the end of a chat. */
  notifications: Pick<
    ChatNotifications,
    | 'capabilities'
    | 'subscribe'
    | 'unsubscribe'
    | 'optInEmail'
    | 'optOutEmail'
    | 'followEmailLink'
    | 'chatEnded'
    | 'pageOpened'
    | 'pageResumed'
    | 'shown'
  >;
  attachments: GuestAttachments;
  /** PUBLIC_URL: the base of links this service hands out (else taken from each request). */
  publicUrl?: string;
  hub: SessionHub;
  tokens: SessionTokens;
  revocations: Revocations;
  streams: LiveStreams;
  limits: ReturnType<typeof rateLimits>;
  /** GET /availability's answer, and its changes for the live streams. */
  availability: Pick<AvailabilityService, 'configured' | 'current' | 'subscribe'>;
}
