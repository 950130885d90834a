import fs from 'node:fs';
import path from 'node:path';

/**
 * Deployments files that must never reach a running set, nor stop a start with a stack trace: each as a way to put
 * it at `file` (the previous file there replaced), with what its refusal says.
 */
export const BAD_DEPLOYMENTS_FILES: [what: string, put: (file: string) => void, refusal: RegExp][] = [
  [
    '200 YAML aliases',
    (file) => fs.writeFileSync(file, ['a: &a [x]', 'deployments:', ...Array(200).fill('  - *a')].join('\n')),
    /uses aliases \(\*name\) more than 100 times/,
  ],
  [
    'a 1,000-level nesting',
    (file) => fs.writeFileSync(file, `deployments: ${'['.repeat(1000)}${']'.repeat(1000)}`),
    // Parsed in its worker, it is a list of lists where entries belong; deeper, the parser's own limits refuse it.
    /deployments\[0\]: must be a mapping|nests deeper than a deployments file may|needs more memory|took longer/,
  ],
  ['a 60 MB file', (file) => fs.writeFileSync(file, Buffer.alloc(60 * 1024 * 1024, ' ')), /bytes or more, more than/],
  [
    'broken YAML',
    (file) => fs.writeFileSync(file, 'deployments:\n  - name: a\n   region: [\n'),
    /line \d+, column \d+/,
  ],
  [
    'a symlink to a missing file',
    (file) => {
      fs.rmSync(file, { force: true });
      fs.symlinkSync(path.join(path.dirname(file), 'no-such-file.json'), file);
    },
    /cannot be read \(ENOENT\)/,
  ],
];
