import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { IdentityConfig, ProcessConfig } from '../../config/schema';
import { AppError } from '../../domain/errors';
import { keyForm } from '../../domain/reservedKeys';

/**
 * Identity tokens: short-lived JWTs minted by the website's own backend,
 * HS256 with a shared secret or asymmetric keys from a JWKS URL, with `iat`
 * and a bounded lifetime. Their claims become custom attributes the browser
 * cannot change, and the service adds two of its own that say the identity
 * was verified and by which issuer; no browser request can set those.
 */
export class IdentityVerifier {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];

  constructor(
    private readonly config: IdentityConfig,
    private readonly attributeKeys: ProcessConfig['attributeKeys'],
    private readonly now: () => number = Date.now,
  ) {
    if (config.jwtSecret !== undefined) {
      this.key = new TextEncoder().encode(config.jwtSecret);
      this.algorithms = ['HS256'];
    } else {
      this.key = createRemoteJWKSet(new URL(config.jwksUrl!), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      this.algorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
    }
  }

  /** Verifies the token and returns the attributes its claims lock. */
  async verify(token: string): Promise<Record<string, string>> {
    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, this.key as Uint8Array, {
        currentDate: new Date(this.now()),
        algorithms: this.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      });
      payload = verified.payload;
    } catch (error) {
      throw new AppError(
        'identity_invalid',
        'The identity token could not be verified (signature, expiry, issuer, audience or a missing iat).',
        {
          logDetail: { reason: (error as Error).message },
        },
      );
    }
    const lifetime = payload.exp! - payload.iat!;
    if (!(lifetime > 0 && lifetime <= this.config.maxTokenAgeSeconds)) {
      throw new AppError(
        'identity_invalid',
        `Identity tokens may live at most ${this.config.maxTokenAgeSeconds} seconds (exp - iat); mint a shorter one.`,
      );
    }
    // jwtVerify bounds only exp; a token "issued" in the future
    // would outlive IDENTITY_MAX_TOKEN_AGE_SECONDS by as much.
    if (payload.iat! * 1000 > this.now() + this.config.clockToleranceSeconds * 1000) {
      throw new AppError(
        'identity_invalid',
        'The identity token was issued in the future (`iat` is later than now, beyond the clock tolerance); ' +
          'check the clock of the backend that minted it.',
      );
    }
    // Set last, so no claim can stand in for them. jwtVerify has checked that `iss` is the configured issuer.
    return Object.fromEntries([
      ...this.claimedAttributes(payload),
      [this.attributeKeys.identityVerified, 'true'],
      [this.attributeKeys.identityIssuer, this.config.issuer],
    ]);
  }

  /** The claims' attributes as entries: Object.fromEntries keeps even a `__proto__` key an own one. */
  private claimedAttributes(payload: JWTPayload): [string, string][] {
    const keys = this.attributeKeys;
    const entries: [string, string][] = [];
    const take = (claim: string, key: string) => {
      const value = payload[claim];
      if (value === undefined) return;
      if (typeof value !== 'string' || !value.isWellFormed()) {
        throw new AppError('identity_invalid', `The identity token's "${claim}" claim must be a well-formed string.`);
      }
      entries.push([key, value]);
    };
    take('sub', keys.customerId);
    take('given_name', keys.firstName);
    take('family_name', keys.lastName);
    take('email', keys.email);
    take('phone_number', keys.phone);
    const extra = payload.attributes;
    if (extra !== undefined) {
      if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
        throw new AppError(
          'identity_invalid',
          'The identity token\'s "attributes" claim must be an object of strings.',
        );
      }
      // The keys the standard claims fill, and the service's own markers, come from those claims only:
      // `attributes: { customerId }` beside `sub` would otherwise name another customer.
      const standard = new Map(
        [
          keys.customerId,
          keys.firstName,
          keys.lastName,
          keys.email,
          keys.phone,
          keys.identityVerified,
          keys.identityIssuer,
        ].map((k) => [keyForm(k), k]),
      );
      for (const [k, v] of Object.entries(extra)) {
        if (typeof v !== 'string' || !v.isWellFormed()) {
          throw new AppError('identity_invalid', `The identity token's attribute "${k}" must be a well-formed string.`);
        }
        const shadowed = standard.get(keyForm(k));
        if (shadowed !== undefined) {
          throw new AppError(
            'identity_invalid',
            `The identity token's "attributes" claim may not hold "${k}": ` +
              `"${shadowed}" comes from the standard claims (sub, given_name, family_name, email, phone_number) ` +
              'or from the service itself.',
          );
        }
        entries.push([k, v]);
      }
    }
    return entries;
  }
}
