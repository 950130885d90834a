import { bornAtOf, StoreRevocations } from '../../../src/session/tokens/revocations';
import { sessionKeyOf, type SharedStore } from '../../../src/store';

/**
 * The standing records and used tickets of src/session/tokens/revocations.ts over a stand-in store that
 * records each key with the lifetime it was given: how long an ended session and a used ticket are
 * remembered, and what a standing record means. The API suites (test/api/endChat.test.ts,
 * test/api/stream.test.ts) show the outcomes over HTTP; the lifetimes are stated here.
 */
const NOW = 1_700_000_000_000;
const TOKEN_LIFETIME_MS = 3_600_000;
const SLACK_MS = 60_000;

function recordingStore(shared = true) {
  const records = new Map<string, { value: string; ttlMs: number }>();
  const store = {
    shared,
    async get(key: string) {
      return records.get(key)?.value;
    },
    async getRenewing(key: string) {
      return records.get(key)?.value;
    },
    async put(key: string, value: string, ttlMs: number) {
      records.set(key, { value, ttlMs });
    },
    async claim(key: string, value: string, ttlMs: number) {
      if (records.has(key)) return false;
      records.set(key, { value, ttlMs });
      return true;
    },
  } as unknown as SharedStore;
  return { store, records, revocations: new StoreRevocations(store, TOKEN_LIFETIME_MS, () => NOW) };
}

const standingKey = (guestToken: string) => `standing:${sessionKeyOf(guestToken)}`;

test('an ended session is remembered until the time given, plus a minute to spare', async () => {
  const { revocations, records } = recordingStore();
  await revocations.markEnded('guest', NOW + 10_000);
  expect(records.get(standingKey('guest'))).toEqual({ value: 'ended', ttlMs: 10_000 + SLACK_MS });
  expect(await revocations.isEnded('guest')).toBe(true);
  expect(await revocations.isEnded('other')).toBe(false);
  expect((await revocations.standing('guest', undefined)).state).toBe('ended');
  expect((await revocations.standing('guest', 'some.anchor')).state).toBe('ended');
});

test('an end under way is remembered for the time given, apart from the standing record, until the end is', async () => {
  const { revocations, records } = recordingStore();
  await revocations.markLive('guest');
  expect(await revocations.endOf('guest')).toBeUndefined();
  await revocations.markEnding('guest', 40_000);
  expect(records.get(`ending:${sessionKeyOf('guest')}`)).toEqual({ value: '1', ttlMs: 40_000 });
  expect(await revocations.endOf('guest')).toBe('ending');
  // Under way is not ended: every token of the chat still opens it.
  expect(await revocations.isEnded('guest')).toBe(false);
  expect(await revocations.endOf('other')).toBeUndefined();
  await revocations.markEnded('guest', NOW + 10_000);
  expect(await revocations.endOf('guest')).toBe('ended');
});

test('a session marked live stays live for the tokens of its anchor, and is lost for another anchor', async () => {
  const { revocations, records } = recordingStore();
  const anchor = await revocations.markLive('guest');
  expect(records.get(standingKey('guest'))).toEqual({
    value: `live:${anchor}`,
    ttlMs: TOKEN_LIFETIME_MS + 2 * SLACK_MS,
  });
  expect(await revocations.isEnded('guest')).toBe(false);
  expect((await revocations.standing('guest', anchor)).state).toBe('live');
  expect((await revocations.standing('guest', 'another.anchor')).state).toBe('lost');
  expect(await revocations.standing('guest', undefined)).toEqual({ state: 'live', cutOffMs: 0 });
});

test('the anchor names when its session began', async () => {
  const { revocations } = recordingStore();
  const anchor = await revocations.markLive('guest');
  expect(bornAtOf(anchor)).toBe(NOW);
  expect(bornAtOf(undefined)).toBeUndefined();
  expect(bornAtOf('no-time')).toBeUndefined();
  expect(bornAtOf(`word.${(12345).toString(36)}`)).toBe(12345);
});

test('a ticket is claimed once, under its own key, for as long as it could still be used', async () => {
  const { revocations, records } = recordingStore();
  expect(await revocations.ticketUsed('t1')).toBe(false);
  expect(await revocations.claimTicket('t1', NOW + 30_000)).toBe(true);
  expect(records.get('ticket:t1')).toEqual({ value: '1', ttlMs: 30_000 });
  expect(await revocations.ticketUsed('t1')).toBe(true);
  expect(await revocations.ticketUsed('t2')).toBe(false);
  expect(await revocations.claimTicket('t1', NOW + 30_000)).toBe(false);
  // A ticket already past its expiry is still claimed (for a millisecond), never for a negative time.
  expect(await revocations.claimTicket('t3', NOW - 5)).toBe(true);
  expect(records.get('ticket:t3')?.ttlMs).toBe(1);
});

test('a sign-in cut-off is read back as a time; an unreadable one counts as none', async () => {
  const { revocations, records } = recordingStore();
  await revocations.cutOff('guest', NOW - 1, 5_000);
  expect(records.get(`notbefore:${sessionKeyOf('guest')}`)).toEqual({ value: String(NOW - 1), ttlMs: 5_000 });
  expect((await revocations.standing('guest', undefined)).cutOffMs).toBe(NOW - 1);
  records.set(`notbefore:${sessionKeyOf('other')}`, { value: 'garbage', ttlMs: 1 });
  expect((await revocations.standing('other', undefined)).cutOffMs).toBe(0);
});

test("a sign-in's cut-off keeps what the sign-in got from Genesys (sealed) beside its time, in the same record", async () => {
  const { revocations, records } = recordingStore();
  await revocations.cutOff('guest', NOW - 1, 5_000, 'sealed.sign.in');
  expect(records.get(`notbefore:${sessionKeyOf('guest')}`)).toEqual({
    value: `${NOW - 1} sealed.sign.in`,
    ttlMs: 5_000,
  });
  expect(await revocations.standing('guest', undefined)).toEqual({
    state: 'live',
    cutOffMs: NOW - 1,
    signedIn: 'sealed.sign.in',
  });
  await revocations.cutOff('guest', NOW, 5_000);
  expect(await revocations.standing('guest', undefined)).toEqual({ state: 'live', cutOffMs: NOW });
});

test("what a sign-in's exchange gave is kept apart from the cut-off, under the session's key, and refuses no token", async () => {
  const { revocations, records } = recordingStore();
  expect(await revocations.exchanged('guest')).toBeUndefined();
  await revocations.keepExchanged('guest', 'sealed.sign.in', 5_000);
  expect(records.get(`signin:${sessionKeyOf('guest')}`)).toEqual({ value: 'sealed.sign.in', ttlMs: 5_000 });
  expect(await revocations.exchanged('guest')).toBe('sealed.sign.in');
  expect(await revocations.exchanged('other-guest')).toBeUndefined();
  // Genesys may not have signed the session in yet: every token of the conversation still opens it.
  expect(await revocations.standing('guest', undefined)).toEqual({ state: 'live', cutOffMs: 0 });
});

test('in memory alone, a session with no record is live whatever its anchor; with a shared store, an anchored one is lost', async () => {
  expect((await recordingStore(false).revocations.standing('guest', 'an.anchor')).state).toBe('live');
  expect((await recordingStore(true).revocations.standing('guest', 'an.anchor')).state).toBe('lost');
  expect((await recordingStore(true).revocations.standing('guest', undefined)).state).toBe('live');
});
