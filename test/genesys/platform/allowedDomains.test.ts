import {
  domainAllowsHost,
  normalizeAllowedDomain,
  originMismatches,
} from '../../../src/genesys/platform/allowedDomains';

describe('normalizeAllowedDomain', () => {
  it.each([
    ['shop.example.com', 'shop.example.com'],
    ['Shop.Example.COM', 'shop.example.com'],
    ['https://shop.example.com', 'shop.example.com'],
    ['https://shop.example.com:8443/', 'shop.example.com'],
    ['shop.example.com:8443', 'shop.example.com'],
    ['shop.example.com/path', 'shop.example.com'],
    ['*.example.com', 'example.com'],
    ['https://*.example.com', 'example.com'],
    ['  example.com.  ', 'example.com'],
    // A scheme, but no URL: no host, so the entry allows nothing.
    ['https://shop example.com', ''],
    ['https://[shop.example.com', ''],
  ])('%s is the host %s', (entry, host) => {
    expect(normalizeAllowedDomain(entry)).toBe(host);
  });
});

describe('domainAllowsHost', () => {
  it.each([
    [['shop.example.com'], 'shop.example.com', true],
    [['https://shop.example.com'], 'shop.example.com', true],
    [['example.com'], 'shop.example.com', true],
    [['*.example.com'], 'a.b.example.com', true],
    [['shop.example.com'], 'example.com', false],
    [['example.com'], 'badexample.com', false],
    [['shop.example.com'], 'shop.example.com.evil.test', false],
    [[], 'shop.example.com', false],
    [[''], 'shop.example.com', false],
    // An entry that names no host allows nothing, not even a host written with its trailing root dot.
    [[''], 'shop.example.com.', false],
    [['https://shop example.com'], 'example.com.', false],
    // Only a leading `*.` is a wildcard, and only a port at the end is dropped: an entry that is no host beside them
    // is not read as another host.
    [['a.*.example.com'], 'a.example.com', false],
    [['shop.example.com:8443.evil.test'], 'shop.example.com.evil.test', false],
  ])('%j allows %s: %s', (allowed, host, expected) => {
    expect(domainAllowsHost(allowed, host)).toBe(expected);
  });
});

describe('originMismatches', () => {
  const policy = { allowAllDomains: false, allowedDomains: ['shop.example.com', '*.example.net'] };
  const named = (origin: string) => ({ origins: 'CORS_ALLOWED_ORIGINS', origin: `GENESYS_ORIGIN (${origin})` });

  it('names nothing when every origin is allowed', () => {
    expect(
      originMismatches(
        policy,
        ['https://shop.example.com', 'https://*.example.net', 'http://a.example.net:3000'],
        'https://shop.example.com',
        named('https://shop.example.com'),
      ),
    ).toEqual([]);
  });

  it('names nothing when the deployment allows all domains', () => {
    expect(
      originMismatches(
        { allowAllDomains: true, allowedDomains: [] },
        ['https://other.test'],
        'https://other.test',
        named('https://other.test'),
      ),
    ).toEqual([]);
  });

  it('names each origin the deployment does not allow', () => {
    expect(
      originMismatches(
        policy,
        ['https://shop.example.com', 'https://www.example.com', 'https://*.example.com'],
        'https://bff.example.org',
        named('https://bff.example.org'),
      ),
    ).toEqual([
      "CORS_ALLOWED_ORIGINS allows https://www.example.com but the deployment's allowedDomains [shop.example.com, *.example.net] do not include www.example.com: Genesys may refuse this origin",
      "CORS_ALLOWED_ORIGINS allows https://*.example.com but the deployment's allowedDomains [shop.example.com, *.example.net] do not cover every host under example.com: Genesys may refuse those origins",
      "GENESYS_ORIGIN (https://bff.example.org) is not among the deployment's allowedDomains [shop.example.com, *.example.net]: the guest WebSocket handshake will be refused with 403",
    ]);
  });

  it('names a derived Origin by where it came from, not as a GENESYS_ORIGIN somebody set', () => {
    const derived = {
      origins: 'CORS_ALLOWED_ORIGINS',
      origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://www.example.com)',
    };
    expect(originMismatches(policy, [], 'https://www.example.com', derived)).toEqual([
      "GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://www.example.com) is not among the deployment's allowedDomains [shop.example.com, *.example.net]: the guest WebSocket handshake will be refused with 403",
    ]);
  });

  it("names the origins as a deployments file's entry writes them", () => {
    const file = {
      origins: 'origins of deployment "shop"',
      origin: 'genesysOrigin of deployment "shop" (https://shop.example.com)',
    };
    expect(originMismatches(policy, ['https://www.example.com'], 'https://shop.example.com', file)).toEqual([
      'origins of deployment "shop" allows https://www.example.com but the deployment\'s allowedDomains [shop.example.com, *.example.net] do not include www.example.com: Genesys may refuse this origin',
    ]);
  });

  it('leaves out a GENESYS_ORIGIN that is no URL (a port out of range) instead of failing the check', () => {
    expect(
      originMismatches(
        policy,
        ['https://shop.example.com'],
        'https://bff.example.org:99999',
        named('https://bff.example.org:99999'),
      ),
    ).toEqual([]);
  });
});
