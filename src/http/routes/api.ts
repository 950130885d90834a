import type { Readiness } from '../../observability/readiness';
import type { AnyRouteSpec } from '../spec';
import { attachmentRoutes } from './attachments';
import type { ChatRouteDeps } from './deps';
import { attributeRoutes } from './attributes';
import { availabilityRoutes } from './availability';
import { capabilityRoutes } from './capabilities';
import { documentRoutes } from './documents';
import { healthRoutes } from './health';
import { messageRoutes } from './messages';
import { problemRoutes } from './problems';
import { sessionRoutes } from './session';
import { signInRoutes } from './signIn';
import { streamRoutes } from './stream';
import { transcriptRoutes } from './transcript';

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
          ...transcriptRoutes(chat),
          ...capabilityRoutes(chat),
          ...availabilityRoutes(chat),
          ...streamRoutes(chat),
          ...attachmentRoutes(chat),
        ]
      : []),
  ];
  return specs;
}
