import { OriginAllowlist, parseOriginPattern } from '../../src/config/originAllowlist';

/** Scheme, host and port each decide on their own: a change in one alone refuses. */
test('the scheme alone decides: https://localhost:3000 is not http://localhost:3000', () => {
  const list = OriginAllowlist.parse(['http://localhost:3000']);
  expect(list.allows('http://localhost:3000')).toBe(true);
  expect(list.allows('https://localhost:3000')).toBe(false);
  const wildcard = OriginAllowlist.parse(['https://*.example.org:8443']);
  expect(wildcard.allows('http://a.example.org:8443')).toBe(false);
});

/** Verdicts are remembered per exact origin (a bounded number of them): asking again never changes an answer. */
test('the same verdict every time an origin asks, however many other origins asked in between', () => {
  const list = OriginAllowlist.parse(['https://shop.example.com', 'https://*.example.org']);
  const asked = ['https://shop.example.com', 'https://evil.example.com', 'https://a.example.org', 'https://a.b.example.org', `https://${'x'.repeat(300)}.example.org`];
  const first = asked.map((o) => list.allows(o));
  expect(first).toEqual([true, false, true, false, false]);
  for (let i = 0; i < 1500; i++) list.allows(`https://site-${i}.example.org`);
  expect(asked.map((o) => list.allows(o))).toEqual(first);
  expect(list.allows('https://site-3.example.org')).toBe(true);
  expect(list.allows('https://site-3.example.org:444')).toBe(false);
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
