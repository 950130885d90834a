import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  MAX_FILE_BYTES,
  PARSE_TIMEOUT_MS,
  parseDeploymentsFile,
  readDeploymentsFile,
  type FileText,
} from '../../src/config/deploymentsFile';
import { likelyMeant } from '../../src/config/deploymentProblems';
import { entrySchema, type DeploymentsRead } from '../../src/config/deploymentRules';
import type { Deployment } from '../../src/config/deployment';
import { DEPLOYMENTS_EXAMPLE } from '../../src/config/deploymentsReference';
import { vapidPair } from '../support/pushReceiver';

/**
 * The deployments file (docs/configuration.md#the-deployments-file): what an entry becomes, with the defaults and
 * rules of the variables it replaces, and every problem of a file reported at once with the file and key of each.
 */

const ROOT = path.resolve(__dirname, '../..');
const ID_A = '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f';
const ID_B = '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a';
const QUEUE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const JWT_SECRET = 'identity-secret-for-tests-0123456789abcdef';
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;

/** Web Push's three settings, whole. */
function vapidTrio() {
  const { publicKey, privateKey } = vapidPair();
  return { vapidPublicKey: publicKey, vapidPrivateKey: privateKey, vapidSubject: 'mailto:ops@example.com' };
}

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
  it('with only the required keys takes the defaults the variables have', async () => {
    const [d] = deploymentsOf(
      await parse([minimal({ origins: ['https://*.brand-a.example', 'https://shop.brand-a.example'] })]),
    );
    expect(d).toEqual({
      name: 'brand-a',
      genesys: {
        region: { domain: 'mypurecloud.ie', awsRegion: 'eu-west-1' },
        deploymentId: ID_A,
        // The first exact origin, as GENESYS_ORIGIN unset takes the first exact CORS_ALLOWED_ORIGINS entry.
        origin: 'https://shop.brand-a.example',
        named: {
          deploymentId: 'deploymentId of deployment "brand-a"',
          region: 'region of deployment "brand-a"',
          origins: 'origins of deployment "brand-a"',
          credentials: 'clientId and clientSecret or clientSecretEnv of deployment "brand-a"',
          origin:
            'genesysOrigin of deployment "brand-a" (unset: the first exact origins entry, https://shop.brand-a.example)',
        },
        loginUrl: 'https://login.mypurecloud.ie',
        apiUrl: 'https://api.mypurecloud.ie',
        webMessagingUrl: 'wss://webmessaging.mypurecloud.ie',
        cdnUrl: 'https://api-cdn.mypurecloud.ie',
        credentials: undefined,
      },
      allowedOrigins: ['https://*.brand-a.example', 'https://shop.brand-a.example'],
      readReceipts: false,
      identity: undefined,
      signInRedirectUris: undefined,
      availability: {
        queueIds: [],
        scheduleGroupId: undefined,
        emergencyGroupId: undefined,
        refreshMs: 30_000,
        staleMs: 300_000,
      },
      canary: { intervalMs: undefined, attribute: { name: 'genesysBffCanary', value: 'true' }, expect: undefined },
      masking: undefined,
      webhooks: [],
      notifications: { push: undefined, afterMs: 60_000, preview: false },
    });
  });

  it('with every key set carries each one through', async () => {
    const [d] = deploymentsOf(
      await parse([
        minimal({
          genesysOrigin: 'https://www.brand-a.example',
          clientId: 'client-a',
          clientSecret: 'secret-a',
          loginUrl: 'http://127.0.0.1:9000/',
          apiUrl: 'http://127.0.0.1:9001',
          webMessagingUrl: 'ws://127.0.0.1:9002',
          cdnUrl: 'http://127.0.0.1:9003',
          readReceipts: true,
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
      named: expect.objectContaining({ origin: 'genesysOrigin of deployment "brand-a" (https://www.brand-a.example)' }),
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
    expect(d!.readReceipts).toBe(true);
    expect(d!.availability).toEqual({
      queueIds: [QUEUE],
      scheduleGroupId: ID_B,
      emergencyGroupId: ID_A,
      refreshMs: 10_000,
      staleMs: 0,
    });
  });

  it.each([
    ['on', true],
    ['off', false],
    [true, true],
    [false, false],
  ])('takes %j for a switch, as the variables say it or as YAML does: %s', async (value, on) => {
    const notifications = {
      preview: value,
      emailPreview: value,
      smtpUrl: 'smtps://relay.example.com',
      emailFrom: 'chat@shop.brand-a.example',
    };
    const [d] = deploymentsOf(await parse([minimal({ readReceipts: value, notifications })]));
    expect([d!.readReceipts, d!.notifications.preview, d!.notifications.email?.preview]).toEqual([on, on, on]);
  });

  it('reads a secret from the variable it names, and says so', async () => {
    const read = await parse(
      [
        minimal({
          clientId: 'client-a',
          // A name is read as trimmed, wherever it is used.
          clientSecretEnv: ' BRAND_A_SECRET ',
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
  it('in JSON reads as the same file in YAML', async () => {
    const entries = [
      minimal({ clientId: 'c', clientSecret: 's' }),
      minimal({ name: 'brand-b', deploymentId: ID_B, region: 'mypurecloud.com', origins: ['https://brand-b.example'] }),
    ];
    const json = await parseDeploymentsFile(JSON.stringify({ deployments: entries }, null, 2), 'deployments.json', {});
    expect(deploymentsOf(json)).toEqual(deploymentsOf(await parse(entries)));
    expect(deploymentsOf(json).map((d) => d.name)).toEqual(['brand-a', 'brand-b']);
  });

  it('the documented example is a valid file of two deployments', async () => {
    const text = fs.readFileSync(path.join(ROOT, DEPLOYMENTS_EXAMPLE), 'utf8');
    const deployments = deploymentsOf(
      await parseDeploymentsFile(text, DEPLOYMENTS_EXAMPLE, { BRAND_A_CLIENT_SECRET: 'secret' }),
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

  it('reports every problem at once, each with the file and the key path it is at', async () => {
    const problems = problemsOf(
      await parse(
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
      'deployments[0].typo',
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
    expect(at('deployments[0].typo')).toEqual([
      expect.stringMatching(
        /^deployments\.yaml: deployments\[0\]\.typo: is not a key of a deployment; its keys are name, region, /,
      ),
    ]);
    expect(at('deployments[0].clientSecretEnv')).toEqual([
      'deployments.yaml: deployments[0].clientSecretEnv: names the environment variable UNSET_SECRET, which is not set',
    ]);
    expect(at('deployments[2].name')).toEqual([
      `deployments.yaml: deployments[2].name: "brand-b" is already deployments[1]'s name`,
    ]);
    expect(at('deployments[2].origins[0]')).toEqual([
      'deployments.yaml: deployments[2].origins[0]: "https://a.example.com" overlaps "https://*.example.com" of ' +
        'deployments[1] ("brand-b"); each origin must belong to one deployment',
    ]);
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
  ])('refuses two deployments sharing an origin: %s', async (_, a, b) => {
    const problems = problemsOf(await parse([presenting({ origins: a }), presenting({ name: 'brand-b', origins: b })]));
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
  ])('accepts two deployments whose origins do not meet: %s', async (_, a, b) => {
    expect(
      deploymentsOf(await parse([presenting({ origins: a }), presenting({ name: 'brand-b', origins: b })])),
    ).toHaveLength(2);
  });

  it('does not take two entries without a name for one name given twice', async () => {
    const unnamed = { region: 'eu-west-1', deploymentId: ID_A };
    const problems = problemsOf(
      await parse([
        { ...unnamed, origins: ['https://a.example.com'] },
        { ...unnamed, origins: ['https://b.example.com'] },
      ]),
    );
    expect(problems).toEqual(
      [0, 1].map(
        (i) => `deployments.yaml: deployments[${i}].name: is required: a short id for metrics and logs, e.g. brand-a`,
      ),
    );
  });

  it('names a webhook past the tenth by its place in the list, as it does the first ten', async () => {
    const webhooks = Array.from({ length: 11 }, (_, i) => ({
      url: `https://hooks.example.com/${i}`,
      secret: WEBHOOK_SECRET,
    }));
    delete (webhooks[10] as { secret?: string }).secret;
    expect(problemsOf(await parse([minimal({ webhooks })]))).toEqual([
      'deployments.yaml: deployments[0].webhooks: may list at most 10 endpoints',
      'deployments.yaml: deployments[0].webhooks[10].secret: is required: give secret or secretEnv, the whsec_ signing secret',
    ]);
  });

  it('lets the origins of one deployment overlap each other', async () => {
    const origins = ['https://*.example.com', 'https://shop.example.com', 'https://shop.example.com'];
    expect(deploymentsOf(await parse([minimal({ origins })]))).toHaveLength(1);
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
  ])('takes %j as a name: %s (names are metric label values, so bounded)', async (name, ok) => {
    const read = await parse([minimal({ name })]);
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
    ['an empty list', 'deployments: []\n', /^d\.yaml: deployments: must list at least one deployment/],
    ['deployments not a list', 'deployments: 3\n', /^d\.yaml: deployments: must be a list/],
    ['an entry that is not a mapping', 'deployments: [3]\n', /^d\.yaml: deployments\[0\]: /],
    ['an entry left empty', 'deployments:\n  -\n', /^d\.yaml: deployments\[0\]: /],
  ])('refuses %s, naming the file', async (_, text, problem) => {
    expect(problemsOf(await parseDeploymentsFile(text, 'd.yaml', {}))[0]).toMatch(problem);
  });

  it('refuses a file without `deployments:`, naming both the key that is there and the list that is missing', async () => {
    expect(problemsOf(await parseDeploymentsFile('other: 1\n', 'd.yaml', {}))).toEqual([
      'd.yaml: other: is not a key of a deployments file; only `deployments:` belongs at the top',
      'd.yaml: deployments: is required: the deployments, each with name, region, deploymentId and origins',
    ]);
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
    ['a client id without its secret', { clientId: 'c' }, 'clientSecret', /is required with clientId/],
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
      /: is required when origins has no exact origin: the Origin this service presents to Genesys, one of the deployment's allowed domains$/,
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
    [
      // Its length is the secret's, without the blanks around it.
      'a short identity secret padded with blanks in its variable',
      { identity: { jwtSecretEnv: 'PADDED', issuer: 'i', audience: 'a' } },
      'identity.jwtSecret',
      /: must be at least 32 characters$/,
    ],
    [
      // A name is read as trimmed in the rules between keys too.
      'a variable name, blanks around it, that is not set',
      { clientId: 'c', clientSecretEnv: ' UNSET ' },
      'clientSecretEnv',
      /: names the environment variable UNSET, which is not set$/,
    ],
    [
      'both forms of the identity secret',
      { identity: { jwtSecret: JWT_SECRET, jwtSecretEnv: 'S', issuer: 'i', audience: 'a' } },
      'identity.jwtSecret',
      /: give jwtSecret or jwtSecretEnv, not both$/,
    ],
    [
      'an identity secret variable that is not set',
      { identity: { jwtSecretEnv: 'UNSET', issuer: 'i', audience: 'a' } },
      'identity.jwtSecretEnv',
      /: names the environment variable UNSET, which is not set$/,
    ],
    [
      'a webhook without its secret',
      { webhooks: [{ url: 'https://hooks.example.com/genesys' }] },
      'webhooks[0].secret',
      /: is required: give secret or secretEnv, the whsec_ signing secret$/,
    ],
    [
      'one part of the VAPID trio',
      { notifications: { vapidPublicKey: vapidPair().publicKey } },
      'notifications',
      /: give vapidPublicKey, vapidPrivateKey or vapidPrivateKeyEnv and vapidSubject together \(Web Push\), or none of them$/,
    ],
    [
      'a VAPID public key of another pair',
      {
        notifications: {
          vapidPublicKey: vapidPair().publicKey,
          vapidPrivateKey: vapidPair().privateKey,
          vapidSubject: 'mailto:ops@example.com',
        },
      },
      'notifications.vapidPublicKey',
      /: is not the public key of the private key given with it$/,
    ],
    [
      'both forms of the VAPID private key',
      { notifications: { ...vapidTrio(), vapidPrivateKeyEnv: 'S' } },
      'notifications.vapidPrivateKey',
      /: give vapidPrivateKey or vapidPrivateKeyEnv, not both$/,
    ],
    [
      'both forms of the SMTP URL',
      { notifications: { smtpUrl: 'smtps://relay.example.com', smtpUrlEnv: 'S', emailFrom: 'chat@x.org' } },
      'notifications.smtpUrl',
      /: give smtpUrl or smtpUrlEnv, not both$/,
    ],
    [
      'an SMTP URL without a sender',
      { notifications: { smtpUrl: 'smtps://relay.example.com' } },
      'notifications',
      /: give smtpUrl or smtpUrlEnv and emailFrom together \(e-mail\), or neither$/,
    ],
  ])('refuses %s', async (_, overrides, key, message) => {
    const problems = problemsOf(
      await parse([minimal(overrides)], { S: 'x', SHORT: 'short', PADDED: ` ${'p'.repeat(20)}${' '.repeat(20)}` }),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(`^deployments\\.yaml: deployments\\[0\\]\\.${key.replace(/[.[\]]/g, '\\$&')}: `),
      ),
    ]);
    expect(problems[0]).toMatch(message);
  });
});

describe('reading the file, whatever is in it', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployments-read-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let files = 0;
  const write = (text: string | Buffer) => {
    const file = path.join(dir, `d${++files}.yaml`);
    fs.writeFileSync(file, text);
    return file;
  };
  const refusal = (read: FileText) => ('problems' in read ? read.problems : []);

  it('reads a file as it is', async () => {
    const file = write(yamlOf([minimal()]));
    expect(await readDeploymentsFile(file)).toEqual({ text: yamlOf([minimal()]) });
  });

  it.each([
    ['a missing file', () => path.join(dir, 'missing.yaml'), /cannot be read \(ENOENT\)/],
    [
      'a symlink to a missing file',
      () => {
        const link = path.join(dir, `dangling-${++files}.yaml`);
        fs.symlinkSync(path.join(dir, 'nowhere.yaml'), link);
        return link;
      },
      /cannot be read \(ENOENT\)/,
    ],
    ['a directory', () => dir, /is not a regular file/],
    [
      'a FIFO, without waiting for a writer',
      () => {
        const fifo = path.join(dir, `fifo-${++files}`);
        execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      /is not a regular file/,
    ],
    [
      'a file over the size it may be',
      () => write(Buffer.alloc(MAX_FILE_BYTES + 1, 'a')),
      /more than the 1048576 bytes/,
    ],
  ])('refuses %s, naming DEPLOYMENTS_FILE and the path', async (_, fileOf, why) => {
    const file = fileOf();
    const problems = refusal(await readDeploymentsFile(file));
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^DEPLOYMENTS_FILE: ${escape(file)}: `))]);
    expect(problems[0]).toMatch(why);
  });

  it('reads a file of exactly the size it may be, whole', async () => {
    const text = `# ${'x'.repeat(MAX_FILE_BYTES - 3)}\n`;
    expect(Buffer.byteLength(text)).toBe(MAX_FILE_BYTES);
    expect(await readDeploymentsFile(write(text))).toEqual({ text });
  });

  it('refuses a file that grows past the size it may be while it is read, as too large', async () => {
    const file = write(Buffer.alloc(MAX_FILE_BYTES, 'a'));
    let grown = false;
    const problems = refusal(
      await readDeploymentsFile(file, undefined, async () => {
        if (grown) return;
        grown = true;
        fs.appendFileSync(file, 'more');
      }),
    );
    expect(problems).toEqual([
      `DEPLOYMENTS_FILE: ${file}: is ${MAX_FILE_BYTES + 1} bytes or more, more than the ${MAX_FILE_BYTES} bytes a ` +
        'deployments file may be',
    ]);
  });

  it('refuses a file that holds more than its size says (a /proc file says 0), as one that changed', async () => {
    const problems = refusal(await readDeploymentsFile('/proc/self/status'));
    expect(problems).toEqual([expect.stringMatching(/changed while it was read; it was not loaded/)]);
  });

  /** The real file system, with the handle it opens counted closed and the stat at the path changed by `atPath`. */
  function watched(atPath: (stats: fs.Stats) => fs.Stats = (stats) => stats) {
    const closed = { count: 0 };
    const files = {
      open: async (p: string) => {
        const handle = await fs.promises.open(p, 'r');
        const close = handle.close.bind(handle);
        return Object.assign(handle, { close: () => (closed.count++, close()) });
      },
      stat: async (p: string) => atPath(await fs.promises.stat(p)),
    };
    return { files, closed };
  }

  it('closes the file it opened, whether it reads it or refuses it', async () => {
    const read = watched();
    expect(await readDeploymentsFile(write(yamlOf([minimal()])), read.files)).toEqual({ text: yamlOf([minimal()]) });
    expect(read.closed.count).toBe(1);
    const refused = watched();
    expect(refusal(await readDeploymentsFile(write(Buffer.alloc(MAX_FILE_BYTES + 1)), refused.files))).toHaveLength(1);
    expect(refused.closed.count).toBe(1);
  });

  it.each(['dev', 'ino', 'size', 'mtimeMs'] as const)(
    'refuses a file whose %s at the path is not the one read, as one that changed',
    async (field) => {
      const { files } = watched((stats) => Object.assign(stats, { [field]: stats[field] + 1 }));
      expect(refusal(await readDeploymentsFile(write(yamlOf([minimal()])), files))).toEqual([
        expect.stringMatching(/changed while it was read; it was not loaded/),
      ]);
    },
  );

  it('refuses a 60 MB file after reading no more than its limit', async () => {
    const file = write(Buffer.alloc(60 * 1024 * 1024, 'a'));
    const read = jest.fn();
    const problems = refusal(
      await readDeploymentsFile(file, {
        open: async (p) => {
          const handle = await fs.promises.open(p, 'r');
          const real = handle.read.bind(handle);
          return Object.assign(handle, { read: (...args: Parameters<typeof real>) => (read(), real(...args)) });
        },
        stat: (p) => fs.promises.stat(p),
      }),
    );
    expect(problems[0]).toMatch(/is 62914560 bytes or more/);
    // Its size was known before a byte was read.
    expect(read).not.toHaveBeenCalled();
  });

  it.each([
    ['replaced (renamed over)', (file: string) => fs.renameSync(write(yamlOf([minimal({ name: 'other' })])), file)],
    ['rewritten in place', (file: string) => fs.writeFileSync(file, yamlOf([minimal(), minimal({ name: 'more' })]))],
    ['cut short', (file: string) => fs.truncateSync(file, 10)],
  ])('refuses a file %s while it was read, never a half-read one', async (_, change) => {
    const file = write(yamlOf([minimal()]));
    let changed = false;
    const problems = refusal(
      await readDeploymentsFile(file, undefined, async () => {
        if (changed) return;
        changed = true;
        change(file);
      }),
    );
    expect(problems).toEqual([expect.stringMatching(/changed while it was read; it was not loaded/)]);
  });
});

describe('parsing a file no parser should be trusted with', () => {
  const problemsOfText = async (text: string) => problemsOf(await parseDeploymentsFile(text, 'd.yaml', {}));

  it('takes aliases up to the limit: entries may share an anchored mapping', async () => {
    const entry = (i: number) => [
      `  - name: d${i}`,
      '    region: eu-west-1',
      `    deploymentId: ${ID_A}`,
      `    origins: [https://s${i}.example.com]`,
      i === 0 ? '    availability: &shared { refreshSeconds: 10, staleSeconds: 0 }' : '    availability: *shared',
    ];
    const text = ['deployments:', ...Array.from({ length: 50 }, (_, i) => entry(i)).flat()].join('\n');
    const deployments = deploymentsOf(await parseDeploymentsFile(text, 'd.yaml', {}));
    expect(deployments).toHaveLength(50);
    expect(deployments[49]!.availability).toMatchObject({ refreshMs: 10_000, staleMs: 0 });
  });

  it('refuses a file that takes longer to parse than it may, saying so', async () => {
    expect(problemsOf(await parseDeploymentsFile(yamlOf([minimal()]), 'd.yaml', {}, 1))).toEqual([
      'd.yaml: took longer than 0.001 s to parse; simplify it',
    ]);
  });

  it('refuses a file that needs more memory to parse than it may, without harm to the process', async () => {
    // A megabyte of one-character items: some half a million nodes, more than the parser's 64 MB hold.
    const text = `deployments: [${'1,'.repeat((MAX_FILE_BYTES - 20) / 2)}1]`;
    const generous = 10 * PARSE_TIMEOUT_MS;
    expect(problemsOf(await parseDeploymentsFile(text, 'd.yaml', {}, generous))).toEqual([
      'd.yaml: needs more memory to parse than a deployments file may; it nests too deep or repeats too much',
    ]);
  });

  it('refuses a file of 200 aliases, saying so', async () => {
    const text = ['a: &a [x]', 'deployments:', ...Array.from({ length: 200 }, () => '  - *a')].join('\n');
    expect(await problemsOfText(text)).toEqual([
      'd.yaml: uses aliases (*name) more than 100 times; write the values out instead',
    ]);
  });

  it('refuses an alias bomb (each list nine times the last) at once', async () => {
    const levels = ['a0: &a0 [x]'];
    for (let i = 1; i <= 9; i++)
      levels.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    expect(await problemsOfText([...levels, 'deployments: *a9'].join('\n'))).toEqual([
      expect.stringMatching(/uses aliases \(\*name\) more than 100 times/),
    ]);
  });

  it.each([
    ['1,000 levels of flow lists', `deployments: ${'['.repeat(1000)}${']'.repeat(1000)}`],
    ['1,000 levels of block mappings', Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
    ['10,000 levels of flow mappings', `deployments: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`],
  ])('refuses %s without harm to the process', async (_, text) => {
    const problems = await problemsOfText(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith('d.yaml: '))).toBe(true);
  });
});

describe('a mistyped or misplaced key', () => {
  it('is named where it is, with the key it most likely meant', async () => {
    const problems = problemsOf(
      await parse([
        {
          ...minimal({ deploymentID: ID_A }),
          availability: { queueId: [QUEUE], refreshSeconds: 30 },
          signIn: { redirectUri: [] },
        },
      ]),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'deployments.yaml: deployments[0].deploymentID: is not a key of a deployment; did you mean `deploymentId`?',
        'deployments.yaml: deployments[0].availability.queueId: is not a key of `availability`; did you mean `queueIds`?',
        'deployments.yaml: deployments[0].signIn.redirectUri: is not a key of `signIn`; did you mean `redirectUris`?',
      ]),
    );
    expect(problems.join('\n')).not.toMatch(/Unrecognized|Invalid input/);
  });

  it('says what a mapping should hold when it is something else', async () => {
    const problems = problemsOf(await parse([5, { ...minimal(), identity: 'yes', availability: [] }]));
    expect(problems).toEqual(
      expect.arrayContaining([
        'deployments.yaml: deployments[0]: must be a mapping: a deployment with name, region, deploymentId and origins',
        expect.stringMatching(
          /^deployments\.yaml: deployments\[1\]\.identity: must be a mapping: `identity` with jwtSecret, /,
        ),
        expect.stringMatching(
          /^deployments\.yaml: deployments\[1\]\.availability: must be a mapping: `availability` with queueIds, /,
        ),
      ]),
    );
  });

  it('in a list’s entry is named by its place in the list, with the keys that entry takes', async () => {
    const hook = { url: 'https://hooks.example.com/genesys', secret: `whsec_${'a'.repeat(44)}` };
    const problems = problemsOf(await parse([minimal({ webhooks: [hook, { ...hook, secrt: 'x', colour: 'red' }] })]));
    expect(problems).toEqual(
      expect.arrayContaining([
        'deployments.yaml: deployments[0].webhooks[1].secrt: is not a key of `webhooks[1]`; did you mean `secret`?',
        'deployments.yaml: deployments[0].webhooks[1].colour: is not a key of `webhooks[1]`; ' +
          'its keys are url, secret, secretEnv, events',
      ]),
    );
  });

  it('says what a list should be when it is missing or something else', async () => {
    const problems = problemsOf(
      await parse([minimal({ signIn: {} }), minimal({ name: 'brand-b', signIn: { redirectUris: 'x' } })]),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'deployments.yaml: deployments[0].signIn.redirectUris: is required: a list',
        'deployments.yaml: deployments[1].signIn.redirectUris: must be a list',
      ]),
    );
  });

  it.each([
    ['identity.clockToleranceSeconds', 0, 300, { jwtSecret: JWT_SECRET, issuer: 'i', audience: 'a' }],
    ['availability.refreshSeconds', 1, 3600, {}],
    ['canary.intervalSeconds', 1, 86_400, {}],
  ] as const)(
    'takes %s from %d to %d, and nothing past either end, a fraction or text',
    async (key, least, most, rest) => {
      const [group, field] = key.split('.') as [string, string];
      const at = (value: unknown) => parse([minimal({ [group]: { ...rest, [field]: value } })]);
      for (const value of [least, most]) expect(deploymentsOf(await at(value))).toHaveLength(1);
      for (const value of [least - 1, most + 1, least + 0.5, String(least)]) {
        expect(problemsOf(await at(value))).toEqual([
          `deployments.yaml: deployments[0].${key}: must be a whole number from ${least} to ${most} (got ${JSON.stringify(value)})`,
        ]);
      }
    },
  );

  it.each([
    [
      'genesysOrigin',
      ['http://localhost:3000', 'https://shop.example.com'],
      [
        'https://shop.example.com/',
        'ws://shop.example.com',
        'https://a b.example',
        'xhttps://a.example',
        'https://',
        // A URL parser drops a tab inside; an origin may not hold one. A port past 65535 is no origin.
        'https://shop.\texample.com',
        'https://shop.example.com:99999',
      ],
    ],
    [
      'notifications.vapidSubject',
      ['mailto:ops@example.com', 'https://example.com/ops'],
      [
        'mailto:ops',
        'mailto:a b@example.com',
        'mailto:a@b@c',
        'xmailto:a@b.c',
        'mailto:@example.com',
        'mailto:a@b c',
        'http://x.example',
      ],
    ],
    [
      'notifications.emailFrom',
      ['c@x.org', 'Shop <c@x.org>', 'Shop <chat@x.org>', '"Shop, Inc." <c@x.org>'],
      [
        'nobody',
        'a b@x.org',
        'c@x@org',
        'Shop <c@x.org',
        'c@x.org>',
        'Shop <a b@x.org>',
        '<c@x.org> x',
        'a <b> <c@x.org>',
        'a > b <c@x.org>',
        'Shop <c@x org>',
        'Shop <c@x@org>',
      ],
    ],
    [
      'notifications.smtpUrl',
      ['smtp://relay.example.com', 'smtps://u:p@relay.example.com:465'],
      ['https://relay.example.com', 'relay.example.com'],
    ],
    [
      'canary.attribute',
      ['a=b', 'a.b-c_d = x y', `${'a'.repeat(64)}=b`, `a=${'v'.repeat(256)}`],
      ['=b', 'a=', 'a', 'ab', '1a=b', `${'a'.repeat(65)}=b`, `a=${'v'.repeat(257)}`, 'a=\u0007'],
    ],
  ])('takes each value %s may be, and refuses the others', async (key, takes, refuses) => {
    const [group, field] = key.includes('.') ? key.split('.') : [undefined, key];
    const problemsAt = async (value: string) => {
      const read = await parse([minimal(group ? { [group]: { [field!]: value } } : { [field!]: value })]);
      return 'problems' in read
        ? read.problems.filter((p) => p.startsWith(`deployments.yaml: deployments[0].${key}: `))
        : [];
    };
    for (const value of takes) expect({ value, problems: await problemsAt(value) }).toEqual({ value, problems: [] });
    for (const value of refuses)
      expect({ value, refused: (await problemsAt(value)).length }).toEqual({ value, refused: 1 });
  });

  it('says what a canary attribute must be, with the value it got', async () => {
    expect(problemsOf(await parse([minimal({ canary: { attribute: 'genesysBffCanary' } })]))).toEqual([
      'deployments.yaml: deployments[0].canary.attribute: must be a custom attribute as name=value (a name of ' +
        'letters, digits, _ - and ., a letter first, at most 64; a value of 1 to 256 characters), e.g. ' +
        'genesysBffCanary=true (got "genesysBffCanary")',
    ]);
  });

  it('says a value of the wrong kind is one, and only that', async () => {
    const hook = { url: 'https://hooks.example.com/genesys' };
    expect(problemsOf(await parse([minimal({ name: 5 })]))).toEqual([
      'deployments.yaml: deployments[0].name: must be text: a short id for metrics and logs, e.g. brand-a',
    ]);
    // Two deployments whose origins are not lists: each is reported, and they are not compared with each other.
    expect(problemsOf(await parse([minimal({ origins: 'x' }), minimal({ name: 'brand-b', origins: 'x' })]))).toEqual(
      [0, 1].map(
        (i) =>
          `deployments.yaml: deployments[${i}].origins: must be a list: ` +
          'the origins of the websites this deployment serves, e.g. https://shop.example.com',
      ),
    );
    // A webhook that is not a mapping is not also missing its secret.
    expect(problemsOf(await parse([minimal({ webhooks: [42] })]))).toEqual([
      'deployments.yaml: deployments[0].webhooks[0]: must be a mapping: `webhooks[0]` with url, secret, secretEnv, events',
    ]);
    // A secret variable that is unset or blank is reported as unset, not also as a bad secret.
    for (const env of [{}, { HOOK_SECRET: '  ' }]) {
      expect(problemsOf(await parse([minimal({ webhooks: [{ ...hook, secretEnv: 'HOOK_SECRET' }] })], env))).toEqual([
        'deployments.yaml: deployments[0].webhooks[0].secretEnv: names the environment variable HOOK_SECRET, which is not set',
      ]);
    }
  });

  it('allows one slip in a key of up to five letters, and never more than two', () => {
    const keys = Object.keys(entrySchema.shape);
    expect(likelyMeant('nme', keys)).toBe('name');
    expect(likelyMeant('nmae', keys)).toBeUndefined();
    expect(likelyMeant('ORIGINS', keys)).toBe('origins');
    expect(likelyMeant('clientSecrtEnv', keys)).toBe('clientSecretEnv');
    expect(likelyMeant('clientSxcrtEnx', keys)).toBeUndefined();
  });

  it('suggests a key only when it is near, whatever the key and the slip', () => {
    const keys = Object.keys(entrySchema.shape);
    const edits = (a: string, b: string): number => {
      // Independent of the suggester: the recursive definition of edit distance, memoised.
      const memo = new Map<string, number>();
      const d = (i: number, j: number): number => {
        if (i === 0 || j === 0) return i + j;
        const k = `${i},${j}`;
        if (!memo.has(k))
          memo.set(k, Math.min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1)));
        return memo.get(k)!;
      };
      return d(a.length, b.length);
    };
    const slip = fc
      .tuple(
        fc.constantFrom(...keys),
        fc.nat(),
        fc.constantFrom('drop', 'swap', 'case', 'add'),
        fc.string({ minLength: 1, maxLength: 1 }),
      )
      .map(([key, at, how, c]) => {
        const i = at % key.length;
        if (how === 'drop') return key.slice(0, i) + key.slice(i + 1);
        if (how === 'add') return key.slice(0, i) + c + key.slice(i);
        if (how === 'case') return key.toUpperCase();
        return key.slice(0, i) + (key[i] === 'x' ? 'y' : 'x') + key.slice(i + 1);
      });
    fc.assert(
      fc.property(fc.oneof(slip, fc.string({ maxLength: 20 })), (typed) => {
        const meant = likelyMeant(typed, keys);
        if (meant === undefined) return;
        expect(keys).toContain(meant);
        const near = edits(typed.toLowerCase(), meant.toLowerCase());
        expect(near).toBeLessThanOrEqual(2);
        // Nothing nearer was passed over.
        for (const k of keys) expect(edits(typed.toLowerCase(), k.toLowerCase())).toBeGreaterThanOrEqual(near);
      }),
    );
    for (const key of keys.filter((k) => k.length >= 6))
      expect(likelyMeant(key.slice(0, 2) + key.slice(3), keys)).toBe(key);
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
