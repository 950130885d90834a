import fs from 'node:fs';
import path from 'node:path';
import { VIOLATION_KINDS, type SessionFacts, type Violation } from './checker';
import { FAULT_KINDS, type FaultKind } from './faults';

/** The soak's report: JSON for tools, a short markdown page for people (linked from docs/reliability.md). */

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SoakReport {
  seed: number;
  command: string;
  startedAt: string;
  minutes: number;
  instances: number;
  concurrentSessions: number;
  wallSeconds: number;
  sessions: { started: number; ended: number; signedIn: number; lost: number };
  messages: { inHistory: number; sendsAcknowledged: number; sendsGivenUp: number; streamConnections: number };
  replayIncomplete: number;
  faults: Record<FaultKind, number>;
  violations: Record<string, number>;
  latencyMs: Record<'start' | 'send' | 'history' | 'delivery', Percentiles>;
  socketBoundSeconds: number;
  offending: string[];
  /** The first violations, each with its session and what was wrong. */
  details: Violation[];
  /** What the checker was given for the first offending sessions: history, view and stream connections. */
  offendingFacts: SessionFacts[];
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

export function countViolations(violations: Violation[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0]));
  for (const v of violations) counts[v.kind] = (counts[v.kind] ?? 0) + 1;
  return counts;
}

export function emptyFaultCounts(): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
}

export function markdown(r: SoakReport): string {
  const total = Object.values(r.violations).reduce((a, b) => a + b, 0);
  const row = (name: string, p: Percentiles) => `| ${name} | ${p.count} | ${p.p50} | ${p.p90} | ${p.p99} | ${p.max} |`;
  return [
    '# Chaos soak: latest report',
    '',
    `Written by \`npm run soak\` ([docs/reliability.md](../../docs/reliability.md#the-chaos-soak) says what it does and checks).`,
    '',
    `- Command: \`${r.command}\``,
    `- Seed: ${r.seed}; started ${r.startedAt}; ${r.minutes} min asked, ${r.wallSeconds} s in all`,
    `- ${r.instances} instances behind nginx (deploy/nginx/bff.conf), Redis as deploy/docker-compose.scale.yml runs it, the strict simulator; ${r.concurrentSessions} customers at a time`,
    `- Sessions: ${r.sessions.started} started, ${r.sessions.ended} ended, ${r.sessions.signedIn} signed in, ${r.sessions.lost} refused as lost`,
    `- Messages: ${r.messages.inHistory} in history, ${r.messages.sendsAcknowledged} sends acknowledged, ${r.messages.sendsGivenUp} given up by the customer; ${r.messages.streamConnections} stream connections, ${r.replayIncomplete} \`replay_incomplete\``,
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
    '| latency (ms) | count | p50 | p90 | p99 | max |',
    '|---|---|---|---|---|---|',
    row('session start', r.latencyMs.start),
    row('send, to its 201 (retries included)', r.latencyMs.send),
    row('history read', r.latencyMs.history),
    row('message time to the stream', r.latencyMs.delivery),
    '',
  ].join('\n');
}

export function writeReport(dir: string, r: SoakReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  const md = path.join(dir, 'latest.md');
  fs.writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  fs.writeFileSync(md, markdown(r));
  return [json, md];
}
