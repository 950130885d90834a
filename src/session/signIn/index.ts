/**
 * Signed-in customers: Genesys authenticated messaging.
 */
export { CustomerSignIn } from './customerSignIn';
export { SignInLedger, grantDigest } from './signInLedger';
