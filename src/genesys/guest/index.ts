/**
 * The Guest API side of Genesys: one `GuestSession` per guest (its socket, requests and events),
 * the `SessionHub` that hands them out, and the REST calls a guest makes (history, tokens, sign-in, files).
 */
export { GuestApiHealth, GuestSocket } from './link';
export type { GenesysGate } from './link';
export { SessionHub } from './sessionHub';
export { SessionCeiling } from './sessionCeiling';
export { WebDeploymentTokens } from './rest';
export type { UploadBody, HistoryPage, NewestPage, WholeConversation, GenesysSignIn, SignInGrant } from './rest';
export type { GuestEvent, GuestSession, NoticeEvent } from './guestSession';
export { MAX_QUEUE_SHARE } from './desk';
export { PROOF_PAGE_SIZE } from './rest';
export type { DeliveryVerdict, SentMessage } from './desk';
export {
  GuestApiError,
  getAttachmentFrame,
  echoFrame,
  textMessageFrame,
  clearFrame,
  configureSessionFrame,
  getJwtFrame,
  joinFrame,
  readReceiptFrame,
  configureAuthenticatedSessionFrame,
} from './protocol';
export type { SessionResponse, AnswerKind } from './protocol';
