import { ConfigError, loadConfig } from '../../src/config/schema';
import { parseDeploymentsFile } from '../../src/config/deploymentsFile';
import { webhookSecretProblem, webhookUrlProblem } from '../../src/config/webhookVariables';
import { testConfig, testEnv } from '../support/app';

/**
 * Webhook endpoints (docs/api.md#webhooks): WEBHOOK_URL and WEBHOOK_SECRET describe the one deployment's endpoint,
 * a deployments file lists its own under `webhooks:`, both by the same rules; WEBHOOK_RETRY_HOURS and the delivery
 * bounds hold for every deployment. A secret never appears in a problem.
 */

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('the single-deployment variables', () => {
  test('WEBHOOK_URL and WEBHOOK_SECRET give the deployment one endpoint for every event', () => {
    const config = testConfig({ WEBHOOK_URL: 'https://hooks.example.com/bff', WEBHOOK_SECRET: SECRET });
    expect(config.deployments[0]!.webhooks).toEqual([{ url: 'https://hooks.example.com/bff', secret: SECRET }]);
    expect(config.process.webhooks).toEqual({
      retryMs: 24 * 3600_000,
      firstRetryMs: 5000,
      timeoutMs: 10_000,
      concurrency: 8,
      outboxMax: 10_000,
    });
  });

  test('no WEBHOOK_URL: no webhooks', () => {
    expect(testConfig().deployments[0]!.webhooks).toEqual([]);
  });

  test('WEBHOOK_EVENTS chooses the events, and WEBHOOK_RETRY_HOURS the retry window', () => {
    const config = testConfig({
      WEBHOOK_URL: 'http://127.0.0.1:9999/hook',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_EVENTS: 'chat.started, chat.ended',
      WEBHOOK_RETRY_HOURS: '2',
    });
    expect(config.deployments[0]!.webhooks[0]!.events).toEqual(['chat.started', 'chat.ended']);
    expect(config.process.webhooks.retryMs).toBe(2 * 3600_000);
  });

  test.each([
    [{ WEBHOOK_URL: 'https://hooks.example.com' }, /^WEBHOOK_SECRET is required/],
    [
      { WEBHOOK_URL: 'https://hooks.example.com', WEBHOOK_SECRET: 'not-a-whsec-secret' },
      /^WEBHOOK_SECRET must be `whsec_`/,
    ],
    [
      { WEBHOOK_URL: 'https://hooks.example.com', WEBHOOK_SECRET: `whsec_${Buffer.alloc(8).toString('base64')}` },
      /^WEBHOOK_SECRET must be `whsec_` followed by the base64 of 24 to 64/,
    ],
    [
      { WEBHOOK_URL: 'http://hooks.example.com/t/0123456789abcdef', WEBHOOK_SECRET: SECRET },
      /^WEBHOOK_URL must be an https URL \(http only on loopback\) \(got http:\/\/hooks\.example\.com\/…\)$/,
    ],
    [
      { WEBHOOK_URL: 'https://hooks.example.com', WEBHOOK_SECRET: SECRET, WEBHOOK_EVENTS: 'chat.started,chat.lost' },
      /^WEBHOOK_EVENTS: "chat.lost" is not a webhook event/,
    ],
    [{ WEBHOOK_RETRY_HOURS: '0' }, /^WEBHOOK_RETRY_HOURS must be a whole number from 1 to 720/],
  ])('%j is refused, naming the variable', (env, problem) => {
    const problems = problemsOf(() => testConfig(env));
    expect(problems).toEqual([expect.stringMatching(problem)]);
    expect(problems.join('\n')).not.toContain(SECRET);
    // A webhook URL's path is often a credential: never echoed.
    expect(problems.join('\n')).not.toContain('0123456789abcdef');
  });
});

describe('a deployments file', () => {
  const entry = {
    name: 'brand-a',
    region: 'mypurecloud.ie',
    deploymentId: '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f',
    origins: ['https://shop.example.com'],
  };

  test('lists endpoints, each secret inline or named by a variable', async () => {
    const read = await parseDeploymentsFile(
      JSON.stringify({
        deployments: [
          {
            ...entry,
            webhooks: [
              { url: 'https://a.example.com/hook', secret: SECRET, events: ['message.received'] },
              { url: 'https://b.example.com/hook', secretEnv: 'BRAND_A_WEBHOOK_SECRET' },
            ],
          },
        ],
      }),
      'deployments.json',
      { BRAND_A_WEBHOOK_SECRET: SECRET },
    );
    expect(read).toEqual({
      deployments: [
        expect.objectContaining({
          webhooks: [
            { url: 'https://a.example.com/hook', secret: SECRET, events: ['message.received'] },
            { url: 'https://b.example.com/hook', secret: SECRET },
          ],
        }),
      ],
      variablesRead: ['BRAND_A_WEBHOOK_SECRET'],
    });
  });

  test('names the key of each problem, never the secret', async () => {
    const bad = 'whsec_dG9vc2hvcnQ=';
    const read = await parseDeploymentsFile(
      JSON.stringify({
        deployments: [
          {
            ...entry,
            webhooks: [
              { url: 'https://a.example.com/hook' },
              { url: 'https://b.example.com/hook', secret: bad },
              { url: 'https://c.example.com/hook', secret: SECRET, secretEnv: 'X' },
            ],
          },
        ],
      }),
      'deployments.json',
      { X: SECRET },
    );
    expect('problems' in read && read.problems).toEqual([
      expect.stringMatching(/^deployments\.json: deployments\[0\]\.webhooks\[0\]\.secret: is required/),
      expect.stringMatching(/^deployments\.json: deployments\[0\]\.webhooks\[1\]\.secret: must be `whsec_`/),
      'deployments.json: deployments[0].webhooks[2].secret: give secret or secretEnv, not both',
    ]);
    expect(JSON.stringify(read)).not.toContain(bad);
  });

  test('WEBHOOK_URL beside DEPLOYMENTS_FILE is refused', () => {
    const env = testEnv({ DEPLOYMENTS_FILE: 'deployments.json', WEBHOOK_URL: 'https://a.example.com' });
    const problems = problemsOf(() =>
      loadConfig(env, { deployments: [testConfig().deployments[0]!], variablesRead: [] }),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^WEBHOOK_URL is set with DEPLOYMENTS_FILE/));
  });
});

describe('a webhook secret', () => {
  const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 9).toString('base64')}`;
  const PROBLEM =
    'must be `whsec_` followed by the base64 of 24 to 64 random bytes (e.g. `echo whsec_$(openssl rand -base64 32)`)';

  test('is whsec_ and the base64 of 24 to 64 bytes, with the padding base64 gives it', () => {
    for (const bytes of [24, 25, 26, 32, 63, 64]) expect(webhookSecretProblem(secretOf(bytes))).toBeUndefined();
    expect(secretOf(25)).toMatch(/==$/);
    expect(secretOf(26)).toMatch(/[^=]=$/);
  });

  test('refuses fewer than 24 bytes or more than 64, and says how to make one', () => {
    for (const bytes of [0, 1, 23, 65, 96]) expect(webhookSecretProblem(secretOf(bytes))).toBe(PROBLEM);
  });

  test('refuses anything before whsec_ or after the base64, and more than two pads', () => {
    expect(webhookSecretProblem(` ${secretOf(32)}`)).toBe(PROBLEM);
    expect(webhookSecretProblem(`x${secretOf(32)}`)).toBe(PROBLEM);
    expect(webhookSecretProblem(`${secretOf(32)} `)).toBe(PROBLEM);
    expect(webhookSecretProblem(`${secretOf(32)}x=`)).toBe(PROBLEM);
    expect(webhookSecretProblem(`${secretOf(25)}=`)).toBe(PROBLEM);
    expect(webhookSecretProblem(secretOf(32).replace('whsec_', 'whsec-'))).toBe(PROBLEM);
  });
});

describe('a webhook URL', () => {
  test('is https anywhere, or http on loopback', () => {
    for (const url of [
      'https://hooks.example.com/genesys',
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://[::1]:9/hook',
    ])
      expect(webhookUrlProblem(url)).toBeUndefined();
  });

  test('refuses http elsewhere and other schemes, naming only the scheme and host', () => {
    expect(webhookUrlProblem('http://hooks.example.com/genesys?token=s3cret')).toBe(
      'must be an https URL (http only on loopback) (got http://hooks.example.com/…)',
    );
    expect(webhookUrlProblem('ftp://127.0.0.1/hook')).toBe(
      'must be an https URL (http only on loopback) (got ftp://127.0.0.1/…)',
    );
    expect(webhookUrlProblem('http://127.0.0.2/hook')).toMatch(/^must be an https URL/);
  });

  test('refuses what is no absolute URL, with an example', () => {
    for (const url of ['hooks.example.com/genesys', '/genesys', ''])
      expect(webhookUrlProblem(url)).toBe('must be an absolute https URL such as https://hooks.example.com/genesys');
  });
});
