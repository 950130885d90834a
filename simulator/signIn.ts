import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { jwtVerify, SignJWT } from 'jose';
import { errorBody } from './platformErrors';
import type { ResolvedOptions } from './options';

/**
 * Genesys authenticated messaging, both ends of it
 * (docs/genesys-protocol.md#authenticated-messaging-token-endpoints):
 *
 * - the Genesys token endpoints: the exchange of an identity provider's code
 *   (or ID token) for a web-deployment JWT and a refresh token, the refresh,
 *   and the revoke that signs a customer out everywhere;
 * - the organisation's identity provider, reduced to what the exchange needs:
 *   codes issued by the demo sign-in page (oidcProvider.ts) and ID tokens.
 *
 * Genesys redeems the code at the identity provider itself; here that is a
 * call inside the simulator. The JWT's claims are not documented; these name
 * the customer (`sub`) and a sign-out generation, so a revoke ends every JWT
 * and refresh token issued before it.
 */

export interface IssuedCode {
  customer: string;
  redirectUri: string;
  codeChallenge?: string;
  nonce?: string;
  expiresAt: number;
}

interface RefreshGrant {
  customer: string;
  generation: number;
  expiresAt: number;
}

export interface SignInReply {
  status: number;
  body?: unknown;
}

const ISSUER = 'genesys-simulator-webdeployments';
const ID_TOKEN_ISSUER = 'simulator-identity-provider';
const CODE_TTL_MS = 60_000;

export class SimulatedSignIn {
  private readonly jwtKey = new Uint8Array(randomBytes(32));
  private readonly idTokenKey = new Uint8Array(randomBytes(32));
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, RefreshGrant>();
  /** Bumped by every sign-out: credentials of an older generation are refused. */
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly options: ResolvedOptions,
    /** Genesys tells every connection of the customer (LogoutEvent). */
    private readonly onSignedOut: (customer: string) => void,
  ) {}

  reset(): void {
    this.codes.clear();
    this.refreshTokens.clear();
    this.generations.clear();
  }

  // ---------------------------------------------------------------- identity provider

  /** The identity provider issues a single-use code for a customer who signed in. */
  issueCode(grant: Omit<IssuedCode, 'expiresAt'>): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { ...grant, expiresAt: Date.now() + CODE_TTL_MS });
    return code;
  }

  /** Redeems a code the way an OpenID Connect token endpoint does: once, for its redirect URI, with the PKCE verifier it was bound to. */
  redeem(code: string, redirectUri: string | undefined, codeVerifier: string | undefined): IssuedCode | undefined {
    const issued = this.codes.get(code);
    this.codes.delete(code);
    if (!issued || issued.expiresAt <= Date.now() || issued.redirectUri !== redirectUri) return undefined;
    if (issued.codeChallenge !== undefined) {
      if (!codeVerifier || createHash('sha256').update(codeVerifier).digest('base64url') !== issued.codeChallenge)
        return undefined;
    }
    return issued;
  }

  /** An ID token for the customer (the implicit flow's credential, and the token endpoint's). */
  idToken(customer: string, audience: string, nonce: string | undefined): Promise<string> {
    return new SignJWT({ ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ID_TOKEN_ISSUER)
      .setAudience(audience)
      .setSubject(customer)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(this.idTokenKey);
  }

  // ---------------------------------------------------------------- Genesys token endpoints

  /** `POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange`. */
  async exchange(raw: string): Promise<SignInReply> {
    const body = parseJson(raw) as { deploymentId?: unknown; oauth?: Record<string, unknown> } | undefined;
    const oauth = body?.oauth;
    if (!oauth || body.deploymentId !== this.options.deploymentId) return refused(400);
    if (!this.options.authEnabled) return refused(403);
    if (typeof oauth.code === 'string') {
      const issued = this.redeem(oauth.code, str(oauth.redirectUri), str(oauth.codeVerifier));
      if (!issued) return refused(400);
      return {
        status: 200,
        body: { jwt: await this.jwt(issued.customer), refreshToken: this.refreshToken(issued.customer) },
      };
    }
    if (typeof oauth.idToken === 'string' && typeof oauth.nonce === 'string') {
      const customer = await this.verifyIdToken(oauth.idToken, oauth.nonce);
      // The official SDK's fixtures give the implicit flow no refresh token; its AuthJwt allows a null one (the strict profile's).
      if (!customer) return refused(400);
      return {
        status: 200,
        body: { jwt: await this.jwt(customer), ...(this.options.profile === 'strict' ? { refreshToken: null } : {}) },
      };
    }
    return refused(400);
  }

  /** `POST /api/v2/webdeployments/token/refresh`: `{ refreshToken }` (the SDK sends nothing else). */
  async refresh(raw: string): Promise<SignInReply> {
    const token = str((parseJson(raw) as { refreshToken?: unknown } | undefined)?.refreshToken);
    const grant = token === undefined ? undefined : this.refreshTokens.get(token);
    if (!grant || grant.expiresAt <= Date.now() || grant.generation !== this.generation(grant.customer))
      return refused(401);
    return { status: 200, body: { jwt: await this.jwt(grant.customer) } };
  }

  /** `DELETE /api/v2/webdeployments/token/revoke` with `Authorization: bearer <jwt>`: signs the customer out on every device. */
  async revoke(req: IncomingMessage): Promise<SignInReply> {
    const jwt = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const customer = jwt ? await this.customerOf(jwt) : undefined;
    if (!customer) return refused(401);
    this.generations.set(customer, this.generation(customer) + 1);
    this.onSignedOut(customer);
    return { status: 204 };
  }

  /** The customer a sign-in JWT names, while it is valid and not signed out. */
  async customerOf(jwt: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(jwt, this.jwtKey, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(this.options.clock()),
      });
      if (payload.deploymentId !== this.options.deploymentId || typeof payload.sub !== 'string') return undefined;
      return payload.gen === this.generation(payload.sub) ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }

  private generation(customer: string): number {
    return this.generations.get(customer) ?? 0;
  }

  /** Issued and checked by the simulator's clock, so a test can let every JWT run out by moving it on. */
  private jwt(customer: string): Promise<string> {
    const now = Math.floor(this.options.clock() / 1000);
    return new SignJWT({ deploymentId: this.options.deploymentId, gen: this.generation(customer) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(customer)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + this.options.authJwtLifetimeSeconds)
      .sign(this.jwtKey);
  }

  private refreshToken(customer: string): string {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + this.options.refreshTokenLifetimeSeconds * 1000;
    this.refreshTokens.set(token, { customer, generation: this.generation(customer), expiresAt });
    return token;
  }

  private async verifyIdToken(idToken: string, nonce: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(idToken, this.idTokenKey, { algorithms: ['HS256'], issuer: ID_TOKEN_ISSUER });
      return payload.nonce === nonce && typeof payload.sub === 'string' ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Guess: the exchange answers a bad grant with a Platform error body (the SDK only reads "not 2xx"). */
function refused(status: number): SignInReply {
  return { status, body: errorBody(status, randomUUID()) };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
