import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { IdentityConfig } from '../../../src/config/schema';
import { AppError } from '../../../src/domain/errors';
import { IdentityVerifier } from '../../../src/session/attributes/identityVerifier';
import { testConfig } from '../../support/app';

/**
 * Identity tokens on their own (README.md, identity tokens): which tokens verify, which claims
 * become locked attributes, and every refusal answered as identity_invalid. Tokens are minted
 * against the real clock with margins of a minute or more, so a slow machine cannot flip a verdict.
 */

const SECRET = 'identity-secret-0123456789-abcdefghijklmnop';
const ISSUER = 'https://shop.example.com';
const AUDIENCE = 'chat-bff';
const keys = testConfig({
  ATTRIBUTE_KEY_CUSTOMER_ID: 'cid',
  ATTRIBUTE_KEY_FIRST_NAME: 'first',
  ATTRIBUTE_KEY_LAST_NAME: 'last',
  ATTRIBUTE_KEY_EMAIL: 'mail',
  ATTRIBUTE_KEY_PHONE: 'tel',
}).process.attributeKeys;

function secretConfig(overrides: Partial<IdentityConfig> = {}): IdentityConfig {
  return {
    jwtSecret: SECRET,
    issuer: ISSUER,
    audience: AUDIENCE,
    clockToleranceSeconds: 0,
    maxTokenAgeSeconds: 600,
    ...overrides,
  };
}

const now = () => Math.floor(Date.now() / 1000);

interface MintOptions {
  alg?: string;
  kid?: string;
  key?: CryptoKey | Uint8Array;
  iss?: string;
  aud?: string;
  iat?: number | null;
  exp?: number | null;
}

/** A token as the website's backend would mint it; `null` leaves iat or exp out. */
async function mint(claims: JWTPayload, options: MintOptions = {}): Promise<string> {
  const issuedAt = options.iat === undefined ? now() : options.iat;
  const expires = options.exp === undefined ? (issuedAt ?? now()) + 300 : options.exp;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE);
  if (issuedAt !== null) jwt.setIssuedAt(issuedAt);
  if (expires !== null) jwt.setExpirationTime(expires);
  return jwt.sign(options.key ?? new TextEncoder().encode(SECRET));
}

async function refusal(verifier: IdentityVerifier, token: string): Promise<AppError> {
  const error = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe('identity_invalid');
  return error as AppError;
}

/*
 * Each test builds its verifier: what the constructor decides (key, algorithms) is then
 * measured per test by mutation testing rather than once at load.
 */
describe('IdentityVerifier with a shared secret (HS256)', () => {
  let verifier: IdentityVerifier;
  beforeEach(() => {
    verifier = new IdentityVerifier(secretConfig(), keys);
  });

  it('turns the well-known claims and `attributes` into attributes, with the verification markers', async () => {
    const token = await mint({
      sub: 'c-42',
      given_name: 'Ada',
      family_name: 'Lovelace',
      email: 'ada@example.com',
      phone_number: '+441234',
      attributes: { tier: 'gold' },
    });
    await expect(verifier.verify(token)).resolves.toEqual({
      cid: 'c-42',
      first: 'Ada',
      last: 'Lovelace',
      mail: 'ada@example.com',
      tel: '+441234',
      tier: 'gold',
      identityVerified: 'true',
      identityIssuer: ISSUER,
    });
  });

  it('leaves out the claims a token does not carry', async () => {
    await expect(verifier.verify(await mint({ sub: 'c-1' }))).resolves.toEqual({
      cid: 'c-1',
      identityVerified: 'true',
      identityIssuer: ISSUER,
    });
  });

  it.each<[string, Record<string, string>]>([
    ['a verification marker', { identityVerified: 'false' }],
    ['the issuer marker', { identityIssuer: 'https://evil.example' }],
    ['the key `sub` fills', { cid: 'bob' }],
    ['a look-alike of the key `sub` fills (case)', { CID: 'bob' }],
    ['the key `email` fills, in Cyrillic look-alikes', { mаil: 'bob@example.com' }],
    ['the key `given_name` fills, full-width', { ｆｉｒｓｔ: 'Bob' }],
  ])('refuses an `attributes` claim that would override %s', async (_why, attributes) => {
    const error = await refusal(verifier, await mint({ sub: 'alice', attributes }));
    expect(error.message).toMatch(/"attributes" claim may not hold/);
  });

  it('names the key an `attributes` claim would override, and the claim that fills it', async () => {
    const error = await refusal(verifier, await mint({ sub: 'alice', attributes: { CID: 'bob' } }));
    expect(error.message).toBe(
      'The identity token\'s "attributes" claim may not hold "CID": "cid" comes from the standard claims ' +
        '(sub, given_name, family_name, email, phone_number) or from the service itself.',
    );
  });

  it('refuses a token issued in the future beyond the clock tolerance (it would outlive the maximum lifetime)', async () => {
    const issued = now() + 30 * 86_400;
    const error = await refusal(verifier, await mint({ sub: 'c' }, { iat: issued, exp: issued + 300 }));
    expect(error.message).toBe(
      'The identity token was issued in the future (`iat` is later than now, beyond the clock tolerance); ' +
        'check the clock of the backend that minted it.',
    );
    const tolerant = new IdentityVerifier(secretConfig({ clockToleranceSeconds: 300 }), keys);
    await expect(
      tolerant.verify(await mint({ sub: 'c' }, { iat: now() + 60, exp: now() + 360 })),
    ).resolves.toMatchObject({ cid: 'c' });
    await refusal(tolerant, await mint({ sub: 'c' }, { iat: now() + 900, exp: now() + 1200 }));
  });

  it('accepts a token issued exactly the clock tolerance ahead, and refuses one issued a second later', async () => {
    // A clock of its own: the verdict turns on one second.
    const at = Date.parse('2026-11-01T09:00:00Z');
    const tolerant = new IdentityVerifier(secretConfig({ clockToleranceSeconds: 60 }), keys, () => at);
    const issued = at / 1000 + 60;
    await expect(tolerant.verify(await mint({ sub: 'c' }, { iat: issued, exp: issued + 300 }))).resolves.toMatchObject({
      cid: 'c',
    });
    const error = await refusal(tolerant, await mint({ sub: 'c' }, { iat: issued + 1, exp: issued + 301 }));
    expect(error.message).toMatch(/issued in the future/);
  });

  it('keeps a claim named __proto__ as an own key, never the prototype', async () => {
    const attributes = await verifier.verify(
      await mint({ attributes: JSON.parse('{"__proto__":"x"}') as Record<string, string> }),
    );
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.entries(attributes)).toContainEqual(['__proto__', 'x']);
  });

  it.each<[string, () => Promise<string>]>([
    [
      'another secret',
      () => mint({ sub: 'c' }, { key: new TextEncoder().encode('another-secret-0123456789-abcdefghijklmnop') }),
    ],
    ['another algorithm (HS512) with the same secret', () => mint({ sub: 'c' }, { alg: 'HS512' })],
    ['another issuer', () => mint({ sub: 'c' }, { iss: 'https://evil.example' })],
    ['another audience', () => mint({ sub: 'c' }, { aud: 'someone-else' })],
    ['an expired token', () => mint({ sub: 'c' }, { iat: now() - 400, exp: now() - 100 })],
    ['no iat', () => mint({ sub: 'c' }, { iat: null, exp: now() + 300 })],
    ['no exp', () => mint({ sub: 'c' }, { exp: null })],
    ['a malformed token', () => Promise.resolve('not.a.jwt')],
  ])('refuses %s as could not be verified, with the reason for the log only', async (_why, token) => {
    const error = await refusal(verifier, await token());
    expect(error.message).toMatch(/^The identity token could not be verified/);
    expect(error.logDetail).toEqual({ reason: expect.stringMatching(/\w/) });
  });

  it('accepts a token expired within the clock tolerance, and not beyond it', async () => {
    const tolerant = new IdentityVerifier(secretConfig({ clockToleranceSeconds: 300 }), keys);
    await expect(
      tolerant.verify(await mint({ sub: 'c' }, { iat: now() - 400, exp: now() - 100 })),
    ).resolves.toMatchObject({ cid: 'c' });
    await refusal(tolerant, await mint({ sub: 'c' }, { iat: now() - 900, exp: now() - 600 }));
  });

  it('accepts a lifetime (exp - iat) of exactly the maximum and refuses one second more', async () => {
    const issued = now();
    await expect(verifier.verify(await mint({ sub: 'c' }, { iat: issued, exp: issued + 600 }))).resolves.toMatchObject({
      cid: 'c',
    });
    const error = await refusal(verifier, await mint({ sub: 'c' }, { iat: issued, exp: issued + 601 }));
    expect(error.message).toBe('Identity tokens may live at most 600 seconds (exp - iat); mint a shorter one.');
  });

  it.each([
    ['zero', 0],
    ['negative', -60],
  ])('refuses a %s lifetime', async (_why, lifetime) => {
    const issued = now() + 120;
    const error = await refusal(verifier, await mint({ sub: 'c' }, { iat: issued, exp: issued + lifetime }));
    expect(error.message).toMatch(/^Identity tokens may live at most 600 seconds/);
  });

  it.each([
    ['sub', { sub: 42 }],
    ['given_name', { given_name: ['Ada'] }],
    ['family_name', { family_name: null }],
    ['email', { email: true }],
    ['phone_number', { phone_number: 'a\uD800' }],
  ])('refuses a "%s" claim that is not a well-formed string', async (claim, claims) => {
    const error = await refusal(verifier, await mint(claims as JWTPayload));
    expect(error.message).toBe(`The identity token's "${claim}" claim must be a well-formed string.`);
  });

  it.each([
    ['a string', 'tier=gold'],
    ['null', null],
    ['an array', ['gold']],
  ])('refuses an "attributes" claim that is %s', async (_why, attributes) => {
    const error = await refusal(verifier, await mint({ attributes }));
    expect(error.message).toBe('The identity token\'s "attributes" claim must be an object of strings.');
  });

  it.each([
    ['a number', 3],
    ['an object', { x: 'y' }],
    ['a lone surrogate', 'a\uDC00'],
  ])('refuses an attribute whose value is %s, naming it', async (_why, value) => {
    const error = await refusal(verifier, await mint({ attributes: { ok: 'fine', tier: value } }));
    expect(error.message).toBe('The identity token\'s attribute "tier" must be a well-formed string.');
  });
});

describe('IdentityVerifier with a JWKS URL', () => {
  const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
  /** One key per key type: the RSA key signs RS* and PS* alike. */
  const KEY_OF: Record<string, string> = {
    RS: 'rsa',
    PS: 'rsa',
    ES256: 'p256',
    ES384: 'p384',
    ES512: 'p521',
    EdDSA: 'ed25519',
  };
  const signing = new Map<string, JWK>();
  let server: Server;
  let jwksUrl: string;
  let verifier: IdentityVerifier;

  beforeAll(async () => {
    const jwks: JWK[] = [];
    for (const [kid, alg] of [
      ['rsa', 'RS256'],
      ['p256', 'ES256'],
      ['p384', 'ES384'],
      ['p521', 'ES512'],
      ['ed25519', 'EdDSA'],
    ] as const) {
      const pair = await generateKeyPair(alg, { extractable: true });
      signing.set(kid, await exportJWK(pair.privateKey));
      jwks.push({ ...(await exportJWK(pair.publicKey)), kid });
    }
    server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: jwks }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    jwksUrl = `http://127.0.0.1:${port}/jwks.json`;
  }, 60_000);

  beforeEach(() => {
    verifier = new IdentityVerifier(
      { jwksUrl, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0, maxTokenAgeSeconds: 600 },
      keys,
    );
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(ALGORITHMS)('verifies a token signed with %s by a key from the JWKS', async (alg) => {
    const kid = KEY_OF[alg] ?? KEY_OF[alg.slice(0, 2)]!;
    // A WebCrypto key is bound to one algorithm: import the private key for this one.
    const key = (await importJWK(signing.get(kid)!, alg)) as CryptoKey;
    const token = await mint({ sub: `c-${alg}` }, { alg, kid, key });
    await expect(verifier.verify(token)).resolves.toEqual({
      cid: `c-${alg}`,
      identityVerified: 'true',
      identityIssuer: ISSUER,
    });
  });

  it('refuses an HS256 token, whatever its secret (no algorithm confusion)', async () => {
    const error = await refusal(verifier, await mint({ sub: 'c' }, { kid: 'rsa' }));
    expect(error.message).toMatch(/could not be verified/);
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const stranger = await generateKeyPair('ES256');
    await refusal(verifier, await mint({ sub: 'c' }, { alg: 'ES256', kid: 'p256', key: stranger.privateKey }));
  });
});
