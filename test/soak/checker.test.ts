import { checkSession, type SessionFacts, type TruthMessage } from './checker';

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
