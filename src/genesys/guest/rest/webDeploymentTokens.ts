import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { AppError } from '../../../domain/errors';
import type { Logger } from '../../../observability/logger';
import { correlationIdOf, describeTransportFailure } from '../../restClient';
import type { GenesysGate } from '../link';

/**
 * Genesys authenticated messaging's token endpoints
 * (docs/genesys-protocol.md#authenticated-messaging-token-endpoints): the
 * customer's sign-in at the organisation's identity provider (an
 * authorization code, or an implicit-flow ID token) is exchanged for a
 * web-deployment JWT and a refresh token; the JWT configures the Guest API
 * session, is refreshed when Genesys refuses it, and is revoked on sign-out.
 * None of these calls carries this service's OAuth token.
 */

/** What the identity provider gave the browser, as the exchange takes it. */
export type SignInGrant =
  { code: string; redirectUri: string; codeVerifier?: string } | { idToken: string; nonce: string };

/** A signed-in customer's Genesys credentials: kept sealed in the session token, never shown or logged. */
export interface GenesysSignIn {
  jwt: string;
  /** Absent for the implicit (ID token) flow: such a sign-in cannot be refreshed. */
  refreshToken?: string;
}

const signInSchema = z.object({ jwt: z.string().min(1), refreshToken: z.string().min(1).nullish() });
const refreshedSchema = z.object({ jwt: z.string().min(1) });

const PATHS = {
  exchange: '/api/v2/webdeployments/token/oauthcodegrantjwtexchange',
  refresh: '/api/v2/webdeployments/token/refresh',
  revoke: '/api/v2/webdeployments/token/revoke',
} as const;

export class WebDeploymentTokens {
  constructor(
    private readonly http: AxiosInstance,
    private readonly apiUrl: string,
    private readonly deploymentId: string,
    private readonly logger: Logger,
    /** The circuit to Genesys (link/guestApiHealth.ts): while it is open, a call is refused at once. */
    private readonly upstream?: GenesysGate,
  ) {}

  /**
   * Exchanges the identity provider's code (or ID token) for Genesys
   * credentials; a refused grant is `reauthentication_required`.
   */
  async exchange(grant: SignInGrant): Promise<GenesysSignIn> {
    const response = await this.call('exchange', () =>
      this.http.post(this.apiUrl + PATHS.exchange, { deploymentId: this.deploymentId, oauth: grant }),
    );
    if (isRefusal(response.status))
      throw this.refused(
        'exchange',
        response,
        'Genesys did not accept this sign-in (a used, expired or foreign code); sign in again.',
      );
    const body = this.parse('exchange', signInSchema, response);
    return { jwt: body.jwt, ...(body.refreshToken ? { refreshToken: body.refreshToken } : {}) };
  }

  /**
   * A fresh JWT for a sign-in. The official SDK sends only the refresh token;
   * Genesys's API reference also lists `deploymentId`, so both go.
   */
  async refresh(signIn: GenesysSignIn): Promise<GenesysSignIn> {
    if (!signIn.refreshToken)
      throw new AppError('reauthentication_required', 'The sign-in has run out and cannot be renewed; sign in again.');
    const refreshToken = signIn.refreshToken;
    const response = await this.call('refresh', () =>
      this.http.post(this.apiUrl + PATHS.refresh, { refreshToken, deploymentId: this.deploymentId }),
    );
    if (isRefusal(response.status))
      throw this.refused('refresh', response, 'The sign-in has run out or was revoked; sign in again.');
    return { jwt: this.parse('refresh', refreshedSchema, response).jwt, refreshToken };
  }

  /** Signs the customer out at Genesys (every device); false when Genesys no longer knew the JWT (401). */
  async revoke(jwt: string): Promise<boolean> {
    const response = await this.call('revoke', () =>
      this.http.delete(this.apiUrl + PATHS.revoke, { headers: { Authorization: `bearer ${jwt}` } }),
    );
    if (response.status === 401) return false;
    if (response.status >= 200 && response.status < 300) return true;
    throw this.unavailable('revoke', response);
  }

  private call(operation: string, request: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
    return this.upstream
      ? this.upstream.watch(() => this.callOnce(operation, request))
      : this.callOnce(operation, request);
  }

  private async callOnce(operation: string, request: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
    let response: AxiosResponse;
    try {
      response = await request();
    } catch (error) {
      const failure = describeTransportFailure(error);
      throw new AppError('upstream_unavailable', 'Genesys did not answer the sign-in request; please retry.', {
        status: failure.timedOut ? 504 : 502,
        logDetail: { signInOperation: operation, transport: failure.message },
      });
    }
    // What Genesys answered is each operation's to judge: a 429 or 5xx is neither
    // a refusal (isRefusal) nor a success (2xx), so upstream_unavailable.
    return response;
  }

  private parse<T>(operation: string, schema: z.ZodType<T>, response: AxiosResponse): T {
    const parsed = schema.safeParse(response.data);
    if (response.status >= 200 && response.status < 300 && parsed.success) return parsed.data;
    throw this.unavailable(operation, response);
  }

  private refused(operation: string, response: AxiosResponse, detail: string): AppError {
    this.logger.info(
      { signInOperation: operation, status: response.status, correlationId: correlationIdOf(response.headers) },
      'Genesys refused a sign-in credential',
    );
    return new AppError('reauthentication_required', detail, {
      logDetail: { signInOperation: operation, genesysStatus: response.status },
    });
  }

  private unavailable(operation: string, response: AxiosResponse): AppError {
    return new AppError('upstream_unavailable', 'Genesys could not handle the sign-in request; please retry.', {
      status: 502,
      logDetail: {
        signInOperation: operation,
        genesysStatus: response.status,
        correlationId: correlationIdOf(response.headers),
      },
    });
  }
}

/** 4xx but 429: Genesys judged the credential itself. */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}
