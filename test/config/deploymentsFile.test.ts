import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { parseDeploymentsFile, readDeploymentsFile, type DeploymentsRead } from '../../src/config/deploymentsFile';
import type { Deployment } from '../../src/config/deployments';
import { DEPLOYMENTS_EXAMPLE } from '../../src/config/deploymentsReference';

/**
 * The deployments file (docs/configuration.md#the-deployments-file): what an entry becomes, with the defaults and
 * rules of the variables it replaces, and every problem of a file reported at once with the file and key of each.
 */

const ROOT = path.resolve(__dirname, '../..');
const ID_A = '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f';
const ID_B = '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a';
const QUEUE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const JWT_SECRET = 'identity-secret-for-tests-0123456789abcdef';

const minimal = (overrides: Record<string, unknown> = {}) => ({
  name: 'brand-a',
  region: 'eu-west-1',
  deploymentId: ID_A,
  origins: ['https://shop.brand-a.example'],
  ...overrides,
});

/** An entry that names the Origin it presents, so that its origins may all be wildcards. */
const presenting = (overrides: Record<string, unknown>) =>
  minimal({ genesysOrigin: 'https://presented.example.net', ...overrides });

function deploymentsOf(read: DeploymentsRead): Deployment[] {
  if ('problems' in read) throw new Error(`expected deployments, got:\n${read.problems.join('\n')}`);
  return read.deployments;
}

function problemsOf(read: DeploymentsRead): string[] {
  if (!('problems' in read)) throw new Error(`expected problems, got ${JSON.stringify(read.deployments)}`);
  return read.problems;
}

const yamlOf = (entries: unknown[]) => stringify({ deployments: entries });
const parse = (entries: unknown[], env: NodeJS.ProcessEnv = {}) =>
  parseDeploymentsFile(yamlOf(entries), 'deployments.yaml', env);

describe('an entry', () => {
  it('with only the required keys takes the defaults the variables have', () => {
    const [d] = deploymentsOf(
      parse([minimal({ origins: ['https://*.brand-a.example', 'https://shop.brand-a.example'] })]),
    );
    expect(d).toEqual({
      name: 'brand-a',
      genesys: {
        region: { domain: 'mypurecloud.ie', awsRegion: 'eu-west-1' },
        deploymentId: ID_A,
        // The first exact origin, as GENESYS_ORIGIN unset takes the first exact CORS_ALLOWED_ORIGINS entry.
        origin: 'https://shop.brand-a.example',
        loginUrl: 'https://login.mypurecloud.ie',
        apiUrl: 'https://api.mypurecloud.ie',
        webMessagingUrl: 'wss://webmessaging.mypurecloud.ie',
        cdnUrl: 'https://api-cdn.mypurecloud.ie',
        credentials: undefined,
      },
      allowedOrigins: ['https://*.brand-a.example', 'https://shop.brand-a.example'],
      identity: undefined,
      signInRedirectUris: undefined,
      availability: {
        queueIds: [],
        scheduleGroupId: undefined,
        emergencyGroupId: undefined,
        refreshMs: 30_000,
        staleMs: 300_000,
      },
    });
  });

  it('with every key set carries each one through', () => {
    const [d] = deploymentsOf(
      parse([
        minimal({
          genesysOrigin: 'https://www.brand-a.example',
          clientId: 'client-a',
          clientSecret: 'secret-a',
          loginUrl: 'http://127.0.0.1:9000/',
          apiUrl: 'http://127.0.0.1:9001',
          webMessagingUrl: 'ws://127.0.0.1:9002',
          cdnUrl: 'http://127.0.0.1:9003',
          identity: {
            jwtSecret: JWT_SECRET,
            issuer: 'https://shop.brand-a.example',
            audience: 'bff',
            clockToleranceSeconds: 5,
            maxTokenAgeSeconds: 600,
          },
          signIn: { redirectUris: ['https://shop.brand-a.example/signed-in'] },
          availability: {
            queueIds: [QUEUE],
            scheduleGroupId: ID_B,
            emergencyGroupId: ID_A,
            refreshSeconds: 10,
            staleSeconds: 0,
          },
        }),
      ]),
    );
    expect(d!.genesys).toMatchObject({
      origin: 'https://www.brand-a.example',
      credentials: { clientId: 'client-a', clientSecret: 'secret-a' },
      loginUrl: 'http://127.0.0.1:9000',
      apiUrl: 'http://127.0.0.1:9001',
      webMessagingUrl: 'ws://127.0.0.1:9002',
      cdnUrl: 'http://127.0.0.1:9003',
    });
    expect(d!.identity).toEqual({
      jwtSecret: JWT_SECRET,
      jwksUrl: undefined,
      issuer: 'https://shop.brand-a.example',
      audience: 'bff',
      clockToleranceSeconds: 5,
      maxTokenAgeSeconds: 600,
    });
    expect(d!.signInRedirectUris).toEqual(['https://shop.brand-a.example/signed-in']);
    expect(d!.availability).toEqual({
      queueIds: [QUEUE],
      scheduleGroupId: ID_B,
      emergencyGroupId: ID_A,
      refreshMs: 10_000,
      staleMs: 0,
    });
  });

  it('reads a secret from the variable it names, and says so', () => {
    const read = parse(
      [
        minimal({
          clientId: 'client-a',
          clientSecretEnv: 'BRAND_A_SECRET',
          identity: { jwtSecretEnv: 'BRAND_A_JWT', issuer: 'i', audience: 'a' },
        }),
      ],
      {
        BRAND_A_SECRET: ' from-the-environment ',
        BRAND_A_JWT: JWT_SECRET,
      },
    );
    const [d] = deploymentsOf(read);
    expect(d!.genesys.credentials).toEqual({ clientId: 'client-a', clientSecret: 'from-the-environment' });
    expect(d!.identity!.jwtSecret).toBe(JWT_SECRET);
    expect(read.variablesRead).toEqual(['BRAND_A_SECRET', 'BRAND_A_JWT']);
  });
});

describe('a file', () => {
  it('in JSON reads as the same file in YAML', () => {
    const entries = [
      minimal({ clientId: 'c', clientSecret: 's' }),
      minimal({ name: 'brand-b', deploymentId: ID_B, region: 'mypurecloud.com', origins: ['https://brand-b.example'] }),
    ];
    const json = parseDeploymentsFile(JSON.stringify({ deployments: entries }, null, 2), 'deployments.json', {});
    expect(deploymentsOf(json)).toEqual(deploymentsOf(parse(entries)));
    expect(deploymentsOf(json).map((d) => d.name)).toEqual(['brand-a', 'brand-b']);
  });

  it('the documented example is a valid file of two deployments', () => {
    const text = fs.readFileSync(path.join(ROOT, DEPLOYMENTS_EXAMPLE), 'utf8');
    const deployments = deploymentsOf(
      parseDeploymentsFile(text, DEPLOYMENTS_EXAMPLE, { BRAND_A_CLIENT_SECRET: 'secret' }),
    );
    expect(deployments.map((d) => [d.name, d.genesys.region.domain])).toEqual([
      ['brand-a', 'mypurecloud.ie'],
      ['brand-b', 'mypurecloud.com'],
    ]);
    expect(deployments[0]!.genesys.credentials?.clientSecret).toBe('secret');
    expect(deployments[0]!.availability.queueIds).toHaveLength(1);
    // And the page shows that file as it is.
    expect(fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8')).toContain(text.trimEnd());
  });

  it('reports every problem at once, each with the file and the key path it is at', () => {
    const problems = problemsOf(
      parse(
        [
          {
            name: 'Brand A',
            region: 'mars',
            deploymentId: 'not-a-uuid',
            origins: ['*', 'https://shop.example.com/'],
            clientSecret: 'inline',
            clientSecretEnv: 'UNSET_SECRET',
            loginUrl: 'ftp://login.example.com',
            typo: true,
            identity: {
              jwtSecret: 'short',
              jwksUrl: 'https://keys.example.com',
              audience: 'a',
              clockToleranceSeconds: 1000,
            },
            signIn: { redirectUris: ['not a url'] },
            availability: { queueIds: ['q'], refreshSeconds: '10' },
          },
          minimal({
            name: 'brand-b',
            deploymentId: ID_B,
            origins: ['https://*.example.com'],
            genesysOrigin: 'https://www.example.com',
          }),
          minimal({ name: 'brand-b', deploymentId: ID_B, origins: ['https://a.example.com'] }),
        ],
        {},
      ),
    );
    const at = (key: string) => problems.filter((p) => p.startsWith(`deployments.yaml: ${key}: `));
    for (const key of [
      'deployments[0].name',
      'deployments[0].region',
      'deployments[0].deploymentId',
      'deployments[0].origins[0]',
      'deployments[0].origins[1]',
      'deployments[0].loginUrl',
      'deployments[0]',
      'deployments[0].clientSecret',
      'deployments[0].clientSecretEnv',
      'deployments[0].clientId',
      'deployments[0].identity',
      'deployments[0].identity.jwtSecret',
      'deployments[0].identity.issuer',
      'deployments[0].identity.clockToleranceSeconds',
      'deployments[0].signIn.redirectUris[0]',
      'deployments[0].availability.queueIds[0]',
      'deployments[0].availability.refreshSeconds',
      'deployments[2].name',
      'deployments[2].origins[0]',
    ]) {
      expect({ key, reported: at(key).length > 0 }).toEqual({ key, reported: true });
    }
    expect(at('deployments[0]')).toEqual(['deployments.yaml: deployments[0]: Unrecognized key: "typo"']);
    expect(at('deployments[0].clientSecretEnv')).toEqual([
      'deployments.yaml: deployments[0].clientSecretEnv: the environment variable UNSET_SECRET is not set',
    ]);
    expect(at('deployments[2].origins[0]')[0]).toMatch(/overlaps "https:\/\/\*\.example\.com" of deployments\[1\]/);
    expect(at('deployments[0].availability.refreshSeconds')[0]).toMatch(/whole number from 1 to 3600/);
    // The valid entry is not blamed for the others.
    expect(problems.filter((p) => p.startsWith('deployments.yaml: deployments[1]'))).toEqual([]);
  });

  it.each([
    ['an exact origin twice', ['https://shop.example.com'], ['https://shop.example.com']],
    ['an exact origin under a wildcard', ['https://*.example.com'], ['https://shop.example.com']],
    ['a wildcard over an exact origin', ['https://shop.example.com'], ['https://*.example.com']],
    ['a wildcard twice', ['https://*.example.com'], ['https://*.example.com']],
    ['the same origin with its default port spelt out', ['https://shop.example.com'], ['https://shop.example.com:443']],
  ])('refuses two deployments sharing an origin: %s', (_, a, b) => {
    const problems = problemsOf(parse([presenting({ origins: a }), presenting({ name: 'brand-b', origins: b })]));
    expect(problems).toEqual([
      expect.stringMatching(/^deployments\.yaml: deployments\[1\]\.origins\[0\]: .* overlaps /),
    ]);
  });

  it.each([
    ['different hosts', ['https://shop.example.com'], ['https://shop.example.org']],
    ['a wildcard and the host it sits under', ['https://*.example.com'], ['https://example.com']],
    ['a wildcard and a host two labels down', ['https://*.example.com'], ['https://a.b.example.com']],
    ['nested wildcards', ['https://*.example.com'], ['https://*.shop.example.com']],
    ['different schemes', ['https://shop.example.com'], ['http://shop.example.com']],
    ['different ports', ['https://shop.example.com'], ['https://shop.example.com:8443']],
  ])('accepts two deployments whose origins do not meet: %s', (_, a, b) => {
    expect(
      deploymentsOf(parse([presenting({ origins: a }), presenting({ name: 'brand-b', origins: b })])),
    ).toHaveLength(2);
  });

  it('lets the origins of one deployment overlap each other', () => {
    const origins = ['https://*.example.com', 'https://shop.example.com', 'https://shop.example.com'];
    expect(deploymentsOf(parse([minimal({ origins })]))).toHaveLength(1);
  });

  it.each([
    ['brand-a', true],
    ['a', true],
    ['a'.repeat(32), true],
    ['a'.repeat(33), false],
    ['Brand-a', false],
    ['1brand', false],
    ['brand_a', false],
    ['brand a', false],
    ['', false],
  ])('takes %j as a name: %s (names are metric label values, so bounded)', (name, ok) => {
    const read = parse([minimal({ name })]);
    expect('deployments' in read).toBe(ok);
  });

  it.each([
    [
      'a YAML syntax error, with its line',
      'deployments:\n  - name: a\n   region: [\n',
      /^d\.yaml: line \d+, column \d+: /,
    ],
    ['a key given twice', 'deployments: []\ndeployments: []\n', /^d\.yaml: line 2, column 1: Map keys must be unique/],
    ['an empty file', '', /^d\.yaml: is empty/],
    ['a list at the top', '- name: a\n', /^d\.yaml: must be a mapping with `deployments:`/],
    ['no deployments', 'other: 1\n', /^d\.yaml: deployments: is required/],
    ['an empty list', 'deployments: []\n', /^d\.yaml: deployments: must list at least one deployment/],
    ['deployments not a list', 'deployments: 3\n', /^d\.yaml: deployments: must be a list/],
    ['an entry that is not a mapping', 'deployments: [3]\n', /^d\.yaml: deployments\[0\]: /],
  ])('refuses %s, naming the file', (_, text, problem) => {
    expect(problemsOf(parseDeploymentsFile(text, 'd.yaml', {}))[0]).toMatch(problem);
  });

  it('that cannot be read is a problem naming the variable and the path', () => {
    const problems = problemsOf(readDeploymentsFile(path.join(ROOT, 'no-such-deployments.yaml'), {}));
    expect(problems).toEqual([
      expect.stringMatching(/^DEPLOYMENTS_FILE: cannot read ".*no-such-deployments\.yaml": ENOENT/),
    ]);
  });

  it('is read through the reader it is given', () => {
    const read = readDeploymentsFile('virtual.yaml', {}, (file) =>
      file === 'virtual.yaml' ? yamlOf([minimal()]) : '',
    );
    expect(deploymentsOf(read).map((d) => d.name)).toEqual(['brand-a']);
  });
});

describe('secrets and their pairs', () => {
  it.each([
    [
      'both forms of the client secret',
      { clientId: 'c', clientSecret: 's', clientSecretEnv: 'S' },
      'clientSecret',
      /not both/,
    ],
    ['a client secret without its id', { clientSecret: 's' }, 'clientId', /is required with clientSecret/],
    ['a client id without its secret', { clientId: 'c' }, 'clientSecret', /or clientSecretEnv is required/],
    [
      'a variable name that cannot be one',
      { clientId: 'c', clientSecretEnv: 'not a name' },
      'clientSecretEnv',
      /name of an environment variable/,
    ],
    [
      'no exact origin and no genesysOrigin',
      { origins: ['https://*.brand-a.example'] },
      'genesysOrigin',
      /is required when origins has no exact origin/,
    ],
    [
      'identity with two key sources',
      { identity: { jwtSecret: JWT_SECRET, jwksUrl: 'https://k.example.com', issuer: 'i', audience: 'a' } },
      'identity',
      /exactly one/,
    ],
    ['identity with no key source', { identity: { issuer: 'i', audience: 'a' } }, 'identity', /exactly one/],
    [
      'identity without its audience',
      { identity: { jwtSecret: JWT_SECRET, issuer: 'i' } },
      'identity.audience',
      /is required/,
    ],
    [
      'a short identity secret read from a variable',
      { identity: { jwtSecretEnv: 'SHORT', issuer: 'i', audience: 'a' } },
      'identity.jwtSecret',
      /at least 32/,
    ],
  ])('refuses %s', (_, overrides, key, message) => {
    const problems = problemsOf(parse([minimal(overrides)], { S: 'x', SHORT: 'short' }));
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^deployments\\.yaml: deployments\\[0\\]\\.${key.replace('.', '\\.')}: `)),
    ]);
    expect(problems[0]).toMatch(message);
  });
});
