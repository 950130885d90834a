/**
 * The use cases: a guest's chat as the public API sees it, built on sealed tokens, safe sends,
 * attributes, attachments and sign-in.
 */
export { IdentityVerifier } from './attributes';
export {
  GuestAttachments,
  UploadSlots,
  DownloadUrls,
  checkEnabled,
  MULTIPART_OVERHEAD_BYTES,
  checkFileName,
  checkNotDisguised,
  SNIFF_BYTES,
  tooLarge,
  uploadMediaType,
} from './attachments';
export type { UploadLimits } from './attachments';
export { CustomerSignIn } from './signIn';
export { GuestInputMask } from './masking';
export { GuestChat, REPLACED_TOKEN } from './guestChat';
export { ChatWebhooks } from './chatWebhooks';
export type { EarlierSignIn } from './guestChat';
export {
  SECURITY_RECORD_PREFIXES,
  StoreRevocations,
  deriveKeys,
  keyIdOf,
  Sealer,
  SessionTokens,
  ROUTING_KEY,
} from './tokens';
export type { Revocations, SessionClaims } from './tokens';
export { ChatNotifications, ReadPacer } from './notifications';
