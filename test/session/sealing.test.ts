import { CompactEncrypt, compactDecrypt } from 'jose';
import { deriveKeys, Sealer } from '../../src/session/sealing';

/**
 * The sealed token format is compact JWE (dir + A256GCM), written with
 * node:crypto for speed: it must stay interchangeable with a standard JWE
 * implementation (jose) in both directions, and refuse anything altered.
 */
const keys = deriveKeys(['first-session-secret-0123456789abcdefghij', 'older-session-secret-0123456789abcdefghij']);
const sealer = new Sealer(keys);
const payload = { typ: 'session', gt: 'guest-token', o: 'https://shop.example.com', attrs: { name: 'Zoë ✓' }, locked: [], sent: '', mcb: 2048, exp: 1 };

const joseSeal = (kid: string, key: Uint8Array, header: Record<string, unknown> = {}) =>
  new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, ...header }).encrypt(key);

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

  test('two seals of the same payload differ (fresh IV)', async () => {
    expect(await sealer.seal(payload)).not.toBe(await sealer.seal(payload));
  });

  test('every seal gets its own 96-bit IV, across the batches IVs are drawn in, and each token still opens', () => {
    const tokens = Array.from({ length: 3_000 }, () => sealer.sealSync(payload));
    const ivs = tokens.map((t) => t.split('.')[2]!);
    expect(new Set(ivs).size).toBe(tokens.length);
    expect(ivs.every((iv) => Buffer.from(iv, 'base64url').length === 12)).toBe(true);
    for (const t of [tokens[0]!, tokens[1_023]!, tokens[1_024]!, tokens[2_999]!]) expect(sealer.unsealSync(t)).toEqual(payload);
  });

  test.each([
    ['a flipped ciphertext byte', (p: string[]) => [p[0], p[1], p[2], flip(p[3]!), p[4]]],
    ['a flipped tag byte', (p: string[]) => [p[0], p[1], p[2], p[3], flip(p[4]!)]],
    ['a flipped IV byte', (p: string[]) => [p[0], p[1], flip(p[2]!), p[3], p[4]]],
    ['a non-empty encrypted key', (p: string[]) => [p[0], 'AAAA', p[2], p[3], p[4]]],
    ['a missing part', (p: string[]) => p.slice(0, 4)],
    ['characters outside base64url', (p: string[]) => [p[0], p[1], p[2], `${p[3]}+`, p[4]]],
    ['a header from another token', (p: string[]) => [Buffer.from('{"alg":"dir","enc":"A128GCM","kid":"x"}').toString('base64url'), p[1], p[2], p[3], p[4]]],
  ])('refuses %s', async (_name, alter) => {
    const parts = (await sealer.seal(payload)).split('.');
    await expect(sealer.unseal(alter(parts).join('.'))).rejects.toMatchObject({ code: 'unauthorized' });
  });

  test('refuses an unknown key, extra header parameters, and junk', async () => {
    const foreign = new Sealer(deriveKeys(['another-service-secret-0123456789abcdefgh']));
    await expect(sealer.unseal(await foreign.seal(payload))).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(sealer.unseal(await joseSeal(keys[0]!.kid, keys[0]!.key, { cty: 'json' }))).rejects.toMatchObject({ code: 'unauthorized' });
    for (const junk of ['', 'x', '....', 'a.b.c.d.e']) await expect(sealer.unseal(junk)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
