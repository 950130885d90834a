import fs from 'node:fs';
import path from 'node:path';

/**
 * The README's "## Contents" is its headings, in order and nested as they are
 * (## and ###), each linked by GitHub's anchor: a section added, renamed or
 * moved without its entry fails here. Every `(#anchor)` link in the README
 * names a heading that exists.
 */
const README = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

/** The README's lines outside fenced code blocks (a `# comment` in a sh block is no heading). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').filter((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && !line.startsWith('```');
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes, -1, -2... for repeats. */
function anchorOf(heading: string, seen: Map<string, number>): string {
  const base = heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
  const count = seen.get(base) ?? 0;
  seen.set(base, count + 1);
  return count === 0 ? base : `${base}-${count}`;
}

const seen = new Map<string, number>();
const headings = prose(README).flatMap((line) => {
  const m = /^(#{1,6}) (.+)$/.exec(line);
  return m ? [{ level: m[1]!.length, text: m[2]!, anchor: anchorOf(m[2]!, seen) }] : [];
});

test('## Contents lists every ## and ### heading, in order and nested, with its anchor', () => {
  const lines = prose(README);
  const start = lines.indexOf('## Contents');
  expect(start).toBeGreaterThan(0);
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  const entries = lines.slice(start + 1, end).flatMap((line) => {
    const m = /^( *)- \[(.+)\]\(#([^)]+)\)$/.exec(line);
    return m ? [`${m[1]!.length === 0 ? '##' : '###'} ${m[2]} (#${m[3]})`] : [];
  });
  const expected = headings
    .filter((h) => (h.level === 2 || h.level === 3) && h.text !== 'Contents')
    .map((h) => `${'#'.repeat(h.level)} ${h.text} (#${h.anchor})`);
  expect(entries).toEqual(expected);
});

test('every in-page link of the README names a heading that exists', () => {
  const anchors = new Set(headings.map((h) => h.anchor));
  const links = [
    ...prose(README)
      .join('\n')
      .matchAll(/\]\(#([^)]+)\)/g),
  ].map((m) => m[1]!);
  expect(links.length).toBeGreaterThan(30);
  expect(links.filter((link) => !anchors.has(link))).toEqual([]);
});
