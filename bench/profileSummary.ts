import { readFileSync } from 'node:fs';

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by
 * function and by package, and inclusive time of the functions named on the
 * command line. `node bench/.build/bench/profileSummary.js <file> [top] [--inclusive name,...]`
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native/v8)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/.build/');
  return src >= 0 ? url.slice(src + 8) : url;
}

export function summarizeProfile(file: string, top = 30, inclusiveNames: string[] = []): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = profile.endTime - profile.startTime;
  const idleUs = [...byId.values()]
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((a, n) => a + (selfUs.get(n.id) ?? 0), 0);
  const busy = total - idleUs;

  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    if (callFrame.functionName === '(idle)') continue;
    const key = `${callFrame.functionName || '(anonymous)'} ${packageOf(callFrame.url)}:${callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = packageOf(callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }

  // Inclusive time: a node's self time plus its subtree's, counted once per named frame on a path.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)!.callFrame.functionName;
      if (inclusiveNames.includes(name) && !seen.has(name)) {
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + us);
      }
    }
  }

  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`,
    '',
    'self time by package:',
  ];
  for (const [k, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`  ${pct(us)}  ${k}`);
  lines.push('', 'self time by function:');
  for (const [k, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`);
  if (inclusiveNames.length > 0) {
    lines.push('', 'inclusive time:');
    for (const name of inclusiveNames) lines.push(`  ${pct(inclusive.get(name) ?? 0)}  ${name}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const inc = args.indexOf('--inclusive');
  const names = inc >= 0 ? args[inc + 1]!.split(',') : [];
  const rest = inc >= 0 ? args.slice(0, inc).concat(args.slice(inc + 2)) : args;
  console.log(summarizeProfile(rest[0]!, Number(rest[1] ?? 30), names));
}
