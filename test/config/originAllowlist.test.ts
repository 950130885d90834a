import { OriginAllowlist, parseOriginPattern } from '../../src/config/originAllowlist';

/** Scheme, host and port each decide on their own: a change in one alone refuses. */
test('the scheme alone decides: https://localhost:3000 is not http://localhost:3000', () => {
  const list = OriginAllowlist.parse(['http://localhost:3000']);
  expect(list.allows('http://localhost:3000')).toBe(true);
  expect(list.allows('https://localhost:3000')).toBe(false);
  const wildcard = OriginAllowlist.parse(['https://*.example.org:8443']);
  expect(wildcard.allows('http://a.example.org:8443')).toBe(false);
});

/** Entries that parse as URLs only by accident of how the wildcard is parsed: each is refused. */
test.each([
  ['a control character before the scheme (URL() would strip it)', '\u0001https://*.example.com'],
  ['a wildcard over an IPv4 address', 'https://*.192.168.0.1'],
  ['a wildcard over a label that is no DNS label', 'https://*.exa_mple.com'],
])('refuses a wildcard entry with %s', (_why, entry) => {
  expect(typeof parseOriginPattern(entry)).toBe('string');
});

test('a wildcard covers no empty first label', () => {
  const list = OriginAllowlist.parse(['https://*.example.org']);
  expect(list.allows('https://.example.org')).toBe(false);
  expect(list.allows('https://a.example.org')).toBe(true);
});
