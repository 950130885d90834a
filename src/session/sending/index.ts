/**
 * Sending safely: message input checks, `Idempotency-Key` records and sends in doubt, and the
 * shared message rate.
 */
export { messageIdFor, requestFingerprint } from './idempotency';
export { answerOf, checkText, MAX_TEXT_BYTES } from './messageInput';
export { SEND_LEASE_MS, SEND_LEASE_RENEW_MS, SendLedger } from './sendLedger';
export type { KeyedSend } from './sendLedger';
export { takeSharedSendTurn } from './sharedSendRate';
