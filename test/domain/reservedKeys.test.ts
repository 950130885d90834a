import { keyForm } from '../../src/domain/reservedKeys';

/** keyForm: one form for keys a person reading them would take for one another, and distinct forms otherwise. */
test.each([
  ['identityVerified', 'IdentityVerified'],
  ['identityVerified', 'identityverified'],
  ['identityVerified', '\u0456dentityVerified'], // Cyrillic і
  ['identityVerified', '\u0399dentityVerified'], // Greek capital iota
  ['identityVerified', 'ldentityVerified'], // Latin small L for a capital I
  ['customerId', 'customerID'],
  ['customerId', 'ｃｕｓｔｏｍｅｒＩｄ'], // full width (NFKC)
  ['customerId', 'сustоmerId'], // Cyrillic с and о
  ['email', 'EMAIL'],
])('%s and %s have one form', (a, b) => {
  expect(keyForm(b)).toBe(keyForm(a));
});

test.each([
  ['customerId', 'customerIds'],
  ['email', 'mail'],
  ['identityVerified', 'identityVerifier'],
])('%s and %s stay apart', (a, b) => {
  expect(keyForm(b)).not.toBe(keyForm(a));
});

/** The form itself is the key as read, in Latin lower case (l and 1 read as i, 0 as o), nothing added. */
test.each([
  ['customerId', 'customerid'],
  ['сustоmerІd', 'customerid'], // Cyrillic с, о and І
  ['ＰＨＯＮＥ', 'phone'], // full width
  ['EMAIL', 'emaii'],
  ['Ιdentity', 'identity'], // Greek capital iota, folded again after lower-casing
])('the form of %s is %s', (key, form) => {
  expect(keyForm(key)).toBe(form);
});
