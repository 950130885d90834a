/**
 * The wire protocol: the frames Genesys sends (parsed with a schema), the frames this service
 * sends, attachment frames, normalising messages to the public shape, and the mapping of Genesys errors.
 */
export { GuestApiError, guestErrorFromFrame, attachmentRefusal } from './errors';
export { parseInbound, historySchema, isReceipt, structuredMessageSchema } from './frames';
export type { InboundFrame, SessionResponse, StructuredMessage } from './frames';
export { deleteAttachmentFrame, getAttachmentFrame, onAttachmentFrame } from './attachmentFrames';
export type { AttachmentFailure, PresignedUrl } from './attachmentFrames';
export { normalizeMessage } from './normalize';
export { receiptOf } from './receipts';
export type { Receipt } from './receipts';
export {
  answerFrame,
  clearFrame,
  closeSessionFrame,
  configureAuthenticatedSessionFrame,
  configureSessionFrame,
  echoFrame,
  getJwtFrame,
  joinFrame,
  readReceiptFrame,
  textMessageFrame,
  typingFrame,
} from './outboundFrames';
export type { AnswerKind, CustomAttributes } from './outboundFrames';
