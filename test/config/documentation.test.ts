import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/schema';
import { testEnv } from '../support/app';

/** .env.example and the README list exactly the variables loadConfig reads. */

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

  it('the README configuration table names every variable', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const missing = variables.filter((v) => !readme.includes(`\`${v}\``));
    expect(missing).toEqual([]);
  });
});
