import fs from 'node:fs';
import path from 'node:path';
import {
  LATENCY_MIN_SAMPLES,
  VIOLATION_KINDS,
  type LatencyVerdict,
  type Percentiles,
  type SessionFacts,
  type Violation,
  type ViolationKind,
} from './checker';
import { FAULT_KINDS, type FaultKind } from './faults';
import type { RunChoice } from './seeds';

/**
 * The soak's report: JSON for tools, a markdown page for people (linked from docs/reliability.md). One file holds
 * a part per way of choosing seeds: the last single run (`--seed`, or none), the last seeds drawn or ranged
 * (`--seeds`), the last run of the regression seeds (`--regressions`); a command replaces its own part only.
 * Each part has a row per seed; a failing seed keeps its whole report, with its offending sessions' timelines.
 */

export interface TimelineLine {
  t: number;
  what: string;
}

/** What one seed's run found. */
export interface RunReport {
  seed: number;
  command: string;
  startedAt: string;
  minutes: number;
  instances: number;
  concurrentSessions: number;
  wallSeconds: number;
  sessions: { started: number; ended: number; signedIn: number; lost: number; neverStarted: number };
  messages: {
    inHistory: number;
    sendsAcknowledged: number;
    sendsGivenUp: number;
    /** Why each given-up send was given up: its outcome and last refusal by code. */
    givenUpBy: Record<string, number>;
    /** Sends the customers made invalid on purpose, refused with the code they expected. */
    invalidOnPurpose: number;
    streamConnections: number;
  };
  replayIncomplete: number;
  /** Web Push: what the subscribed chats were owed and got (pushCheck.ts); absent from reports made before it. */
  push?: PushCounts;
  faults: Record<FaultKind, number>;
  /** Genesys sockets: sessions by the most they had at once, and how many Genesys evicted for a 4th. */
  genesysSockets: { sessionsByPeak: Record<string, number>; evicted: number };
  /**
   * The machine while the customers acted: its 1-minute load average, sampled every 5 s, and how late the soak's own
   * process (the simulator, the relay and every customer) ran its callbacks. A latency is judged either way.
   */
  machine: {
    cores: number;
    loadAverage: { mean: number; max: number };
    eventLoopDelayMs: { p99: number; max: number };
  };
  violations: Record<ViolationKind, number>;
  /** Every sample, faults or not. */
  latencyMs: Record<'start' | 'send' | 'history' | 'delivery', Percentiles>;
  /** Outside fault windows, against each operation's bound. */
  latencyOutsideFaults: LatencyVerdict[];
  socketBoundSeconds: number;
  stuckBoundSeconds: number;
  offending: string[];
  /** The first violations, each with its session and what was wrong. */
  details: Violation[];
  /** What the checker was given for some offending sessions (one per kind first), with their timelines. */
  offendingFacts: (Omit<SessionFacts, 'view'> & { view: { id: string; time?: string }[]; timeline: TimelineLine[] })[];
}

export interface PushCounts {
  /** Chats whose PUT /notifications/push was answered 204. */
  subscribedChats: number;
  /** Times their customers closed the tab for a while. */
  tabsClosed: number;
  /** Agent and bot replies that came while the tab was closed. */
  repliesAway: number;
  /** Of those, the ones a push carried, owed or not. */
  carried: number;
  /** Of those, the ones owed a push: the customer stayed away long enough for it. */
  owed: number;
  /** Owed replies no push covered, excused by an instance or Redis fault that can lose them. */
  excused: number;
  /** Pushes received for the subscribed chats. */
  pushes: number;
}

export interface SeedRow {
  seed: number;
  minutes: number;
  chats: number;
  messages: number;
  faults: number;
  violations: Record<ViolationKind, number>;
  command: string;
}

export interface RunsPart {
  command: string;
  startedAt: string;
  /** Where the seeds came from: drawn at run time, a range, the regression cases, a commit. */
  origin: string;
  rows: SeedRow[];
  /** The whole report of each failing seed. */
  failing: RunReport[];
}

export interface SoakFile {
  seeds?: RunsPart;
  regressions?: RunsPart;
  /** The last single run, whole (its `failing` stays empty). */
  single?: RunsPart & { run: RunReport };
}

export function countViolations(violations: Violation[]): Record<ViolationKind, number> {
  const counts = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>;
  for (const v of violations) counts[v.kind] += 1;
  return counts;
}

export function emptyFaultCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

export function rowOf(r: RunReport): SeedRow {
  return {
    seed: r.seed,
    minutes: r.minutes,
    chats: r.sessions.started,
    messages: r.messages.inHistory,
    faults: Object.values(r.faults).reduce((a, b) => a + b, 0),
    violations: r.violations,
    command: r.command,
  };
}

const total = (v: Record<string, number>) => Object.values(v).reduce((a, b) => a + b, 0);

const PARTS: { choice: RunChoice; title: string }[] = [
  { choice: 'seeds', title: 'seeds' },
  { choice: 'regressions', title: 'regression seeds' },
  { choice: 'single', title: 'single run' },
];

function seedTable(file: SoakFile): string[] {
  const lines = [
    `| run | seed | minutes | chats | messages | faults | ${VIOLATION_KINDS.join(' | ')} |`,
    `|---|---|---|---|---|---|${VIOLATION_KINDS.map(() => '---|').join('')}`,
  ];
  for (const { choice, title } of PARTS)
    for (const r of file[choice]?.rows ?? [])
      lines.push(
        `| ${title} | ${r.seed} | ${r.minutes} | ${r.chats} | ${r.messages} | ${r.faults} | ` +
          `${VIOLATION_KINDS.map((k) => (r.violations[k] ? `**${r.violations[k]}**` : '0')).join(' | ')} |`,
      );
  return lines;
}

function runDetails(r: RunReport): string[] {
  const row = (name: string, p: Percentiles) => `| ${name} | ${p.count} | ${p.p50} | ${p.p90} | ${p.p99} | ${p.max} |`;
  const givenUp = Object.entries(r.messages.givenUpBy).map(([why, n]) => `${n} ${why}`);
  const peaks = Object.entries(r.genesysSockets.sessionsByPeak).map(([peak, n]) => `${n} at ${peak}`);
  return [
    `- Command: \`${r.command}\``,
    `- Seed: ${r.seed}; started ${r.startedAt}; ${r.minutes} min asked, ${r.wallSeconds} s in all`,
    `- ${r.instances} instances behind nginx (deploy/nginx/bff.conf), Redis as deploy/docker-compose.scale.yml runs it, the strict simulator; ${r.concurrentSessions} customers at a time`,
    `- Sessions: ${r.sessions.started} started, ${r.sessions.neverStarted} never started, ${r.sessions.ended} ended, ${r.sessions.signedIn} signed in, ${r.sessions.lost} refused as lost`,
    `- Messages: ${r.messages.inHistory} in history, ${r.messages.sendsAcknowledged} sends acknowledged, ${r.messages.invalidOnPurpose} invalid on purpose and refused as expected; ${r.messages.streamConnections} stream connections, ${r.replayIncomplete} \`replay_incomplete\``,
    `- Sends given up by the customer: ${r.messages.sendsGivenUp}${givenUp.length ? ` (${givenUp.join('; ')})` : ''}`,
    ...(r.push
      ? [
          `- Web Push: ${r.push.subscribedChats} chats subscribed, their tabs closed ${r.push.tabsClosed} times; ${r.push.repliesAway} replies came while a tab was closed, ${r.push.carried} carried by a push, ${r.push.owed} owed one (${r.push.excused} of them lost to a fault that may lose them); ${r.push.pushes} pushes received`,
        ]
      : []),
    `- Genesys sockets per session, the most at once: ${peaks.join(', ') || 'none'}; ${r.genesysSockets.evicted} evicted by Genesys`,
    `- The machine: ${r.machine.cores} cores, load average ${r.machine.loadAverage.mean} (at most ${r.machine.loadAverage.max}); the soak's own process (simulator, relay, customers) ran its callbacks up to ${r.machine.eventLoopDelayMs.p99} ms late at p99 (${r.machine.eventLoopDelayMs.max} ms at most)`,
    `- **Violations: ${total(r.violations)}**${total(r.violations) === 0 ? '' : ` (sessions: ${r.offending.slice(0, 20).join(', ')})`}`,
    '',
    '| fault | applied |',
    '|---|---|',
    ...Object.entries(r.faults).map(([k, n]) => `| ${k} | ${n} |`),
    '',
    '| latency, every sample (ms) | count | p50 | p90 | p99 | max |',
    '|---|---|---|---|---|---|',
    row('session start', r.latencyMs.start),
    row('send, to its 201 (retries included)', r.latencyMs.send),
    row('history read', r.latencyMs.history),
    row('message time to the stream', r.latencyMs.delivery),
    '',
    '| latency outside fault windows (ms) | count | p50 | p99 | bound on p99 |',
    '|---|---|---|---|---|',
    ...r.latencyOutsideFaults.map(
      (v) =>
        `| ${v.operation} | ${v.count} | ${v.p50} | ${v.judged && v.p99 > v.boundMs ? `**${v.p99}**` : v.p99} | ` +
        `${v.boundMs}${v.judged ? '' : ` (not judged: fewer than ${LATENCY_MIN_SAMPLES} samples)`} |`,
    ),
    '',
  ];
}

function violationDetails(r: RunReport): string[] {
  const lines: string[] = [];
  for (const v of r.details.slice(0, 20)) lines.push(`- ${v.kind} in ${v.session}: ${v.detail}`);
  for (const f of r.offendingFacts) {
    lines.push('', `Timeline of ${f.name}, run-relative, with the faults of its life:`, '', '```');
    for (const l of f.timeline) lines.push(`${(l.t / 1000).toFixed(2).padStart(8)} s  ${l.what}`);
    lines.push('```');
  }
  return [...lines, ''];
}

export function markdown(file: SoakFile): string {
  const lines = [
    '# Chaos soak: latest report',
    '',
    'Written by `npm run soak` ([docs/reliability.md](../../docs/reliability.md#the-chaos-soak) says what it does and checks).',
    '',
  ];
  for (const { choice, title } of PARTS) {
    const part = file[choice];
    if (part) lines.push(`- ${title}: \`${part.command}\` (seeds: ${part.origin}), started ${part.startedAt}`);
  }
  lines.push('', ...seedTable(file), '');
  const single = file.single?.run;
  if (single) lines.push(`## The single run`, '', ...runDetails(single), ...violationDetails(single));
  const failing = [...(file.seeds?.failing ?? []), ...(file.regressions?.failing ?? [])];
  if (failing.length > 0) lines.push('## Failing seeds', '');
  for (const r of failing)
    lines.push(`### Seed ${r.seed} (${r.minutes} min)`, '', ...runDetails(r), ...violationDetails(r));
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Replaces the part `choice` of the report in `dir` with `runs`, keeping the others; answers the files written. */
export function writeReport(
  dir: string,
  choice: RunChoice,
  runs: RunReport[],
  part: Omit<RunsPart, 'rows' | 'failing'>,
): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  let file: SoakFile = {};
  try {
    const before = JSON.parse(fs.readFileSync(json, 'utf8')) as SoakFile & { seed?: unknown };
    // A report from before the parts (one run at its top level) is replaced whole.
    if (before.seed === undefined) file = before;
  } catch {
    // none yet, or unreadable: written afresh
  }
  const rows = runs.map(rowOf);
  if (choice === 'single') file.single = { ...part, rows, failing: [], run: runs[0]! };
  else file[choice] = { ...part, rows, failing: runs.filter((r) => total(r.violations) > 0) };
  fs.writeFileSync(json, `${JSON.stringify(file, null, 2)}\n`);
  fs.writeFileSync(md, markdown(file));
  return [json, md];
}
