import { AppError } from '../../domain/errors';
import type { MessengerFeatures } from '../../genesys/platform';
import type { GenesysSignIn, SignInGrant, WebDeploymentTokens } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';

/**
 * Genesys authenticated messaging as the use cases need it
 * (docs/genesys-protocol.md#configureauthenticatedsession): a sign-in is
 * exchanged only when the deployment has it on (and, mid-chat, allows the
 * upgrade), and signing out revokes at Genesys, which tells every device.
 */
interface CustomerSignInDeps {
  tokens: WebDeploymentTokens;
  /** Whether a code grant's `redirectUri` is one of the site's sign-in callbacks (src/config/signInCallbacks.ts). */
  redirectUriAllowed: (uri: string) => boolean;
  messengerFeatures: { get(): Promise<MessengerFeatures> };
  logger: Logger;
}

export class CustomerSignIn {
  constructor(private readonly deps: CustomerSignInDeps) {}

  /**
   * The customer's Genesys credentials for an identity-provider
   * grant; `midChat` also needs the deployment to allow upgrades.
   */
  async exchange(grant: SignInGrant, midChat: boolean): Promise<GenesysSignIn> {
    if ('redirectUri' in grant && !this.deps.redirectUriAllowed(grant.redirectUri)) {
      throw new AppError(
        'validation_failed',
        "`redirectUri` is not one of this site's sign-in callback URLs (SIGN_IN_REDIRECT_URIS, " +
          'else a page of an allowed origin); nothing was exchanged.',
      );
    }
    const { auth } = await this.deps.messengerFeatures.get();
    if (!auth.enabled) {
      throw new AppError(
        'authentication_disabled',
        'This Messenger deployment has no sign-in set up (authenticated messaging is off in its configuration).',
      );
    }
    if (midChat && !auth.allowSessionUpgrade) {
      throw new AppError(
        'authentication_disabled',
        'This Messenger deployment does not allow signing in mid-chat; start a new session with `auth` instead.',
      );
    }
    return this.deps.tokens.exchange(grant);
  }

  /**
   * Revokes the sign-in at Genesys. A JWT Genesys no longer knows is renewed
   * once and revoked again, as the official SDK does; a sign-in that cannot
   * be renewed is over already.
   */
  async revoke(signIn: GenesysSignIn): Promise<void> {
    if (await this.deps.tokens.revoke(signIn.jwt)) return;
    let renewed: GenesysSignIn;
    try {
      renewed = await this.deps.tokens.refresh(signIn);
    } catch (error) {
      if (error instanceof AppError && error.code === 'reauthentication_required') return;
      throw error;
    }
    if (!(await this.deps.tokens.revoke(renewed.jwt)))
      this.deps.logger.info('Genesys did not know the renewed sign-in either; treated as signed out');
  }
}
