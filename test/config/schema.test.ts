import { ConfigError, isUnconfigured, loadConfig } from '../../src/config/schema';
import { findRegion, REGIONS } from '../../src/config/regions';
import { TEST_DEPLOYMENT_ID, TEST_SESSION_SECRET, testEnv, type EnvOverrides } from '../support/app';

/** Loads a config that must be invalid and returns its problems. */
function problemsOf(overrides: EnvOverrides): { problems: string[]; message: string } {
  try {
    loadConfig(testEnv(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    return { problems: e.problems, message: e.message };
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(overrides)}`);
}

// docs/genesys-protocol.md#hosts-and-regions, written out again so a typo in regions.ts fails here.
const REFERENCE_REGIONS: [aws: string, domain: string][] = [
  ['us-east-1', 'mypurecloud.com'],
  ['us-east-2', 'use2.us-gov-pure.cloud'],
  ['us-west-2', 'usw2.pure.cloud'],
  ['ca-central-1', 'cac1.pure.cloud'],
  ['sa-east-1', 'sae1.pure.cloud'],
  ['mx-central-1', 'mxc1.pure.cloud'],
  ['eu-west-1', 'mypurecloud.ie'],
  ['eu-west-2', 'euw2.pure.cloud'],
  ['eu-central-1', 'mypurecloud.de'],
  ['eu-central-2', 'euc2.pure.cloud'],
  ['eusc-de-east-1', 'edee1.eusc-pure.cloud'],
  ['me-central-1', 'mec1.pure.cloud'],
  ['ap-south-1', 'aps1.pure.cloud'],
  ['ap-southeast-1', 'apse1.pure.cloud'],
  ['ap-southeast-2', 'mypurecloud.com.au'],
  ['ap-northeast-1', 'mypurecloud.jp'],
  ['ap-northeast-2', 'apne2.pure.cloud'],
  ['ap-northeast-3', 'apne3.pure.cloud'],
];

describe('regions', () => {
  it('knows exactly the 18 regions of the reference', () => {
    expect(REGIONS).toHaveLength(18);
    expect(REGIONS.map((r) => [r.awsRegion, r.domain]).sort()).toEqual([...REFERENCE_REGIONS].sort());
  });

  it.each(REFERENCE_REGIONS)('%s and %s both configure the same region', (aws, domain) => {
    for (const value of [domain, aws, aws.toUpperCase(), aws.replace(/-/g, '_'), ` ${domain} `]) {
      const config = loadConfig(testEnv({ GENESYS_REGION: value }));
      expect(config.deployments[0]!.genesys.region).toEqual({ domain, awsRegion: aws });
    }
  });

  it('derives every Genesys base URL from the region domain', () => {
    const { genesys } = loadConfig(testEnv({ GENESYS_REGION: 'ap-southeast-2' })).deployments[0]!;
    expect(genesys.loginUrl).toBe('https://login.mypurecloud.com.au');
    expect(genesys.apiUrl).toBe('https://api.mypurecloud.com.au');
    expect(genesys.webMessagingUrl).toBe('wss://webmessaging.mypurecloud.com.au');
    expect(genesys.cdnUrl).toBe('https://api-cdn.mypurecloud.com.au');
  });

  it('does not match a region by prefix or suffix', () => {
    expect(findRegion('purecloud.ie')).toBeUndefined();
    expect(findRegion('eu-west')).toBeUndefined();
    expect(findRegion('api.mypurecloud.ie')).toBeUndefined();
  });

  it('refuses an unknown region and lists every valid one, each as its domain and AWS name', () => {
    const { problems } = problemsOf({ GENESYS_REGION: 'mars-north-1' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"mars-north-1"');
    const listed = problems[0]!.split('use one of: ')[1]!.split(', ');
    expect(listed.sort()).toEqual(REFERENCE_REGIONS.map(([aws, domain]) => `${domain} (${aws})`).sort());
  });
});

describe('loadConfig', () => {
  it('accepts the minimal valid environment with the documented defaults', () => {
    const config = loadConfig(
      testEnv({
        PORT: undefined,
        HOST: undefined,
        LOG_LEVEL: undefined,
        SHUTDOWN_GRACE_MS: undefined,
        NODE_ENV: undefined,
      }),
    );
    expect(config.process.port).toBe(8080);
    expect(config.process.host).toBe('0.0.0.0');
    expect(config.process.logLevel).toBe('info');
    expect(config.process.env).toBe('development');
    expect(config.deployments[0]!.genesys.credentials).toBeUndefined();
    expect(config.deployments[0]!.identity).toBeUndefined();
    expect(config.process.trustProxy).toBe(false);
    expect(config.process.session.secrets).toEqual([TEST_SESSION_SECRET]);
    expect(config.deployments[0]!.allowedOrigins).toEqual([
      'https://shop.example.com',
      'http://localhost:3000',
      'https://*.example.org',
    ]);
    // docs/configuration.md: the attribute keys, and the durations (given in seconds) as the service uses them.
    expect(config.process.attributeKeys).toEqual({
      firstName: 'firstName',
      lastName: 'lastName',
      email: 'email',
      phone: 'phone',
      customerId: 'customerId',
      identityVerified: 'identityVerified',
      identityIssuer: 'identityIssuer',
    });
    expect(config.process.genesys.reconnectWindowMs).toBe(300_000);
    expect(config.process.genesys.deploymentCacheTtlMs).toBe(300_000);
    expect(config.process.genesys.linkUnknownLifetimeMs).toBe(60_000);
    expect(config.process.limits.ipv6PrefixLength).toBe(56);
    expect(config.process.guestSockets.idleMs).toBe(120_000);
    expect(config.process.uploads.rateWindowMs).toBe(15_000);
  });

  it('reads durations given in seconds', () => {
    const config = loadConfig(
      testEnv({
        GENESYS_RECONNECT_WINDOW_SECONDS: '60',
        DEPLOYMENT_CACHE_TTL_SECONDS: '30',
        GUEST_SOCKET_IDLE_SECONDS: '45',
        UPLOAD_RATE_WINDOW_SECONDS: '5',
        DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS: '240',
      }),
    );
    expect(config.process.genesys.linkUnknownLifetimeMs).toBe(240_000);
    expect(config.process.genesys.reconnectWindowMs).toBe(60_000);
    expect(config.process.genesys.deploymentCacheTtlMs).toBe(30_000);
    expect(config.process.guestSockets.idleMs).toBe(45_000);
    expect(config.process.uploads.rateWindowMs).toBe(5_000);
  });

  it('reports every problem at once', () => {
    const { problems, message } = problemsOf({
      GENESYS_REGION: 'atlantis',
      GENESYS_DEPLOYMENT_ID: 'not-a-uuid',
      GENESYS_CLIENT_ID: 'client-without-secret',
      CORS_ALLOWED_ORIGINS: '*',
      SESSION_SECRET: 'short',
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      GENESYS_API_URL: 'ftp://example.com',
    });
    const expected = [
      /GENESYS_REGION: "atlantis" is not a Genesys Cloud region/,
      /GENESYS_DEPLOYMENT_ID must be a Genesys id \(a UUID\)/,
      /GENESYS_CLIENT_SECRET is required with GENESYS_CLIENT_ID/,
      /CORS_ALLOWED_ORIGINS: "\*" would allow every website/,
      /SESSION_SECRET: every key must be at least 32 characters/,
      /PORT must be a whole number/,
      /LOG_LEVEL must be one of/,
      /GENESYS_API_URL must use https: or http:/,
    ];
    for (const pattern of expected) expect(problems.some((p) => pattern.test(p))).toBe(true);
    // The message printed at startup lists them all, one per line.
    for (const problem of problems) expect(message).toContain(problem);
    expect(message.split('\n').filter((l) => l.startsWith('  - '))).toHaveLength(problems.length);
  });

  it('names each required variable that is missing', () => {
    const { problems } = problemsOf({
      GENESYS_REGION: undefined,
      GENESYS_DEPLOYMENT_ID: undefined,
      CORS_ALLOWED_ORIGINS: undefined,
      SESSION_SECRET: undefined,
    });
    for (const name of ['GENESYS_REGION', 'GENESYS_DEPLOYMENT_ID', 'CORS_ALLOWED_ORIGINS', 'SESSION_SECRET']) {
      expect(problems.some((p) => p.startsWith(`${name} is required`))).toBe(true);
    }
    expect(problems).toContain(
      'SESSION_SECRET is required: at least 32 random characters (e.g. `openssl rand -base64 48`); ' +
        'a comma-separated list rotates keys',
    );
  });

  it('treats blank values as unset', () => {
    const { problems } = problemsOf({ GENESYS_REGION: '   ' });
    expect(problems).toEqual([expect.stringMatching(/^GENESYS_REGION is required/)]);
  });

  it('treats blank values as unset when another variable is wrong too, and reports only the real problems', () => {
    const { problems } = problemsOf({ LOG_LEVEL: 'loud', GENESYS_REGION: '   ', GENESYS_CLIENT_SECRET: '' });
    expect(problems).toEqual([
      expect.stringMatching(/^LOG_LEVEL must be one of/),
      expect.stringMatching(/^GENESYS_REGION is required/),
    ]);
  });

  it('reads every value without the blanks around it', () => {
    const config = loadConfig(
      testEnv({
        GENESYS_DEPLOYMENT_ID: ` ${TEST_DEPLOYMENT_ID}\t`,
        HOST: ' ::1 ',
        REDIS_SENTINELS: 's1:26379',
        REDIS_SENTINEL_NAME: ' mymaster ',
      }),
    );
    expect(config.deployments[0]!.genesys.deploymentId).toBe(TEST_DEPLOYMENT_ID);
    expect(config.process.host).toBe('::1');
    expect(config.process.redis).toMatchObject({ name: 'mymaster' });
  });

  describe('OAuth client', () => {
    it('enables the Platform API with both the id and the secret', () => {
      const config = loadConfig(
        testEnv({ GENESYS_CLIENT_ID: 'client-id', GENESYS_CLIENT_SECRET: 'client-secret-value' }),
      );
      expect(config.deployments[0]!.genesys.credentials).toEqual({
        clientId: 'client-id',
        clientSecret: 'client-secret-value',
      });
    });

    it('refuses an id without a secret', () => {
      expect(problemsOf({ GENESYS_CLIENT_ID: 'client-id' }).problems).toEqual([
        'GENESYS_CLIENT_SECRET is required with GENESYS_CLIENT_ID',
      ]);
    });

    it('refuses a secret without an id, without printing the secret', () => {
      const { problems, message } = problemsOf({ GENESYS_CLIENT_SECRET: 'super-secret-client-value' });
      expect(problems).toEqual(['GENESYS_CLIENT_ID is required with GENESYS_CLIENT_SECRET']);
      expect(message).not.toContain('super-secret-client-value');
    });
  });

  describe('CORS_ALLOWED_ORIGINS', () => {
    it.each([
      ['*', /"\*" would allow every website/],
      ['https://shop.example.com,*', /"\*" would allow every website/],
      ['null', /"null" is never an allowed origin/],
      ['https://shop.example.com/', /trailing slash/],
      ['https://shop.example.com/path', /has a path/],
      ['shop.example.com', /is not an origin/],
      ['ftp://shop.example.com', /must use http or https/],
      ['https://*.com', /wildcards too much/],
      ['https://*.*.example.com', /CORS_ALLOWED_ORIGINS/],
    ])('refuses %s', (value, pattern) => {
      const { problems } = problemsOf({ CORS_ALLOWED_ORIGINS: value });
      expect(problems.some((p) => pattern.test(p))).toBe(true);
    });

    it('accepts exact origins and one-label wildcards, trimming blanks', () => {
      const config = loadConfig(
        testEnv({ CORS_ALLOWED_ORIGINS: ' https://a.example.com , ,http://localhost:3000,https://*.example.net ' }),
      );
      expect(config.deployments[0]!.allowedOrigins).toEqual([
        'https://a.example.com',
        'http://localhost:3000',
        'https://*.example.net',
      ]);
    });
  });

  describe('SESSION_SECRET', () => {
    it('refuses a key shorter than 32 characters without printing it', () => {
      const short = 'abcdefghijklmnopqrstuvwxyz01234'; // 31 characters
      const { problems, message } = problemsOf({ SESSION_SECRET: short });
      expect(problems).toEqual([expect.stringContaining('SESSION_SECRET: every key must be at least 32 characters')]);
      expect(message).not.toContain(short);
    });

    it('accepts exactly 32 characters', () => {
      expect(loadConfig(testEnv({ SESSION_SECRET: 'x'.repeat(32) })).process.session.secrets).toEqual(['x'.repeat(32)]);
    });

    it('reads a comma-separated list as rotating keys, the first one sealing', () => {
      const a = 'a'.repeat(40);
      const b = 'b'.repeat(40);
      expect(loadConfig(testEnv({ SESSION_SECRET: ` ${a} , ${b} ` })).process.session.secrets).toEqual([a, b]);
    });

    it('refuses a rotation list with one short key, without printing any key', () => {
      const good = 'g'.repeat(40);
      const { problems, message } = problemsOf({ SESSION_SECRET: `${good},tooshort-key` });
      expect(problems).toEqual([expect.stringContaining('SESSION_SECRET')]);
      expect(message).not.toContain(good);
      expect(message).not.toContain('tooshort-key');
    });
  });

  it('never prints a secret in a ConfigError, even when everything else is wrong', () => {
    const secrets = {
      GENESYS_CLIENT_SECRET: 'client-secret-0123456789',
      SESSION_SECRET: 'session-secret-short',
      IDENTITY_JWT_SECRET: 'identity-secret-short',
    };
    const { message, problems } = problemsOf({ ...secrets, GENESYS_REGION: 'nowhere', CORS_ALLOWED_ORIGINS: '*' });
    expect(problems.length).toBeGreaterThanOrEqual(4);
    for (const value of Object.values(secrets)) expect(message).not.toContain(value);
  });

  describe('base URLs', () => {
    it('can each be overridden for a simulator, dropping a trailing slash', () => {
      const { genesys } = loadConfig(
        testEnv({
          GENESYS_LOGIN_URL: 'http://127.0.0.1:9000/',
          GENESYS_API_URL: 'http://127.0.0.1:9001',
          GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9002',
          GENESYS_CDN_URL: 'http://127.0.0.1:9003',
        }),
      ).deployments[0]!;
      expect(genesys.loginUrl).toBe('http://127.0.0.1:9000');
      expect(genesys.apiUrl).toBe('http://127.0.0.1:9001');
      expect(genesys.webMessagingUrl).toBe('ws://127.0.0.1:9002');
      expect(genesys.cdnUrl).toBe('http://127.0.0.1:9003');
    });

    it('keeps the derived ones for any override left unset', () => {
      const { genesys } = loadConfig(testEnv({ GENESYS_API_URL: 'http://127.0.0.1:9001' })).deployments[0]!;
      expect(genesys.apiUrl).toBe('http://127.0.0.1:9001');
      expect(genesys.loginUrl).toBe('https://login.mypurecloud.ie');
      expect(genesys.webMessagingUrl).toBe('wss://webmessaging.mypurecloud.ie');
      expect(genesys.cdnUrl).toBe('https://api-cdn.mypurecloud.ie');
    });

    it.each([
      ['GENESYS_WEBMESSAGING_URL', 'https://webmessaging.example.com', /must use wss: or ws:/],
      ['GENESYS_LOGIN_URL', 'wss://login.example.com', /must use https: or http:/],
      ['GENESYS_CDN_URL', 'not a url', /must be an absolute URL/],
    ])('refuses %s=%s', (name, value, pattern) => {
      const { problems } = problemsOf({ [name]: value });
      expect(problems).toEqual([expect.stringMatching(pattern)]);
      expect(problems[0]).toContain(name);
    });
  });

  describe('GENESYS_ORIGIN', () => {
    it('defaults to the first exact allowed origin', () => {
      const config = loadConfig(
        testEnv({ CORS_ALLOWED_ORIGINS: 'https://*.example.org,https://www.example.com,https://b.example.com' }),
      );
      expect(config.deployments[0]!.genesys.origin).toBe('https://www.example.com');
    });

    it('is taken as given when set', () => {
      expect(loadConfig(testEnv({ GENESYS_ORIGIN: 'https://chat.example.com' })).deployments[0]!.genesys.origin).toBe(
        'https://chat.example.com',
      );
    });

    it('is not reported as a second problem when CORS_ALLOWED_ORIGINS is missing altogether', () => {
      const { problems } = problemsOf({ CORS_ALLOWED_ORIGINS: undefined });
      expect(problems).toEqual([expect.stringMatching(/^CORS_ALLOWED_ORIGINS is required/)]);
    });

    it('is required when the allowlist holds only wildcards', () => {
      const { problems } = problemsOf({ CORS_ALLOWED_ORIGINS: 'https://*.example.org' });
      expect(problems).toEqual([expect.stringMatching(/^GENESYS_ORIGIN is required/)]);
      expect(
        loadConfig(
          testEnv({ CORS_ALLOWED_ORIGINS: 'https://*.example.org', GENESYS_ORIGIN: 'https://www.example.org' }),
        ).deployments[0]!.genesys.origin,
      ).toBe('https://www.example.org');
    });

    it('may be a plain-http origin with a port (a local site)', () => {
      expect(loadConfig(testEnv({ GENESYS_ORIGIN: 'http://localhost:3000' })).deployments[0]!.genesys.origin).toBe(
        'http://localhost:3000',
      );
    });

    it.each([
      'shop.example.com',
      'https://shop.example.com/',
      'https://shop.example.com/chat',
      'wss://shop.example.com',
      '"https://shop.example.com"',
      'https://shop.example.com:99999',
      'https://shop example.com',
      'git+https://shop.example.com',
    ])('refuses %s, which is not an origin', (value) => {
      expect(problemsOf({ GENESYS_ORIGIN: value }).problems).toEqual([
        expect.stringMatching(/^GENESYS_ORIGIN must be an origin/),
      ]);
    });
  });

  describe('identity tokens', () => {
    const jwtSecret = 'identity-jwt-secret-0123456789-abcdef';

    it('are off unless a secret or a JWKS URL is set', () => {
      expect(loadConfig(testEnv()).deployments[0]!.identity).toBeUndefined();
    });

    it('verify with an HS256 secret, issuer and audience', () => {
      const config = loadConfig(
        testEnv({
          IDENTITY_JWT_SECRET: jwtSecret,
          IDENTITY_ISSUER: 'https://shop.example.com',
          IDENTITY_AUDIENCE: 'genesys-bff',
        }),
      );
      expect(config.deployments[0]!.identity).toEqual({
        jwtSecret,
        jwksUrl: undefined,
        issuer: 'https://shop.example.com',
        audience: 'genesys-bff',
        clockToleranceSeconds: 30,
        maxTokenAgeSeconds: 3600,
      });
    });

    it('verify with a JWKS URL', () => {
      const config = loadConfig(
        testEnv({
          IDENTITY_JWKS_URL: 'https://shop.example.com/.well-known/jwks.json',
          IDENTITY_ISSUER: 'https://shop.example.com',
          IDENTITY_AUDIENCE: 'genesys-bff',
          IDENTITY_CLOCK_TOLERANCE_SECONDS: '5',
        }),
      );
      expect(config.deployments[0]!.identity).toMatchObject({
        jwksUrl: 'https://shop.example.com/.well-known/jwks.json',
        clockToleranceSeconds: 5,
      });
      expect(config.deployments[0]!.identity?.jwtSecret).toBeUndefined();
    });

    it('need an issuer and an audience', () => {
      const { problems } = problemsOf({ IDENTITY_JWT_SECRET: jwtSecret });
      expect(problems).toHaveLength(2);
      expect(problems.some((p) => p.startsWith('IDENTITY_ISSUER is required'))).toBe(true);
      expect(problems.some((p) => p.startsWith('IDENTITY_AUDIENCE is required'))).toBe(true);
    });

    it('take a secret or a JWKS URL, not both', () => {
      const { problems } = problemsOf({
        IDENTITY_JWT_SECRET: jwtSecret,
        IDENTITY_JWKS_URL: 'https://shop.example.com/jwks.json',
        IDENTITY_ISSUER: 'i',
        IDENTITY_AUDIENCE: 'a',
      });
      expect(problems).toEqual([
        'Give IDENTITY_JWT_SECRET (HS256) or IDENTITY_JWKS_URL (asymmetric keys): exactly one',
      ]);
    });

    it('refuse a short HS256 secret without printing it', () => {
      const { problems, message } = problemsOf({
        IDENTITY_JWT_SECRET: 'short-identity-key',
        IDENTITY_ISSUER: 'i',
        IDENTITY_AUDIENCE: 'a',
      });
      expect(problems).toEqual([expect.stringContaining('IDENTITY_JWT_SECRET must be at least 32 characters')]);
      expect(message).not.toContain('short-identity-key');
    });

    it('take an HS256 secret of exactly 32 characters', () => {
      const secret = 'k'.repeat(32);
      expect(
        loadConfig(testEnv({ IDENTITY_JWT_SECRET: secret, IDENTITY_ISSUER: 'i', IDENTITY_AUDIENCE: 'a' }))
          .deployments[0]!.identity?.jwtSecret,
      ).toBe(secret);
    });

    it('refuse an issuer or audience with no way to verify, naming what is missing', () => {
      const noWay = 'Give IDENTITY_JWT_SECRET (HS256) or IDENTITY_JWKS_URL (asymmetric keys): exactly one';
      expect(problemsOf({ IDENTITY_ISSUER: 'https://shop.example.com' }).problems).toEqual([
        expect.stringMatching(/^IDENTITY_AUDIENCE is required: /),
        noWay,
      ]);
      expect(problemsOf({ IDENTITY_AUDIENCE: 'genesys-bff' }).problems).toEqual([
        expect.stringMatching(/^IDENTITY_ISSUER is required: /),
        noWay,
      ]);
    });
  });

  describe('numbers and the rest', () => {
    it('reads PORT, limits and timeouts', () => {
      const config = loadConfig(
        testEnv({
          PORT: '3001',
          BODY_LIMIT_BYTES: '2048',
          GENESYS_TIMEOUT_MS: '1500',
          SHUTDOWN_GRACE_MS: '0',
          SESSION_TTL_SECONDS: '3600',
        }),
      );
      expect(config.process.port).toBe(3001);
      expect(config.process.limits.bodyBytes).toBe(2048);
      expect(config.process.genesys.timeoutMs).toBe(1500);
      expect(config.process.shutdownGraceMs).toBe(0);
      expect(config.process.session.ttlSeconds).toBe(3600);
    });

    it.each(['65536', '-1', '80.5', 'http'])('refuses PORT=%s', (value) => {
      expect(problemsOf({ PORT: value }).problems).toEqual([
        expect.stringMatching(/^PORT must be a whole number from 0 to 65535/),
      ]);
    });

    it('takes both ends of a range', () => {
      expect(loadConfig(testEnv({ PORT: '65535' })).process.port).toBe(65535);
      expect(loadConfig(testEnv({ SESSION_TTL_SECONDS: '60' })).process.session.ttlSeconds).toBe(60);
      expect(loadConfig(testEnv({ SESSION_TTL_SECONDS: String(60 * 60 * 24 * 30) })).process.session.ttlSeconds).toBe(
        2_592_000,
      );
    });

    it.each([
      [undefined, false],
      ['false', false],
      ['true', true],
      ['2', 2],
      ['12', 12],
      ['10.0.0.0/8', '10.0.0.0/8'],
      ['1, 10.0.0.1', '1, 10.0.0.1'],
      ['loopback, uniquelocal', 'loopback, uniquelocal'],
    ])('reads TRUST_PROXY=%s', (value, expected) => {
      expect(loadConfig(testEnv({ TRUST_PROXY: value })).process.trustProxy).toEqual(expected);
    });

    it('reads LOG_LEVEL case-insensitively', () => {
      expect(loadConfig(testEnv({ LOG_LEVEL: 'DEBUG' })).process.logLevel).toBe('debug');
    });

    it('refuses another LOG_LEVEL, listing the levels it takes', () => {
      const { problems } = problemsOf({ LOG_LEVEL: 'verbose' });
      expect(problems).toEqual([expect.stringMatching(/^LOG_LEVEL must be one of/)]);
      expect(problems[0]).toContain('fatal, error, warn, info, debug, trace, silent');
      expect(problems[0]).toContain('"verbose"');
    });
  });
});

describe('the shared store (REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES)', () => {
  it('reads one Redis, a Sentinel-watched primary or a cluster, with the password and TLS beside it', () => {
    expect(loadConfig(testEnv({ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'pw' })).process.redis).toEqual({
      kind: 'single',
      url: 'redis://redis:6379',
      keyPrefix: 'genesys-bff:',
      password: 'pw',
      tls: false,
    });
    expect(
      loadConfig(testEnv({ REDIS_SENTINELS: 's1:26379, s2:26380', REDIS_SENTINEL_NAME: 'mymaster' })).process.redis,
    ).toMatchObject({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
    });
    expect(
      loadConfig(testEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:6379,[fd00::2]:6380', REDIS_TLS: 'true' })).process.redis,
    ).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 6379 },
        { host: 'fd00::2', port: 6380 },
      ],
      tls: true,
    });
    expect(loadConfig(testEnv()).process.redis).toBeUndefined();
  });

  it("refuses two at once, a Sentinel without the primary's name, a node that is not host:port, and settings without a Redis", () => {
    expect(problemsOf({ REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:6379' }).problems).toEqual([
      expect.stringMatching(
        /Set one of REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES, not REDIS_URL and REDIS_CLUSTER_NODES/,
      ),
    ]);
    expect(problemsOf({ REDIS_SENTINELS: 's1:26379' }).problems).toEqual([
      expect.stringMatching(/REDIS_SENTINEL_NAME is required with REDIS_SENTINELS/),
    ]);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'mymaster' }).problems).toEqual([
      expect.stringMatching(/REDIS_SENTINEL_NAME is set without REDIS_SENTINELS/),
    ]);
    expect(problemsOf({ REDIS_CLUSTER_NODES: 'redis-1, redis-2:99999' }).problems).toEqual([
      expect.stringMatching(/REDIS_CLUSTER_NODES: "redis-1" is not host:port/),
      expect.stringMatching(/REDIS_CLUSTER_NODES: "redis-2:99999" is not host:port/),
      expect.stringMatching(/REDIS_CLUSTER_NODES must name at least one cluster node/),
    ]);
    expect(problemsOf({ REDIS_PASSWORD: 'pw', REDIS_TLS: 'yes' }).problems).toEqual([
      expect.stringMatching(/REDIS_TLS must be true or false/),
      expect.stringMatching(/REDIS_TLS is set but no Redis is/),
      expect.stringMatching(/REDIS_PASSWORD is set but no Redis is/),
    ]);
  });

  it('reads REDIS_TLS=false as no TLS', () => {
    expect(
      loadConfig(testEnv({ REDIS_CLUSTER_NODES: 'redis-1:6379', REDIS_TLS: 'false' })).process.redis,
    ).toMatchObject({
      kind: 'cluster',
      tls: false,
    });
  });

  it('reads a list of nodes with blanks and a trailing comma, ports 1 to 65535', () => {
    expect(
      loadConfig(testEnv({ REDIS_SENTINELS: ' s1:1 ,, s2:65535, ', REDIS_SENTINEL_NAME: 'mymaster' })).process.redis,
    ).toMatchObject({
      sentinels: [
        { host: 's1', port: 1 },
        { host: 's2', port: 65535 },
      ],
    });
  });

  it.each(['redis://redis-1:6379', 'redis-1:6379/0', 'redis-1:0', 'redis-1:65536', 'redis-1'])(
    'refuses the node %s, naming the variable and the entry',
    (entry) => {
      for (const [name, env] of [
        ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: `redis-2:6379,${entry}` }],
        ['REDIS_SENTINELS', { REDIS_SENTINELS: `s1:26379,${entry}`, REDIS_SENTINEL_NAME: 'mymaster' }],
      ] as const) {
        const { problems } = problemsOf(env);
        expect(problems).toEqual([expect.stringMatching(/is not host:port/)]);
        expect(problems[0]!.startsWith(`${name}: "${entry}"`)).toBe(true);
      }
    },
  );

  it('refuses Sentinels none of which is host:port, saying at least one is needed', () => {
    expect(problemsOf({ REDIS_SENTINELS: 'sentinel-1', REDIS_SENTINEL_NAME: 'mymaster' }).problems).toEqual([
      expect.stringMatching(/^REDIS_SENTINELS: "sentinel-1" is not host:port/),
      expect.stringMatching(/^REDIS_SENTINELS must name at least one Sentinel as host:port/),
    ]);
  });
});

describe('isUnconfigured', () => {
  it('is true only when neither a region nor a deployment is set', () => {
    expect(isUnconfigured({})).toBe(true);
    expect(isUnconfigured({ CORS_ALLOWED_ORIGINS: 'http://localhost:3000' })).toBe(true);
    expect(isUnconfigured({ GENESYS_REGION: 'mypurecloud.ie' })).toBe(false);
    expect(isUnconfigured({ GENESYS_DEPLOYMENT_ID: 'x' })).toBe(false);
  });
});
