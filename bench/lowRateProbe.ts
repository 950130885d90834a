import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { authHeaders, createSessions, kept, keepNewestToken } from './lib/bff';
import { FastHttpPool } from './lib/fastHttp';
import { keepAliveAgent } from './lib/http';
import { closedLoop, openLoop, pool, SessionPicker, summarize, type Op } from './lib/load';
import { onPathOf, startSyscallTrace, stopTrace, type OnPath } from './lib/onPath';
import {
  BUILD_DIR,
  freePort,
  SERVICE_MAIN,
  serviceEnv,
  startServiceProcess,
  startSim,
  type ServiceProcess,
  type SimProcess,
} from './lib/procs';

/**
 * Dev tool, not part of `npm run bench`: where a request's cost goes at the
 * rates chats run (40 or 160 a second), where the fixed work per request and
 * the number of wake-ups matter rather than throughput. The contenders (builds
 * of the service, or a bare relay: `http`, `express`) run side by side and
 * take turns request by request within one paced stream, so whatever else
 * the machine is doing at a moment falls on all of them alike: the A/B behind
 * the before/after figures in bench/README.md. Per request, for each:
 *
 * - CPU of its main thread and of its other threads (V8's helpers, libuv's
 *   thread pool), in ns from /proc/<pid>/task/<tid>/schedstat;
 * - how often each was scheduled in: the main thread's event-loop wake-ups,
 *   the thread pool's round trips;
 * - with --on-path, the time its main thread works while the client waits
 *   (lib/onPath.ts, from its system calls under `perf record`);
 * - latency p50/p99 at the client (the noisiest of these on a shared machine).
 *
 * After the measured rounds, optional instrumented windows, one contender at
 * a time: --profile=<dir> (V8 CPU profile through the inspector), --perf
 * (`perf record` of CPU samples with call chains and of every system call, to
 * /tmp/lowrate-<name>-<kind>.perf; add --node-arg=--perf-basic-prof for
 * JavaScript names).
 *
 *   node dist/bench/bench/lowRateProbe.js post --rate=40 --count=400 --rounds=3 --warm=6000 --on-path \
 *     --entries=before=dist/ab/base/src/main.js,after=dist/bench/src/main.js,relay=express
 */

const RELAY_MAIN = join(BUILD_DIR, 'bench', 'relayProcess.js');
const TEXT = JSON.stringify({ text: 'Hello, I would like to know where my order is.' });

interface ThreadTimes {
  ns: number;
  slices: number;
}

function threadTimes(pid: number): Map<number, ThreadTimes> {
  const out = new Map<number, ThreadTimes>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [ns, , slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      out.set(Number(tid), { ns: ns!, slices: slices! });
    } catch {
      // the thread ended
    }
  }
  return out;
}

interface Window {
  p50: number;
  p99: number;
  ok: number;
  errors: Record<string, number>;
  mainUs: number;
  otherUs: number;
  mainWakes: number;
  otherWakes: number;
  onPath?: OnPath;
}

interface Contender {
  name: string;
  proc: ServiceProcess;
  op: Op;
  upstream: boolean;
}

async function contender(
  name: string,
  spec: string,
  sim: SimProcess,
  kind: string,
  options: { inspect: boolean; nodeArgs: string[] },
): Promise<Contender> {
  const port = await freePort();
  const relay = spec === 'http' || spec === 'express';
  const env = relay
    ? {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        RELAY: spec,
        SIM_WS_URL: sim.urls.webMessagingUrl,
        SIM_API_URL: sim.urls.apiUrl,
        DEPLOYMENT_ID: sim.deploymentId,
      }
    : serviceEnv(sim, port, JSON.parse(process.env.PROBE_ENV ?? '{}') as Record<string, string>);
  const entry = relay ? RELAY_MAIN : spec;
  const proc = await startServiceProcess({
    env,
    port,
    entry,
    logFile: join(BUILD_DIR, `lowrate-${name}.log`),
    inspect: options.inspect && !relay,
    nodeArgs: options.nodeArgs,
  });
  const tokens = await createSessions(proc.url, Number(process.env.PROBE_SESSIONS ?? 600), 16, keepAliveAgent(16));
  const client = new FastHttpPool(proc.url, 16);
  const picker = new SessionPicker(kept(tokens), 250);
  if (kind === 'get')
    await pool(tokens, 16, (t) => client.request('GET', '/messages?page=1&pageSize=25', authHeaders(t)));
  let read = 0;
  const ops: Record<string, Op> = {
    healthz: async () => ((await client.request('GET', '/healthz', {})).status === 200 ? 'ok' : 'bad'),
    post: async () => {
      const session = await picker.next();
      const res = await client.request('POST', '/messages', authHeaders(session.token), TEXT);
      if (res.status !== 201) return `http ${res.status}`;
      keepNewestToken(session, res.body);
      return 'ok';
    },
    get: async () => {
      const res = await client.request(
        'GET',
        '/messages?page=1&pageSize=25',
        authHeaders(tokens[read++ % tokens.length]!),
      );
      return res.status === 200 ? 'ok' : `http ${res.status}`;
    },
  };
  const op = ops[kind];
  if (!op) throw new Error(`unknown kind ${kind}`);
  return { name, proc, op, upstream: kind === 'post' };
}

type Tracer = (pid: number, file: string) => ChildProcess;

/**
 * One window: `count` requests to each contender at `rate` a second each,
 * taking turns within one stream, each contender's figures over the same
 * stretch of time.
 */
async function window(
  contenders: Contender[],
  rate: number,
  count: number,
  kind: string,
  tracer?: Tracer,
): Promise<Window[]> {
  let turn = 0;
  const latencies = contenders.map(() => [] as number[]);
  const errors = contenders.map(() => ({}) as Record<string, number>);
  const interleaved: Op = async () => {
    const i = turn++ % contenders.length;
    const t0 = performance.now();
    const outcome = await contenders[i]!.op();
    if (outcome === 'ok') latencies[i]!.push(performance.now() - t0);
    else errors[i]![outcome] = (errors[i]![outcome] ?? 0) + 1;
    return outcome;
  };
  // Unmeasured, at the rate: every contender meets the window warm.
  const total = rate * contenders.length;
  await openLoop({ rate: total, durationMs: 500, op: interleaved });
  const files = contenders.map((c) =>
    join(BUILD_DIR, `lowrate-${c.name}-${kind}.${tracer === startSyscallTrace ? 'syscalls' : 'perf'}`),
  );
  const tracers = tracer ? contenders.map((c, i) => tracer(c.proc.pid, files[i]!)) : [];
  if (tracer) await new Promise((r) => setTimeout(r, 1000));
  for (const l of latencies) l.length = 0;
  for (const e of errors) for (const k of Object.keys(e)) delete e[k];
  const before = contenders.map((c) => threadTimes(c.proc.pid));
  await openLoop({ rate: total, durationMs: (count * 1000) / rate, op: interleaved });
  const after = contenders.map((c) => threadTimes(c.proc.pid));
  for (const t of tracers) await stopTrace(t);
  return contenders.map((c, i) => {
    const n = latencies[i]!.length || 1;
    const { p50, p99 } = summarize(latencies[i]!);
    const w: Window = {
      p50,
      p99,
      ok: latencies[i]!.length,
      errors: errors[i]!,
      mainUs: 0,
      otherUs: 0,
      mainWakes: 0,
      otherWakes: 0,
    };
    for (const [tid, a] of after[i]!) {
      const b = before[i]!.get(tid) ?? { ns: 0, slices: 0 };
      const main = tid === c.proc.pid;
      w[main ? 'mainUs' : 'otherUs'] += (a.ns - b.ns) / 1000 / n;
      w[main ? 'mainWakes' : 'otherWakes'] += (a.slices - b.slices) / n;
    }
    if (tracer === startSyscallTrace) w.onPath = onPathOf(files[i]!, c.proc.pid, c.upstream);
    return w;
  });
}

/** CPU samples with call chains (5 kHz), and every system call, so that samples can be put in the phases of lib/onPath.ts. */
const perfRecord: Tracer = (pid, file) =>
  spawn(
    'perf',
    [
      'record',
      '-q',
      '-m',
      '8M',
      '-c',
      '1',
      '-e',
      'raw_syscalls:sys_enter/call-graph=no/',
      '-e',
      'raw_syscalls:sys_exit/call-graph=no/',
      '-e',
      'cpu-clock/freq=5000,call-graph=fp/',
      '-p',
      String(pid),
      '-o',
      file,
    ],
    { stdio: 'ignore' },
  );

function describe(w: Window): string {
  const path = w.onPath
    ? `; on path ${w.onPath.total.toFixed(0)} us (A ${w.onPath.a.toFixed(0)} + B ${w.onPath.b.toFixed(0)}), on a CPU ${w.onPath.cpu.toFixed(0)} us (${w.onPath.requests} requests)`
    : '';
  const errors = Object.keys(w.errors).length ? ` errors ${JSON.stringify(w.errors)}` : '';
  return `p50 ${w.p50.toFixed(2)} p99 ${w.p99.toFixed(2)} ms; CPU main ${w.mainUs.toFixed(0)} + others ${w.otherUs.toFixed(0)} us; wakes main ${w.mainWakes.toFixed(2)} others ${w.otherWakes.toFixed(2)}${path}${errors}`;
}

function medians(ws: Window[]): Window {
  const med = (f: (w: Window) => number) => summarize(ws.map(f)).p50;
  const onPath = ws[0]?.onPath
    ? {
        requests: med((w) => w.onPath!.requests),
        a: med((w) => w.onPath!.a),
        b: med((w) => w.onPath!.b),
        total: med((w) => w.onPath!.total),
        cpu: med((w) => w.onPath!.cpu),
      }
    : undefined;
  const errors: Record<string, number> = {};
  for (const w of ws) for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  return {
    p50: med((w) => w.p50),
    p99: med((w) => w.p99),
    ok: med((w) => w.ok),
    errors,
    mainUs: med((w) => w.mainUs),
    otherUs: med((w) => w.otherUs),
    mainWakes: med((w) => w.mainWakes),
    otherWakes: med((w) => w.otherWakes),
    ...(onPath ? { onPath } : {}),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const kind = args.find((a) => !a.startsWith('--')) ?? 'post';
  const rate = Number(option('rate', '40'));
  const count = Number(option('count', '400'));
  const rounds = Number(option('rounds', '3'));
  const warm = Number(option('warm', '0'));
  const profileDir = args.find((a) => a.startsWith('--profile='))?.slice(10);
  const nodeArgs = args.filter((a) => a.startsWith('--node-arg=')).map((a) => a.slice(11));
  const entries = option('entries', `service=${SERVICE_MAIN}`)
    .split(',')
    .map((e) => e.split('=') as [string, string]);
  const sim = await startSim({ agent: { enabled: false } });
  const contenders: Contender[] = [];
  // Bounded: a stuck run stops its processes and exits rather than holding the machine.
  const watchdog = setTimeout(
    () => {
      console.error('lowRateProbe: over its time limit, stopping');
      void Promise.all([...contenders.map((c) => c.proc.stop()), sim.stop()]).finally(() => process.exit(2));
    },
    Number(option('limit-s', '900')) * 1000,
  );
  watchdog.unref();
  try {
    await sim.admin('POST', '/options', { messagesPerSecond: 100 });
    for (const [name, spec] of entries)
      contenders.push(await contender(name, spec, sim, kind, { inspect: profileDir !== undefined, nodeArgs }));
    // --warm=<n>: n requests per contender first, so its code reaches the tier it would after running a while.
    for (const c of contenders)
      if (warm > 0) await closedLoop({ concurrency: 8, durationMs: 600_000, maxOps: warm, op: c.op });
    const results = contenders.map(() => [] as Window[]);
    for (let round = 0; round < rounds; round++) {
      const ws = await window(
        contenders,
        rate,
        count,
        kind,
        args.includes('--on-path') ? startSyscallTrace : undefined,
      );
      ws.forEach((w, i) => {
        results[i]!.push(w);
        console.log(`round ${round + 1} ${contenders[i]!.name}: ${describe(w)}`);
      });
    }
    // Instrumented windows come after the measured rounds: the profilers slow what they watch.
    for (const c of contenders) {
      if (profileDir !== undefined && c.proc.profiler) {
        await c.proc.profiler.start();
        const [w] = await window([c], rate, count, kind);
        await c.proc.profiler.stop(join(profileDir, `${c.name}-${kind}-${rate}.cpuprofile`));
        console.log(`profiled ${c.name}: ${describe(w!)}`);
      }
      if (args.includes('--perf')) {
        const [w] = await window([c], rate, count, kind, perfRecord);
        console.log(`perf ${c.name} (pid ${c.proc.pid}): ${describe(w!)}`);
      }
    }
    console.log(
      `\nmedians of ${rounds} rounds, ${kind} at ${rate}/s to each contender, ${count} requests each a round:`,
    );
    contenders.forEach((c, i) => console.log(`${c.name}: ${describe(medians(results[i]!))}`));
  } finally {
    for (const c of contenders) await c.proc.stop();
    await sim.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
