import {
  checkLatency,
  checkSession,
  FAULT_AFTERMATH_MS,
  faultsDuring,
  LATENCY_BOUNDS_MS,
  LATENCY_MIN_SAMPLES,
  STORE_RECOVERY_MS,
  STUCK_BOUND_MS,
  UNSYNCED_WRITE_MS,
  WARM_UP_MS,
  type FaultWindow,
  type LatencyOperation,
  type LatencySample,
  type Operation,
  type RunFacts,
  type SessionFacts,
  type TruthMessage,
} from './checker';

/**
 * The soak's own checker (test/soak/checker.ts), fed fabricated sessions: a clean one passes, and each
 * broken promise is flagged by its kind and nothing else. The soak itself (`npm run soak`) is not part of
 * npm test; this keeps its verdicts honest.
 */

const T0 = Date.parse('2026-01-01T10:00:00Z');
const msg = (n: number, direction: 'inbound' | 'outbound', text: string): TruthMessage => ({
  id: `m${n}`,
  direction,
  text,
  at: T0 + n * 1000,
});
const HISTORY = [
  msg(1, 'inbound', 's1.0 m0 hello'),
  msg(2, 'outbound', 'You said: s1.0 m0 hello'),
  msg(3, 'inbound', 's1.0 m1 thanks'),
  msg(4, 'outbound', 'You said: s1.0 m1 thanks'),
];

function clean(): SessionFacts {
  return {
    name: 's1.0',
    history: HISTORY.map((m) => ({ ...m })),
    view: HISTORY.map((m) => ({ id: m.id })),
    connections: [
      { resumedFrom: 't-1767261599000', messageIds: ['m1', 'm2'], replayIncomplete: false },
      { resumedFrom: 'm2', messageIds: ['m3', 'm4'], replayIncomplete: false },
    ],
    acked: [
      { text: 's1.0 m0 hello', id: 'm1' },
      { text: 's1.0 m1 thanks', id: 'm3' },
    ],
    sockets: 1,
    retryAfterMissing: [],
    operations: [
      { what: 'start', began: T0 - 500, ended: T0 - 400, outcome: 'ok' },
      { what: 'send', label: 's1.0 m0 hello', began: T0 + 900, ended: T0 + 1000, outcome: 'ok' },
      { what: 'send', label: 's1.0 m1 thanks', began: T0 + 2900, ended: T0 + 3000, outcome: 'ok' },
    ],
  };
}

const kinds = (facts: SessionFacts) => checkSession(facts).map((v) => v.kind);

test('a session that kept every promise passes', () => {
  expect(checkSession(clean())).toEqual([]);
});

test('a message in history that never reached the view is missing', () => {
  const facts = clean();
  facts.view = facts.view.filter((m) => m.id !== 'm3');
  facts.connections[1]!.messageIds = ['m4'];
  expect(kinds(facts)).toEqual(['missing', 'stream_gap']);
  expect(checkSession(facts)[0]!.detail).toContain('s1.0 m1 thanks');
});

test('a message shown in another place than history has it is out of order', () => {
  const facts = clean();
  facts.view = [facts.view[0]!, facts.view[2]!, facts.view[1]!, facts.view[3]!];
  expect(kinds(facts)).toEqual(['out_of_order']);
});

test('a page that orders by time contradicts history only with an earlier time, not an equal one', () => {
  const facts = clean();
  const time = (n: number) => new Date(T0 + n * 1000).toISOString();
  facts.view = [
    { id: 'm1', time: time(1) },
    { id: 'm3', time: time(3) },
    { id: 'm2', time: time(3) },
    { id: 'm4', time: time(4) },
  ];
  expect(kinds(facts)).toEqual([]);
  facts.view[1] = { id: 'm3', time: time(2.5) };
  expect(kinds(facts)).toEqual(['out_of_order']);
});

test('a message one stream connection sent twice is a duplicate', () => {
  const facts = clean();
  facts.connections[1]!.messageIds = ['m3', 'm4', 'm3'];
  expect(kinds(facts)).toEqual(['stream_duplicate']);
});

test('a stream connection that skips a message of history has a gap, resumed or not, unless it said replay_incomplete', () => {
  const resumed = clean();
  resumed.connections[1]!.messageIds = ['m4'];
  expect(kinds(resumed)).toEqual(['stream_gap']);
  expect(checkSession(resumed)[0]!.detail).toContain('m3');
  const live = clean();
  live.connections = [{ resumedFrom: 't-1767261599000', messageIds: ['m1', 'm2', 'm4'], replayIncomplete: false }];
  expect(kinds(live)).toEqual(['stream_gap']);
  live.connections[0]!.replayIncomplete = true;
  expect(kinds(live)).toEqual([]);
});

test('a stream connection that sends two messages the other way round, as Genesys may, skips nothing', () => {
  const facts = clean();
  facts.connections[1]!.messageIds = ['m4', 'm3'];
  expect(kinds(facts)).toEqual([]);
});

test('a resumed stream that sends again what an earlier one sent up to its place redelivers, unless it said replay_incomplete', () => {
  const facts = clean();
  facts.connections[1]!.messageIds = ['m2', 'm3', 'm4'];
  expect(kinds(facts)).toEqual(['redelivered']);
  facts.connections[1]!.replayIncomplete = true;
  expect(kinds(facts)).toEqual([]);
});

test("a message live delivered ahead of history's order may come again after the place it resumed from", () => {
  const facts = clean();
  // Genesys sent m3 before m2 live; the page resumed from m2, and the replay, in history's order, sends m3 again.
  facts.connections[0]!.messageIds = ['m1', 'm3', 'm2'];
  facts.connections[1]!.messageIds = ['m3', 'm4'];
  expect(kinds(facts)).toEqual([]);
  // Going back past the place is still a redelivery.
  facts.connections[1]!.messageIds = ['m1', 'm3', 'm4'];
  expect(kinds(facts)).toEqual(['redelivered']);
});

test('an acknowledged send that is not in history is a lost ack; one under another id too', () => {
  const facts = clean();
  facts.history = facts.history.filter((m) => m.id !== 'm3' && m.id !== 'm4');
  facts.view = facts.view.filter((m) => m.id !== 'm3' && m.id !== 'm4');
  facts.connections[1]!.messageIds = [];
  expect(kinds(facts)).toEqual(['lost_ack']);
  const renamed = clean();
  renamed.acked[1] = { text: 's1.0 m1 thanks', id: 'not-the-genesys-id' };
  expect(kinds(renamed)).toEqual(['lost_ack']);
});

test('a guest message that reached Genesys twice is flagged, and its copy in the view is not hidden', () => {
  const facts = clean();
  facts.history.push(msg(5, 'inbound', 's1.0 m1 thanks'));
  facts.view.push({ id: 'm5' });
  facts.connections[1]!.messageIds.push('m5');
  expect(kinds(facts)).toEqual(['sent_twice']);
});

test('a view holding a message Genesys never had is flagged', () => {
  const facts = clean();
  facts.view.push({ id: 'phantom' });
  expect(kinds(facts)).toEqual(['unknown']);
});

test('an ended chat whose token still opens something, or that Genesys heard from after the end, is not ended', () => {
  const facts = clean();
  facts.ended = {
    requestedAt: T0 + 30_000,
    at: T0 + 30_100,
    probes: [
      { what: 'GET /guest-session', status: 410 },
      { what: 'POST /messages', status: 201 },
    ],
  };
  expect(kinds(facts)).toEqual(['not_ended']);
  facts.ended.probes[1]!.status = 410;
  expect(kinds(facts)).toEqual([]);
  facts.history.push(msg(40, 'inbound', 's1.0 after the end'));
  facts.view.push({ id: 'm40' });
  expect(kinds(facts)).toEqual(['not_ended']);
});

test('an ended chat owes its view only what was in history before the grace', () => {
  const facts = clean();
  facts.view = facts.view.slice(0, 3);
  facts.ended = { requestedAt: T0 + 10_000, at: T0 + 10_100, probes: [] };
  expect(kinds(facts)).toEqual([]);
  facts.ended = { requestedAt: T0 + 60_000, at: T0 + 60_100, probes: [] };
  expect(kinds(facts)).toEqual(['missing']);
});

test('more than one socket past the bound, and a 503 without Retry-After, are flagged', () => {
  const facts = clean();
  facts.sockets = 2;
  facts.retryAfterMissing = ['POST /messages 503'];
  expect(kinds(facts)).toEqual(['sockets', 'retry_after_missing']);
});

test('a chat a push watch may hold a socket of may have two past the bound, not three', () => {
  const facts = clean();
  facts.sockets = 2;
  facts.socketsAllowed = 2;
  expect(kinds(facts)).toEqual([]);
  facts.sockets = 3;
  expect(kinds(facts)).toEqual(['sockets']);
});

/** A run that began a minute before the session, with these faults (seconds from T0, as [kind, from, to]). */
function runWith(...faults: [string, number, number][]): RunFacts {
  const windows: FaultWindow[] = faults.map(([kind, from, to]) => ({
    kind,
    from: T0 + from * 1000,
    to: T0 + to * 1000,
  }));
  return { t0: T0 - 60_000, faults: windows };
}

/** The clean session with one more send: begun at `from` s, over at `to` s (from T0). */
function withSend(from: number, to: number, change: Partial<Operation> = {}): SessionFacts {
  const facts = clean();
  const began = T0 + from * 1000;
  facts.operations.push({
    what: 'send',
    label: 's1.0 m2 human',
    began,
    ended: T0 + to * 1000,
    outcome: 'ok',
    ...change,
  });
  return facts;
}

test('the faults meanwhile cover the time of their union, each whole, and nothing of a pause between them', () => {
  const { faults } = runWith(
    ['redis_sigstop', 0, 20],
    ['instance_starved', 10, 30],
    ['socket_drop', 25, 25],
    ['genesys_refusing', 30, 40],
    ['redis_restart', 50, 55],
    ['network_delay', 70, 90],
  );
  const s = (n: number) => T0 + n * 1000;
  // From 15 s to 52 s: the first four make one outage of 40 s (0 to 40 s, the part before 15 s too), then 5 s more.
  expect(faultsDuring(faults, s(15), s(52))).toEqual({ windows: faults.slice(0, 5), ms: 45_000 });
  expect(faultsDuring(faults, s(41), s(49))).toEqual({ windows: [], ms: 0 });
  // A customer's wait as it goes: a fault still on counts up to now.
  expect(
    faultsDuring([...faults.slice(0, 5), { kind: 'redis_sigstop', from: s(60), to: s(64) }], s(58), s(64)).ms,
  ).toBe(4000);
});

describe('a chat stuck longer than its faults', () => {
  const bound = STUCK_BOUND_MS / 1000;
  test.each<[string, SessionFacts, RunFacts, string[]]>([
    ['a send answered within the bound, no fault', withSend(10, 10 + bound - 1), runWith(), []],
    ['a send waiting past the bound, no fault', withSend(10, 10 + bound + 1), runWith(), ['stuck']],
    [
      'a send waiting out a 30 s fault and the bound',
      withSend(10, 10 + 30 + bound - 1),
      runWith(['genesys_refusing', 15, 45]),
      [],
    ],
    [
      'a send waiting past a 30 s fault and the bound',
      withSend(10, 10 + 30 + bound + 1),
      runWith(['genesys_refusing', 15, 45]),
      ['stuck'],
    ],
    [
      'faults on at once count once: the time their union covers, not their sum',
      withSend(10, 10 + 38 + bound + 1),
      runWith(['redis_sigstop', 12, 27], ['genesys_hanging', 20, 50], ['socket_drop', 30, 30]),
      ['stuck'],
    ],
    [
      'faults on at once, waited out within their union and the bound',
      withSend(10, 10 + 38 + bound - 1),
      runWith(['redis_sigstop', 12, 27], ['genesys_hanging', 20, 50], ['socket_drop', 30, 30]),
      [],
    ],
    [
      'faults back to back are one outage: a send waiting out all three and the bound',
      withSend(10, 10 + 75 + bound - 1),
      runWith(['redis_sigstop', 12, 37], ['instance_starved', 37, 62], ['redis_restart', 62, 87]),
      [],
    ],
    [
      'faults back to back, waited past their union and the bound',
      withSend(10, 10 + 75 + bound + 1),
      runWith(['redis_sigstop', 12, 37], ['instance_starved', 37, 62], ['redis_restart', 62, 87]),
      ['stuck'],
    ],
    [
      'the pause between two faults is no fault',
      withSend(10, 10 + 40 + bound + 1),
      runWith(['genesys_refusing', 10, 30], ['redis_sigstop', 50, 70]),
      ['stuck'],
    ],
    [
      'two faults apart both count',
      withSend(10, 10 + 40 + bound - 1),
      runWith(['genesys_refusing', 10, 30], ['redis_sigstop', 50, 70]),
      [],
    ],
    [
      'a fault over before the wait began does not count',
      withSend(50, 50 + bound + 1),
      runWith(['genesys_refusing', 10, 45]),
      ['stuck'],
    ],
    [
      'a fault begun after the wait ended does not count',
      withSend(10, 10 + bound + 1),
      runWith(['genesys_refusing', 80, 120]),
      ['stuck'],
    ],
    [
      'a send still tried when the run ended',
      withSend(10, 10 + bound + 1, { outcome: 'run_over', last: '503 genesys_unavailable' }),
      runWith(),
      ['stuck'],
    ],
  ])('%s', (_, facts, run, expected) => {
    expect(checkSession(facts, run).map((v) => v.kind)).toEqual(expected);
  });

  test('a send that waited out a chain of faults over a hundred seconds long is not stuck (seed 491388493 at 596 s)', () => {
    // The faults of that run between 585.8 s and 699.2 s, never a pause between them, none longer than 26.8 s; the
    // send was refused by each in turn (503 store_unavailable or upstream_unavailable) and answered 201 at 698.97 s.
    const at = (s: number) => s - 600;
    const chain: [string, number, number][] = [
      ['instance_starved', 585.83, 611.6],
      ['redis_restart', 589.69, 611.7],
      ['instance_starved', 597.05, 621.0],
      ['instance_starved', 612.39, 629.4],
      ['socket_drop', 614.89, 615.1],
      ['redis_sigstop', 617.73, 622.2],
      ['redis_restart', 620.73, 634.3],
      ['instance_starved', 623.89, 650.7],
      ['instance_starved', 634.38, 653.0],
      ['genesys_hanging', 640.08, 650.7],
      ['genesys_refusing', 650.68, 659.7],
      ['redis_sigstop', 655.67, 668.5],
      ['instance_starved', 662.04, 678.2],
      ['redis_sigstop', 671.2, 679.3],
      ['instance_starved', 672.78, 695.7],
      ['instance_starved', 682.32, 694.7],
      ['genesys_slow', 689.94, 699.2],
    ];
    const run = runWith(...chain.map(([kind, from, to]): [string, number, number] => [kind, at(from), at(to)]));
    expect(checkSession(withSend(at(596.5), at(698.97)), run)).toEqual([]);
    // Held a minute past the chain's end, it is stuck, and the report names the chain.
    const [late] = checkSession(withSend(at(596.5), at(699.2 + bound + 14)), run);
    expect(late).toEqual({
      kind: 'stuck',
      session: 's1.0',
      detail: expect.stringContaining(
        '17 faults meanwhile (instance_starved, redis_restart, socket_drop, redis_sigstop, genesys_hanging, ' +
          'genesys_refusing, genesys_slow) covering 113.4 s between',
      ),
    });
  });

  test('a start stuck past the bound is flagged with its wait, its last refusal and the fault that was allowed for', () => {
    const facts = clean();
    facts.operations[0] = {
      what: 'start',
      began: T0,
      ended: T0 + 95_000,
      outcome: 'ok',
      last: '503 store_unavailable',
    };
    const [violation] = checkSession(facts, runWith(['redis_sigkill', 1, 4]));
    expect(violation).toEqual({
      kind: 'stuck',
      session: 's1.0',
      detail: expect.stringMatching(
        /^start from 60\.0 s waited 95\.0 s \(answered, last refusal 503 store_unavailable\); fault meanwhile redis_sigkill for 3\.0 s/,
      ),
    });
  });
});

describe('refusals the model client does not retry', () => {
  const deliberate = (outcome: Operation['outcome'], last?: string) =>
    withSend(10, 10.1, { label: 's1.0 too long xxx', deliberate: '413 message_too_long', outcome, last });
  test.each<[string, SessionFacts, string[]]>([
    ['a send refused for good', withSend(10, 10.1, { outcome: 'refused', last: '400 validation_failed' }), ['refused']],
    [
      'a send the run ended while it was retried',
      withSend(10, 20, { outcome: 'run_over', last: '503 upstream_unavailable' }),
      [],
    ],
    ['a send invalid on purpose, refused as expected', deliberate('refused', '413 message_too_long'), []],
    [
      'a send invalid on purpose, refused with another code',
      deliberate('refused', '400 validation_failed'),
      ['refused'],
    ],
    ['a send invalid on purpose, accepted', deliberate('ok'), ['refused']],
    ['a send invalid on purpose the run ended while it was retried', deliberate('run_over', '502 bad_gateway'), []],
  ])('%s', (_, facts, expected) => {
    expect(checkSession(facts).map((v) => v.kind)).toEqual(expected);
  });

  test('a refusal is reported by its code', () => {
    const facts = withSend(10, 10.1, { outcome: 'refused', last: '409 idempotency_conflict' });
    expect(checkSession(facts, runWith())[0]!.detail).toBe(
      'send "s1.0 m2 human" from 70.0 s refused: 409 idempotency_conflict',
    );
  });

  test('a chat whose start is refused is checked too', () => {
    const facts: SessionFacts = {
      ...clean(),
      history: [],
      view: [],
      connections: [],
      acked: [],
      sockets: undefined,
      operations: [{ what: 'start', began: T0, ended: T0 + 50, outcome: 'refused', last: '403 origin_not_allowed' }],
    };
    expect(checkSession(facts, runWith()).map((v) => [v.kind, v.detail])).toEqual([
      ['refused', 'start from 60.0 s refused: 403 origin_not_allowed'],
    ]);
  });

  const lostAt = (seconds: number): SessionFacts => ({
    ...clean(),
    lost: { at: T0 + seconds * 1000, answer: '410 session_expired' },
  });
  const startEnded = (T0 - 400 - T0) / 1000;
  const sync = UNSYNCED_WRITE_MS / 1000;
  test.each<[string, RunFacts, string[]]>([
    ['a chat refused as lost with no Redis fault', runWith(), ['refused']],
    [
      'a chat refused as lost after a Redis SIGKILL just after its start',
      runWith(['redis_sigkill', startEnded + sync - 0.1, 10]),
      [],
    ],
    [
      'a chat refused as lost after a Redis SIGKILL long after its start',
      runWith(['redis_sigkill', startEnded + sync + 0.1, 10]),
      ['refused'],
    ],
    [
      'a chat refused as lost after a Redis restart (SIGTERM syncs)',
      runWith(['redis_restart', startEnded, 10]),
      ['refused'],
    ],
  ])('%s', (_, run, expected) => {
    expect(checkSession(lostAt(20), run).map((v) => v.kind)).toEqual(expected);
  });
});

describe("Genesys's sockets per session, faults or not", () => {
  test.each<[string, number | undefined, number | undefined, string[]]>([
    ['three at once, none evicted', 3, 0, []],
    ['never reached Genesys', undefined, undefined, []],
    ['a fourth at once', 4, 1, ['socket_peak']],
    ['one evicted, whatever the peak seen', 3, 1, ['socket_peak']],
  ])('%s', (_, peak, evictions, expected) => {
    const facts = { ...clean(), socketPeak: peak, evictions };
    expect(checkSession(facts).map((v) => v.kind)).toEqual(expected);
  });
});

describe('latency outside fault windows', () => {
  const t0 = T0;
  const at = (seconds: number) => t0 + seconds * 1000;
  /** `count` samples of `ms` each, one a second from `from` s. */
  const samples = (from: number, count: number, ms: number): LatencySample[] =>
    Array.from({ length: count }, (_, i) => ({ at: at(from + i), ms }));
  const only = (operation: LatencyOperation, xs: LatencySample[]) => ({
    start: [],
    send: [],
    history: [],
    delivery: [],
    [operation]: xs,
  });
  const run = (...faults: [number, number][]): RunFacts => ({
    t0,
    faults: faults.map(([from, to]) => ({ kind: 'genesys_slow', from: at(from), to: at(to) })),
  });
  const bound = LATENCY_BOUNDS_MS.send;
  const warm = WARM_UP_MS / 1000;
  const after = FAULT_AFTERMATH_MS / 1000;
  const n = LATENCY_MIN_SAMPLES;

  test.each<[string, LatencySample[], RunFacts, string[]]>([
    ['quick sends, no fault', samples(warm, 100, bound), run(), []],
    ['slow sends, no fault', samples(warm, 100, bound + 1), run(), ['slow']],
    [
      'one slow send in a hundred is the p99',
      [...samples(warm, 99, 10), ...samples(warm + 99, 1, bound * 5)],
      run(),
      [],
    ],
    ['two slow sends in a hundred', [...samples(warm, 98, 10), ...samples(warm + 98, 2, bound * 5)], run(), ['slow']],
    ['slow sends during a fault', [...samples(warm, 100, 10), ...samples(100, 50, bound * 5)], run([100, 150]), []],
    [
      'slow sends in its aftermath',
      [...samples(warm, 100, 10), ...samples(150, after, bound * 5)],
      run([100, 150]),
      [],
    ],
    [
      'slow sends past its aftermath',
      [...samples(warm, 100, 10), ...samples(151 + after, 10, bound * 5)],
      run([100, 150]),
      ['slow'],
    ],
    [
      'slow sends begun before a fault and overlapping it',
      [...samples(warm, 100, 10), ...samples(90, 5, 20_000)],
      run([100, 150]),
      [],
    ],
    ['slow sends in the warm-up', [...samples(0, warm, bound * 5), ...samples(warm, 100, 10)], run(), []],
    ['too few sends outside faults to judge', samples(warm, n - 1, bound * 5), run(), []],
    ['just enough to judge', samples(warm, n, bound * 5), run(), ['slow']],
  ])('%s', (_, xs, facts, expected) => {
    expect(checkLatency(only('send', xs), facts).violations.map((v) => v.kind)).toEqual(expected);
  });

  test('each operation is reported against its own bound, judged or not', () => {
    const { rows, violations } = checkLatency(
      { start: samples(warm, 5, 10), send: [], history: samples(warm, 50, 10), delivery: samples(warm, 50, 60_000) },
      run(),
    );
    expect(rows.map((r) => [r.operation, r.count, r.p99, r.boundMs, r.judged])).toEqual([
      ['start', 5, 10, LATENCY_BOUNDS_MS.start, false],
      ['send', 0, 0, LATENCY_BOUNDS_MS.send, false],
      ['history', 50, 10, LATENCY_BOUNDS_MS.history, true],
      ['delivery', 50, 60_000, LATENCY_BOUNDS_MS.delivery, true],
    ]);
    expect(violations).toEqual([
      {
        kind: 'slow',
        session: '(run)',
        detail: `delivery: p99 60000 ms outside faults over 50 samples, bound ${LATENCY_BOUNDS_MS.delivery} ms`,
      },
    ]);
  });
});

test('store_unavailable is owed to a Redis fault or a restarting instance and its recovery, never to a starved one', () => {
  const facts = clean();
  const at = (seconds: number) => T0 + seconds * 1000;
  // During a Redis pause, soon after it, and soon after an instance came back: excused.
  facts.storeRefusals = [at(12), at(20 + STORE_RECOVERY_MS / 1000 - 1), at(41)];
  const run = runWith(['redis_sigstop', 10, 20], ['instance_sigkill', 35, 40], ['instance_starved', 50, 70]);
  expect(checkSession(facts, run)).toEqual([]);
  // While an instance is starved (its timers late, Redis whole), and long after Redis came back: flagged.
  facts.storeRefusals = [at(55), at(20 + STORE_RECOVERY_MS / 1000 + 1)];
  const found = checkSession(facts, run);
  expect(found.map((v) => v.kind)).toEqual(['false_outage']);
  expect(found[0]!.detail).toMatch(/^2 answered 503 store_unavailable with Redis whole/);
});
