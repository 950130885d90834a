/**
 * Signed-in customers: Genesys authenticated messaging.
 */
export { CustomerSignIn } from './customerSignIn';
