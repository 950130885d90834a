/**
 * The soak's verdict on one session, from what the client saw and what Genesys (the simulator) holds.
 * Pure: test/soak/checker.test.ts feeds it fabricated sessions.
 *
 * The promises (docs/reliability.md):
 * - `missing`: a message in Genesys's history that the client's view never got (for a chat its customer
 *   ended, one that was in history END_GRACE_MS before the end was asked for);
 * - `unknown`: a message in the view that is not in history (a phantom, or one message under two ids);
 * - `out_of_order`: the view contradicts history's order: a page that orders by time (the React hook's
 *   `mergeMessages`) holds a message with an earlier time than one before it in history (equal times
 *   contradict nothing); without times, the view's positions are compared;
 * - `stream_duplicate`: one stream connection sent a message id twice;
 * - `stream_gap`: a stream connection that did not say `replay_incomplete` skipped a message of history
 *   between its place (the message it resumed from, else the first it sent) and the newest it sent;
 * - `redelivered`: a stream resumed from an event id sent again a message an earlier connection had sent
 *   and that history places at or before the message it resumed from (it went back past its place), without
 *   saying `replay_incomplete`. One that history places after that message may come again: Genesys may
 *   deliver live in another order than its history keeps, the replay follows history, and the client keeps
 *   messages by id (docs/reliability.md, "Gap-free resume");
 * - `sent_twice`: a guest message reached Genesys more than once;
 * - `lost_ack`: a send answered 201 that is not in history (or under another id);
 * - `not_ended`: after its end was answered 204, the chat's token still opened something, or a guest
 *   message reached Genesys;
 * - `sockets`: more than one Genesys socket for the session once the faults stopped, past the bound (two for a chat
 *   subscribed to Web Push whose page stream was not open: a watch holds one of its own beside the idle live one);
 * - `socket_peak`: at some moment, faults or not, more Genesys sockets for the session than Genesys allows
 *   (GENESYS_SOCKETS_PER_SESSION), or one of them evicted by Genesys for a newer one;
 * - `retry_after_missing`: a 503 or 504 without Retry-After;
 * - `false_outage`: a `503 store_unavailable` while Redis was whole: no Redis fault, nor an instance starting
 *   again, within STORE_RECOVERY_MS before it (a starved instance's late timers are not Redis's silence);
 * - `stuck`: the customer waited for a start or a send longer than the faults active meanwhile plus
 *   STUCK_BOUND_MS, whatever the answer in the end: the time their union covers (faultsDuring), since faults
 *   back to back or at once are one outage to whoever waits through them;
 * - `refused`: a start or a send answered with a status the model client does not retry (by code), a request
 *   the model client got wrong on purpose answered otherwise than the refusal it expects, or a chat refused as
 *   lost (401/410 before its customer ended it) that no Redis SIGKILL soon after its start explains;
 * - `slow` (the run's, not a session's: checkLatency): an operation's p99, outside fault windows, over its bound;
 * - `push_lost`, `push_duplicate`, `push_unknown` (a subscribed chat's Web Push: pushCheck.ts).
 */

export type ViolationKind =
  | 'missing'
  | 'unknown'
  | 'out_of_order'
  | 'stream_duplicate'
  | 'stream_gap'
  | 'redelivered'
  | 'sent_twice'
  | 'lost_ack'
  | 'not_ended'
  | 'sockets'
  | 'socket_peak'
  | 'retry_after_missing'
  | 'false_outage'
  | 'stuck'
  | 'refused'
  | 'slow'
  | 'push_lost'
  | 'push_duplicate'
  | 'push_unknown';

export const VIOLATION_KINDS: readonly ViolationKind[] = [
  'missing',
  'unknown',
  'out_of_order',
  'stream_duplicate',
  'stream_gap',
  'redelivered',
  'sent_twice',
  'lost_ack',
  'not_ended',
  'sockets',
  'socket_peak',
  'retry_after_missing',
  'false_outage',
  'stuck',
  'refused',
  'slow',
  'push_lost',
  'push_duplicate',
  'push_unknown',
];

export interface Violation {
  kind: ViolationKind;
  session: string;
  detail: string;
}

/** A message as Genesys holds it. */
export interface TruthMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  text?: string;
  /** When it reached the conversation (epoch ms). */
  at: number;
}

/**
 * One thing the customer waited on: a chat's start, a page's resume of it, or a send (its retries included).
 * Epoch ms. `outcome`: `ok` (answered 2xx), `refused` (a status the model client does not retry), `lost` (401/410
 * on a chat its customer never ended), `run_over` (still being tried when the run stopped waiting).
 */
export interface Operation {
  what: 'start' | 'resume' | 'send';
  /** The text, for a send. */
  label?: string;
  began: number;
  ended: number;
  outcome: 'ok' | 'refused' | 'lost' | 'run_over';
  /** The last refusal by status and code (`503 genesys_unavailable`, `network_error`), if any. */
  last?: string;
  /** A request the model client got wrong on purpose, and the refusal it expects (`413 message_too_long`). */
  deliberate?: string;
}

/** A fault as it was applied: from its start until its resource was whole again (epoch ms). */
export interface FaultWindow {
  kind: string;
  from: number;
  to: number;
}

/** What the run knows beyond each session: when it began (epoch ms; details give run-relative times) and its faults. */
export interface RunFacts {
  t0: number;
  faults: readonly FaultWindow[];
}

export interface SessionFacts {
  name: string;
  /** The conversation in Genesys, oldest first: what the view must hold. */
  history: TruthMessage[];
  /** The last page's view, in the order it shows it, with each message's time as the page has it. */
  view: { id: string; time?: string }[];
  connections: { resumedFrom?: string; messageIds: string[]; replayIncomplete: boolean }[];
  acked: { text: string; id: string }[];
  /** `requestedAt`: when the customer asked to end; `at`: when the end was answered. */
  ended?: { requestedAt: number; at: number; probes: { what: string; status: number }[] };
  /** Open Genesys sockets for the session once the bound has passed (undefined: never reached Genesys). */
  sockets?: number;
  /**
   * How many of those it may hold: 1, or 2 for a chat subscribed to Web Push whose page stream was not open (long
   * enough for any watch of it to have ended) while they were counted: a watch's socket beside the idle live one.
   */
  socketsAllowed?: number;
  /** The most Genesys sockets the session had at once over its life, and how many Genesys evicted for a newer one. */
  socketPeak?: number;
  evictions?: number;
  retryAfterMissing: string[];
  /** When a request was answered `503 store_unavailable` (epoch ms). */
  storeRefusals?: number[];
  /** Every start, resume and send, in order. */
  operations: Operation[];
  /** The chat was refused as lost (401/410 before its customer ended it): when, and the answer. */
  lost?: { at: number; answer: string };
}

/** What a chat ended by its customer may still have had on its way to the page. */
export const END_GRACE_MS = 15_000;
/**
 * How much longer than the faults meanwhile (faultsDuring) a customer may wait for a start or a send: one window of
 * Genesys's ten history reads a minute per session, which a send in doubt may have to wait out for its delivery
 * proof once a fault is over (docs/reliability.md, "Exactly-once sends").
 */
export const STUCK_BOUND_MS = 60_000;
/** Genesys's own limit: a 4th socket for a session closes the oldest. */
export const GENESYS_SOCKETS_PER_SESSION = 3;
/**
 * With Redis's `appendfsync everysec`, a SIGKILL can lose the last second or so of writes: a chat whose standing
 * record was written that close before the kill is refused as lost by design (docs/reliability.md, "Known gaps").
 */
export const UNSYNCED_WRITE_MS = 2000;
/**
 * How long after Redis is whole again (or an instance started again, connecting to it) an instance may still
 * refuse with `store_unavailable`: the client's reconnection backoff and the PING that finds it answering.
 */
export const STORE_RECOVERY_MS = 10_000;
const SAMPLE = 5;
const some = (items: string[]) =>
  items.slice(0, SAMPLE).join(', ') + (items.length > SAMPLE ? ` and ${items.length - SAMPLE} more` : '');

/** The verdict on one session; the run's faults are for the rules that allow for them. */
export function checkSession(s: SessionFacts, run: RunFacts = { t0: 0, faults: [] }): Violation[] {
  const { faults } = run;
  const found: Violation[] = [];
  const flag = (kind: ViolationKind, detail: string) => found.push({ kind, session: s.name, detail });
  const label = (m: TruthMessage) => `${m.id.slice(0, 8)} "${m.text ?? '(no text)'}"`;

  // The view against history: every message, once, in history's order.
  const inHistory = new Map(s.history.map((m) => [m.id, m]));
  const inView = new Set(s.view.map((m) => m.id));
  // A chat ended while a message was still on its way owes the view nothing newer than the grace.
  const owed = (m: TruthMessage) => s.ended === undefined || m.at <= s.ended.requestedAt - END_GRACE_MS;
  const missing = s.history.filter((m) => !inView.has(m.id) && owed(m));
  if (missing.length > 0) flag('missing', `${missing.length} in history, not in the view: ${some(missing.map(label))}`);
  const unknown = s.view.filter((m) => !inHistory.has(m.id)).map((m) => m.id);
  if (unknown.length > 0) flag('unknown', `${unknown.length} in the view, not in history: ${some(unknown)}`);
  const disorder = orderProblem(s);
  if (disorder) flag('out_of_order', disorder);

  const historyIndex = new Map(s.history.map((m, i) => [m.id, i]));
  // The stream: no connection sends an id twice; a resumed one sends nothing from before its place again.
  const sentBefore = new Set<string>();
  s.connections.forEach((c, i) => {
    const seen = new Set<string>();
    const twice = c.messageIds.filter((id) => (seen.has(id) ? true : (seen.add(id), false)));
    if (twice.length > 0) flag('stream_duplicate', `connection #${i + 1} sent ${some(twice)} twice`);
    const resumed = c.resumedFrom !== undefined && !c.resumedFrom.startsWith('t-');
    const place = resumed ? historyIndex.get(c.resumedFrom!) : undefined;
    if (resumed && !c.replayIncomplete) {
      const behind = (id: string) => place === undefined || (historyIndex.get(id) ?? -1) <= place;
      const again = [...seen].filter((id) => sentBefore.has(id) && behind(id));
      if (again.length > 0)
        flag('redelivered', `connection #${i + 1}, resumed from ${c.resumedFrom}, sent again ${some(again)}`);
    }
    for (const id of seen) sentBefore.add(id);
    if (!c.replayIncomplete) {
      const skipped = gapOf(c, historyIndex, s.history);
      if (skipped)
        flag('stream_gap', `connection #${i + 1}${c.resumedFrom ? `, resumed from ${c.resumedFrom},` : ''} ${skipped}`);
    }
  });

  // Genesys: each guest text once; each acknowledged send there, under the id its 201 gave.
  const counts = new Map<string, number>();
  for (const m of s.history) if (m.direction === 'inbound' && m.text) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  const doubled = [...counts].filter(([, n]) => n > 1).map(([text, n]) => `"${text}" ×${n}`);
  if (doubled.length > 0) flag('sent_twice', some(doubled));
  const lost = s.acked.filter((a) => inHistory.get(a.id)?.text !== a.text).map((a) => `"${a.text}" (${a.id})`);
  if (lost.length > 0) flag('lost_ack', `${lost.length} answered 201, not in history as answered: ${some(lost)}`);

  // Ended means ended.
  if (s.ended) {
    const opened = s.ended.probes.filter((p) => p.status >= 200 && p.status < 300);
    if (opened.length > 0) flag('not_ended', `after the end: ${opened.map((p) => `${p.what} ${p.status}`).join(', ')}`);
    const late = s.history.filter((m) => m.direction === 'inbound' && m.at > s.ended!.at);
    if (late.length > 0) flag('not_ended', `guest messages reached Genesys after the end: ${some(late.map(label))}`);
  }

  const allowed = s.socketsAllowed ?? 1;
  if (s.sockets !== undefined && s.sockets > allowed)
    flag('sockets', `${s.sockets} Genesys sockets open past the bound (${allowed} allowed)`);
  const peak = s.socketPeak ?? 0;
  if (peak > GENESYS_SOCKETS_PER_SESSION || (s.evictions ?? 0) > 0)
    flag('socket_peak', `${peak} Genesys sockets at once (Genesys allows 3), ${s.evictions ?? 0} evicted by Genesys`);
  if (s.retryAfterMissing.length > 0) flag('retry_after_missing', some(s.retryAfterMissing));
  const excused = faults.filter((f) => f.kind.startsWith('redis') || /^instance_sig(kill|term)$/.test(f.kind));
  const falseOutages = (s.storeRefusals ?? []).filter(
    (at) => !excused.some((f) => f.from <= at && at <= f.to + STORE_RECOVERY_MS),
  );
  if (falseOutages.length > 0)
    flag(
      'false_outage',
      `${falseOutages.length} answered 503 store_unavailable with Redis whole, at ${some(falseOutages.map((at) => `${((at - run.t0) / 1000).toFixed(1)} s`))}`,
    );

  for (const op of s.operations) {
    const waited = op.ended - op.began;
    const meanwhile = faultsDuring(faults, op.began, op.ended);
    if (waited > meanwhile.ms + STUCK_BOUND_MS)
      flag(
        'stuck',
        `${describeOperation(run, op)} waited ${seconds(waited)} (${outcomeOf(op)}); ${allowance(run, meanwhile)}`,
      );
    const refusal = refusalOf(op);
    if (refusal) flag('refused', `${describeOperation(run, op)} ${refusal}`);
  }
  if (s.lost && !lossExplained(s, faults))
    flag('refused', `the chat was refused as lost (${s.lost.answer}) with no Redis SIGKILL soon after its start`);
  return found;
}

/** The faults on at some point between two moments, and the time they cover together. */
export interface FaultsMeanwhile {
  /** Oldest first. */
  windows: FaultWindow[];
  /** The time the union of `windows` covers, each window whole (also before `from` or after `to`), in ms. */
  ms: number;
}

/**
 * The faults on at some point between `from` and `to` (epoch ms), and the time their union covers: faults that
 * overlap or follow one another without a pause are one outage to whoever waits through them, so each instant under
 * any of them counts once, and a pause between them does not count. A fault still on has `to` in the future.
 */
export function faultsDuring(faults: readonly FaultWindow[], from: number, to: number): FaultsMeanwhile {
  const windows = faults.filter((f) => f.from <= to && f.to >= from).sort((a, b) => a.from - b.from);
  let ms = 0;
  let reach = -Infinity;
  for (const f of windows) {
    ms += Math.max(0, f.to - Math.max(f.from, reach));
    reach = Math.max(reach, f.to);
  }
  return { windows, ms };
}

/** Why an operation counts as refused, or undefined: its own refusal, or a deliberate mistake answered otherwise. */
function refusalOf(op: Operation): string | undefined {
  if (op.deliberate === undefined) return op.outcome === 'refused' ? `refused: ${op.last}` : undefined;
  if (op.outcome === 'ok') return `made invalid on purpose, answered 2xx, not ${op.deliberate}`;
  if (op.outcome === 'refused' && op.last !== op.deliberate)
    return `made invalid on purpose, answered ${op.last}, not ${op.deliberate}`;
  return undefined;
}

/** A chat refused as lost is explained by a Redis SIGKILL that came before its standing record could be synced. */
function lossExplained(s: SessionFacts, faults: readonly FaultWindow[]): boolean {
  const start = s.operations.find((op) => op.what === 'start' && op.outcome === 'ok');
  if (!start) return false;
  return faults.some(
    (f) => f.kind === 'redis_sigkill' && f.from >= start.began && f.from <= start.ended + UNSYNCED_WRITE_MS,
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describeOperation(run: RunFacts, op: Operation): string {
  const what = op.what === 'send' ? `send "${(op.label ?? '').slice(0, 60)}"` : op.what;
  return `${what} from ${seconds(op.began - run.t0)}`;
}

function outcomeOf(op: Operation): string {
  const last = op.last === undefined ? '' : `, last refusal ${op.last}`;
  return op.outcome === 'ok' ? `answered${last}` : `${op.outcome.replace('_', ' ')}${last}`;
}

function allowance(run: RunFacts, meanwhile: FaultsMeanwhile): string {
  const bound = `${STUCK_BOUND_MS / 1000} s`;
  const { windows, ms } = meanwhile;
  if (windows.length === 0) return `no fault meanwhile, bound ${bound}`;
  if (windows.length === 1) return `fault meanwhile ${windows[0]!.kind} for ${seconds(ms)}, bound that + ${bound}`;
  const kinds = [...new Set(windows.map((f) => f.kind))].join(', ');
  const last = Math.max(...windows.map((f) => f.to));
  const span = `between ${seconds(windows[0]!.from - run.t0)} and ${seconds(last - run.t0)}`;
  return `${windows.length} faults meanwhile (${kinds}) covering ${seconds(ms)} ${span}, bound that + ${bound}`;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles: the p99 of a hundred samples is the 99th smallest. */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!);
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

export const LATENCY_OPERATIONS = ['start', 'send', 'history', 'delivery'] as const;
export type LatencyOperation = (typeof LATENCY_OPERATIONS)[number];
/** One operation's latency: it began at `at` (epoch ms; for a delivery, the message's time) and took `ms`. */
export interface LatencySample {
  at: number;
  ms: number;
}

/**
 * How long after a fault the service may still be recovering from it (nginx finding a restarted instance, the
 * sessions it served moving back with their streams and sockets, a circuit probing each second): a sample that
 * overlaps a fault or this aftermath is not held to the bound. So is one begun in the run's first WARM_UP_MS,
 * while the instances are cold and every customer starts at once.
 */
export const FAULT_AFTERMATH_MS = 10_000;
export const WARM_UP_MS = 10_000;
/** Fewer samples outside faults than this say nothing about a p99: the row is shown, not judged. */
export const LATENCY_MIN_SAMPLES = 20;
/**
 * The bound on each operation's p99 outside fault windows: a start, a send to its 201 (retries included), a history
 * read, and a message's time to the stream. Each is a few hops on loopback (nginx, an instance, Redis, Genesys) that
 * take milliseconds alone; 3 s is what a loaded 2-core machine allows them, four instances, nginx, Redis, the
 * simulator and the customers sharing its cores with whatever else it runs.
 */
export const LATENCY_BOUNDS_MS: Record<LatencyOperation, number> = {
  start: 3000,
  send: 3000,
  history: 3000,
  delivery: 3000,
};

export interface LatencyVerdict extends Percentiles {
  operation: LatencyOperation;
  boundMs: number;
  /** Enough samples outside faults to judge the p99. */
  judged: boolean;
}

/** Each operation's latency outside fault windows against its bound: one row each, and a `slow` violation per miss. */
export function checkLatency(
  samples: Record<LatencyOperation, readonly LatencySample[]>,
  run: RunFacts,
  bounds: Record<LatencyOperation, number> = LATENCY_BOUNDS_MS,
): { rows: LatencyVerdict[]; violations: Violation[] } {
  const quiet = (x: LatencySample) =>
    x.at >= run.t0 + WARM_UP_MS && !run.faults.some((f) => f.from <= x.at + x.ms && f.to + FAULT_AFTERMATH_MS >= x.at);
  const rows = LATENCY_OPERATIONS.map((operation) => {
    const p = percentiles(samples[operation].filter(quiet).map((x) => x.ms));
    return { operation, boundMs: bounds[operation], judged: p.count >= LATENCY_MIN_SAMPLES, ...p };
  });
  const violations = rows
    .filter((r) => r.judged && r.p99 > r.boundMs)
    .map((r) => ({
      kind: 'slow' as const,
      session: '(run)',
      detail: `${r.operation}: p99 ${r.p99} ms outside faults over ${r.count} samples, bound ${r.boundMs} ms`,
    }));
  return { rows, violations };
}

/** Where the view contradicts history's order, or undefined. */
function orderProblem(s: SessionFacts): string | undefined {
  const shown = new Map(s.view.map((m, i) => [m.id, { at: i, time: m.time === undefined ? NaN : Date.parse(m.time) }]));
  const inOrder = s.history.filter((m) => shown.has(m.id));
  const byTime = inOrder.every((m) => Number.isFinite(shown.get(m.id)!.time));
  for (let i = 1; i < inOrder.length; i += 1) {
    const [before, after] = [shown.get(inOrder[i - 1]!.id)!, shown.get(inOrder[i]!.id)!];
    const contradicts = byTime ? after.time < before.time : after.at < before.at;
    if (contradicts)
      return (
        `history has ${inOrder[i - 1]!.id} before ${inOrder[i]!.id}; the view shows them the other way` +
        (byTime ? ` (times ${new Date(before.time).toISOString()} and ${new Date(after.time).toISOString()})` : '')
      );
  }
  return undefined;
}

/**
 * What a connection skipped of history, or undefined: every message of history between its place (the one it
 * resumed from, else the first it sent) and the newest it sent must be among what it sent. The order it sent
 * them in is not judged here: where Genesys itself reorders, a stream may follow it (the view's order is judged).
 */
function gapOf(
  c: SessionFacts['connections'][number],
  historyIndex: Map<string, number>,
  history: TruthMessage[],
): string | undefined {
  const sent = new Set(c.messageIds.map((id) => historyIndex.get(id)).filter((i): i is number => i !== undefined));
  if (sent.size === 0) return undefined;
  const resumedAt = c.resumedFrom === undefined ? undefined : historyIndex.get(c.resumedFrom);
  const from = resumedAt === undefined ? Math.min(...sent) : resumedAt + 1;
  const skipped = history.slice(from, Math.max(...sent)).filter((_, k) => !sent.has(from + k));
  if (skipped.length === 0) return undefined;
  return `skipped ${skipped.map((m) => `${m.id.slice(0, 8)} "${m.text ?? ''}"`).join(', ')}`;
}
