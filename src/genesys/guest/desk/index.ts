/**
 * Requests on a guest's socket: each request matched to its reply by `tracingId` under the
 * per-connection budget and send window, inbound frames dispatched, and delivery proven from history.
 */
export { DeliveryLedger, PROOF_PAGE_SIZE } from './deliveryProof';
export type { DeliveryVerdict, SentMessage, ReadNewestPage } from './deliveryProof';
export { dispatchInbound } from './inboundDispatch';
export type { GuestEvent, InboundTarget } from './inboundDispatch';
export { RequestDesk, MAX_QUEUE_SHARE } from './requestDesk';
export type { DeskSocket } from './requestDesk';
