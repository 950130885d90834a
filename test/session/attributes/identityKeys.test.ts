import { AppError } from '../../../src/domain/errors';
import {
  applyBrowserChange,
  identityReservedKeys,
  refuseOtherCustomer,
  refuseReservedKeys,
} from '../../../src/session/attributes/attributes';
import { testConfig } from '../../support/app';

/**
 * What a verified identity owns in src/session/attributes/attributes.ts, and what the
 * browser is told when it reaches for it: a locked key and its look-alikes,
 * a reserved key and its look-alikes, and a session resumed by someone else.
 */
const keys = testConfig().attributeKeys;

function refusal(fn: () => unknown): { code: string; detail: string; extensions?: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError)
      return { code: error.code, detail: error.message, ...(error.extensions ? { extensions: error.extensions } : {}) };
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
        refuseOtherCustomer(verified, { [keys.customerId]: 'c-2', [keys.identityIssuer]: 'https://idp.example' }, keys),
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
