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

describe('configuration documentation', () => {
  const variables = variablesReadByLoadConfig();

  it('finds the variables loadConfig reads', () => {
    expect(variables).toEqual(expect.arrayContaining(['GENESYS_REGION', 'SESSION_SECRET', 'CORS_ALLOWED_ORIGINS', 'PORT', 'TRUST_PROXY']));
  });

  it('.env.example has each variable once, with a comment line above it, and no others', () => {
    const lines = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n');
    const listed: string[] = [];
    lines.forEach((line, i) => {
      const m = /^(?:# )?([A-Z][A-Z0-9_]+)=/.exec(line);
      if (!m) return;
      listed.push(m[1]!);
      expect({ variable: m[1], commentAbove: /^# \S/.test(lines[i - 1] ?? '') && !/^# [A-Z0-9_]+=/.test(lines[i - 1]!) }).toEqual({
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
