/**
 * Requests on a guest's socket: each request matched to its reply by `tracingId` under the
 * per-connection budget and send window, inbound frames dispatched, attachment transfers, and delivery
 * proven from history.
 */
export { DeliveryLedger } from './deliveryProof';
export type { DeliveryVerdict, SentMessage, ReadNewestPage } from './deliveryProof';
export { InboundDispatch } from './inboundDispatch';
export type { InboundSession } from './inboundDispatch';
export type { GuestEvent, NoticeEvent, SessionNews } from './sessionNews';
export { RequestDesk, MAX_QUEUE_SHARE } from './requestDesk';
export type { DeskSocket } from './requestDesk';
export { AttachmentTransfer } from './attachmentTransfer';
export { TypingIndicator } from './typingIndicator';
