import { OriginAllowlist } from '../../src/config/originAllowlist';

/** Scheme, host and port each decide on their own: a change in one alone refuses. */
test('the scheme alone decides: https://localhost:3000 is not http://localhost:3000', () => {
  const list = OriginAllowlist.parse(['http://localhost:3000']);
  expect(list.allows('http://localhost:3000')).toBe(true);
  expect(list.allows('https://localhost:3000')).toBe(false);
  const wildcard = OriginAllowlist.parse(['https://*.example.org:8443']);
  expect(wildcard.allows('http://a.example.org:8443')).toBe(false);
});
