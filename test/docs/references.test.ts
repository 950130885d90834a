import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Links point only into the repository, and at something that is there: every
 * `docs/....md#anchor` and `README.md#anchor` named in src/ and simulator/ is a
 * heading that exists, no comment cites a document the repository does not
 * have, every link of every document reaches a file and heading that exist,
 * and no document tells how it came to be (a work item by number, a round).
 */
const ROOT = path.join(__dirname, '../..');
const NEVER = new Set(['node_modules', '.git', 'dist', 'coverage', 'test-output', 'reports', '.stryker-tmp', '.next']);

function filesUnder(dir: string, ending: RegExp = /\.(ts|md)$/): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (NEVER.has(name)) return [];
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full, ending) : ending.test(name) ? [full] : [];
  });
}

/** A document's lines outside fenced code blocks (a `# comment` in a sh block is no heading). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    return !fenced && !/^\s*```/.test(line);
  });
}

/** GitHub's anchors for a document's headings: lower case, punctuation dropped, spaces to dashes, -1, -2... for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

const sources = [...filesUnder(path.join(ROOT, 'src')), ...filesUnder(path.join(ROOT, 'simulator'))];
const documents = filesUnder(ROOT, /\.md$/).filter((file) => !path.relative(ROOT, file).startsWith('test/fixtures'));

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

test('every link of every document reaches a file that exists, and a heading that exists in it', () => {
  const names = documents.map((file) => path.relative(ROOT, file));
  for (const page of ['README.md', 'docs/api.md', 'docs/reliability.md', 'docs/testing.md', 'client/README.md'])
    expect(names).toContain(page);
  const broken: string[] = [];
  let checked = 0;
  for (const file of documents) {
    const text = prose(readFileSync(file, 'utf8'))
      .join('\n')
      .replace(/`[^`\n]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:: outside the repository
      checked += 1;
      const [where, anchor] = target!.split('#') as [string, string | undefined];
      const linked = where === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(where));
      const name = `${path.relative(ROOT, file)}: ${target}`;
      if (!existsSync(linked)) broken.push(`${name} (no such file)`);
      else if (anchor !== undefined && !anchorsOf(readFileSync(linked, 'utf8')).has(anchor))
        broken.push(`${name} (no such heading)`);
    }
  }
  expect(checked).toBeGreaterThan(100);
  expect(broken).toEqual([]);
});

test('no document names a work item by number, a session or round of work, or a run diary', () => {
  const diary = /\b[Ii]ssues? [0-9]+\b|\b[Rr]ound [0-9]|\bturn-[0-9]|\b[Ss]ession [0-9]+\b/;
  const offenders = documents.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (diary.test(line) ? [`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(offenders).toEqual([]);
});
