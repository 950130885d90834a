/**
 * Sealed session tokens: sealing keys, what a token holds, and revocations (ended sessions,
 * sign-in cut-offs, used stream tickets).
 */
export { SECURITY_RECORD_PREFIXES, StoreRevocations, bornAtOf } from './revocations';
export type { Revocations } from './revocations';
export { deriveKeys, keyIdOf, Sealer } from './sealing';
export { SessionTokens, ROUTING_KEY, fingerprint, undeliveredAttributes } from './sessionToken';
export type { SessionClaims, SessionState } from './sessionToken';
