import { stringify } from 'yaml';
import { parseDeploymentsFile } from '../../src/config/deploymentsFile';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { testEnv, type EnvOverrides } from '../support/app';

/** A deployment's canary: how often, the attribute the flow routes on, the text its first answer must hold. */

const load = (overrides: EnvOverrides) => loadConfig(testEnv(overrides)).deployments[0]!;

function problemsOf(overrides: EnvOverrides): string[] {
  try {
    load(overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the variables', () => {
  it('unset: no canary, and the attribute it would carry is genesysBffCanary=true', () => {
    expect(load({}).canary).toEqual({ attribute: { name: 'genesysBffCanary', value: 'true' } });
  });

  it('set: the interval in ms, the attribute split at its first =, the expected text as given', () => {
    expect(
      load({ CANARY_INTERVAL_SECONDS: '60', CANARY_ATTRIBUTE: ' synthetic = a=b ', CANARY_EXPECT: 'Hello' }).canary,
    ).toEqual({ intervalMs: 60_000, attribute: { name: 'synthetic', value: 'a=b' }, expect: 'Hello' });
  });

  it('refuses an interval out of bounds and an attribute that is not name=value, each named', () => {
    for (const attribute of ['synthetic', '=true', 'synthetic=', '1st=x', `k=${'v'.repeat(257)}`]) {
      expect(problemsOf({ CANARY_INTERVAL_SECONDS: '0', CANARY_ATTRIBUTE: attribute })).toEqual([
        expect.stringMatching(/^CANARY_INTERVAL_SECONDS must be a whole number from 1 to 86400/),
        expect.stringMatching(/^CANARY_ATTRIBUTE must be a custom attribute as name=value/),
      ]);
    }
  });
});

describe('the deployments file', () => {
  const entry = (canary: unknown) => ({
    name: 'brand-a',
    region: 'eu-west-1',
    deploymentId: '6f2c3c3e-1b3a-4c55-9d1e-0a1b2c3d4e5f',
    origins: ['https://shop.brand-a.example'],
    ...(canary === undefined ? {} : { canary }),
  });
  const parse = (canary: unknown) =>
    parseDeploymentsFile(stringify({ deployments: [entry(canary)] }), 'deployments.yaml', {});

  it('takes each key an entry may give, by the same rules', async () => {
    const read = await parse({ intervalSeconds: 5, attribute: 'canary=yes', expect: 'You said' });
    expect('deployments' in read && read.deployments[0]!.canary).toEqual({
      intervalMs: 5000,
      attribute: { name: 'canary', value: 'yes' },
      expect: 'You said',
    });
    const none = await parse(undefined);
    expect('deployments' in none && none.deployments[0]!.canary.intervalMs).toBeUndefined();
  });

  it('names the key of a wrong value, and refuses a key it does not know', async () => {
    const read = await parse({ intervalSeconds: 1.5, attribute: 'no-equals', every: 5 });
    expect('problems' in read && read.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/deployments\[0\]\.canary\.intervalSeconds: must be a whole number from 1 to 86400/),
        expect.stringMatching(/deployments\[0\]\.canary\.attribute: must be a custom attribute as name=value/),
        expect.stringMatching(/deployments\[0\]\.canary.*every/),
      ]),
    );
  });
});
