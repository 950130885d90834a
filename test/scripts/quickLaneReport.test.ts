import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * What `npm run test:quick` prints after a failed run (scripts/quick-lane-report.mjs, from jest's --json results):
 * each failed suite and its failed tests, the command that runs just those suites again alone, jest's own
 * --onlyFailures, and how to tell a failure of timing from a real one.
 */
const ROOT = path.resolve(__dirname, '../..');

function reportOf(results: object): { status: number | null; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quick-lane-report-'));
  try {
    const file = path.join(dir, 'results.json');
    fs.writeFileSync(file, JSON.stringify(results));
    const run = spawnSync(process.execPath, ['scripts/quick-lane-report.mjs', file], { cwd: ROOT, encoding: 'utf8' });
    return { status: run.status, stderr: run.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const suite = (file: string, tests: [string, 'passed' | 'failed'][], failureMessage?: string) => ({
  name: path.join(ROOT, file),
  status: tests.some(([, status]) => status === 'failed') || failureMessage ? 'failed' : 'passed',
  failureMessage,
  assertionResults: tests.map(([fullName, status]) => ({ fullName, status })),
});

test('names each failed suite and test, and the command that runs just those suites again alone', () => {
  const { status, stderr } = reportOf({
    testResults: [
      suite('test/api/uploadNames.test.ts', [
        ['the name фото.png is kept, letter for letter', 'failed'],
        ['the name Reçu été 2026.png is kept, letter for letter', 'passed'],
      ]),
      suite('test/api/health.test.ts', [['answers', 'passed']]),
      suite('test/server/deploymentsReload.test.ts', [], 'beforeAll threw'),
    ],
  });
  expect(status).toBe(0);
  expect(stderr).toContain('2 suites failed');
  expect(stderr).toContain('  test/api/uploadNames.test.ts\n      the name фото.png is kept, letter for letter\n');
  expect(stderr).not.toContain('Reçu');
  expect(stderr).not.toContain('health');
  expect(stderr).toContain('  test/server/deploymentsReload.test.ts\n      (before any of its tests ran)\n');
  expect(stderr).toContain(
    '  npx jest test/api/uploadNames.test.ts test/server/deploymentsReload.test.ts --maxWorkers=1\n',
  );
  expect(stderr).toContain('npx jest -c jest.quick.config.js --onlyFailures --maxWorkers=1');
  expect(stderr).toMatch(/fails again alone is a real failure\. One that passes alone failed on timing/);
});

test('prints nothing when no suite failed', () => {
  expect(reportOf({ testResults: [suite('test/api/health.test.ts', [['answers', 'passed']])] })).toEqual({
    status: 0,
    stderr: '',
  });
});
