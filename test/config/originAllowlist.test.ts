import { OriginAllowlist, parseOriginPattern, type OriginPattern } from '../../src/config/originAllowlist';

/**
 * The CORS allowlist (README.md#http-behaviour-common-to-every-endpoint), table by table: which entries
 * CORS_ALLOWED_ORIGINS takes, and which Origin each allows. test/http/middleware/cors.test.ts shows the edge answering.
 */

const ALLOWED: [why: string, origin: string][] = [
  ['exact match', 'https://shop.example.com'],
  ['exact match with a port', 'http://localhost:3000'],
  ['one label under a wildcard', 'https://chat.example.org'],
  ['another label under a wildcard', 'https://www-2.example.org'],
  ['IPv6 loopback with its port', 'http://[::1]:5173'],
];

const REFUSED: [why: string, origin: string][] = [
  ['port mismatch', 'https://shop.example.com:8443'],
  ['port mismatch on localhost', 'http://localhost:3001'],
  ['missing port', 'http://localhost'],
  ['scheme mismatch', 'http://shop.example.com'],
  ['scheme mismatch under a wildcard', 'http://chat.example.org'],
  ['deeper subdomain under a wildcard', 'https://a.b.example.org'],
  ['the bare domain under a wildcard', 'https://example.org'],
  ['a subdomain of an exact entry', 'https://www.shop.example.com'],
  ['a parent of an exact entry', 'https://example.com'],
  ['the literal null origin', 'null'],
  ['a suffix lookalike', 'https://shop.example.com.evil.test'],
  ['a prefix lookalike under a wildcard', 'https://evilexample.org'],
  ['a lookalike with a dash', 'https://shop-example.com'],
  ['a path after the origin', 'https://shop.example.com/'],
  ['a longer path under a wildcard', 'https://chat.example.org/chat'],
  ['a user name before the host', 'https://user@shop.example.com'],
  ['upper case (browsers serialise origins in lower case)', 'https://SHOP.example.com'],
  ['an explicit default port (never sent by browsers)', 'https://shop.example.com:443'],
  ['not a URL', 'shop.example.com'],
  ['an empty Origin', ''],
  ['a wildcard sent as an origin', 'https://*.example.org'],
  ['IPv6 loopback on another port', 'http://[::1]:5174'],
];

describe('parseOriginPattern', () => {
  it.each<[string, Partial<OriginPattern>]>([
    ['https://shop.example.com', { scheme: 'https:', host: 'shop.example.com', port: '443', wildcard: false }],
    ['http://localhost:3000', { scheme: 'http:', host: 'localhost', port: '3000', wildcard: false }],
    ['http://127.0.0.1', { scheme: 'http:', host: '127.0.0.1', port: '80', wildcard: false }],
    ['https://*.example.org', { scheme: 'https:', host: 'example.org', port: '443', wildcard: true }],
    ['https://*.example.co.uk:8443', { scheme: 'https:', host: 'example.co.uk', port: '8443', wildcard: true }],
    ['  https://Shop.Example.com  ', { host: 'shop.example.com', source: 'https://Shop.Example.com' }],
  ])('parses %s', (entry, expected) => {
    expect(parseOriginPattern(entry)).toMatchObject(expected);
  });

  it.each([
    ['*', /every website/],
    ['null', /never an allowed origin/],
    ['https://example.com/', /trailing slash/],
    ['https://example.com/chat', /path/],
    ['https://example.com?x=1', /query/],
    ['https://user@example.com', /path, query/],
    ['example.com', /not an origin/],
    ['ws://example.com', /http or https/],
    ['https://*.com', /wildcards too much/],
    ['https://*.*.example.com', /./],
    ['https://a.*.example.com', /./],
    ['https://*example.com', /./],
  ])('refuses %s with a reason', (entry, reason) => {
    const result = parseOriginPattern(entry);
    expect(typeof result).toBe('string');
    expect(result).toMatch(reason);
  });
});

describe('OriginAllowlist', () => {
  const allowlist = OriginAllowlist.parse([
    'https://shop.example.com',
    'http://localhost:3000',
    'https://*.example.org',
    'http://[::1]:5173',
  ]);

  it.each(ALLOWED)('allows %s: %s', (_why, origin) => {
    expect(allowlist.allows(origin)).toBe(true);
  });

  it.each(REFUSED)('refuses %s: %s', (_why, origin) => {
    expect(allowlist.allows(origin)).toBe(false);
  });

  it('matches a wildcard with a port only on that port', () => {
    const list = OriginAllowlist.parse(['https://*.example.org:8443']);
    expect(list.allows('https://a.example.org:8443')).toBe(true);
    expect(list.allows('https://a.example.org')).toBe(false);
  });

  it('matches internationalised hosts in the punycode form browsers send', () => {
    const list = OriginAllowlist.parse(['https://bücher.example']);
    expect(list.allows('https://xn--bcher-kva.example')).toBe(true);
  });

  it('refuses everything when empty', () => {
    expect(OriginAllowlist.parse([]).allows('https://shop.example.com')).toBe(false);
  });

  it('throws on an invalid entry rather than allowing less or more than written', () => {
    expect(() => OriginAllowlist.parse(['https://shop.example.com', '*'])).toThrow(/every website/);
  });
});

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
  const asked = [
    'https://shop.example.com',
    'https://evil.example.com',
    'https://a.example.org',
    'https://a.b.example.org',
    `https://${'x'.repeat(300)}.example.org`,
  ];
  const first = asked.map((o) => list.allows(o));
  expect(first).toEqual([true, false, true, false, false]);
  for (let i = 0; i < 1500; i++) list.allows(`https://site-${i}.example.org`);
  expect(asked.map((o) => list.allows(o))).toEqual(first);
  expect(list.allows('https://site-3.example.org')).toBe(true);
  expect(list.allows('https://site-3.example.org:444')).toBe(false);
});

/**
 * Any client can send any Origin, so the verdicts remembered stay few and short: at most 1,000 of them, none
 * for an origin longer than 256 characters (what is remembered is private; this reads it to check its size).
 */
test('remembers a bounded number of verdicts, and none for an over-long origin', () => {
  const list = OriginAllowlist.parse(['https://*.example.org']);
  const remembered = (list as unknown as { verdicts: Map<string, boolean> }).verdicts;
  for (let i = 0; i < 20; i++) list.allows(`https://${'x'.repeat(250 + i)}.example.org`);
  expect(remembered.size).toBe(0);
  for (let i = 0; i < 1500; i++) list.allows(`https://site-${i}.example.org`);
  expect(remembered.size).toBe(1000);
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
