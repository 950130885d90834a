import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { summarize } from './load';

/**
 * How long a relaying process works on a request while the client waits
 * for it, read from the process's own system calls (`perf record` of the
 * raw_syscalls tracepoints, Linux). On the main thread, a request is:
 *
 *   wake (epoll returns) → read the request on a client connection → …
 *   → write the frame upstream                     [phase A: request → frame]
 *   … wake → read the echo upstream → … → write the HTTP response
 *                                                  [phase B: echo → response]
 *
 * A + B is what the process adds to the round trip; the wait for the
 * upstream in between is the simulator's. Client connections are told from
 * upstream sockets by use: the load generator's few keep-alive connections
 * carry many requests each, while each session's upstream socket carries a
 * few. With no upstream step (`GET /healthz`), A is wake → response.
 * Tracing every system call slows each by a microsecond or two, alike for
 * every contender.
 */
export interface OnPath {
  requests: number;
  /** Median µs, wake → frame written upstream (or → response when there is no upstream step). */
  a: number;
  /** Median µs, wake on the echo → response written. */
  b: number;
  /** Median µs of A + B per request. */
  total: number;
  /** Mean µs per request the main thread was on a CPU within A and B (CPU samples, so a preempted stretch does not count). */
  cpu: number;
}

const READ = 0;
const WRITE = 1;
const WRITEV = 20;
const EPOLL_PWAIT = 281;

interface Call {
  start: number;
  end: number;
  nr: number;
  fd: number;
  ret: number;
}

/** CPU samples of the traced process per second: each stands for 1/SAMPLE_HZ s on a CPU. */
const SAMPLE_HZ = 4_000;

export function startSyscallTrace(pid: number, file: string): ChildProcess {
  const events = [
    '-c',
    '1',
    '-e',
    'raw_syscalls:sys_enter',
    '-e',
    'raw_syscalls:sys_exit',
    '-e',
    `cpu-clock/freq=${SAMPLE_HZ}/`,
  ];
  return spawn('perf', ['record', '-q', '-m', '8M', ...events, '-p', String(pid), '-o', file], { stdio: 'ignore' });
}

export async function stopTrace(tracer: ChildProcess): Promise<void> {
  if (tracer.exitCode !== null || tracer.signalCode !== null) throw new Error(`perf exited early (${tracer.exitCode})`);
  const exited = new Promise((resolve) => tracer.once('exit', resolve));
  tracer.kill('SIGINT');
  await exited;
}

function mainThread(file: string, pid: number): { calls: Call[]; samples: number[] } {
  const out = spawnSync('perf', ['script', '-i', file, '-F', 'tid,time,event,trace'], {
    encoding: 'latin1',
    maxBuffer: 1 << 30,
  }).stdout;
  const calls: Call[] = [];
  const samples: number[] = [];
  let open: { start: number; nr: number; fd: number } | undefined;
  for (const line of out.split('\n')) {
    const m =
      /^\s*(\d+)\s+([\d.]+):\s+(?:raw_syscalls:sys_(enter|exit):\s+NR (\d+) (?:\(([0-9a-f]+)|= (-?\d+))|cpu-clock)/.exec(
        line,
      );
    if (!m || Number(m[1]) !== pid) continue;
    const t = Number(m[2]) * 1e6;
    if (m[3] === undefined) {
      samples.push(t);
      continue;
    }
    const nr = Number(m[4]);
    if (m[3] === 'enter') open = { start: t, nr, fd: m[5] !== undefined ? parseInt(m[5], 16) : -1 };
    else if (open && open.nr === nr) {
      calls.push({ start: open.start, end: t, nr, fd: open.fd, ret: Number(m[6]) });
      open = undefined;
    }
  }
  return { calls, samples };
}

/** How many of the sorted sample times fall in [from, to]. */
function samplesIn(samples: number[], from: number, to: number): number {
  const firstAtOrAfter = (t: number) => {
    let lo = 0;
    let hi = samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (samples[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return firstAtOrAfter(to) - firstAtOrAfter(from);
}

export function onPathOf(file: string, pid: number, upstream: boolean): OnPath {
  const { calls, samples } = mainThread(file, pid);
  const uses = new Map<number, number>();
  for (const c of calls) if ((c.nr === READ || c.nr === WRITEV) && c.ret > 0) uses.set(c.fd, (uses.get(c.fd) ?? 0) + 1);
  const client = new Set([...uses].filter(([, n]) => n > 20).map(([fd]) => fd));
  const spans: { a: [number, number]; b?: [number, number] }[] = [];
  let wake: number | undefined;
  let request: { wake: number; frame?: number; echoWake?: number } | undefined;
  for (const c of calls) {
    if (c.nr === EPOLL_PWAIT) {
      wake = c.end;
      continue;
    }
    const isClient = client.has(c.fd);
    const isWrite = c.nr === WRITEV || c.nr === WRITE;
    if (c.nr === READ && isClient && c.ret > 16 && wake !== undefined) {
      request = { wake };
    } else if (request && upstream && isWrite && !isClient && c.fd > 2 && c.ret > 100 && request.frame === undefined) {
      request.frame = c.start;
    } else if (
      request &&
      upstream &&
      request.frame !== undefined &&
      request.echoWake === undefined &&
      c.nr === READ &&
      !isClient &&
      c.ret > 100
    ) {
      request.echoWake = wake;
    } else if (request && isWrite && isClient && (!upstream || request.echoWake !== undefined)) {
      spans.push(
        upstream
          ? { a: [request.wake, request.frame!], b: [request.echoWake!, c.start] }
          : { a: [request.wake, c.start] },
      );
      request = undefined;
    }
  }
  const length = (s?: [number, number]) => (s ? s[1] - s[0] : 0);
  const onCpu = (s?: [number, number]) => (s ? samplesIn(samples, s[0], s[1]) : 0);
  const sampled = spans.reduce((sum, s) => sum + onCpu(s.a) + onCpu(s.b), 0);
  return {
    requests: spans.length,
    a: summarize(spans.map((s) => length(s.a))).p50,
    b: summarize(spans.map((s) => length(s.b))).p50,
    total: summarize(spans.map((s) => length(s.a) + length(s.b))).p50,
    cpu: spans.length > 0 ? (sampled * 1e6) / SAMPLE_HZ / spans.length : NaN,
  };
}
