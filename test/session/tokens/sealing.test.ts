import crypto, { createCipheriv } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { deriveKeys, keyIdOf, Sealer } from '../../../src/session/tokens/sealing';

/**
 * The sealed token format is compact JWE (dir + A256GCM), written with
 * node:crypto for speed: it must stay interchangeable with a standard JWE
 * implementation (jose) in both directions, and refuse anything altered.
 * Each test builds its own Sealer, so what the constructor does is judged by
 * the tests that use it.
 */
const SECRETS = ['first-session-secret-0123456789abcdefghij', 'older-session-secret-0123456789abcdefghij'];
const payload = {
  typ: 'session',
  gt: 'guest-token',
  o: 'https://shop.example.com',
  attrs: { name: 'Zoë ✓' },
  locked: [],
  sent: '',
  mcb: 2048,
  exp: 1,
};
const refused = { code: 'unauthorized', message: expect.stringMatching(/not valid; start a new session/) };

let keys: ReturnType<typeof deriveKeys>;
let sealer: Sealer;
beforeEach(() => {
  keys = deriveKeys(SECRETS);
  sealer = new Sealer(keys);
});

const joseSeal = (kid: string, key: Uint8Array, header: Record<string, unknown> = {}) =>
  new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, ...header })
    .encrypt(key);

/** A token that authenticates under the first key, whatever its header says: what only a holder of the key could make. */
function sealWithKey(header: unknown, { ivBytes = 12, tagBytes = 16 } = {}): string {
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const iv = crypto.randomBytes(ivBytes);
  const cipher = createCipheriv('aes-256-gcm', keys[0]!.key, iv);
  cipher.setAAD(Buffer.from(encodedHeader));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload)), cipher.final()]);
  return [
    encodedHeader,
    '',
    iv.toString('base64url'),
    ciphertext.toString('base64url'),
    cipher.getAuthTag().subarray(0, tagBytes).toString('base64url'),
  ].join('.');
}

const flip = (s: string) => s.slice(0, 4) + (s[4] === 'A' ? 'B' : 'A') + s.slice(5);

describe('Sealer', () => {
  test('a standard JWE implementation opens what it seals, with the first key', async () => {
    const token = await sealer.seal(payload);
    const { plaintext, protectedHeader } = await compactDecrypt(token, keys[0]!.key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(payload);
    expect(protectedHeader).toEqual({ alg: 'dir', enc: 'A256GCM', kid: keys[0]!.kid });
  });

  test('it opens standard JWEs sealed with any of its keys (rotation)', async () => {
    for (const k of keys) await expect(sealer.unseal(await joseSeal(k.kid, k.key))).resolves.toEqual(payload);
  });

  test('a token an earlier release sealed with the same secret still opens (the key and its kid are derived the same way)', () => {
    const earlier =
      'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoiTWZIdVdHc2oifQ..AHMpEzZyL3gFowTB.NyWtGrZ1rEAiqn7TzD-LyU9zISi5i_ey2ppYCZ-jNB2I1ImntijdZ1Jhlv1XEV7FpI_1LSwbGPhDitvjciIcr9TOOy3FqXs.lhaw7YnZIua4NDQ0W4A0Pw';
    const current = new Sealer(deriveKeys(['a-session-secret-of-an-earlier-release-0123']));
    expect(current.unsealSync(earlier)).toEqual({
      typ: 'session',
      gt: 'guest-token',
      note: 'sealed by release 1606dc7',
    });
  });

  test('a Sealer needs a key', () => {
    expect(() => new Sealer([])).toThrow('Sealer needs at least one key');
  });

  test('two seals of the same payload differ (fresh IV)', async () => {
    expect(await sealer.seal(payload)).not.toBe(await sealer.seal(payload));
  });

  test('every seal gets its own 96-bit IV, across the batches IVs are drawn in, and each token still opens', () => {
    const tokens = Array.from({ length: 3_000 }, () => sealer.sealSync(payload));
    const ivs = tokens.map((t) => t.split('.')[2]!);
    expect(new Set(ivs).size).toBe(tokens.length);
    expect(ivs.every((iv) => Buffer.from(iv, 'base64url').length === 12)).toBe(true);
    for (const t of [tokens[0]!, tokens[1_023]!, tokens[1_024]!, tokens[2_999]!])
      expect(sealer.unsealSync(t)).toEqual(payload);
  });

  test('IVs are drawn from the CSPRNG 1,024 at a time, each of the 1,024 used', () => {
    const draws = jest.spyOn(crypto, 'randomBytes');
    try {
      // Seal until a fresh batch is drawn (the batch is shared by the module, so where it stands is unknown).
      for (let i = 0; i <= 1_024 && draws.mock.calls.length === 0; i += 1) sealer.sealSync(payload);
      expect(draws).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 1_023; i += 1) sealer.sealSync(payload);
      expect(draws).toHaveBeenCalledTimes(1);
      sealer.sealSync(payload);
      expect(draws).toHaveBeenCalledTimes(2);
    } finally {
      draws.mockRestore();
    }
  });

  test.each([
    ['a flipped ciphertext byte', (p: string[]) => [p[0], p[1], p[2], flip(p[3]!), p[4]]],
    ['a flipped tag byte', (p: string[]) => [p[0], p[1], p[2], p[3], flip(p[4]!)]],
    ['a flipped IV byte', (p: string[]) => [p[0], p[1], flip(p[2]!), p[3], p[4]]],
    ['a non-empty encrypted key', (p: string[]) => [p[0], 'AAAA', p[2], p[3], p[4]]],
    ['a missing part', (p: string[]) => p.slice(0, 4)],
    ['an extra part', (p: string[]) => [...p, 'AAAA']],
    ['characters outside base64url', (p: string[]) => [p[0], p[1], p[2], `${p[3]}+`, p[4]]],
    // Node's base64url decoder skips these, so only the strict check refuses them.
    [
      'a line break inside the IV',
      (p: string[]) => [p[0], p[1], `${p[2]!.slice(0, 8)}\n${p[2]!.slice(8)}`, p[3], p[4]],
    ],
    ['a space before the ciphertext', (p: string[]) => [p[0], p[1], p[2], ` ${p[3]}`, p[4]]],
    ['padding after the tag', (p: string[]) => [p[0], p[1], p[2], p[3], `${p[4]}==`]],
    [
      'a header from another token',
      (p: string[]) => [
        Buffer.from('{"alg":"dir","enc":"A128GCM","kid":"x"}').toString('base64url'),
        p[1],
        p[2],
        p[3],
        p[4],
      ],
    ],
  ])('refuses %s', async (_name, alter) => {
    const parts = (await sealer.seal(payload)).split('.');
    await expect(sealer.unseal(alter(parts).join('.'))).rejects.toMatchObject(refused);
  });

  test('opens a token sealed with its key by hand, so the refusals below are for their header, IV or tag alone', () => {
    expect(sealer.unsealSync(sealWithKey({ alg: 'dir', enc: 'A256GCM', kid: keys[0]!.kid }))).toEqual(payload);
  });

  test.each([
    ['another algorithm', { alg: 'A256KW', enc: 'A256GCM' }],
    ['another encryption', { alg: 'dir', enc: 'A128GCM' }],
    ['no algorithm', { enc: 'A256GCM' }],
    ['no key id', { alg: 'dir', enc: 'A256GCM', kid: undefined }],
    ['a key id that is not a string', { alg: 'dir', enc: 'A256GCM', kid: 1 }],
    ['a parameter to honour', { alg: 'dir', enc: 'A256GCM', crit: ['exp'], exp: 1 }],
  ])('refuses a header with %s, even one that authenticates under the key', (_name, header) => {
    expect(() => sealer.unsealSync(sealWithKey({ kid: keys[0]!.kid, ...header }))).toThrow(
      expect.objectContaining(refused),
    );
  });

  test.each([['null'], ['an array'], ['a number']])('refuses a header that is not a JSON object: %s', (kind) => {
    const header = { null: null, 'an array': ['dir', 'A256GCM', keys[0]!.kid], 'a number': 1 }[kind];
    expect(() => sealer.unsealSync(sealWithKey(header))).toThrow(expect.objectContaining(refused));
  });

  test('refuses an IV that is not 96 bits and a truncated tag, even when they authenticate under the key', () => {
    const header = { alg: 'dir', enc: 'A256GCM', kid: keys[0]!.kid };
    expect(() => sealer.unsealSync(sealWithKey(header, { ivBytes: 16 }))).toThrow(expect.objectContaining(refused));
    expect(() => sealer.unsealSync(sealWithKey(header, { tagBytes: 12 }))).toThrow(expect.objectContaining(refused));
  });

  test('refuses an unknown key, extra header parameters, and junk', async () => {
    const foreign = new Sealer(deriveKeys(['another-service-secret-0123456789abcdefgh']));
    await expect(sealer.unseal(await foreign.seal(payload))).rejects.toMatchObject(refused);
    await expect(sealer.unseal(await joseSeal(keys[0]!.kid, keys[0]!.key, { cty: 'json' }))).rejects.toMatchObject(
      refused,
    );
    for (const junk of ['', 'x', '....', 'a.b.c.d.e']) await expect(sealer.unseal(junk)).rejects.toMatchObject(refused);
  });
});

describe('the keys of a deployment', () => {
  test('are its own: each named deployment’s differ from another’s and from those of the one named default', async () => {
    const kids = [deriveKeys(SECRETS), deriveKeys(SECRETS, 'shop'), deriveKeys(SECRETS, 'support')].map((k) =>
      k.map(({ kid }) => kid),
    );
    expect(new Set(kids.flat()).size).toBe(6);
    const sealed = await new Sealer(deriveKeys(SECRETS, 'shop')).seal(payload);
    await expect(new Sealer(deriveKeys(SECRETS, 'shop')).unseal(sealed)).resolves.toEqual(payload);
    await expect(new Sealer(deriveKeys(SECRETS, 'support')).unseal(sealed)).rejects.toMatchObject(refused);
  });
});

describe('keyIdOf', () => {
  const header = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test('reads the key id a token names without opening it', async () => {
    expect(keyIdOf(await sealer.seal(payload))).toBe(keys[0]!.kid);
    expect(keyIdOf(`${header({ kid: 'anything' })}.not-a-token`)).toBe('anything');
  });

  test('reads a header of up to 200 characters, and no longer', () => {
    const of = (bytes: number) => header({ kid: 'k', p: 'x'.repeat(bytes - 18) });
    expect(of(150)).toHaveLength(200);
    expect(keyIdOf(`${of(150)}.x`)).toBe('k');
    expect(of(151).length).toBeGreaterThan(200);
    expect(keyIdOf(`${of(151)}.x`)).toBeUndefined();
  });

  test('is undefined for anything that is not a token’s shape', () => {
    for (const token of [
      '',
      'no-dot-at-all',
      '.starts-with-a-dot',
      'not base64url!.x',
      `${header({ kid: 7 })}.x`,
      `${header({})}.x`,
      `${Buffer.from('not json').toString('base64url')}.x`,
    ])
      expect(keyIdOf(token)).toBeUndefined();
  });
});
