import { randomBytes, randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

/**
 * The guest JWT handed out by getJwt (docs/genesys-protocol.md#getjwt) and accepted by the history
 * endpoint (docs/genesys-protocol.md#history-rest). Its claims are not documented anywhere; this one names the
 * session by an internal id (`sub`), never by the session token.
 */
export class GuestJwtIssuer {
  private readonly key = new Uint8Array(randomBytes(32));
  private static readonly ISSUER = 'genesys-simulator';

  constructor(private readonly deploymentId: () => string) {}

  async issue(sessionId: string, lifetimeSeconds: number): Promise<{ jwt: string; exp: number }> {
    const exp = Math.floor(Date.now() / 1000) + lifetimeSeconds;
    const jwt = await new SignJWT({ deploymentId: this.deploymentId() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(GuestJwtIssuer.ISSUER)
      .setSubject(sessionId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(this.key);
    return { jwt, exp };
  }

  /** The session id of a valid, unexpired JWT; undefined for anything else. */
  async verify(jwt: string): Promise<string | undefined> {
    try {
      const { payload } = await jwtVerify(jwt, this.key, { algorithms: ['HS256'], issuer: GuestJwtIssuer.ISSUER });
      return payload.sub;
    } catch {
      return undefined;
    }
  }
}
