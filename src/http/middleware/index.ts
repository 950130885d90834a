/**
 * What every request passes through: request ids, CORS, recorded and deferred headers,
 * authentication, rate limits, JSON bodies, counting and tracing, and the error handler.
 */
export { rateLimits } from './rateLimits';
export { clientAddressKey, forwardedClient } from './clientAddress';
export { corsHeaders, refuseForeignOrigins } from './cors';
export { deferred, runPendingHeadersBeforeWriting, setHeadersWhileWaiting } from './deferredHeaders';
export { replayedHeaders, replayedPerOrigin, rawHeaders, recordHeaders } from './recordedHeaders';
export { errorHandler, notFound } from './errorHandler';
export { requestId, SAFE_REQUEST_ID } from './requestId';
export { observeRequests } from './observe';
export { authenticator, claimsOf, guestOf, spendTicket } from './authenticate';
export type { Guest } from './authenticate';
export { expiringEvent, expiryClearedEvent, warnBeforeExpiry, type ExpirySource } from './expiryWarning';
export { jsonBodyReader } from './jsonBody';
