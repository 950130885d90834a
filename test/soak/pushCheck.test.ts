import { UNSYNCED_WRITE_MS, type FaultWindow, type RunFacts, type TruthMessage } from './checker';
import { checkPushes, CLOSE_RACE_MS, NOTIFY_AFTER_MS, PUSH_DUE_MS, type PushFacts, type PushSeen } from './pushCheck';

/**
 * The soak's Web Push check (test/soak/pushCheck.ts), fed hand-built timelines of one subscribed chat: the tab
 * closed, the agent's replies, what the push service received. A chat that got its pushes passes; a lost push,
 * a push twice and a push that is not the chat's are flagged by their kind; faults excuse what they may cost.
 */

const T0 = Date.parse('2026-01-01T10:00:00Z');
const URL_OF_PAGE = 'http://localhost:3000/chat';
const s = (seconds: number) => T0 + seconds * 1000;
const guest = (n: number, at: number): TruthMessage => ({ id: `g${n}`, direction: 'inbound', text: `s1.0 m${n}`, at });
const reply = (n: number, at: number): TruthMessage => ({
  id: `r${n}`,
  direction: 'outbound',
  text: `s1.0 reply while away ${n}`,
  at,
});
const push = (at: number, preview: string): PushSeen => ({
  at,
  payload: { type: 'reply', from: 'bot', preview, url: URL_OF_PAGE },
});

/**
 * The customer writes at 1 s (the echo at 1.1 s, seen by the open page), closes the tab at 10 s and comes back at
 * 60 s. The agent writes at 10.5 s (before any watch: found in history as the watch begins, pushed at 20 s), then
 * at 26 s and at 33 s (heard live, each pushed 3 s later).
 */
function timeline(): PushFacts {
  return {
    name: 's1.0',
    subscribedAt: s(2),
    url: URL_OF_PAGE,
    history: [
      guest(0, s(1)),
      { ...reply(9, s(1.1)), text: 'You said: s1.0 m0' },
      reply(0, s(11.5)),
      reply(1, s(26)),
      reply(2, s(33)),
    ],
    away: [{ from: s(10), to: s(60), streamWasOpen: true }],
    pushes: [
      push(s(20), 's1.0 reply while away 0'),
      push(s(29.1), 's1.0 reply while away 1'),
      push(s(36.1), 's1.0 reply while away 2'),
    ],
  };
}

const run = (...faults: FaultWindow[]): RunFacts => ({ t0: T0, faults });
const kinds = (facts: PushFacts, facts2: RunFacts = run()) => checkPushes(facts, facts2).violations.map((v) => v.kind);

test('a chat whose every reply while away came as one push passes, and is counted', () => {
  const verdict = checkPushes(timeline(), run());
  expect(verdict.violations).toEqual([]);
  expect(verdict).toMatchObject({ repliesAway: 3, carried: 3, owed: 3, excused: 0, pushes: 3 });
});

describe('a lost push', () => {
  test('a reply heard live that no push covers is lost', () => {
    const facts = timeline();
    facts.pushes.splice(1, 1);
    const verdict = checkPushes(facts, run());
    expect(verdict.violations.map((v) => v.kind)).toEqual(['push_lost']);
    expect(verdict.violations[0]!.detail).toContain('s1.0 reply while away 1');
  });

  test('a reply from before the watch began, that the first push does not cover, is lost', () => {
    const facts = timeline();
    facts.pushes.shift();
    expect(kinds(facts)).toEqual(['push_lost']);
  });

  test('one push naming the newest of replies that came together covers them all', () => {
    const facts = timeline();
    facts.history[4]!.at = s(27);
    facts.pushes = [push(s(20), 's1.0 reply while away 0'), push(s(30.1), 's1.0 reply while away 2')];
    expect(kinds(facts)).toEqual([]);
  });

  test('the first push of a watch covers what came before it began; a later one does not', () => {
    const facts = timeline();
    facts.history.splice(2, 0, reply(8, s(11.2)));
    expect(kinds(facts)).toEqual([]);
    // Pushed after the watch must have begun, and not within the coalescing window of the reply at 11.2 s.
    facts.pushes[0]!.at = s(28);
    expect(kinds(facts)).toEqual(['push_lost']);
  });

  test('a reply the customer came back too soon for is owed nothing', () => {
    const facts = timeline();
    facts.away[0]!.to = s(10 + NOTIFY_AFTER_MS / 1000 + PUSH_DUE_MS / 1000 - 1);
    facts.history = facts.history.slice(0, 3);
    facts.pushes = [];
    expect(checkPushes(facts, run())).toMatchObject({ violations: [], repliesAway: 1, owed: 0 });
  });

  test('a reply within a moment of the close (written to the closing page, counted shown) is owed nothing', () => {
    const facts = timeline();
    facts.history[2]!.at = s(10) + CLOSE_RACE_MS - 1;
    facts.pushes.shift();
    const verdict = checkPushes(facts, run());
    expect(verdict.violations).toEqual([]);
    expect(verdict).toMatchObject({ repliesAway: 3, owed: 2 });
    // A moment later it was owed.
    facts.history[2]!.at = s(10) + CLOSE_RACE_MS;
    expect(kinds(facts)).toEqual(['push_lost']);
  });

  test('replies that came while the page was open are owed nothing', () => {
    const facts = timeline();
    facts.away = [];
    facts.pushes = [];
    expect(checkPushes(facts, run())).toMatchObject({ violations: [], repliesAway: 0, owed: 0 });
  });

  test('a tab closed while its stream was reconnecting owes nothing until the open stream’s record lapses', () => {
    const facts = timeline();
    facts.away[0]!.streamWasOpen = false;
    facts.pushes = [];
    expect(checkPushes(facts, run())).toMatchObject({ violations: [], owed: 0 });
  });
});

describe('faults', () => {
  test('a Genesys outage delays the push: owed only if the customer stays away past it', () => {
    const facts = timeline();
    facts.pushes = [push(s(41), 's1.0 reply while away 2')];
    const outage: FaultWindow = { kind: 'genesys_refusing', from: s(12), to: s(40) };
    // Whole again 5 s after it (a lease's length), and the push due 10 s later: by 55 s.
    facts.away[0]!.to = s(54);
    expect(checkPushes(facts, run(outage))).toMatchObject({ violations: [], owed: 0 });
    facts.away[0]!.to = s(90);
    expect(checkPushes(facts, run(outage))).toMatchObject({ violations: [], owed: 3 });
    facts.pushes = [];
    expect(kinds(facts, run(outage))).toEqual(['push_lost', 'push_lost', 'push_lost']);
  });

  test('an instance going down as the tab closed delays what is owed by the open stream’s record', () => {
    const facts = timeline();
    facts.pushes = [];
    const kill: FaultWindow = { kind: 'instance_sigkill', from: s(9.5), to: s(12) };
    expect(checkPushes(facts, run(kill))).toMatchObject({ violations: [], owed: 0 });
    facts.away[0]!.to = s(120);
    expect(kinds(facts, run(kill))).toEqual(['push_lost', 'push_lost', 'push_lost']);
  });

  test('an instance killed delays it from that moment, however long it takes to start again', () => {
    const facts = timeline();
    facts.pushes.pop();
    // Down from 36 s to 100 s: the others watch meanwhile; owed by 33 + 10 + 10 s, and lost before the kill.
    const kill: FaultWindow = { kind: 'instance_sigkill', from: s(36), to: s(100) };
    expect(checkPushes(facts, run(kill))).toMatchObject({ violations: [], owed: 3, excused: 1 });
    const before: FaultWindow = { kind: 'instance_sigkill', from: s(5), to: s(100) };
    expect(kinds(facts, run(before))).toEqual(['push_lost']);
  });

  test('an instance killed while the push was due excuses its loss, and the report counts it', () => {
    const facts = timeline();
    facts.away[0]!.to = s(90);
    facts.pushes.pop();
    const kill: FaultWindow = { kind: 'instance_sigkill', from: s(35), to: s(38) };
    expect(checkPushes(facts, run(kill))).toMatchObject({ violations: [], owed: 3, excused: 1 });
    // Killed before the reply came: its loss is the watch's that took over, not excused.
    const earlier: FaultWindow = { kind: 'instance_sigkill', from: s(12), to: s(14) };
    expect(kinds(facts, run(earlier))).toEqual(['push_lost']);
  });

  test('Redis paused while the push was due excuses its loss', () => {
    const facts = timeline();
    facts.away[0]!.to = s(90);
    facts.pushes.pop();
    expect(checkPushes(facts, run({ kind: 'redis_sigstop', from: s(34), to: s(37) }))).toMatchObject({
      violations: [],
      excused: 1,
    });
  });
});

describe('a duplicate push', () => {
  test('a second push naming the same reply is a duplicate', () => {
    const facts = timeline();
    facts.pushes.push(push(s(38), 's1.0 reply while away 2'));
    const verdict = checkPushes(facts, run());
    expect(verdict.violations.map((v) => v.kind)).toEqual(['push_duplicate']);
    expect(verdict.violations[0]!.detail).toContain('s1.0 reply while away 2');
  });

  test('a push naming a reply an earlier push covered is a duplicate', () => {
    const facts = timeline();
    facts.history[4]!.at = s(27);
    facts.pushes = [push(s(20), 's1.0 reply while away 0'), push(s(30.1), 's1.0 reply while away 2')];
    facts.pushes.push(push(s(32), 's1.0 reply while away 1'));
    expect(kinds(facts)).toEqual(['push_duplicate']);
  });

  test('a reply from before the watch, named after the watch’s first push, is no duplicate', () => {
    // The watch's first history read was refused (the page that just left spent the session's reads): its first
    // push, early enough to be the one that carries what came before the watch, carried only the reply it heard live
    // at 26 s, and the read, tried again, found the one from 11.5 s.
    const facts = timeline();
    facts.pushes = [
      push(s(26.9), 's1.0 reply while away 1'),
      push(s(31), 's1.0 reply while away 0'),
      push(s(36.1), 's1.0 reply while away 2'),
    ];
    expect(kinds(facts)).toEqual([]);
    // Named twice is a duplicate still.
    facts.pushes.push(push(s(40), 's1.0 reply while away 0'));
    expect(kinds(facts)).toEqual(['push_duplicate']);
  });

  test('Redis killed just after the first push (its claim unsynced) excuses the second', () => {
    const facts = timeline();
    facts.pushes.push(push(s(45), 's1.0 reply while away 2'));
    const kill: FaultWindow = { kind: 'redis_sigkill', from: s(36.1) + UNSYNCED_WRITE_MS / 2, to: s(38) };
    expect(kinds(facts, run(kill))).toEqual([]);
  });
});

describe('a push that is not the chat’s', () => {
  test('one that does not decrypt or verify', () => {
    const facts = timeline();
    facts.pushes.push({ at: s(40), problem: 'the header names another public key' });
    expect(kinds(facts)).toEqual(['push_unknown']);
  });

  test('one with a preview no reply of this chat has', () => {
    const facts = timeline();
    facts.pushes.push(push(s(40), 's2.0 reply while away 0'));
    expect(kinds(facts)).toEqual(['push_unknown']);
  });

  test('one that opens another page than the subscription’s', () => {
    const facts = timeline();
    facts.pushes[0] = { at: s(20), payload: { ...facts.pushes[0]!.payload, url: 'http://localhost:3000/' } };
    // Not counted as the reply's push either: the reply from before the watch is lost too.
    expect(kinds(facts)).toEqual(['push_unknown', 'push_lost']);
  });
});
