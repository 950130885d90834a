/**
 * A guest's connection to Genesys: the WebSocket, its keep-alive and reconnects, which instance
 * owns a session's socket, the session's expiry, and the Guest API's health.
 */
export { GuestApiHealth } from './guestApiHealth';
export { expiryInMetadata, SessionExpiry } from './sessionExpiry';
export { GuestSocket } from './guestSocket';
export { withDeadline } from './reconnect';
export { SessionLink } from './sessionLink';
export type { GuestSessionOptions } from './sessionLink';
export { SessionOwnership } from './sessionOwnership';
