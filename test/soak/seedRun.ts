/* eslint-disable no-console -- the soak's progress goes to the terminal as it runs */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  checkLatency,
  checkSession,
  faultsDuring,
  percentiles,
  STUCK_BOUND_MS,
  VIOLATION_KINDS,
  type FaultWindow,
  type RunFacts,
  type SessionFacts,
  type TruthMessage,
  type Violation,
} from './checker';
import { sessionKeyOf } from '../../src/store';
import { SoakSession, type ClientContext, type Latencies } from './client';
import { verifyVapid } from '../support/pushReceiver';
import { apply, describeFault, ResourceTurns, schedule, type Fault } from './faults';
import { checkPushes, type PushSeen } from './pushCheck';
import { seeded } from './random';
import { countViolations, emptyFaultCounts, type PushCounts, type RunReport, type TimelineLine } from './report';
import { pushCustomers, replayCommand, type RunSettings } from './seeds';
import { Truth } from './truth';
import { startWorld, type World } from './world';

/**
 * One seeded run of the chaos soak (docs/reliability.md#the-chaos-soak): the world started, the seed's faults
 * applied while its customers chat, every session checked, the world stopped. Bounded: M minutes plus start-up
 * and at most a minute and a half of settling and checks.
 */

/** Every session holds at most one Genesys socket from this long after the last fault ended. */
const SOCKET_BOUND_MS = 30_000;
/**
 * ... and from this long after the customers stopped. A tab that came back in their last moments opens its stream on
 * any instance: the idle live socket moves there (sessionOwnership.ts renews each second) and a watch lets its socket
 * go (at its next renewal), so for a few seconds the chat may hold three, as Genesys allows. Seed 201291329 counted
 * two such chats one second after their tabs came back.
 */
const SOCKET_SETTLE_MS = 10_000;
/**
 * After the customers stop, how long their views may take to hold every message in history: 30 s, or longer while
 * the service has told a customer whose view lacks some to wait before reading history again (Genesys's limit of
 * reads a session makes a minute), until that wait is over and READ_MARGIN_MS more, never past CONVERGE_MAX_MS.
 */
const CONVERGE_MS = 30_000;
const READ_MARGIN_MS = 5_000;
/** Genesys's read window is a minute: no wait it causes outlasts this. */
const CONVERGE_MAX_MS = 75_000;
const TIMELINE_LINES = 80;
/** Offending sessions whose facts and timelines the report keeps: one per violation kind first. */
const KEPT_SESSIONS = 6;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A 1×1 PNG, for the customers' attachments. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

interface Applied {
  fault: Fault;
  at: number;
  endedAt?: number;
  error?: string;
}

/** The faults applied, as windows from each start to when its resource was whole again; one still on, to `now`. */
function windowsOf(applied: readonly Applied[], t0: number, now?: number): FaultWindow[] {
  return applied.map((a) => ({
    kind: a.fault.kind,
    from: t0 + a.at,
    to: a.endedAt !== undefined ? t0 + a.endedAt : (now ?? t0 + a.at),
  }));
}

/** The world of the run in progress, for the caller to stop on a signal. */
export interface RunHandle {
  world?: World;
}

/** Runs one seed; `handle.world` holds its world while it is up. */
export async function runSeed(args: RunSettings, handle: RunHandle): Promise<RunReport> {
  const command = replayCommand(args);
  const world = await startWorld(args.instances);
  handle.world = world;
  console.log(`soak: ${args.instances} instances, Redis, nginx at ${world.proxy.url} and the simulator are up`);
  const runMs = args.minutes * 60_000;
  const rng = seeded(args.seed);
  const settleMs = Math.min(120_000, Math.max(30_000, runMs * 0.2));
  const faultsUntil = runMs - settleMs;
  const plan = schedule(rng.fork('faults'), args.instances, 5000, faultsUntil);
  const t0 = Date.now();
  const applied: Applied[] = [];
  const latencies: Latencies = { start: [], send: [], history: [], delivery: [] };
  const truth = new Truth(world.sim);
  const ctx: ClientContext = {
    baseUrl: world.proxy.url,
    sim: world.sim,
    t0,
    stopActionsAt: t0 + runMs - settleMs / 2,
    // A read refused for now is tried again through the longest wait the views may converge for.
    hardStopAt: t0 + runMs + CONVERGE_MAX_MS,
    backBy: t0 + runMs,
    faultMsSince: (from) => {
      const now = Date.now();
      return faultsDuring(windowsOf(applied, t0, now), from, now).ms;
    },
    latencies,
    png: new Blob([PNG], { type: 'image/png' }),
    push: pushCustomers()
      ? {
          endpointFor: (name) => `${world.push.receiver.origin}/${name}`,
          agentSay: (name, text) => {
            truth.index();
            const token = truth.tokenOf(name);
            if (token === undefined) return false;
            world.sim.agent.say(token, text);
            return true;
          },
        }
      : undefined,
  };

  // How loaded the machine is, and how late this process (the simulator and the customers) runs its callbacks:
  // what a reader of a latency figure needs to know beside it.
  const lag = monitorEventLoopDelay({ resolution: 20 });
  lag.enable();
  const loads: number[] = [];
  const sampling = setInterval(() => loads.push(os.loadavg()[0]!), 5000);

  // What Genesys holds for each customer, gathered as the run goes.
  ctx.beforeEnd = (name) => truth.gather(name);
  const gathering = setInterval(() => truth.gather(), 500);

  // The faults, in real time.
  const faultRun = (async () => {
    const faultRng = rng.fork('fault-targets');
    const running: Promise<void>[] = [];
    // A fault whose resource is still held by the one before it (late to be undone) waits for it to be over.
    const turns = new ResourceTurns();
    for (const fault of plan) {
      const wait = t0 + fault.at - Date.now();
      if (wait > 0) await sleep(wait);
      const due = Date.now();
      running.push(
        turns.take(fault, async () => {
          const entry: Applied = { fault, at: Date.now() - t0 };
          applied.push(entry);
          const waited =
            Date.now() - due >= 100 ? ` (after ${((Date.now() - due) / 1000).toFixed(1)} s for the one before it)` : '';
          console.log(`soak: ${(entry.at / 1000).toFixed(1)} s ${describeFault(fault)}${waited}`);
          try {
            await apply(world, fault, faultRng, () => truth.guestTokens());
          } catch (error) {
            entry.error = error instanceof Error ? error.message.slice(0, 300) : String(error);
            console.error(`soak: ${fault.kind} failed to apply or undo: ${entry.error}`);
          } finally {
            entry.endedAt = Date.now() - t0;
          }
        }),
      );
    }
    await Promise.all(running);
  })();

  // The customers: K at a time, each slot starting a new chat when its last one is over.
  const sessions: SoakSession[] = [];
  const slots = Array.from({ length: args.sessions }, async (_, slot) => {
    await sleep(Math.floor((slot * 3000) / args.sessions));
    for (let n = 0; Date.now() < ctx.stopActionsAt && n < 100; n += 1) {
      const session = new SoakSession(`s${slot}.${n}`, ctx, rng.fork(`session ${slot}.${n}`));
      sessions.push(session);
      await session.run().catch((error: unknown) => session.note(`customer failed: ${String(error)}`));
    }
  });
  await Promise.all(slots);
  await faultRun;
  clearInterval(sampling);
  lag.disable();
  const lastFaultEnd = Math.max(0, ...applied.map((a) => a.endedAt ?? 0));
  const customersStopped = Date.now();
  console.log(
    `soak: customers stopped at ${((Date.now() - t0) / 1000).toFixed(1)} s; faults ended at ${(lastFaultEnd / 1000).toFixed(1)} s`,
  );

  // Settle: every view catches up with history, bounded.
  const truthOf = (name: string): TruthMessage[] => truth.history(name);
  truth.gather();
  const behind = () =>
    sessions.filter((s) => {
      const view = new Set(s.log.view.map((m) => m.id));
      return s.log.ended === undefined && s.log.lost === undefined && !truthOf(s.log.name).every((m) => view.has(m.id));
    });
  const convergeFrom = Date.now();
  for (let waiting = behind(); waiting.length > 0; waiting = behind()) {
    const told = Math.max(0, ...waiting.map((s) => s.log.readDueAt ?? 0));
    const until = Math.min(convergeFrom + CONVERGE_MAX_MS, Math.max(convergeFrom + CONVERGE_MS, told + READ_MARGIN_MS));
    if (Date.now() >= until) break;
    await sleep(500);
  }

  // Sockets: from the bound on, sampled each second until the checks.
  const socketsDue = Math.max(t0 + lastFaultEnd + SOCKET_BOUND_MS, customersStopped + SOCKET_SETTLE_MS);
  while (Date.now() < socketsDue) await sleep(500);
  const sockets = new Map<string, number>();
  const countedFrom = Date.now();
  for (let i = 0; i < 3; i += 1) {
    for (const s of sessions) {
      const token = truth.tokenOf(s.log.name);
      if (token === undefined) continue;
      const name = s.log.name;
      sockets.set(name, Math.max(sockets.get(name) ?? 0, world.sim.stats.openConnectionsBySession(token)));
    }
    await sleep(1000);
  }

  // A chat subscribed to Web Push whose page stream was not open all along, from a little before the count, may
  // have been watched meanwhile: the watch holds a socket of its own beside the idle live one.
  const watchable = new Set(
    sessions
      .filter((s) => s.log.push?.subscribedAt !== undefined && !streamOpenSince(s, countedFrom - WATCH_END_MS))
      .map((s) => s.log.name),
  );

  truth.gather();
  clearInterval(gathering);
  const run: RunFacts = { t0, faults: windowsOf(applied, t0) };
  const violations: Violation[] = [];
  const allFacts: SessionFacts[] = [];
  const stats = world.sim.stats;
  for (const s of sessions) {
    const token = truth.tokenOf(s.log.name);
    const facts: SessionFacts = {
      name: s.log.name,
      history: truthOf(s.log.name),
      view: s.log.view.filter((m) => m.type !== 'event'),
      connections: s.log.connections,
      acked: s.log.acked,
      ended: s.log.ended,
      sockets: sockets.get(s.log.name),
      socketsAllowed: watchable.has(s.log.name) ? 2 : 1,
      socketPeak: token === undefined ? undefined : stats.peakConnectionsBySession(token),
      evictions: token === undefined ? undefined : stats.evictionsBySession(token),
      retryAfterMissing: s.log.retryAfterMissing,
      storeRefusals: s.log.storeRefusals,
      operations: s.log.operations,
      lost: s.log.lost,
    };
    // A chat refused as lost (a Redis that lost its standing record) is held to what it was told before.
    if (s.log.lost !== undefined) facts.view = facts.history.filter((m) => s.log.view.some((v) => v.id === m.id));
    allFacts.push(facts);
    violations.push(...checkSession(facts, run));
  }
  const logs = process.env.SOAK_LOGS;
  if (logs) {
    // Which chat the instances' log lines (their `chat` field) name for each customer.
    const keys = sessions.map((s) => [s.log.name, truth.tokenOf(s.log.name)] as const);
    const lines = keys.filter(([, token]) => token !== undefined).map(([n, t]) => `${n}\t${sessionKeyOf(t!)}\n`);
    fs.writeFileSync(path.join(logs, 'chats.tsv'), lines.join(''));
  }
  const push = await checkPushesOf(sessions, world, truthOf, run);
  violations.push(...push.violations);
  const latency = checkLatency(latencies, run);
  violations.push(...latency.violations);
  for (const s of sessions) s.close();

  const faults = emptyFaultCounts();
  for (const a of applied) faults[a.fault.kind] += 1;
  const offending = [...new Set(violations.map((v) => v.session))];
  // One offending session per kind first, so each kind's timeline is kept, then the first others.
  const kept = [
    ...new Set([...VIOLATION_KINDS.map((k) => violations.find((v) => v.kind === k)?.session), ...offending]),
  ]
    .filter((name): name is string => name !== undefined && name !== '(run)')
    .slice(0, KEPT_SESSIONS);
  // Each moment a socket left the session with 3 or more at Genesys: where to look for a `socket_peak`.
  const crowdedLines = (name: string): TimelineLine[] => {
    const token = truth.tokenOf(name);
    return token === undefined
      ? []
      : stats.crowdedJoinsBySession(token).map(({ at, open }) => ({
          t: at - t0,
          what: `GENESYS a socket joined: ${open} open${open > 3 ? ', the oldest evicted' : ''}`,
        }));
  };
  const timelineOf = (name: string) =>
    withFaults(
      sessions.find((x) => x.log.name === name)!,
      applied,
      [...(push.lines.get(name) ?? []), ...crowdedLines(name)],
    );
  const givenUpBy: Record<string, number> = {};
  for (const s of sessions) for (const g of s.log.gaveUp) givenUpBy[g.why] = (givenUpBy[g.why] ?? 0) + 1;
  const sessionsByPeak: Record<string, number> = {};
  for (const f of allFacts)
    if (f.socketPeak) sessionsByPeak[String(f.socketPeak)] = (sessionsByPeak[String(f.socketPeak)] ?? 0) + 1;
  const report: RunReport = {
    seed: args.seed,
    command,
    startedAt: new Date(t0).toISOString(),
    minutes: args.minutes,
    instances: args.instances,
    concurrentSessions: args.sessions,
    wallSeconds: Math.round((Date.now() - t0) / 1000),
    sessions: {
      started: sessions.filter((s) => s.log.startedAt !== undefined).length,
      neverStarted: sessions.filter((s) => s.log.startedAt === undefined).length,
      ended: sessions.filter((s) => s.log.ended).length,
      signedIn: sessions.filter((s) => s.log.signedIn).length,
      lost: sessions.filter((s) => s.log.lost !== undefined).length,
    },
    messages: {
      inHistory: sessions.reduce((n, s) => n + truthOf(s.log.name).length, 0),
      sendsAcknowledged: sessions.reduce((n, s) => n + s.log.acked.length, 0),
      sendsGivenUp: sessions.reduce((n, s) => n + s.log.gaveUp.length, 0),
      givenUpBy,
      invalidOnPurpose: sessions.reduce(
        (n, s) => n + s.log.operations.filter((op) => op.deliberate && op.last === op.deliberate).length,
        0,
      ),
      streamConnections: sessions.reduce((n, s) => n + s.log.connections.length, 0),
    },
    replayIncomplete: sessions.reduce((n, s) => n + s.log.connections.filter((c) => c.replayIncomplete).length, 0),
    push: push.counts,
    faults,
    genesysSockets: { sessionsByPeak, evicted: stats.connectionsEvicted },
    machine: {
      cores: os.availableParallelism(),
      loadAverage: {
        mean: Math.round((loads.reduce((a, b) => a + b, 0) / Math.max(1, loads.length)) * 10) / 10,
        max: Math.round(Math.max(0, ...loads) * 10) / 10,
      },
      eventLoopDelayMs: { p99: Math.round(lag.percentile(99) / 1e6), max: Math.round(lag.max / 1e6) },
    },
    violations: countViolations(violations),
    latencyMs: {
      start: percentiles(latencies.start.map((x) => x.ms)),
      send: percentiles(latencies.send.map((x) => x.ms)),
      history: percentiles(latencies.history.map((x) => x.ms)),
      delivery: percentiles(latencies.delivery.map((x) => x.ms)),
    },
    latencyOutsideFaults: latency.rows,
    socketBoundSeconds: SOCKET_BOUND_MS / 1000,
    stuckBoundSeconds: STUCK_BOUND_MS / 1000,
    offending,
    details: [
      ...violations.filter((v) => v.session === '(run)'),
      ...violations.filter((v) => v.session !== '(run)'),
    ].slice(0, 50),
    offendingFacts: allFacts
      .filter((f) => kept.includes(f.name))
      .map((f) => ({
        ...f,
        view: f.view.map((m) => ({ id: m.id, time: m.time })),
        timeline: timelineOf(f.name).slice(-TIMELINE_LINES),
      })),
  };
  await world.stop();
  handle.world = undefined;

  console.log(
    JSON.stringify({ sessions: report.sessions, messages: report.messages, faults, violations: report.violations }),
  );
  // SOAK_TRACE=s6.0,s12.6: those sessions' own notes, violation or not (to follow one across a rerun).
  for (const name of (process.env.SOAK_TRACE ?? '').split(',').filter(Boolean)) {
    const traced = sessions.find((x) => x.log.name === name);
    console.log(`\n--- trace ${name}${traced ? '' : ' (no such session)'}`);
    for (const line of traced?.log.timeline ?? []) console.log(`  ${clock(line.t)}  ${line.what}`);
  }
  if (violations.length > 0) {
    console.error(`\nsoak: ${violations.length} violations; seed ${args.seed}; replay with: ${command}`);
    for (const v of violations.filter((x) => x.session === '(run)'))
      console.error(`  VIOLATION ${v.kind}: ${v.detail}`);
    for (const name of kept.slice(0, 3)) {
      console.error(`\n--- session ${name}`);
      for (const v of violations.filter((x) => x.session === name)) console.error(`  VIOLATION ${v.kind}: ${v.detail}`);
      for (const line of timelineOf(name).slice(-TIMELINE_LINES)) console.error(`  ${clock(line.t)}  ${line.what}`);
    }
  }
  return report;
}

/** How long a watch may outlive a page stream's opening: another instance's watch ends at its next renewal. */
const WATCH_END_MS = 5000;

/** The session's page has had its stream open (answered, not ended) since `since` (epoch ms). */
function streamOpenSince(s: SoakSession, since: number): boolean {
  const last = s.log.connections[s.log.connections.length - 1];
  return last !== undefined && last.status === 200 && last.endedAt === undefined && last.openedAt <= since;
}

const clock = (ms: number) => `${(ms / 1000).toFixed(2).padStart(8)} s`;

/** A session's own notes with the faults of its lifetime (from 10 s before its first note to its last) among them. */
function withFaults(s: SoakSession, applied: Applied[], more: TimelineLine[]): TimelineLine[] {
  const notes = s.log.timeline;
  const [from, to] = [(notes[0]?.t ?? 0) - 10_000, (notes[notes.length - 1]?.t ?? Infinity) + 1000];
  const faultLines = applied
    .filter((a) => a.at >= from && a.at <= to)
    .map((a) => ({
      t: a.at,
      what: `FAULT ${describeFault(a.fault)}${a.endedAt ? `, over at ${(a.endedAt / 1000).toFixed(1)} s` : ''}`,
    }));
  return [...notes, ...faultLines, ...more].sort((a, b) => a.t - b.t);
}

/**
 * Every subscribed chat's pushes, as its browser reads them (RFC 8291 decryption with its keys, the RFC 8292 VAPID
 * signature checked), judged against what Genesys holds and when its tab was closed (pushCheck.ts). A push to an
 * address no subscription gave is a run's violation. Answers the violations, the counts for the report and each
 * chat's pushes as timeline lines.
 */
async function checkPushesOf(
  sessions: SoakSession[],
  world: World,
  truthOf: (name: string) => TruthMessage[],
  run: RunFacts,
): Promise<{ violations: Violation[]; counts: PushCounts; lines: Map<string, TimelineLine[]> }> {
  const { receiver, vapidPublicKey } = world.push;
  const counts: PushCounts = {
    subscribedChats: 0,
    tabsClosed: 0,
    repliesAway: 0,
    carried: 0,
    owed: 0,
    excused: 0,
    pushes: 0,
  };
  const violations: Violation[] = [];
  const lines = new Map<string, TimelineLine[]>();
  const known = new Set<string>();
  for (const s of sessions) {
    const log = s.log.push;
    if (log === undefined) continue;
    const path = new URL(log.endpoint).pathname;
    // A subscription the customer gave up on may still have been stored: its pushes are no stranger's.
    known.add(path);
    if (log.subscribedAt === undefined) continue;
    const pushes: PushSeen[] = [];
    for (const r of receiver.received.filter((x) => x.path === path)) {
      try {
        await verifyVapid(r.headers, vapidPublicKey, receiver.origin);
        const payload = JSON.parse(s.readPush(r.body)) as PushSeen['payload'];
        pushes.push({ at: r.at, payload });
      } catch (error) {
        pushes.push({ at: r.at, problem: error instanceof Error ? error.message : String(error) });
      }
    }
    lines.set(
      s.log.name,
      pushes.map((p) => ({
        t: p.at - run.t0,
        what: `PUSH ${p.problem ?? JSON.stringify(p.payload?.preview ?? p.payload)}`,
      })),
    );
    const verdict = checkPushes(
      {
        name: s.log.name,
        subscribedAt: log.subscribedAt,
        url: log.url,
        history: truthOf(s.log.name),
        away: log.away,
        pushes,
      },
      run,
    );
    violations.push(...verdict.violations);
    counts.subscribedChats += 1;
    counts.tabsClosed += log.away.length;
    counts.repliesAway += verdict.repliesAway;
    counts.carried += verdict.carried;
    counts.owed += verdict.owed;
    counts.excused += verdict.excused;
    counts.pushes += verdict.pushes;
  }
  const stray = receiver.received.filter((r) => !known.has(r.path));
  if (stray.length > 0)
    violations.push({
      kind: 'push_unknown',
      session: '(run)',
      detail: `${stray.length} pushes to addresses no customer subscribed: ${[...new Set(stray.map((r) => r.path))].slice(0, 5).join(', ')}`,
    });
  return { violations, counts, lines };
}
