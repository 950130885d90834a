import type { SessionHub } from '../../genesys/guest';
import type { Readiness } from '../../observability/readiness';
import type { GuestAttachments, GuestChat, Revocations, SessionTokens } from '../../session';
import type { rateLimits } from '../middleware';
import type { AnyRouteSpec } from '../spec';
import type { LiveStreams } from '../streams';
import { attachmentRoutes, type AttachmentRouteDeps } from './attachments';
import { attributeRoutes } from './attributes';
import { capabilityRoutes } from './capabilities';
import { documentRoutes } from './documents';
import { healthRoutes } from './health';
import { messageRoutes } from './messages';
import { problemRoutes } from './problems';
import { sessionRoutes } from './session';
import { signInRoutes } from './signIn';
import { streamRoutes } from './stream';

/** What the public chat API (README.md#the-chat-api) works with; `uploads` is where files in transit go. */
export interface ChatRouteDeps extends Pick<AttachmentRouteDeps, 'uploads'> {
  chat: GuestChat;
  attachments: GuestAttachments;
  /** PUBLIC_URL: the base of links this service hands out (else taken from each request). */
  publicUrl?: string;
  hub: SessionHub;
  tokens: SessionTokens;
  revocations: Revocations;
  streams: LiveStreams;
  limits: ReturnType<typeof rateLimits>;
}

/**
 * Every route of the public API, in the order /openapi.json lists them; without `chat`, only
 * health, the documents and the problem pages.
 */
export function apiRoutes({ readiness, chat }: { readiness: Readiness; chat?: ChatRouteDeps }, version: string) {
  const specs: AnyRouteSpec[] = [
    ...healthRoutes(readiness),
    ...documentRoutes(() => specs, version),
    ...problemRoutes(),
    ...(chat
      ? [
          ...sessionRoutes(chat),
          ...signInRoutes(chat),
          ...attributeRoutes(chat),
          ...messageRoutes(chat),
          ...capabilityRoutes(chat),
          ...streamRoutes(chat),
          ...attachmentRoutes(chat),
        ]
      : []),
  ];
  return specs;
}
