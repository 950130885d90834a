import fs from 'node:fs';
import path from 'node:path';

/**
 * The README's "## Contents" is its headings, in order and nested as they are
 * (## and ###), each linked by GitHub's anchor: a section added, renamed or
 * moved without its entry fails here. Every `(#anchor)` link in the README
 * names a heading that exists, and its route table lists every route.
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
  // At least one link per ## and ### heading (Contents names each), so the check cannot pass empty.
  const listable = headings.filter((h) => (h.level === 2 || h.level === 3) && h.text !== 'Contents');
  expect(links.length).toBeGreaterThanOrEqual(listable.length);
  expect(links.filter((link) => !anchors.has(link))).toEqual([]);
});

test("## The chat API's table has one line per route the service serves (docs/openapi.json), and no other", () => {
  const openapi = JSON.parse(fs.readFileSync(path.join(__dirname, '../../docs/openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const served = Object.entries(openapi.paths)
    .flatMap(([route, operations]) =>
      Object.keys(operations)
        .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => `${method.toUpperCase()} ${route}`),
    )
    .sort();
  const lines = prose(README);
  const start = lines.indexOf('## The chat API');
  const end = lines.findIndex((line, i) => i > start && /^#{1,2} /.test(line));
  const listed = lines
    .slice(start, end)
    .flatMap((line) => {
      const m = /^\| `([A-Z]+)` \| `([^`]+)` \| .+ \|$/.exec(line);
      return m ? [`${m[1]} ${m[2]}`] : [];
    })
    .sort();
  expect(listed).toEqual(served);
});
