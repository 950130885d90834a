import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseOriginPattern, OriginAllowlist, type OriginPattern } from '../../src/config/originAllowlist';
import { patternsOverlap, type Deployment } from '../../src/config/deployment';
import { parseDeploymentsFile } from '../../src/config/deploymentsFile';
import { DEPLOYMENT_VARIABLES } from '../../src/config/deploymentVariables';
import { ConfigError, isUnconfigured, loadConfig, readConfig, type Config } from '../../src/config/schema';
import { envSchema } from '../../src/config/variables';
import { TEST_DEPLOYMENT_ID, TEST_ORIGINS, testEnv } from '../support/app';

/**
 * The single-deployment variables and a one-entry deployments file are two spellings of one deployment, read by one
 * set of rules: they agree, and a one-entry DEPLOYMENTS_FILE configures the service exactly as the variables do. A
 * file of several deployments gives every one of them.
 */

const JWT_SECRET = 'identity-secret-for-tests-0123456789abcdef';
const QUEUE = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const GROUP = '1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b';
const VAPID_PUBLIC = 'BKNbmwIznlykH9q9Bv3ZKh_biNbbJo_LpgyoXLgdtYDODedI3Ba2pv42JIcT1DCVOYWtngW1oooL8Z4ODUo5T8k';
const VAPID_PRIVATE = 'i5ddqel5FYN5bUju3ZxVlb-D0QbHFJfIy_W8NCBfkFk';

/** Every per-deployment setting given, as variables and as the file entry that says the same. */
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

const FULL_VARIABLES = {
  GENESYS_ORIGIN: 'https://www.example.com',
  GENESYS_CLIENT_ID: 'client-id',
  GENESYS_CLIENT_SECRET: 'client-secret',
  GENESYS_LOGIN_URL: 'http://127.0.0.1:9000',
  GENESYS_API_URL: 'http://127.0.0.1:9001',
  GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9002',
  GENESYS_CDN_URL: 'http://127.0.0.1:9003',
  READ_RECEIPTS: 'on',
  IDENTITY_JWT_SECRET: JWT_SECRET,
  IDENTITY_ISSUER: 'https://shop.example.com',
  IDENTITY_AUDIENCE: 'genesys-bff',
  IDENTITY_CLOCK_TOLERANCE_SECONDS: '5',
  IDENTITY_MAX_TOKEN_AGE_SECONDS: '600',
  SIGN_IN_REDIRECT_URIS: 'https://shop.example.com/signed-in,https://shop.example.com/again',
  GENESYS_QUEUE_ID: QUEUE,
  GENESYS_SCHEDULE_GROUP_ID: GROUP,
  GENESYS_EMERGENCY_GROUP_ID: QUEUE,
  AVAILABILITY_REFRESH_SECONDS: '10',
  AVAILABILITY_STALE_SECONDS: '0',
  CANARY_INTERVAL_SECONDS: '60',
  CANARY_ATTRIBUTE: 'synthetic=yes',
  CANARY_EXPECT: 'You said',
  MASKING: 'card, iban,email',
  MASKING_MODE: 'refuse',
  MASKING_PATTERNS: '{"email":"/[\\\\w.+-]+@[\\\\w-]+\\\\.[\\\\w.-]+/i"}',
  WEBHOOK_URL: 'https://hooks.example.com/bff',
  WEBHOOK_SECRET: WEBHOOK_SECRET,
  WEBHOOK_EVENTS: 'chat.started,message.received',
  VAPID_PUBLIC_KEY: VAPID_PUBLIC,
  VAPID_PRIVATE_KEY: VAPID_PRIVATE,
  VAPID_SUBJECT: 'mailto:ops@example.com',
  NOTIFY_AFTER_SECONDS: '30',
  NOTIFY_PREVIEW: 'on',
  SMTP_URL: 'smtps://relay.example.com:465',
  EMAIL_FROM: 'chat@shop.example.com',
  EMAIL_AFTER_SECONDS: '600',
  EMAIL_PREVIEW: 'on',
  EMAIL_DAILY_MAX: '5',
};

const minimalEntry = {
  name: 'default',
  region: 'mypurecloud.ie',
  deploymentId: TEST_DEPLOYMENT_ID,
  origins: TEST_ORIGINS,
};
const fullEntry = {
  ...minimalEntry,
  genesysOrigin: 'https://www.example.com',
  clientId: 'client-id',
  clientSecret: 'client-secret',
  loginUrl: 'http://127.0.0.1:9000',
  apiUrl: 'http://127.0.0.1:9001',
  webMessagingUrl: 'ws://127.0.0.1:9002',
  cdnUrl: 'http://127.0.0.1:9003',
  readReceipts: true,
  identity: {
    jwtSecret: JWT_SECRET,
    issuer: 'https://shop.example.com',
    audience: 'genesys-bff',
    clockToleranceSeconds: 5,
    maxTokenAgeSeconds: 600,
  },
  signIn: { redirectUris: ['https://shop.example.com/signed-in', 'https://shop.example.com/again'] },
  webhooks: [
    { url: 'https://hooks.example.com/bff', secret: WEBHOOK_SECRET, events: ['chat.started', 'message.received'] },
  ],
  availability: {
    queueIds: [QUEUE],
    scheduleGroupId: GROUP,
    emergencyGroupId: QUEUE,
    refreshSeconds: 10,
    staleSeconds: 0,
  },
  canary: { intervalSeconds: 60, attribute: 'synthetic=yes', expect: 'You said' },
  masking: {
    detectors: ['card', 'iban', 'email'],
    mode: 'refuse',
    patterns: { email: '/[\\w.+-]+@[\\w-]+\\.[\\w.-]+/i' },
  },
  notifications: {
    vapidPublicKey: VAPID_PUBLIC,
    vapidPrivateKey: VAPID_PRIVATE,
    vapidSubject: 'mailto:ops@example.com',
    afterSeconds: 30,
    preview: true,
    smtpUrl: 'smtps://relay.example.com:465',
    emailFrom: 'chat@shop.example.com',
    emailAfterSeconds: 600,
    emailPreview: true,
    emailDailyMax: 5,
  },
};

/** testEnv without the variables a deployments file replaces: what stays beside DEPLOYMENTS_FILE. */
function processEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = testEnv();
  for (const variable of Object.keys(DEPLOYMENT_VARIABLES)) delete env[variable];
  return { ...env, ...overrides };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployments-file-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
function writeFile(entries: unknown[], as: 'yaml' | 'json' = 'yaml'): string {
  const file = path.join(dir, `deployments-${++files}.${as}`);
  const data = { deployments: entries };
  fs.writeFileSync(file, as === 'yaml' ? stringify(data) : JSON.stringify(data));
  return file;
}

async function problemsOf(env: NodeJS.ProcessEnv): Promise<string[]> {
  try {
    await readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** The deployments but for how messages name their settings: the variables, or the file's keys. */
const unnamed = (deployments: readonly Deployment[]) =>
  deployments.map(({ genesys: { named: _named, ...genesys }, ...d }) => ({ ...d, genesys }));

describe('the variables and a one-entry file', () => {
  it.each([
    ['the required variables only', {}, minimalEntry],
    ['every per-deployment variable set', FULL_VARIABLES, fullEntry],
  ])('agree, with %s', async (_, variables, entry) => {
    const fromVariables = loadConfig(testEnv(variables)).deployments;
    const read = await parseDeploymentsFile(stringify({ deployments: [entry] }), 'deployments.yaml', {});
    expect('deployments' in read && unnamed(read.deployments)).toEqual(unnamed(fromVariables));
    expect(read.variablesRead).toEqual([]);
  });

  it.each([
    [
      'given',
      FULL_VARIABLES,
      fullEntry,
      'GENESYS_ORIGIN (https://www.example.com)',
      'genesysOrigin of deployment "default" (https://www.example.com)',
    ],
    [
      'unset',
      {},
      minimalEntry,
      'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
      'genesysOrigin of deployment "default" (unset: the first exact origins entry, https://shop.example.com)',
    ],
  ])('name the Genesys Origin %s as each writes it', async (_, variables, entry, byVariables, byFile) => {
    expect(loadConfig(testEnv(variables)).deployments[0]!.genesys.named.origin).toBe(byVariables);
    const read = await parseDeploymentsFile(stringify({ deployments: [entry] }), 'deployments.yaml', {});
    expect('deployments' in read && read.deployments[0]!.genesys.named.origin).toBe(byFile);
  });

  it('name the other settings their messages advise on as each writes them', async () => {
    expect(loadConfig(testEnv(FULL_VARIABLES)).deployments[0]!.genesys.named).toMatchObject({
      deploymentId: 'GENESYS_DEPLOYMENT_ID',
      region: 'GENESYS_REGION',
      origins: 'CORS_ALLOWED_ORIGINS',
      credentials: 'GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET',
    });
    const read = await parseDeploymentsFile(stringify({ deployments: [fullEntry] }), 'deployments.yaml', {});
    expect('deployments' in read && read.deployments[0]!.genesys.named).toMatchObject({
      deploymentId: 'deploymentId of deployment "default"',
      region: 'region of deployment "default"',
      origins: 'origins of deployment "default"',
      credentials: 'clientId and clientSecret or clientSecretEnv of deployment "default"',
    });
  });

  it.each([
    ['YAML', 'yaml'],
    ['JSON', 'json'],
  ] as const)(
    'configure the same service: a one-entry %s DEPLOYMENTS_FILE loads as the variables do',
    async (_, as) => {
      for (const [variables, entry] of [
        [{}, minimalEntry],
        [FULL_VARIABLES, fullEntry],
      ] as const) {
        const fromVariables: Config = loadConfig(testEnv(variables));
        const file = writeFile([entry], as);
        const fromFile: Config = await readConfig(processEnv({ DEPLOYMENTS_FILE: file }));
        // The same in all but where the deployments came from, and so how messages name the Genesys Origin.
        expect({ ...fromFile, deployments: unnamed(fromFile.deployments) }).toEqual({
          ...fromVariables,
          deployments: unnamed(fromVariables.deployments),
          process: { ...fromVariables.process, deploymentsFile: file },
        });
      }
    },
  );

  it('keeps a file secret out of the file: clientSecretEnv may name GENESYS_CLIENT_SECRET itself', async () => {
    const { clientSecret: _inline, ...entry } = fullEntry;
    const file = writeFile([{ ...entry, clientSecretEnv: 'GENESYS_CLIENT_SECRET' }]);
    const config = await readConfig(
      processEnv({ DEPLOYMENTS_FILE: file, GENESYS_CLIENT_SECRET: 'from-the-environment' }),
    );
    expect(config.deployments[0]!.genesys.credentials).toEqual({
      clientId: 'client-id',
      clientSecret: 'from-the-environment',
    });
  });
});

describe('loadConfig with DEPLOYMENTS_FILE', () => {
  it('serves every deployment a file lists', async () => {
    const file = writeFile([
      minimalEntry,
      { ...minimalEntry, name: 'brand-b', origins: ['https://brand-b.example'], region: 'us-east-1' },
    ]);
    const config = await readConfig(processEnv({ DEPLOYMENTS_FILE: file }));
    expect(config.deployments.map((d) => [d.name, d.genesys.region.domain, d.allowedOrigins])).toEqual([
      ['default', minimalEntry.region, minimalEntry.origins],
      ['brand-b', 'mypurecloud.com', ['https://brand-b.example']],
    ]);
    expect(config.process.deploymentsFile).toBe(file);
  });

  it("refuses each of the deployment's variables set beside it, naming the key that replaces it", async () => {
    const file = writeFile([minimalEntry]);
    const everyVariable = {
      ...testEnv({ ...FULL_VARIABLES, IDENTITY_JWKS_URL: 'https://shop.example.com/keys' }),
      DEPLOYMENTS_FILE: file,
    };
    const problems = await problemsOf(everyVariable);
    expect(problems).toHaveLength(Object.keys(DEPLOYMENT_VARIABLES).length);
    for (const [variable, key] of Object.entries(DEPLOYMENT_VARIABLES)) {
      expect(problems).toContain(
        `${variable} is set with DEPLOYMENTS_FILE: the deployments come from the file alone; ` +
          `give it as \`${key}\` of an entry in ${file} and unset ${variable}`,
      );
    }
  });

  it('reads the file named by a path with blanks around it', async () => {
    const file = writeFile([minimalEntry]);
    const config = await readConfig(processEnv({ DEPLOYMENTS_FILE: `  ${file}\n` }));
    expect(config.deployments.map((d) => d.genesys.deploymentId)).toEqual([minimalEntry.deploymentId]);
    expect(config.process.deploymentsFile).toBe(file);
  });

  it('lets a deployment variable that is set blank stand beside it', async () => {
    const file = writeFile([minimalEntry]);
    const config = await readConfig({ ...processEnv({ DEPLOYMENTS_FILE: file }), GENESYS_REGION: '  ' });
    expect(config.deployments.map((d) => d.genesys.deploymentId)).toEqual([minimalEntry.deploymentId]);
  });

  it('names only variables the service reads, each a key of an entry', () => {
    for (const variable of Object.keys(DEPLOYMENT_VARIABLES)) expect(Object.keys(envSchema.shape)).toContain(variable);
  });

  it("reports the file's problems together with the other variables'", async () => {
    const file = writeFile([{ ...minimalEntry, region: 'mars' }]);
    const problems = await problemsOf(processEnv({ DEPLOYMENTS_FILE: file, SESSION_SECRET: 'short', PORT: 'x' }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT must be/),
        expect.stringMatching(/^SESSION_SECRET: every key must be at least 32 characters/),
        expect.stringContaining(`${file}: deployments[0].region: "mars" is not a Genesys Cloud region`),
      ]),
    );
    expect(problems.some((p) => p.includes('GENESYS_REGION is required'))).toBe(false);
  });

  it('refuses a file that cannot be read', async () => {
    const missing = path.join(dir, 'absent.yaml');
    expect(await problemsOf(processEnv({ DEPLOYMENTS_FILE: missing }))).toEqual([
      `DEPLOYMENTS_FILE: ${missing}: cannot be read (ENOENT)`,
    ]);
  });

  it('is read only by readConfig: loadConfig given no file says so rather than read it', () => {
    expect(() => loadConfig(processEnv({ DEPLOYMENTS_FILE: 'deployments.yaml' }))).toThrow(
      'DEPLOYMENTS_FILE: deployments.yaml was not read (readConfig reads it)',
    );
  });

  it('counts as configured: the embedded demo does not take over', () => {
    expect(isUnconfigured(processEnv())).toBe(true);
    expect(isUnconfigured(processEnv({ DEPLOYMENTS_FILE: 'deployments.yaml' }))).toBe(false);
    expect(isUnconfigured(processEnv({ DEPLOYMENTS_FILE: ' ' }))).toBe(true);
  });
});

describe('two origin entries overlap', () => {
  // A small world of hosts: every label from three, up to three deep, so that each overlap has a witness in it.
  const LABELS = ['a', 'b', 'c'];
  const hosts = (depth: number): string[] =>
    depth === 1 ? LABELS : hosts(depth - 1).flatMap((h) => LABELS.map((l) => `${l}.${h}`));
  const ALL_HOSTS = [...hosts(1), ...hosts(2), ...hosts(3)];
  const ORIGINS = ['http:', 'https:'].flatMap((s) =>
    ['', ':8443', ':443'].flatMap((p) => ALL_HOSTS.map((h) => `${s}//${h}${p}`)),
  );

  const entry = fc
    .record({
      scheme: fc.constantFrom('http:', 'https:'),
      port: fc.constantFrom('', ':8443', ':443'),
      wildcard: fc.boolean(),
      exactHost: fc.constantFrom(...hosts(1), ...hosts(2), ...hosts(3)),
      wildcardHost: fc.constantFrom(...hosts(2)),
    })
    .map(({ scheme, port, wildcard, exactHost, wildcardHost }) => {
      const source = `${scheme}//${wildcard ? `*.${wildcardHost}` : exactHost}${port}`;
      return parseOriginPattern(source) as OriginPattern;
    });

  it('exactly when some browser origin is allowed by both', () => {
    fc.assert(
      fc.property(entry, entry, (a, b) => {
        const both = ORIGINS.some((o) => new OriginAllowlist([a]).allows(o) && new OriginAllowlist([b]).allows(o));
        expect(patternsOverlap(a, b)).toBe(both);
        expect(patternsOverlap(b, a)).toBe(both);
      }),
      { numRuns: 300 },
    );
  });
});
