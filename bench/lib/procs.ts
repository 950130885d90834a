import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requestJson } from './http';
import { InspectorProfiler } from './profiler';
import { deploymentEntryFor, genesysEnvFor } from '../../simulator/env';
import { startSimWithAdmin } from './simAdmin';

/**
 * The service and the simulator as separate processes, as a user runs them:
 * the service configured only through environment variables that point at
 * the simulator (the same variables as test/support/stack.ts simulatorEnv).
 */

export const BUILD_DIR = join(__dirname, '..', '..');
export const SERVICE_MAIN = join(BUILD_DIR, 'src', 'main.js');
export const SERVICE_WITH_BENCH_ROUTES = join(BUILD_DIR, 'bench', 'serviceProcess.js');
export const SIM_MAIN = join(BUILD_DIR, 'bench', 'simProcess.js');
export const BARE_EXPRESS_MAIN = join(BUILD_DIR, 'bench', 'bareExpressProcess.js');

export const PAGE_ORIGIN = 'http://localhost:3000';
export const SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghijklmnop';

export interface SimInfo {
  url: string;
  urls: { loginUrl: string; apiUrl: string; cdnUrl: string; webMessagingUrl: string };
  deploymentId: string;
  credentials: { clientId: string; clientSecret: string };
  adminUrl: string;
}

export interface SimStats {
  connectionsOpened: number;
  openConnections: number;
  tokenRequests: number;
  tokenRequestTimes: number[];
  historyRequests: number;
  deploymentRequests: number;
  configRequests: number;
  rssBytes: number;
}

export interface SimProcess extends SimInfo {
  /** The process it runs in: the load generator's own with the in-process stand-in. */
  pid: number;
  standIn: StandIn;
  admin<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  stats(): Promise<SimStats>;
  stop(): Promise<void>;
}

export interface ServiceProcess {
  pid: number;
  url: string;
  /** From spawn() to the first /readyz 200. */
  readyMs: number;
  /** From spawn() to the first HTTP answer of any status (listening). */
  listenMs: number;
  rssBytes(): number;
  /** Set when started with `inspect`: profiles a window of the service's life. */
  profiler?: InspectorProfiler;
  stop(): Promise<void>;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resident set size of a process, from /proc (Linux). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU time of a process in ms, from /proc (Linux; clock ticks of 10 ms). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Time a process has spent runnable but waiting for a CPU, in ms (/proc/<pid>/schedstat, Linux). */
export function runQueueWaitMsOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}

/** CPU time the hypervisor has given to others while this VM wanted it, all cores, in ms (/proc/stat steal). */
export function stolenMs(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    return Number(cpu[8]) * 10;
  } catch {
    return NaN;
  }
}

/**
 * What kept a process from running over a window, in ms per second: CPU
 * stolen from the whole VM by its host, and the process's own wait for a CPU.
 */
export function contentionMeter(pid: number): () => { stolenMsPerS: number; runQueueWaitMsPerS: number } {
  const t0 = performance.now();
  const stolen0 = stolenMs();
  const wait0 = runQueueWaitMsOf(pid);
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    return {
      stolenMsPerS: (stolenMs() - stolen0) / seconds,
      runQueueWaitMsPerS: (runQueueWaitMsOf(pid) - wait0) / seconds,
    };
  };
}

/** CPU used by each process over a window, in ms: `const stop = cpuMeter({service: pid}); ...; stop()`. */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMsOf(pid)]));
  const self = process.cpuUsage();
  return () => {
    const out: Record<string, number> = Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => [k, cpuMsOf(pid) - before[k]!]),
    );
    const used = process.cpuUsage(self);
    out.client = (used.user + used.system) / 1000;
    return out;
  };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Where the Genesys stand-in runs: in its own process (the default), or inside
 * this one, the load generator's (bench/README.md#two-stand-ins).
 */
export type StandIn = 'process' | 'in-process';

export async function startSim(
  options: object,
  nodeArgs: string[] = [],
  standIn: StandIn = 'process',
): Promise<SimProcess> {
  if (standIn === 'in-process') return startSimHere(options);
  const child = spawn(process.execPath, [...nodeArgs, SIM_MAIN], {
    env: { ...process.env, SIM_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<SimInfo>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('simulator did not start within 10 s')), 10_000);
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      lines.close();
      child.stdout!.resume();
      resolve(JSON.parse(line.slice(6)) as SimInfo);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  const admin = adminOf(info.adminUrl);
  return {
    ...info,
    pid: child.pid!,
    standIn: 'process',
    admin,
    stats: () => admin<SimStats>('GET', '/stats'),
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child, 5000);
    },
  };
}

/** The stand-in inside this process: the same simulator and admin endpoints, reached the same way. */
async function startSimHere(options: object): Promise<SimProcess> {
  const running = await startSimWithAdmin(options);
  const admin = adminOf(running.info.adminUrl);
  return {
    ...running.info,
    pid: process.pid,
    standIn: 'in-process',
    admin,
    stats: () => admin<SimStats>('GET', '/stats'),
    stop: () => running.stop(),
  };
}

function adminOf(adminUrl: string) {
  return async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await requestJson(`${adminUrl}${path}`, { method, body, timeoutMs: 120_000 });
    if (res.status !== 200) throw new Error(`sim admin ${path}: ${res.status} ${res.text}`);
    return res.json as T;
  };
}

/**
 * The environment a user would write for this simulator. With BENCH_DEPLOYMENTS=N (N > 1) the same deployment is
 * served with N - 1 more beside it, from a deployments file: each of its own name and origin, all on this simulator,
 * idle but for their background work; the load goes to the first, as a page of `PAGE_ORIGIN` chooses it.
 */
export function serviceEnv(sim: SimInfo, port: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = singleDeploymentEnv(sim, port, overrides);
  const count = Number(process.env.BENCH_DEPLOYMENTS ?? 1);
  return count > 1 ? withDeploymentsFile(env, sim, count) : env;
}

/** `env` with its deployment and `count - 1` others in a deployments file instead of its variables. */
function withDeploymentsFile(env: NodeJS.ProcessEnv, sim: SimInfo, count: number): NodeJS.ProcessEnv {
  const entry = (name: string, origins: string[]) => ({
    ...deploymentEntryFor(sim, name, origins),
    genesysOrigin: PAGE_ORIGIN,
  });
  const deployments = [
    entry('default', env.CORS_ALLOWED_ORIGINS!.split(',')),
    ...Array.from({ length: count - 1 }, (_, i) => entry(`brand-${i + 2}`, [`https://brand-${i + 2}.example`])),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'bench-deployments-'));
  const file = join(dir, 'deployments.json');
  writeFileSync(file, JSON.stringify({ deployments }));
  const { GENESYS_ORIGIN: _o, CORS_ALLOWED_ORIGINS: _c, ...rest } = env;
  for (const key of Object.keys(rest))
    if (/^GENESYS_(REGION|DEPLOYMENT_ID|CLIENT_|.*_URL$)/.test(key)) delete rest[key];
  return { ...rest, DEPLOYMENTS_FILE: file };
}

function singleDeploymentEnv(sim: SimInfo, port: number, overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    ...genesysEnvFor(sim),
    GENESYS_ORIGIN: PAGE_ORIGIN,
    CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},https://shop.example.com`,
    SESSION_SECRET,
    // Every benchmark client is one loopback address: the per-address limits would measure themselves.
    SESSIONS_PER_IP_PER_MINUTE: '100000',
    STREAMS_PER_IP: '100000',
    CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '100000',
    ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: '1000000',
    SIGN_INS_PER_IP_PER_MINUTE: '100000',
    // 10,000 streams and their senders from one address, on one instance.
    CONNECTIONS_PER_IP: '1000000',
    CONNECTIONS_MAX: '1000000',
    SHUTDOWN_GRACE_MS: '2000',
    // The stand-in's own message limit is raised to 100/s and it keeps no per-connection request budget; the
    // load spreads over sessions so that none sends more often than every 250 ms. Pacing to Genesys's published
    // 2 a second and 60 frames a minute would measure the waits the service adds on purpose, not its cost.
    GENESYS_MESSAGES_PER_SECOND: '5',
    GENESYS_REQUESTS_PER_MINUTE: '10000',
    // What the service costs with its metrics served and its spans exported (bench/README.md#metrics-and-traces).
    ...(process.env.BENCH_METRICS === '1' ? { METRICS_PORT: '0' } : {}),
    ...(process.env.BENCH_OTLP_ENDPOINT ? { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.BENCH_OTLP_ENDPOINT } : {}),
    ...overrides,
  };
}

/**
 * A stand-in OTLP/HTTP collector for BENCH_TRACING=1: takes every POST
 * (spans arrive in batches) and answers 200, counting what it got.
 */
export async function startOtlpSink(): Promise<{
  url: string;
  received(): { requests: number; bytes: number };
  close(): Promise<void>;
}> {
  let requests = 0;
  let bytes = 0;
  const server = createHttpServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => ({ requests, bytes }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ServiceStart {
  env: NodeJS.ProcessEnv;
  port: number;
  entry?: string;
  nodeArgs?: string[];
  /** Service log lines (JSON, stdout) go here. */
  logFile: string;
  readyTimeoutMs?: number;
  /** Open the inspector on an ephemeral loopback port, for window profiles. */
  inspect?: boolean;
}

export async function startServiceProcess(start: ServiceStart): Promise<ServiceProcess> {
  mkdirSync(join(start.logFile, '..'), { recursive: true });
  const logFd = openSync(start.logFile, 'a');
  const t0 = performance.now();
  const nodeArgs = [...(start.nodeArgs ?? []), ...(start.inspect ? ['--inspect=127.0.0.1:0'] : [])];
  const child = spawn(process.execPath, [...nodeArgs, start.entry ?? SERVICE_MAIN], {
    env: start.env,
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  let stderr = '';
  let inspectorUrl: string | undefined;
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const url = `http://127.0.0.1:${start.port}`;
  const deadline = t0 + (start.readyTimeoutMs ?? 15_000);
  let readyMs = NaN;
  let listenMs = NaN;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await requestJson(`${url}/readyz`, { timeoutMs: 1000, fresh: true });
      if (Number.isNaN(listenMs)) listenMs = performance.now() - t0;
      if (res.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service not ready within ${start.readyTimeoutMs ?? 15_000} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const profiler = inspectorUrl ? new InspectorProfiler(inspectorUrl) : undefined;
  return {
    pid: child.pid!,
    url,
    readyMs,
    listenMs,
    rssBytes: () => rssOf(child.pid!),
    profiler,
    async stop() {
      profiler?.close();
      child.kill('SIGTERM');
      await waitExit(child, 10_000);
    },
  };
}
