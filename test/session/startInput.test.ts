import { AppError } from '../../src/domain/errors';
import type { IdentityVerifier } from '../../src/session/attributes/identityVerifier';
import { givenAttributes } from '../../src/session/startInput';
import { testConfig } from '../support/app';

/** The attributes a start body gives: its well-known fields under the configured keys, `attributes`, and a verified identity's claims. */
const keys = { ...testConfig().process.attributeKeys, firstName: 'fn', lastName: 'ln', email: 'mail', phone: 'tel' };
const none: ReadonlySet<string> = new Set();

test("the well-known fields go under the configured keys, beside the body's own attributes", async () => {
  const given = await givenAttributes(
    { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phone: '+44 1', attributes: { tier: 'gold' } },
    keys,
    none,
    undefined,
  );
  expect(given).toEqual({
    browser: { tier: 'gold', fn: 'Ada', ln: 'Lovelace', mail: 'ada@example.com', tel: '+44 1' },
    identity: {},
  });
});

test('a key the service reserves is refused, whether it comes in `attributes` or through a well-known field', async () => {
  const reserved = new Set(['tel', 'customerId']);
  await expect(givenAttributes({ attributes: { customerId: 'c-1' } }, keys, reserved, undefined)).rejects.toMatchObject(
    { code: 'attribute_locked', extensions: { key: 'customerId' } },
  );
  await expect(givenAttributes({ phone: '+44 1' }, keys, reserved, undefined)).rejects.toMatchObject({
    code: 'attribute_locked',
    extensions: { key: 'tel' },
  });
});

test("an identity token's claims come back beside the browser's attributes, from the verifier", async () => {
  const verified: string[] = [];
  const identity = {
    verify: async (token: string) => (verified.push(token), { customerId: 'c-1' }),
  } as unknown as IdentityVerifier;
  await expect(givenAttributes({ identityToken: 'a.b.c', firstName: 'Ada' }, keys, none, identity)).resolves.toEqual({
    browser: { fn: 'Ada' },
    identity: { customerId: 'c-1' },
  });
  expect(verified).toEqual(['a.b.c']);
});

test('an identity token where no verifier is configured is identity_invalid (401), naming what would configure one', async () => {
  const error = await givenAttributes({ identityToken: 'a.b.c' }, keys, none, undefined).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  expect(error).toMatchObject({ code: 'identity_invalid', status: 401 });
  expect((error as AppError).message).toMatch(/IDENTITY_JWT_SECRET/);
  expect((error as AppError).message).toMatch(/IDENTITY_JWKS_URL/);
});

test('only the well-known fields the body has are set: none is added without a value', async () => {
  const given = await givenAttributes({ firstName: 'Ada', attributes: { tier: 'gold' } }, keys, none, undefined);
  expect(given).toStrictEqual({ browser: { tier: 'gold', fn: 'Ada' }, identity: {} });
  expect(Object.keys(given.browser)).toEqual(['tier', 'fn']);
});

test('a start body cannot send null for an attribute (only an update that merges removes one with null)', async () => {
  await expect(givenAttributes({ attributes: { tier: null } } as never, keys, none, undefined)).rejects.toMatchObject({
    code: 'validation_failed',
  });
});
