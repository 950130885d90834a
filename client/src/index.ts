/**
 * @genesys-bff/client: the browser client for the Genesys Cloud Web
 * Messaging BFF. It loads no other package itself (Markdown takes markdown-it and DOMPurify as
 * arguments); the React bindings are in `@genesys-bff/client/react`.
 */
export { BffClient, type BffClientOptions } from './client.js';
export { BffError, type Problem } from './errors.js';
export {
  keyBytes,
  pushKeyOf,
  serviceWorkerUrlOf,
  subscribeToReplies,
  unsubscribeFromReplies,
  type PushOptions,
  type PushOutcome,
  type PushPlatform,
  type PushSubscriptionBody,
} from './push.js';
export {
  PAGE_EVENT_NAMES,
  PAGE_EVENT_PREFIX,
  type PageEventDetails,
  type PageEventName,
  type PageEventsOptions,
} from './pageEvents.js';
export {
  availabilityStatus,
  chatButtonState,
  type AvailabilityStatus,
  type AvailabilityStatusOptions,
  type WhenClosed,
} from './availability.js';
export type { UploadOptions } from './attachments.js';
export type { SendOptions } from './messages.js';
export {
  LiveStream,
  type ChatStream,
  type StreamHandlers,
  type StreamOptions,
  type StreamState,
  type TicketSource,
} from './stream.js';
export type { TabEvent, TabPlatform } from './tabs.js';
export { localStorageTokenStore, memoryTokenStore, sessionStorageTokenStore, type TokenStore } from './tokenStore.js';
export { attentionTo, type Attention, type AttentionOptions } from './attention.js';
export type * from './types.js';
export { followNewest, type ScrollFollow, type ScrollFollowOptions } from './scrollFollow.js';
export {
  applyReceipt,
  deliveryLine,
  describeFailure,
  furthestStatus,
  readReporter,
  type ReadReporter,
} from './receipts.js';
export {
  buildTranscript,
  ENGLISH_TRANSCRIPT_LABELS,
  saveTranscript,
  transcriptLabelsOf,
  type BuildTranscriptOptions,
  type Transcript,
  type TranscriptFormat,
  type TranscriptLabels,
  type TranscriptReader,
} from './transcript.js';
export {
  createMarkdownRenderer,
  type MarkdownLibraries,
  type MarkdownOptions,
  type MarkdownParserClass,
  type MarkdownRenderer,
  type SanitizerFactory,
} from './markdown.js';
export {
  catalogues,
  chooseLanguage,
  isolate,
  shippedLanguages,
  wordingFor,
  type Catalogue,
  type Phrase,
  type WordKey,
  type Wording,
} from './wording/index.js';
