import { AppError } from '../../../domain/errors';
import type { Logger } from '../../../observability/logger';
import { GuestApiError, type SessionResponse } from '../protocol';
import type { GenesysSignIn } from './webDeploymentTokens';

/** Refreshes after a refused JWT before giving up, as the official SDK does (`MAX_RECONFIGURE_ATTEMPTS`). */
const MAX_REFRESHES = 3;

/**
 * A guest session's sign-in (Genesys authenticated messaging), if it has
 * one: the credentials to configure with, renewed once at a time when
 * Genesys refuses the JWT (docs/genesys-protocol.md#configureauthenticatedsession).
 */
export class GuestSignIn {
  private current?: GenesysSignIn;
  private renewing?: Promise<GenesysSignIn>;
  private signedInConfigure = false;

  constructor(
    private readonly renew?: (signIn: GenesysSignIn) => Promise<GenesysSignIn>,
    private readonly logger?: Pick<Logger, 'info'>,
  ) {}

  /** The newest credentials (a renewed JWT included), to seal into the next session token. */
  get value(): GenesysSignIn | undefined {
    return this.current;
  }

  /** Whether the last configure Genesys accepted was a signed-in one (configureAuthenticatedSession). */
  get configuredSignedIn(): boolean {
    return this.signedInConfigure;
  }

  /** Takes the credentials a session token carries, unless this session already holds (possibly newer) ones. */
  adopt(signIn: GenesysSignIn): void {
    this.current ??= signIn;
  }

  replace(signIn: GenesysSignIn): void {
    this.current = signIn;
  }

  /** Configures as `signIn` from now on (a step-up); when Genesys declines it, the session stays as it was. */
  async stepUp(signIn: GenesysSignIn, configure: () => Promise<SessionResponse>): Promise<SessionResponse> {
    const before = this.current;
    this.current = signIn;
    try {
      return await configure();
    } catch (error) {
      // Reconnects then configure the session as Genesys still knows it, not with the declined sign-in.
      if (error instanceof GuestApiError && error.failure === 'sign_in_refused' && this.current === signIn)
        this.current = before;
      throw error;
    }
  }

  /**
   * Configures with `send` (given the JWT when signed in): a 401 renews the
   * JWT and configures again, at most MAX_REFRESHES times; a sign-in that
   * cannot be renewed ends in `reauthentication_required`. Any other 403 to a
   * signed-in configure is Genesys declining the sign-in itself (sign-in off,
   * or no step-up on this deployment): `sign_in_refused`, which the session survives.
   * An anonymous configure refused with 4017 while credentials arrived meanwhile
   * goes again with them.
   */
  async configure(send: (jwt: string | undefined) => Promise<SessionResponse>): Promise<SessionResponse> {
    let downgradeRefused = false;
    for (let refreshes = 0; ; refreshes++) {
      const signIn = this.current;
      try {
        const info = await send(signIn?.jwt);
        this.signedInConfigure = signIn !== undefined;
        return info;
      } catch (error) {
        // An anonymous configure that went out before a signed-in request brought its credentials here, refused
        // because the conversation was signed in meanwhile (4017): configured again with them, once.
        if (!signIn && this.current && !downgradeRefused && isDowngradeRefusal(error)) {
          downgradeRefused = true;
          refreshes--;
          this.logger?.info(
            'Genesys refused an anonymous configure of this conversation, signed in meanwhile (4017); ' +
              'configuring it again with the sign-in a request brought',
          );
          continue;
        }
        if (signIn && error instanceof GuestApiError && error.failure === 'forbidden')
          throw new GuestApiError(
            'sign_in_refused',
            'Genesys refused the sign-in: this Messenger deployment does not take one here ' +
              '(sign-in off, or no signing in mid-chat); the chat goes on as it was.',
            { cause: error },
          );
        if (!signIn || !(error instanceof GuestApiError) || error.failure !== 'unauthorized') throw error;
        if (refreshes === MAX_REFRESHES)
          throw new GuestApiError('reauthentication_required', 'Genesys keeps refusing the sign-in; sign in again.', {
            cause: error,
          });
        await this.renewed(signIn);
      }
    }
  }

  private async renewed(refused: GenesysSignIn): Promise<void> {
    // Another request renewed it meanwhile: configure with that one.
    if (this.current !== refused) return;
    if (!this.renew)
      throw new GuestApiError('reauthentication_required', 'The sign-in cannot be renewed here; sign in again.');
    this.renewing ??= this.renew(refused).finally(() => (this.renewing = undefined));
    try {
      const renewed = await this.renewing;
      if (this.current === refused) this.current = renewed;
    } catch (error) {
      // Genesys refused the refresh token: over. Anything else (unreachable) is worth another try later.
      if (error instanceof AppError && error.code === 'reauthentication_required') {
        throw new GuestApiError('reauthentication_required', error.message, { cause: error });
      }
      throw new GuestApiError('unavailable', 'Genesys did not renew the sign-in; please retry.', { cause: error });
    }
  }
}

/** Genesys refusing an anonymous configure of a signed-in conversation (4017). */
function isDowngradeRefusal(error: unknown): boolean {
  return error instanceof GuestApiError && error.failure === 'cannot_downgrade';
}
