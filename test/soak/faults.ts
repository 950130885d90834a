import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import type { Random } from './random';
import type { World } from './world';

/**
 * The fault schedule: generated from the seed before the run, then applied in real time. Each fault holds
 * one resource (an instance, Redis, or the way to Genesys) for its duration, so two faults never fight over
 * one process; faults on different resources overlap freely. The schedule leaves each fault its duration and a
 * second, but undoing one takes longer on a loaded machine (a restart waits for the process to stop and start), so
 * a fault also waits, when it is due, for the one before it on its resource to be over (`ResourceTurns`).
 */

export const FAULT_KINDS = [
  'instance_sigkill',
  'instance_sigterm',
  'instance_starved',
  'redis_sigkill',
  'redis_sigstop',
  'redis_restart',
  'genesys_refusing',
  'genesys_hanging',
  'genesys_slow',
  'network_delay',
  'socket_drop',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  kind: FaultKind;
  /** Run-relative start, ms. */
  at: number;
  /** How long the resource stays faulty, ms (0: a single event). */
  durationMs: number;
  /** The instance, for instance faults. */
  instance?: number;
  /** Frame or network delay, ms. */
  delayMs?: number;
  /** socket_drop: every session's sockets, or one random session's. */
  all?: boolean;
  /** instance_starved: the busy processes sharing its one CPU. */
  hogs?: number;
}

const WEIGHTS: Record<FaultKind, number> = {
  instance_sigkill: 3,
  instance_sigterm: 2,
  instance_starved: 2,
  redis_sigkill: 1,
  redis_sigstop: 1,
  redis_restart: 1,
  genesys_refusing: 2,
  genesys_hanging: 1,
  genesys_slow: 2,
  network_delay: 2,
  socket_drop: 4,
};

function resourceOf(f: Fault): string {
  if (f.instance !== undefined) return `instance ${f.instance}`;
  if (f.kind.startsWith('redis')) return 'redis';
  if (f.kind === 'socket_drop') return 'sockets';
  return 'genesys';
}

/**
 * Runs each fault's work once the work of every fault before it on the same resource is over, failed or not; work
 * on different resources runs at once. Without it a restart of Redis still under way when the next Redis fault was
 * due overlapped it: two restarts started two servers on one port, and a pause's resume went to the wrong one.
 */
export class ResourceTurns {
  private readonly last = new Map<string, Promise<void>>();

  /** `work` for `fault`, started once its resource is free; settles as `work` does. */
  take(fault: Fault, work: () => Promise<void>): Promise<void> {
    const resource = resourceOf(fault);
    const turn = (this.last.get(resource) ?? Promise.resolve()).then(work);
    this.last.set(
      resource,
      turn.catch(() => undefined),
    );
    return turn;
  }
}

/** The schedule between `from` and `until` (run-relative ms): every fault is over by `until`. */
export function schedule(rng: Random, instances: number, from: number, until: number): Fault[] {
  const faults: Fault[] = [];
  const busy = new Map<string, number>();
  const bag = FAULT_KINDS.flatMap((k) => Array<FaultKind>(WEIGHTS[k]).fill(k));
  // Bounded: at most one fault per 1.5 s of the window.
  for (let at = from + rng.int(1000, 4000); at < until && faults.length < (until - from) / 1500;) {
    const kind = rng.pick(bag);
    const f: Fault = { kind, at, durationMs: 0 };
    switch (kind) {
      case 'instance_sigkill':
      case 'instance_sigterm':
        f.instance = rng.int(0, instances - 1);
        f.durationMs = rng.int(1000, 8000); // down this long before it is started again
        break;
      case 'instance_starved':
        f.instance = rng.int(0, instances - 1);
        f.durationMs = rng.int(5000, 20_000);
        f.hogs = rng.int(8, 24);
        break;
      case 'redis_sigkill':
      case 'redis_restart':
        f.durationMs = rng.int(500, 4000);
        break;
      case 'redis_sigstop':
        f.durationMs = rng.int(2000, 15_000);
        break;
      case 'genesys_refusing':
        f.durationMs = rng.int(3000, 30_000);
        break;
      case 'genesys_hanging':
        f.durationMs = rng.int(3000, 15_000);
        break;
      case 'genesys_slow':
        f.durationMs = rng.int(5000, 20_000);
        f.delayMs = rng.int(300, 3000);
        break;
      case 'network_delay':
        f.durationMs = rng.int(5000, 20_000);
        f.delayMs = rng.int(20, 400);
        break;
      case 'socket_drop':
        f.all = rng.chance(0.25);
        break;
    }
    // Restarting takes a few seconds of its own; every fault ends in the window.
    const end = f.at + f.durationMs + (f.instance !== undefined ? 5000 : 0);
    const resource = resourceOf(f);
    if (end < until && (busy.get(resource) ?? 0) <= f.at) {
      faults.push(f);
      busy.set(resource, end + 1000);
    }
    at += rng.int(1500, 9000);
  }
  return faults;
}

export function describeFault(f: Fault): string {
  const target = f.instance !== undefined ? ` instance ${f.instance}` : '';
  const delay = f.delayMs !== undefined ? ` +${f.delayMs} ms` : '';
  const drop =
    f.kind === 'socket_drop'
      ? f.all
        ? ' (every session)'
        : ' (one session)'
      : f.hogs !== undefined
        ? ` (${f.hogs} busy processes on its CPU)`
        : '';
  return `${f.kind}${target}${delay}${drop}${f.durationMs ? ` for ${(f.durationMs / 1000).toFixed(1)} s` : ''}`;
}

/** Requests kept in flight to a starved instance. */
const BURST_REQUESTS = 48;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Applies one fault and undoes it after its duration; resolves when the resource is whole again. */
export async function apply(world: World, f: Fault, rng: Random, guestTokens: () => string[]): Promise<void> {
  const { sim, relay, redis } = world;
  switch (f.kind) {
    case 'instance_sigkill':
    case 'instance_sigterm': {
      const instance = world.instances[f.instance!]!;
      await instance.signal(f.kind === 'instance_sigkill' ? 'SIGKILL' : 'SIGTERM');
      await sleep(f.durationMs);
      await instance.start();
      return;
    }
    case 'instance_starved': {
      // A starved CPU (a busy node, a container sharing its cores): the instance is pinned to one CPU that `hogs`
      // busy processes share with it, so it gets a small share of it, and its event loop runs late. A burst of
      // requests straight to it (a spike of its share of traffic) gives the loop a backlog to work through.
      // Redis and Genesys are untouched.
      const instance = world.instances[f.instance!]!;
      const pid = instance.pid;
      if (pid === undefined) return;
      const cpu = String(rng.int(0, os.cpus().length - 1));
      const all = `0-${os.cpus().length - 1}`;
      const hogs: ChildProcess[] = [];
      try {
        spawnSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
        for (let i = 0; i < f.hogs!; i++) {
          const hog = spawn('taskset', ['-c', cpu, process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
          // Without taskset (util-linux) the instance is only sent the burst.
          hog.on('error', () => undefined);
          hogs.push(hog);
        }
        const until = Date.now() + f.durationMs;
        await Promise.all(
          Array.from({ length: BURST_REQUESTS }, async () => {
            while (Date.now() < until) {
              const res = await fetch(`${instance.url}/capabilities`, { signal: AbortSignal.timeout(10_000) }).catch(
                () => undefined,
              );
              await res?.arrayBuffer().catch(() => undefined);
              if (!res) await sleep(50);
            }
          }),
        );
      } finally {
        for (const hog of hogs) hog.kill('SIGKILL');
        spawnSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
      }
      return;
    }
    case 'redis_sigkill':
    case 'redis_restart':
      await redis.kill(f.kind === 'redis_sigkill' ? 'SIGKILL' : 'SIGTERM');
      await sleep(f.durationMs);
      await redis.restart();
      return;
    case 'redis_sigstop':
      redis.pause();
      await sleep(f.durationMs);
      redis.resume();
      return;
    case 'genesys_refusing':
    case 'genesys_hanging':
      relay.set(f.kind === 'genesys_refusing' ? 'refuse' : 'hang');
      await sleep(f.durationMs);
      relay.set('pass');
      return;
    case 'genesys_slow':
      sim.faults.delayFrames(f.delayMs!);
      sim.faults.delayRest('history', f.delayMs!);
      await sleep(f.durationMs);
      sim.faults.delayFrames(0);
      sim.faults.clear();
      return;
    case 'network_delay':
      relay.delay(f.delayMs!);
      await sleep(f.durationMs);
      relay.delay(0);
      return;
    case 'socket_drop': {
      if (f.all) return sim.faults.dropSocket();
      const tokens = guestTokens();
      if (tokens.length > 0) sim.faults.dropSocket(rng.pick(tokens));
      return;
    }
  }
}
