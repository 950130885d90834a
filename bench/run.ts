import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { historyPart } from './parts/history';
import { maskingPart } from './parts/masking';
import { messagesPart } from './parts/messages';
import { receiptsPart } from './parts/receipts';
import { relayPart } from './parts/relay';
import { socketsPart } from './parts/sockets';
import { startupPart } from './parts/startup';
import { streamsPart } from './parts/streams';
import { tokenPart } from './parts/token';
import { watchingPart } from './parts/watching';
import { startOtlpSink } from './lib/procs';
import { printTable, RESULTS_DIR, type Ctx, type PartOutput, type Row } from './lib/report';

/**
 * `npm run bench`: every part against the simulator, the service and the
 * simulator in their own processes, each part bounded in time. Prints the
 * table and writes bench/results/latest.json, over the previous run's (git keeps the earlier ones);
 * a run of some parts writes bench/results/partial.json instead (not committed).
 *
 *   npm run bench                      all parts
 *   npm run bench -- messages streams  some parts (messages, history, token, sockets, streams, startup, relay,
 *                                      receipts, masking, watching)
 *   npm run bench -- --profile         also write the service's CPU profiles (parts 1 and 5) to bench/results/profiles
 *   npm run bench -- --no-save         do not write results
 *   BENCH_METRICS=1 npm run bench      the service with METRICS_PORT set (metrics served)
 *   BENCH_TRACING=1 npm run bench      the service exporting every span to a stand-in OTLP collector
 *                                      (or to BENCH_OTLP_ENDPOINT when set)
 */

const PARTS: Record<string, { run: (ctx: Ctx) => Promise<PartOutput>; budgetMs: number }> = {
  messages: { run: messagesPart, budgetMs: 90_000 },
  history: { run: historyPart, budgetMs: 60_000 },
  token: { run: tokenPart, budgetMs: 40_000 },
  sockets: { run: socketsPart, budgetMs: 30_000 },
  streams: { run: streamsPart, budgetMs: 150_000 },
  startup: { run: startupPart, budgetMs: 30_000 },
  relay: { run: relayPart, budgetMs: 420_000 },
  receipts: { run: receiptsPart, budgetMs: 60_000 },
  masking: { run: maskingPart, budgetMs: 60_000 },
  watching: { run: watchingPart, budgetMs: 900_000 },
};

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    commit: git(['rev-parse', 'HEAD']),
    dirty:
      git(['status', '--porcelain', '--', 'src', 'simulator', 'bench', ':!bench/results', ':!bench/README.md']) !== '',
    loadAverage1mAtStart: os.loadavg()[0],
    openFileLimit: openFileLimit(),
  };
}

/** Busy share of all CPUs (from /proc/stat) between two snapshots: the benchmark's own processes and anyone else's. */
function cpuSnapshot(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + (fields[4] ?? 0);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

function openFileLimit(): number {
  try {
    const match = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : NaN;
  } catch {
    return NaN;
  }
}

function withBudget<T>(name: string, budgetMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`part "${name}" exceeded its ${budgetMs / 1000} s budget`)), budgetMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const profile = args.includes('--profile');
  const save = !args.includes('--no-save');
  const chosen = args.filter((a) => !a.startsWith('--'));
  for (const name of chosen)
    if (!PARTS[name]) throw new Error(`unknown part "${name}"; parts: ${Object.keys(PARTS).join(', ')}`);
  const names = chosen.length > 0 ? chosen : Object.keys(PARTS);

  // Tracing on: every service process exports its spans to this collector (lib/procs.ts serviceEnv).
  const sink =
    process.env.BENCH_TRACING === '1' && !process.env.BENCH_OTLP_ENDPOINT ? await startOtlpSink() : undefined;
  if (sink) process.env.BENCH_OTLP_ENDPOINT = sink.url;

  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const logDir = join(RESULTS_DIR, 'logs', stamp);
  mkdirSync(logDir, { recursive: true });
  const profileDir = profile ? join(RESULTS_DIR, 'profiles', stamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const t0 = performance.now();
  const ctx: Ctx = {
    logDir,
    profileDir,
    log: (m) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${m}`),
  };
  const info = machine();
  ctx.log(
    `bench on ${info.cpuModel}, ${info.cores} cores, ${(info.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${info.node}, commit ${info.commit.slice(0, 10)}${info.dirty ? ' (uncommitted changes)' : ''}`,
  );

  const fdLimit = openFileLimit();
  if (names.includes('streams') && fdLimit < 20_100) {
    ctx.log(
      `warning: the open-file limit is ${fdLimit}; the streams part needs about 20,100 for 10,000 sessions (run through \`npm run bench\`, which raises it as far as it may)`,
    );
  }
  const outputs: PartOutput[] = [];
  const failures: Record<string, string> = {};
  for (const name of names) {
    const part = PARTS[name]!;
    const partStart = performance.now();
    const cpuBefore = cpuSnapshot();
    const loadBefore = os.loadavg()[0]!;
    try {
      const out = await withBudget(name, part.budgetMs, part.run(ctx));
      const cpuAfter = cpuSnapshot();
      out.data.durationMs = Math.round(performance.now() - partStart);
      // The whole machine's CPU use while the part ran (the bench's own processes included), and
      // the 1-minute load average before it: a busy machine makes every figure worse.
      out.data.machine = {
        cpuBusyShare: Number(((cpuAfter.busy - cpuBefore.busy) / (cpuAfter.total - cpuBefore.total)).toFixed(3)),
        loadAverage1mBefore: loadBefore,
      };
      outputs.push(out);
    } catch (error) {
      failures[name] = error instanceof Error ? error.message : String(error);
      ctx.log(`${name} FAILED: ${failures[name]}`);
    }
  }

  const rows: Row[] = outputs.flatMap((o) => o.rows);
  for (const [name, why] of Object.entries(failures))
    rows.push({ part: name, metric: 'failed', value: why, met: false });
  const totalMs = performance.now() - t0;
  console.log(`\n${printTable(rows)}\n`);
  const unmet = rows.filter((r) => r.met === false);
  console.log(
    `${rows.filter((r) => r.met === true).length} targets met, ${unmet.length} not met; ${(totalMs / 1000).toFixed(0)} s in all`,
  );

  if (save) {
    const result = {
      startedAt: started.toISOString(),
      durationMs: Math.round(totalMs),
      machine: info,
      parts: names,
      rows,
      failures,
      results: Object.fromEntries(outputs.map((o) => [o.name, o.data])),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const text = `${JSON.stringify(result, null, 2)}\n`;
    // Only the latest full run is kept in the tree: a dated copy per run made the repository grow with every run.
    const file = chosen.length > 0 ? 'partial.json' : 'latest.json';
    writeFileSync(join(RESULTS_DIR, file), text);
    ctx.log(`results: bench/results/${file}`);
  }
  if (sink)
    ctx.log(
      `tracing: the stand-in collector received ${sink.received().requests} OTLP exports, ${sink.received().bytes} bytes`,
    );
  process.exit(Object.keys(failures).length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
