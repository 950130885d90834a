import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * No import circle under src/: no module imports itself, directly or through others. Every edge counts, a
 * type-only import as much as any (it ties the files together for a reader and for a refactoring alike):
 * `import`, `import type`, `export ... from`, `import()` and `require()`, read by the TypeScript compiler's own
 * pre-processor and resolved as tsc resolves them. A circle is a set of files that reach one another (a strongly
 * connected component of the import graph); each is reported with its files and one way round it.
 */
const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** Each file (relative to the repository) and the files it imports. */
type Graph = ReadonlyMap<string, readonly string[]>;

/** Every module a file names: imports (type-only too), `export ... from`, `import()` and `require()`. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The import graph of src/, each specifier resolved as tsc resolves it; edges that leave src/ are left out. */
function importGraph(): Graph {
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const imported = specifiersOf(fs.readFileSync(file, 'utf8')).flatMap((specifier) => {
      const resolved = ts.resolveModuleName(specifier, file, options, ts.sys).resolvedModule;
      if (!resolved || resolved.isExternalLibraryImport || !/\.tsx?$/.test(resolved.resolvedFileName)) return [];
      const target = path.resolve(resolved.resolvedFileName);
      return target.startsWith(SRC + path.sep) && !target.endsWith('.d.ts') ? [rel(target)] : [];
    });
    graph.set(rel(file), [...new Set(imported)].sort());
  }
  return graph;
}

/** The circles of a graph (Tarjan's strongly connected components of two files or more, or a file importing itself). */
function circlesOf(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)?.includes(file)) circles.push(component.sort());
  };
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file);
  return circles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** One shortest way round a circle, from its first file back to it, through the circle's files only. */
function wayRound(graph: Graph, circle: readonly string[]): string[] {
  const start = circle[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const next of graph.get(file) ?? []) {
      if (!circle.includes(next)) continue;
      if (next === start) {
        const way = [file];
        while (way[0] !== start) way.unshift(cameFrom.get(way[0]!)!);
        return [...way, start];
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, file);
        queue.push(next);
      }
    }
  }
  return [start];
}

const report = (graph: Graph, circles: string[][]) =>
  circles.map((circle) => `${circle.join(', ')} import each other: ${wayRound(graph, circle).join(' -> ')}`);

describe('src/', () => {
  const graph = importGraph();

  test('the graph holds every kind of import, resolved to files (type-only, through an index.ts)', () => {
    expect(graph.get('src/tools/verifyGenesys.ts')).toEqual(
      expect.arrayContaining(['src/tools/verifyRun.ts', 'src/tools/verifyBudgets.ts', 'src/genesys/guest/index.ts']),
    );
    // `import type { Frame, Run } from './verifyRun'` and nothing else of the tools.
    expect(graph.get('src/tools/verifyBudgets.ts')).toContain('src/tools/verifyRun.ts');
    // `require('./redis') as typeof import('./redis')`: a lazy load is an edge too.
    expect(graph.get('src/store/index.ts')).toContain('src/store/redis/index.ts');
  });

  test('no module imports itself, directly or through others', () => {
    expect(report(graph, circlesOf(graph))).toEqual([]);
  });
});

describe('the check, on a graph made up for it', () => {
  const graphOf = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

  test('a circle through three files is found, with its files and the way round', () => {
    const graph = graphOf({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] });
    expect(circlesOf(graph)).toEqual([['a', 'b', 'c']]);
    expect(report(graph, circlesOf(graph))).toEqual(['a, b, c import each other: a -> b -> c -> a']);
  });

  test('imports that point one way, however they branch and meet again, are no circle', () => {
    expect(circlesOf(graphOf({ driver: ['check1', 'check2', 'words'], check1: ['words'], check2: ['words'] }))).toEqual(
      [],
    );
  });

  test('a file importing itself is a circle; two separate circles are two', () => {
    expect(circlesOf(graphOf({ a: ['a'], b: ['c'], c: ['b'] }))).toEqual([['a'], ['b', 'c']]);
  });

  test('every form of import is an edge, type-only ones included', () => {
    const text = [
      "import type { A } from './typeOnly';",
      "import { type B } from './inlineType';",
      "import C from './value';",
      "import './sideEffect';",
      "export { D } from './reExport';",
      "export type { E } from './typeReExport';",
      "export * from './star';",
      "const f = require('./required') as typeof import('./typeQuery');",
      "void import('./dynamic');",
    ].join('\n');
    expect(specifiersOf(text).sort()).toEqual(
      [
        './dynamic',
        './inlineType',
        './reExport',
        './required',
        './sideEffect',
        './star',
        './typeOnly',
        './typeQuery',
        './typeReExport',
        './value',
      ].sort(),
    );
  });
});
