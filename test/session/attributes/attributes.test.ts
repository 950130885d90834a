import { AppError, type ErrorCode } from '../../../src/domain/errors';
import {
  applyBrowserChange,
  attributeBytes,
  checkBudget,
  copyAttributes,
  identityReservedKeys,
  lockIdentity,
  parseAttributeInput,
  refuseReservedKeys,
  setAttribute,
  refuseOtherCustomer,
} from '../../../src/session/attributes/attributes';
import { testConfig } from '../../support/app';

/**
 * Custom attributes on their own (src/session/attributes/attributes.ts, README.md#the-chat-api):
 * keys, values, the byte budget, locks; and what a verified identity owns, and what the browser is
 * told when it reaches for it: a locked key and its look-alikes, a reserved key and its
 * look-alikes, and a session resumed by someone else.
 */

describe('keys, values, the byte budget, locks', () => {
  function thrown(fn: () => unknown): AppError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      return error as AppError;
    }
    throw new Error('expected an AppError, nothing was thrown');
  }

  function expectRefusal(fn: () => unknown, code: ErrorCode, detail: RegExp): AppError {
    const error = thrown(fn);
    expect({ code: error.code, detail: error.message }).toEqual({ code, detail: expect.stringMatching(detail) });
    return error;
  }

  describe('attributeBytes', () => {
    it('counts the UTF-8 bytes of every key and value', () => {
      expect(attributeBytes({})).toBe(0);
      expect(attributeBytes({ a: 'bc' })).toBe(3);
      // é is 2 bytes, € is 3: characters are not bytes.
      expect(attributeBytes({ é: '€', x: 'y' })).toBe(2 + 3 + 2);
    });
  });

  describe('copyAttributes and setAttribute', () => {
    it('copies into a new plain object that the caller can change without touching the source', () => {
      const source = { a: '1', b: '2' };
      const copy = copyAttributes(source);
      expect(copy).toEqual({ a: '1', b: '2' });
      copy.a = 'changed';
      delete copy.b;
      expect(copy).toEqual({ a: 'changed' });
      expect(source).toEqual({ a: '1', b: '2' });
    });

    it('holds a key named __proto__ as an ordinary own key, never as the prototype', () => {
      const source = JSON.parse('{"__proto__":"x","a":"1"}') as Record<string, string>;
      const copy = copyAttributes(source);
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(Object.entries(copy)).toEqual([
        ['__proto__', 'x'],
        ['a', '1'],
      ]);
    });

    it('sets a key that then reads, lists, changes and deletes like any other', () => {
      const target: Record<string, string> = {};
      setAttribute(target, 'k', 'v');
      setAttribute(target, '__proto__', 'p');
      expect(Object.entries(target)).toEqual([
        ['k', 'v'],
        ['__proto__', 'p'],
      ]);
      target.k = 'w';
      expect(target.k).toBe('w');
      delete target.k;
      expect(Object.keys(target)).toEqual(['__proto__']);
    });
  });

  describe('checkBudget', () => {
    it('allows exactly the limit and refuses one byte more, saying both numbers', () => {
      expect(() => checkBudget({ ab: 'cdefghij' }, 10)).not.toThrow();
      const error = expectRefusal(
        () => checkBudget({ ab: 'cdefghijk' }, 10),
        'attributes_too_large',
        /take 11 bytes.*allows 10/,
      );
      expect(error.extensions).toEqual({ bytes: 11, limit: 10 });
    });

    it.each([0, -1])('falls back to 2048 bytes when the deployment gives %d', (maxBytes) => {
      expect(() => checkBudget({ k: 'x'.repeat(2047) }, maxBytes)).not.toThrow();
      const error = expectRefusal(
        () => checkBudget({ k: 'x'.repeat(2048) }, maxBytes),
        'attributes_too_large',
        /allows 2048/,
      );
      expect(error.extensions).toEqual({ bytes: 2049, limit: 2048 });
    });
  });

  describe('parseAttributeInput', () => {
    it('returns a flat object of strings as given', () => {
      expect(parseAttributeInput({ a: '1', 'Order #': 'é' }, false)).toEqual({ a: '1', 'Order #': 'é' });
      expect(parseAttributeInput({}, false)).toEqual({});
    });

    it('keeps null (a removal) only where null is allowed', () => {
      expect(parseAttributeInput({ a: null, b: 'x' }, true)).toEqual({ a: null, b: 'x' });
      expectRefusal(
        () => parseAttributeInput({ a: null }, false),
        'validation_failed',
        /^Attribute "a" must be a string\.$/,
      );
    });

    it.each([
      ['a string', 'abc'],
      ['a number', 3],
      ['null', null],
      ['an array', ['a']],
      ['undefined', undefined],
    ])('refuses %s instead of an object', (_what, input) => {
      expectRefusal(
        () => parseAttributeInput(input, true),
        'validation_failed',
        /^`attributes` must be an object of string values\.$/,
      );
    });

    it.each([
      ['a number', 1],
      ['a boolean', true],
      ['an object', { nested: 'x' }],
    ])('refuses %s as a value', (_what, value) => {
      expectRefusal(
        () => parseAttributeInput({ k: value }, true),
        'validation_failed',
        /^Attribute "k" must be a string\.$/,
      );
    });

    it('refuses a value that is not well-formed Unicode (a lone surrogate)', () => {
      expectRefusal(
        () => parseAttributeInput({ k: 'a\uD800' }, false),
        'validation_failed',
        /^Attribute "k" must be well-formed Unicode\.$/,
      );
    });

    it('allows keys of 1 to 200 characters and refuses an empty or a 201-character key', () => {
      const longest = 'k'.repeat(200);
      expect(parseAttributeInput({ [longest]: 'v', k: 'v' }, false)).toEqual({ [longest]: 'v', k: 'v' });
      for (const key of ['', 'k'.repeat(201)]) {
        expectRefusal(
          () => parseAttributeInput({ [key]: 'v' }, false),
          'validation_failed',
          /^Attribute keys must be 1 to 200 characters\.$/,
        );
      }
    });

    it.each(['__proto__', 'constructor', 'prototype'])('refuses the reserved key %s', (key) => {
      const input = JSON.parse(`{"${key}":"v"}`) as unknown;
      expectRefusal(
        () => parseAttributeInput(input, false),
        'validation_failed',
        new RegExp(`^"${key}" is reserved and cannot be an attribute key\\.$`),
      );
    });

    it('refuses a key that is not well-formed Unicode', () => {
      expectRefusal(
        () => parseAttributeInput({ ['k\uDC00']: 'v' }, false),
        'validation_failed',
        /^Attribute keys must be well-formed Unicode\.$/,
      );
    });

    it.each([
      ['a control character (Cc)', 'a\u0007b'],
      ['a zero-width space (Cf)', 'a\u200Bb'],
      ['a bidi override (Cf)', '\u202Eadmin'],
      ['a line separator (Zl)', 'a\u2028b'],
      ['a paragraph separator (Zp)', 'a\u2029b'],
      ['a private-use character (Co)', 'a\uE000b'],
      ['an unassigned code point (Cn)', 'a\u0378b'],
      ['a leading space', ' ab'],
      ['a trailing space', 'ab '],
    ])('refuses a key with %s', (_what, key) => {
      expectRefusal(
        () => parseAttributeInput({ [key]: 'v' }, false),
        'validation_failed',
        /^Attribute keys may hold only printable characters, with no invisible, bidi-control or surrounding space characters\.$/,
      );
    });

    it('allows inner spaces and letters of any script in a key', () => {
      expect(parseAttributeInput({ 'order id': '1', Größe: '2', 注文: '3' }, false)).toEqual({
        'order id': '1',
        Größe: '2',
        注文: '3',
      });
    });
  });

  describe('applyBrowserChange', () => {
    const state = { attributes: { customerId: 'c-1', plan: 'gold', page: '/home' }, locked: ['customerId'] };

    it('merges: keeps every key, changes and adds the given ones, and null removes one', () => {
      const next = applyBrowserChange(state, { plan: 'silver', cart: '3', page: null }, 'merge', 2048);
      expect(next).toEqual({ customerId: 'c-1', plan: 'silver', cart: '3' });
    });

    it('replaces: drops every unlocked key not given, keeps the locked ones', () => {
      const next = applyBrowserChange(state, { cart: '3' }, 'replace', 2048);
      expect(next).toEqual({ customerId: 'c-1', cart: '3' });
    });

    it('removes a key with null in replace mode too', () => {
      expect(applyBrowserChange(state, { plan: null }, 'replace', 2048)).toEqual({ customerId: 'c-1' });
    });

    it.each([
      ['a new value', 'c-2'],
      ['a removal', null],
    ])('refuses %s for a locked key, naming it, and leaves the attributes unchanged', (_what, value) => {
      const before = structuredClone(state);
      const error = expectRefusal(
        () => applyBrowserChange(state, { plan: 'x', customerId: value }, 'merge', 2048),
        'attribute_locked',
        /^"customerId" was set by a verified identity/,
      );
      expect(error.extensions).toEqual({ key: 'customerId' });
      expect(state).toEqual(before);
    });

    it('accepts a locked key given with the value it already has', () => {
      expect(applyBrowserChange(state, { customerId: 'c-1', plan: 'x' }, 'replace', 2048)).toEqual({
        customerId: 'c-1',
        plan: 'x',
      });
    });

    it('refuses a change that takes the set over the byte budget, leaving the attributes unchanged', () => {
      const before = structuredClone(state);
      // customerId c-1 (13) + plan gold (8) + page /home (9) = 30 bytes; one more pushes past 31.
      expect(applyBrowserChange(state, { x: '' }, 'merge', 31)).toEqual({ ...state.attributes, x: '' });
      expectRefusal(() => applyBrowserChange(state, { xy: '' }, 'merge', 31), 'attributes_too_large', /take 32 bytes/);
      expect(state).toEqual(before);
    });
  });

  describe('lockIdentity', () => {
    it('overrides browser values with the identity and locks its keys once each', () => {
      const state = { attributes: { email: 'typed@example.com', page: '/home' }, locked: ['customerId'] };
      const locked = lockIdentity(state, { email: 'verified@example.com', customerId: 'c-1' });
      expect(locked).toEqual({
        attributes: { email: 'verified@example.com', page: '/home', customerId: 'c-1' },
        locked: ['customerId', 'email'],
      });
      expect(state.attributes).toEqual({ email: 'typed@example.com', page: '/home' });
    });

    it('keeps the existing locks when the identity is empty', () => {
      const state = { attributes: { a: '1' }, locked: ['a'] };
      expect(lockIdentity(state, {})).toEqual({ attributes: { a: '1' }, locked: ['a'] });
    });

    it('checks identity keys like browser keys', () => {
      expectRefusal(
        () => lockIdentity({ attributes: {}, locked: [] }, { ['a\u200Bb']: 'v' }),
        'validation_failed',
        /printable characters/,
      );
    });
  });

  describe('identity-reserved keys', () => {
    const keys = testConfig({ ATTRIBUTE_KEY_EMAIL: 'mail', ATTRIBUTE_KEY_CUSTOMER_ID: 'cid' }).process.attributeKeys;

    it('reserves the customer id and the verification markers always', () => {
      expect([...identityReservedKeys(keys, false)].sort()).toEqual(['cid', 'identityIssuer', 'identityVerified']);
    });

    it('reserves every key an identity token fills where identity tokens are configured', () => {
      expect([...identityReservedKeys(keys, true)].sort()).toEqual([
        'cid',
        'firstName',
        'identityIssuer',
        'identityVerified',
        'lastName',
        'mail',
        'phone',
      ]);
    });

    it('refuses a browser change that touches a reserved key, naming it', () => {
      const reserved = identityReservedKeys(keys, true);
      expect(() => refuseReservedKeys({ page: '/home', email: 'x' }, reserved)).not.toThrow();
      const error = expectRefusal(
        () => refuseReservedKeys({ page: '/home', mail: 'x' }, reserved),
        'attribute_locked',
        /^"mail" can only be set by a verified identity token/,
      );
      expect(error.extensions).toEqual({ key: 'mail' });
    });
  });
});

describe('what a verified identity owns', () => {
  const keys = testConfig().process.attributeKeys;

  function refusal(fn: () => unknown): { code: string; detail: string; extensions?: Record<string, unknown> } {
    try {
      fn();
    } catch (error) {
      if (error instanceof AppError)
        return {
          code: error.code,
          detail: error.message,
          ...(error.extensions ? { extensions: error.extensions } : {}),
        };
      throw error;
    }
    throw new Error('expected a refusal');
  }

  test('a look-alike of a locked key (another case or script) is refused, naming the key it looks like, and nothing changes', () => {
    const state = { attributes: { loyaltyTier: 'gold', page: '/home' }, locked: ['loyaltyTier'] };
    for (const key of ['LoyaltyTier', 'loyaltyTіer' /* Cyrillic і */, 'ｌｏｙａｌｔｙTier']) {
      expect(refusal(() => applyBrowserChange(state, { [key]: 'platinum' }, 'merge', 2048))).toEqual({
        code: 'attribute_locked',
        detail: `"${key}" looks like "loyaltyTier", which was set by a verified identity; choose a key that cannot be mistaken for it.`,
        extensions: { key },
      });
    }
    expect(state).toEqual({ attributes: { loyaltyTier: 'gold', page: '/home' }, locked: ['loyaltyTier'] });
    expect(applyBrowserChange(state, { page: '/cart' }, 'merge', 2048)).toEqual({ loyaltyTier: 'gold', page: '/cart' });
  });

  test('a look-alike of a reserved key is refused with the key it looks like; the key itself, as only an identity token may set it', () => {
    const reserved = identityReservedKeys(keys, false);
    expect(refusal(() => refuseReservedKeys({ [keys.customerId.toUpperCase()]: 'c-2' }, reserved))).toEqual({
      code: 'attribute_locked',
      detail: `"${keys.customerId.toUpperCase()}" looks like "${keys.customerId}", which only a verified identity token can set; choose a key that cannot be mistaken for it.`,
      extensions: { key: keys.customerId.toUpperCase() },
    });
    expect(refusal(() => refuseReservedKeys({ [keys.customerId]: 'c-2' }, reserved)).detail).toBe(
      `"${keys.customerId}" can only be set by a verified identity token, never by the browser.`,
    );
  });

  describe('a session verified as one customer', () => {
    const verified = {
      attributes: {
        [keys.customerId]: 'c-1',
        [keys.identityIssuer]: 'https://idp.example',
        [keys.identityVerified]: 'true',
      },
      locked: [keys.customerId, keys.identityIssuer, keys.identityVerified],
    };

    test('is resumed by that customer, or without an identity token', () => {
      expect(() =>
        refuseOtherCustomer(verified, { [keys.customerId]: 'c-1', [keys.identityIssuer]: 'https://idp.example' }, keys),
      ).not.toThrow();
      expect(() => refuseOtherCustomer(verified, {}, keys)).not.toThrow();
    });

    test('is refused to another customer, or the same id from another issuer, as a conflict that says to start a new session', () => {
      const detail =
        'This session belongs to another verified customer; start a new session (POST /guest-session without this token) for this identity.';
      expect(
        refusal(() =>
          refuseOtherCustomer(
            verified,
            { [keys.customerId]: 'c-2', [keys.identityIssuer]: 'https://idp.example' },
            keys,
          ),
        ),
      ).toEqual({ code: 'conflict', detail });
      expect(
        refusal(() =>
          refuseOtherCustomer(
            verified,
            { [keys.customerId]: 'c-1', [keys.identityIssuer]: 'https://other.example' },
            keys,
          ),
        ),
      ).toEqual({ code: 'conflict', detail });
    });

    test('an anonymous session may be taken up by a verified customer', () => {
      expect(() =>
        refuseOtherCustomer(
          { attributes: { page: '/home' }, locked: [] },
          { [keys.customerId]: 'c-9', [keys.identityIssuer]: 'https://idp.example' },
          keys,
        ),
      ).not.toThrow();
    });
  });
});
