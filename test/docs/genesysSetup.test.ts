import fs from 'node:fs';
import path from 'node:path';
import { PLATFORM_PERMISSIONS } from '../../src/genesys/platform';

/**
 * docs/genesys-setup.md asks an org for one role holding every permission the service uses: its table lists exactly
 * the permissions the code reads with (src/genesys/platform/permissions.ts), each with what needs it, and the README
 * links the page.
 */
const ROOT = path.join(__dirname, '../..');
const page = fs.readFileSync(path.join(ROOT, 'docs/genesys-setup.md'), 'utf8');

/** The rows of the page's permission table: [permission, what needs it, when]. */
function tableRows(): string[][] {
  return page
    .split('\n')
    .filter((line) => /^\| `[a-zA-Z]+:[a-zA-Z]+:[a-zA-Z]+` \|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

test('the role lists every permission the code asks for, each once, with what needs it and when', () => {
  expect(tableRows()).toEqual(PLATFORM_PERMISSIONS.map((p) => [`\`${p.permission}\``, p.usedFor, p.when]));
});

test('the README links the setup page from its configuration section', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const configuration = readme.slice(readme.indexOf('## Configuration'));
  expect(configuration.slice(0, configuration.indexOf('\n## ', 5))).toContain('(docs/genesys-setup.md)');
});
