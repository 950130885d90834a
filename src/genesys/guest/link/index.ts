/**
 * The parts of a guest's connection to Genesys: the WebSocket and its keep-alive, reconnect pacing,
 * which instance owns a session's socket, the session's expiry, and the Guest API's health.
 */
export { GuestApiHealth } from './guestApiHealth';
export type { GenesysGate } from './guestApiHealth';
export { expiryInMetadata, SessionExpiry } from './sessionExpiry';
export { GuestSocket, type SocketClosed } from './guestSocket';
export { RECONNECT_ATTEMPTS_FOR_REQUESTS, withDeadline, withRetries } from './reconnect';
export { SessionOwnership } from './sessionOwnership';
