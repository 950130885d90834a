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

/** The soak's report: JSON for tools, a short markdown page for people (linked from docs/reliability.md). */

export interface TimelineLine {
  t: number;
  what: string;
}

export interface SoakReport {
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

export function countViolations(violations: Violation[]): Record<ViolationKind, number> {
  const counts = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<ViolationKind, number>;
  for (const v of violations) counts[v.kind] += 1;
  return counts;
}

export function emptyFaultCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

export function markdown(r: SoakReport): string {
  const total = Object.values(r.violations).reduce((a, b) => a + b, 0);
  const row = (name: string, p: Percentiles) => `| ${name} | ${p.count} | ${p.p50} | ${p.p90} | ${p.p99} | ${p.max} |`;
  const givenUp = Object.entries(r.messages.givenUpBy).map(([why, n]) => `${n} ${why}`);
  const peaks = Object.entries(r.genesysSockets.sessionsByPeak).map(([peak, n]) => `${n} at ${peak}`);
  return [
    '# Chaos soak: latest report',
    '',
    `Written by \`npm run soak\` ([docs/reliability.md](../../docs/reliability.md#the-chaos-soak) says what it does and checks).`,
    '',
    `- Command: \`${r.command}\``,
    `- Seed: ${r.seed}; started ${r.startedAt}; ${r.minutes} min asked, ${r.wallSeconds} s in all`,
    `- ${r.instances} instances behind nginx (deploy/nginx/bff.conf), Redis as deploy/docker-compose.scale.yml runs it, the strict simulator; ${r.concurrentSessions} customers at a time`,
    `- Sessions: ${r.sessions.started} started, ${r.sessions.neverStarted} never started, ${r.sessions.ended} ended, ${r.sessions.signedIn} signed in, ${r.sessions.lost} refused as lost`,
    `- Messages: ${r.messages.inHistory} in history, ${r.messages.sendsAcknowledged} sends acknowledged, ${r.messages.invalidOnPurpose} invalid on purpose and refused as expected; ${r.messages.streamConnections} stream connections, ${r.replayIncomplete} \`replay_incomplete\``,
    `- Sends given up by the customer: ${r.messages.sendsGivenUp}${givenUp.length ? ` (${givenUp.join('; ')})` : ''}`,
    `- Genesys sockets per session, the most at once: ${peaks.join(', ') || 'none'}; ${r.genesysSockets.evicted} evicted by Genesys`,
    `- The machine: ${r.machine.cores} cores, load average ${r.machine.loadAverage.mean} (at most ${r.machine.loadAverage.max}); the soak's own process (simulator, relay, customers) ran its callbacks up to ${r.machine.eventLoopDelayMs.p99} ms late at p99 (${r.machine.eventLoopDelayMs.max} ms at most)`,
    `- **Violations: ${total}**${total === 0 ? '' : ` (sessions: ${r.offending.join(', ')})`}`,
    '',
    '| fault | applied |',
    '|---|---|',
    ...Object.entries(r.faults).map(([k, n]) => `| ${k} | ${n} |`),
    '',
    '| violation | count |',
    '|---|---|',
    ...Object.entries(r.violations).map(([k, n]) => `| ${k} | ${n} |`),
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
    ...violationDetails(r),
  ].join('\n');
}

function violationDetails(r: SoakReport): string[] {
  const lines: string[] = [];
  for (const v of r.details.slice(0, 20)) lines.push(`- ${v.kind} in ${v.session}: ${v.detail}`);
  for (const f of r.offendingFacts) {
    lines.push('', `Timeline of ${f.name}, run-relative, with the faults of its life:`, '', '```');
    for (const l of f.timeline) lines.push(`${(l.t / 1000).toFixed(2).padStart(8)} s  ${l.what}`);
    lines.push('```');
  }
  return lines;
}

export function writeReport(dir: string, r: SoakReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  fs.writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(md, markdown(r));
  return [json, md];
}
