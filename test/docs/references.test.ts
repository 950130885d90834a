import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Comments point only into the repository: every `docs/....md#anchor` and
 * `README.md#anchor` named in src/ and simulator/ is a heading that exists,
 * and no comment cites a document the repository does not have.
 */
const ROOT = path.join(__dirname, '../..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : /\.(ts|md)$/.test(name) ? [full] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading)
      anchors.add(
        heading[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s-]/gu, '')
          .replace(/\s/g, '-'),
      );
  }
  return anchors;
}

const sources = [...filesUnder(path.join(ROOT, 'src')), ...filesUnder(path.join(ROOT, 'simulator'))];

test('every docs/ and README anchor a source file names exists', () => {
  const missing: string[] = [];
  for (const file of sources) {
    for (const [, doc, anchor] of readFileSync(file, 'utf8').matchAll(/((?:docs\/[\w-]+|README)\.md)#([\w-]+)/g)) {
      if (!anchorsOf(readFileSync(path.join(ROOT, doc!), 'utf8')).has(anchor!))
        missing.push(`${path.relative(ROOT, file)}: ${doc}#${anchor}`);
    }
  }
  expect(missing).toEqual([]);
});

test('no source file cites a document outside the repository', () => {
  const outside =
    /CONTRACT\s?§|(?:guest|platform)[- ](?:api|reference|ref)\s?§|shared\/reference|genesys-(?:guest|platform)-api\.md|\bissue \d+\b|(?<![#\w/])§\s?\d/i;
  const offenders = sources.filter((file) => outside.test(readFileSync(file, 'utf8').replace(/RFC 7516 §7\.1/g, '')));
  expect(offenders.map((f) => path.relative(ROOT, f))).toEqual([]);
});
