import fs from 'node:fs';
import path from 'node:path';
import {
  configurationDocuments,
  configurationMarkdown,
  configurationVariables,
  envExample,
  type Variable,
} from '../../src/config/reference';
import { ConfigError, loadConfig } from '../../src/config/schema';
import { demoVariables, envSchema } from '../../src/config/variables';
import { testEnv } from '../support/app';

/**
 * The configuration reference (docs/configuration.md, .env.example) is written from the schema, where each
 * variable is described (`npm run docs:config`): the files are what it writes now, they list exactly the
 * variables loadConfig reads, and what the descriptions say of defaults, bounds and requirement is what
 * loadConfig does.
 */

const ROOT = path.resolve(__dirname, '../..');

function variablesReadByLoadConfig(): string[] {
  const read = new Set<string>();
  const env = new Proxy(testEnv(), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^[A-Z][A-Z0-9_]+$/.test(key)) read.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  loadConfig(env);
  return [...read].sort();
}

/** What loadConfig makes of an environment: the configuration, or the problems it reports. */
function outcomeOf(env: NodeJS.ProcessEnv): string {
  try {
    return JSON.stringify(loadConfig(env));
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

/** Environments to try a variable in: the test one, and one where the optional features a variable may depend on are on. */
const BASES: NodeJS.ProcessEnv[] = [
  testEnv(),
  testEnv({
    REDIS_URL: 'redis://127.0.0.1:6379',
    IDENTITY_JWT_SECRET: 'identity-secret-for-tests-0123456789abcdef',
    IDENTITY_ISSUER: 'https://shop.example.com',
    IDENTITY_AUDIENCE: 'genesys-bff',
    GENESYS_CLIENT_ID: 'client-id',
    GENESYS_CLIENT_SECRET: 'client-secret',
  }),
];
/** Values to set a variable to: a number, a word, a URL of each scheme the configuration takes. */
const PROBES = [
  '7',
  'true',
  'debug',
  'https://probe.example.com',
  'ws://127.0.0.1:9',
  'redis://127.0.0.1:6390',
  'garbage value',
];

/** Whether setting `name` to some value changes what loadConfig yields (a configuration or a refusal) in some environment. */
function hasAnEffect(name: string): boolean {
  return BASES.some((base) => {
    const { [name]: _dropped, ...without } = base;
    const unset = outcomeOf(without);
    return PROBES.some((value) => outcomeOf({ ...without, [name]: value }) !== unset);
  });
}

describe('configuration documentation', () => {
  const variables = variablesReadByLoadConfig();

  it('every variable loadConfig reads changes what it yields: none is read and then ignored', () => {
    expect(variables.length).toBeGreaterThan(0);
    expect(variables.filter((name) => !hasAnEffect(name))).toEqual([]);
  });

  it('.env.example has each variable once, with a comment line above it, and no others', () => {
    const lines = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n');
    const listed: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(?:# )?([A-Z][A-Z0-9_]+)=/.exec(line);
      if (!m) return;
      listed.push(m[1]!);
      expect({
        variable: m[1],
        commentAbove: /^# \S/.test(lines[i - 1] ?? '') && !/^# [A-Z0-9_]+=/.test(lines[i - 1]!),
      }).toEqual({
        variable: m[1],
        commentAbove: true,
      });
    });
    expect([...listed].sort()).toEqual(variables);
  });

  it('.env.example holds no secret values', () => {
    const text = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    for (const name of ['SESSION_SECRET', 'GENESYS_CLIENT_SECRET', 'IDENTITY_JWT_SECRET']) {
      expect(text).toMatch(new RegExp(`^(# )?${name}=$`, 'm'));
    }
  });

  it('docs/configuration.md has an entry for every variable', () => {
    const reference = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
    const missing = variables.filter((v) => !reference.includes(`### \`${v}\``));
    expect(missing).toEqual([]);
  });
});

describe('the configuration reference is generated from the schema', () => {
  it('docs/configuration.md and .env.example are what `npm run docs:config` writes now', () => {
    const documents = configurationDocuments();
    expect(Object.keys(documents).sort()).toEqual(['.env.example', 'docs/configuration.md']);
    const stale = Object.entries(documents).flatMap(([file, expected]) => {
      const target = path.join(ROOT, file);
      const actual = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
      if (actual === expected) return [];
      const lines = actual.split('\n');
      const at = expected.split('\n').findIndex((line, i) => line !== lines[i]);
      return [`${file} (first difference at line ${at + 1})`];
    });
    if (stale.length > 0) {
      throw new Error(
        `${stale.join(' and ')} differ from what the configuration schema (src/config/variables.ts, limits.ts) ` +
          'yields. Do not edit them by hand: change the descriptions in the schema, run `npm run docs:config` and ' +
          'commit the result.',
      );
    }
  });

  it('every variable loadConfig reads is described in the schema, and no other (the embedded demo aside)', () => {
    const described = configurationVariables();
    const listed = described.filter((v) => v.inEnvExample).map((v) => v.name);
    expect(listed.sort()).toEqual(Object.keys(envSchema.shape).sort());
    expect([...Object.keys(envSchema.shape)].sort()).toEqual(variablesReadByLoadConfig());
    expect(described.filter((v) => !v.inEnvExample).map((v) => v.name)).toEqual(Object.keys(demoVariables));
    for (const v of described) expect({ [v.name]: v.summary.trim().length > 0 }).toEqual({ [v.name]: true });
  });

  const described = configurationVariables().filter((v) => v.inEnvExample);
  const required = described.filter((v) => v.required === true).map((v) => v.name);
  /** The problems loadConfig reports for an environment (none when it loads). */
  const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('the variables documented as required are all a deployment needs, and each is needed', () => {
    expect(required).toEqual(['GENESYS_REGION', 'GENESYS_DEPLOYMENT_ID', 'CORS_ALLOWED_ORIGINS', 'SESSION_SECRET']);
    const full = testEnv();
    const minimal = Object.fromEntries(required.map((name) => [name, full[name]]));
    expect(problemsOf(minimal)).toEqual([]);
    for (const name of required) {
      const { [name]: _dropped, ...without } = minimal;
      expect({ name, named: problemsOf(without).some((p) => p.includes(name)) }).toEqual({ name, named: true });
    }
  });

  it('each documented default is what loadConfig uses when the variable is unset', () => {
    const withDefaults = described.filter((v) => v.default !== undefined);
    expect(withDefaults.length).toBeGreaterThan(40);
    for (const v of withDefaults) {
      const { [v.name]: _dropped, ...without } = BASES[1]!;
      expect({ name: v.name, same: outcomeOf({ ...without, [v.name]: String(v.default) }) }).toEqual({
        name: v.name,
        same: outcomeOf(without),
      });
    }
  });

  /** Whether loadConfig, in the environment with every optional feature on, has a problem with `name` set so. */
  const accepts = (name: string, value: string) =>
    !problemsOf({ ...BASES[1], [name]: value }).some((p) => p.startsWith(name) || p.includes(`${name} "`));

  it('each documented range, URL scheme and list of values is what loadConfig accepts', () => {
    for (const v of described) {
      const field = envSchema.shape[v.name as keyof typeof envSchema.shape];
      const parses = (value: string) => field.safeParse(value).success;
      const checks: Record<string, boolean> = {};
      if (v.minimum !== undefined && v.maximum !== undefined) {
        checks[`${v.minimum}`] = parses(String(v.minimum));
        checks[`${v.maximum}`] = parses(String(v.maximum));
        checks[`${v.minimum - 1}`] = !parses(String(v.minimum - 1));
        checks[`${v.maximum + 1}`] = !parses(String(v.maximum + 1));
        checks['1.5'] = !parses('1.5');
      }
      for (const scheme of v.schemes ?? []) checks[scheme] = parses(`${scheme}//probe.example.com:1`);
      if (v.schemes) checks['ftp:'] = !parses('ftp://probe.example.com');
      for (const value of v.values ?? []) checks[value] = accepts(v.name, value);
      if (v.values) checks['not-a-value'] = !accepts(v.name, 'not-a-value');
      expect({ name: v.name, checks }).toEqual({
        name: v.name,
        checks: Object.fromEntries(Object.keys(checks).map((k) => [k, true])),
      });
    }
  });
});

describe('the reference, on variables made for the case', () => {
  const variable = (name: string, facts: Partial<Variable> = {}): Variable => ({
    name,
    group: 'process',
    summary: `What ${name} is for.`,
    inEnvExample: true,
    ...facts,
  });
  const entryOf = (markdown: string, name: string) => markdown.split(`### \`${name}\``)[1]!.split('\n## ')[0]!;

  it('lists the values in .env.example up to eight of them, and no more', () => {
    const letters = 'abcdefghi'.split('');
    const lines = envExample([
      variable('EIGHT', { values: letters.slice(0, 8) }),
      variable('NINE', { values: letters }),
    ]).split('\n');
    expect(lines).toContain('# What EIGHT is for. One of a, b, c, d, e, f, g, h.');
    expect(lines).toContain('# What NINE is for.');
  });

  it('shows the default of a required variable that has one, set in .env.example', () => {
    const required = variable('REQUIRED_WITH_DEFAULT', { required: true, default: 'x' });
    expect(entryOf(configurationMarkdown([required]), 'REQUIRED_WITH_DEFAULT')).toContain('- Default: `x`');
    expect(envExample([required]).split('\n')).toContain('REQUIRED_WITH_DEFAULT=x');
  });

  it('puts a word longer than a comment line on a line of its own, with no empty line before it', () => {
    const url = `https://example.com/${'a'.repeat(120)}`;
    const lines = envExample([variable('LONG', { summary: `${url} says what LONG is for.` })]).split('\n');
    expect(lines.slice(-5, -1)).toEqual(['', `# ${url}`, '# says what LONG is for.', '# LONG=']);
  });

  it('heads and lists only the groups that have a variable', () => {
    const markdown = configurationMarkdown([variable('ONLY', { group: 'redis' })]);
    expect(markdown.split('\n').filter((line) => line.startsWith('## '))).toEqual([
      '## A first deployment',
      '## Contents',
      '## Redis and scaling out',
      '## The deployments file',
    ]);
    expect(markdown).toContain('- [Redis and scaling out](#redis-and-scaling-out)\n- [The deployments file]');
  });

  it('writes a summary into .env.example with single spaces, however it was spaced', () => {
    const lines = envExample([variable('SPACED', { summary: 'What  SPACED\n   is for.' })]).split('\n');
    expect(lines).toContain('# What SPACED is for.');
  });

  it('gives a range only when both of its ends are known', () => {
    const markdown = configurationMarkdown([
      variable('BOTH', { minimum: 1, maximum: 9 }),
      variable('LOW_ONLY', { minimum: 1 }),
      variable('HIGH_ONLY', { maximum: 9 }),
    ]);
    expect(entryOf(markdown, 'BOTH')).toContain('- Allowed: a whole number from `1` to `9`');
    for (const name of ['LOW_ONLY', 'HIGH_ONLY']) expect(entryOf(markdown, name)).not.toContain('- Allowed');
    const env = envExample([variable('LOW_ONLY', { minimum: 1 }), variable('HIGH_ONLY', { maximum: 9 })]);
    expect(env).toContain('# What LOW_ONLY is for.\n');
    expect(env).toContain('# What HIGH_ONLY is for.\n');
  });
});
