import { AppError } from '../../domain/errors';
import { DEFAULT_MESSENGER_FEATURES, type MessengerFeatures } from '../../genesys/platform';
import type { GenesysSignIn, SignInGrant, WebDeploymentTokens } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';

/**
 * Genesys authenticated messaging as the use cases need it
 * (docs/genesys-protocol.md#configureauthenticatedsession): whether the
 * deployment takes a sign-in is Genesys's to decide, as in its own SDK; a
 * refusal is explained by the deployment's configuration when it comes.
 * Signing out revokes at Genesys, which tells every device.
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
   * The customer's Genesys credentials for an identity-provider grant. Only
   * the redirect URI is judged here (it is this site's); whether the
   * deployment has sign-in on is Genesys's answer to the exchange.
   */
  async exchange(grant: SignInGrant): Promise<GenesysSignIn> {
    if ('redirectUri' in grant && !this.deps.redirectUriAllowed(grant.redirectUri)) {
      throw new AppError(
        'validation_failed',
        "`redirectUri` is not one of this site's sign-in callback URLs (SIGN_IN_REDIRECT_URIS, " +
          'else a page of an allowed origin); nothing was exchanged.',
      );
    }
    try {
      return await this.deps.tokens.exchange(grant);
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'reauthentication_required') throw error;
      // Genesys's answer does not say why (docs/genesys-protocol.md); a configuration read (not the
      // defaults served while none was) with sign-in off does.
      const features = await this.deps.messengerFeatures.get();
      if (features === DEFAULT_MESSENGER_FEATURES || features.auth.enabled) throw error;
      throw new AppError(
        'authentication_disabled',
        'Genesys refused the sign-in: this Messenger deployment has no sign-in set up ' +
          '(authenticated messaging is off in its configuration).',
        { cause: error },
      );
    }
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
