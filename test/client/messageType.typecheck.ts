import type { ChatMessage } from '../../client/bffClient';
import type { NormalizedMessage } from '../../src/domain/message';

/**
 * Checked by `npm run typecheck`, not run: the browser client is a standalone
 * file and repeats the service's message type, so the compiler holds the two
 * together (a field added, dropped or changed on one side fails the build).
 */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export const _clientMessageIsTheServicesMessage: Same<ChatMessage, NormalizedMessage> = true;
