import type * as Client from '../../client/src';
import type { z } from 'zod';
import type * as Api from '../../src/domain/api';
import type { Availability } from '../../src/domain/availability';
import type { NormalizedMessage, ReceiptEvent } from '../../src/domain/message';

/**
 * Checked by `npm run typecheck`, not run: the browser client is a standalone
 * file and repeats the service's public shapes, so the compiler holds every
 * shape it exposes to the service's own (`z.infer` of the schemas that
 * validate requests and build /openapi.json). A field added, dropped or
 * changed on either side fails the build.
 */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const publicTypesMatch: [
  Same<Client.ChatMessage, NormalizedMessage>,
  Same<Client.SessionView, Api.SessionView>,
  Same<Client.AttributesView, Api.AttributesView>,
  Same<Client.HistoryPage, Api.HistoryPageView>,
  Same<Client.StartSessionOptions, Api.StartInput>,
  // The client also takes a bare string as a text message.
  Same<Exclude<Client.SendInput, string>, Api.SendInput>,
  // GET /capabilities: the session's capabilities and whether availability is configured.
  Same<Client.Capabilities, z.infer<typeof Api.capabilitiesViewSchema>>,
  // GET /availability and the stream's `availability` event.
  Same<Client.Availability, Availability>,
  // The stream's `receipt` event.
  Same<Client.ReceiptEvent, ReceiptEvent>,
  // The stream's `notice` event.
  Same<Client.NoticeEvent, z.infer<typeof Api.streamEventSchemas.notice>>,
  // PUT /notifications/email: what it takes and answers.
  Same<Client.EmailOptIn, Api.EmailOptInInput>,
  Same<Client.EmailOptInView, z.infer<typeof Api.emailOptInViewSchema>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true];
