/**
 * @genesys-bff/client: the browser client for the Genesys Cloud Web
 * Messaging BFF. No dependencies; the React bindings are in
 * `@genesys-bff/client/react`.
 */
export { BffClient, type BffClientOptions } from './client.js';
export { BffError, type Problem } from './errors.js';
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
