import { createHash } from 'node:crypto';
import { messageIdFor, requestFingerprint } from '../../../src/session/sending/idempotency';

/**
 * The message id an Idempotency-Key names must be the same on every instance
 * and every version of the service (a retry may land anywhere, mid-deploy),
 * and the fingerprint must tell a retry of the same request from a reuse.
 */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('messageIdFor', () => {
  test('is an RFC 9562 version 8 UUID drawn from SHA-256 of the session and key, so every instance and version agrees', () => {
    for (let i = 0; i < 64; i += 1) {
      const guestToken = `guest-token-${i}`;
      const key = `key-${i}`;
      const id = messageIdFor(guestToken, key);
      expect(id).toMatch(UUID_V8);
      const h = createHash('sha256').update(`${guestToken}\n${key}`).digest('hex');
      const hex = id.replaceAll('-', '');
      // Everything but the version nibble (12) and the variant's top two bits (16) is the hash.
      expect(hex.slice(0, 12) + hex.slice(13, 16) + hex.slice(17)).toBe(
        h.slice(0, 12) + h.slice(13, 16) + h.slice(17, 32),
      );
      expect(parseInt(hex[16]!, 16) & 0x3).toBe(parseInt(h[16]!, 16) & 0x3);
    }
  });

  test('uses every variant nibble the layout allows (8, 9, a, b), none other', () => {
    const variants = new Set(Array.from({ length: 64 }, (_, i) => messageIdFor('guest-token', `key-${i}`)[19]));
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b']);
  });

  test('the same key names the same message; another key or another session, another message', () => {
    expect(messageIdFor('guest-token', 'key-1')).toBe(messageIdFor('guest-token', 'key-1'));
    expect(messageIdFor('guest-token', 'key-2')).not.toBe(messageIdFor('guest-token', 'key-1'));
    expect(messageIdFor('other-guest-token', 'key-1')).not.toBe(messageIdFor('guest-token', 'key-1'));
  });
});

describe('requestFingerprint', () => {
  test('the same body in any key order, at any depth, is the same request', () => {
    const a = { text: 'hi', quickReply: { text: 'Yes', payload: 'y' }, attachmentIds: ['a1', 'a2'] };
    const b = { attachmentIds: ['a1', 'a2'], quickReply: { payload: 'y', text: 'Yes' }, text: 'hi' };
    expect(requestFingerprint(b)).toBe(requestFingerprint(a));
  });

  test.each([
    ['another value', { text: 'hi' }, { text: 'hello' }],
    ['another key', { text: 'hi' }, { txt: 'hi' }],
    ['a number for a string', { n: 1 }, { n: '1' }],
    ['another number', { n: 1 }, { n: 2 }],
    ['another boolean', { b: true }, { b: false }],
    ['null for an empty object', { v: null }, { v: {} }],
    ['an array for an object with index keys', { v: ['a', 'b'] }, { v: { 0: 'a', 1: 'b' } }],
    ['the same items in another order', { ids: ['a1', 'a2'] }, { ids: ['a2', 'a1'] }],
    ['items split differently', { ids: ['1', '23'] }, { ids: ['12', '3'] }],
    ['numbers split differently', { ids: [1, 23] }, { ids: [12, 3] }],
    ['a nested value', { q: { text: 'Yes' } }, { q: { text: 'No' } }],
    ['an extra key', { text: 'hi' }, { text: 'hi', attachmentIds: [] }],
  ])('tells apart %s', (_name, one, other) => {
    expect(requestFingerprint(other)).not.toBe(requestFingerprint(one));
  });

  test('a value JSON cannot carry counts as null, as in a JSON array', () => {
    expect(requestFingerprint({ v: undefined })).toBe(requestFingerprint({ v: null }));
    expect(requestFingerprint([undefined])).toBe(requestFingerprint(JSON.parse(JSON.stringify([undefined]))));
    expect(requestFingerprint(undefined)).toBe(requestFingerprint(null));
  });

  test('is the SHA-256 of the canonical JSON, so every instance and version agrees', () => {
    const canonical = '{"attachmentIds":["a1"],"quickReply":{"payload":"y","text":"Yes"},"text":"hi"}';
    const body = { text: 'hi', quickReply: { text: 'Yes', payload: 'y' }, attachmentIds: ['a1'] };
    expect(requestFingerprint(body)).toBe(createHash('sha256').update(canonical).digest('base64url'));
  });
});
