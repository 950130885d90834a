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
import { notificationRoutes } from './notifications';
import { problemRoutes } from './problems';
import { sessionRoutes } from './session';
import { signInRoutes } from './signIn';
import { streamRoutes } from './stream';
import { transcriptRoutes } from './transcript';

/**
 * The routes of the process itself, the same whichever deployment a request is for: health, the published documents
 * (of these and of a deployment's, `deploymentSpecs`, in the order /openapi.json lists them) and the problem pages.
 */
export function processRoutes(
  readiness: Readiness,
  deploymentSpecs: () => AnyRouteSpec[],
  version: string,
): AnyRouteSpec[] {
  const specs: AnyRouteSpec[] = [
    ...healthRoutes(readiness),
    ...documentRoutes(() => specs, deploymentSpecs, version),
    ...problemRoutes(),
  ];
  return specs;
}

/** The chat API of one deployment, on its parts. */
export function chatRoutes(chat: ChatRouteDeps): AnyRouteSpec[] {
  return [
    ...sessionRoutes(chat),
    ...signInRoutes(chat),
    ...attributeRoutes(chat),
    ...messageRoutes(chat),
    ...transcriptRoutes(chat),
    ...capabilityRoutes(chat),
    ...availabilityRoutes(chat),
    ...streamRoutes(chat),
    ...attachmentRoutes(chat),
    ...notificationRoutes(chat),
  ];
}
