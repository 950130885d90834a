import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../../simulator';
import { SessionExpiry, expiryInMetadata } from '../../../../src/genesys/guest/link/sessionExpiry';
import { collect, hubFor } from '../../../support/guestHub';
import { sleep } from '../../../support/wait';

/**
 * When Genesys ends an idle guest session (src/genesys/guest/link/sessionExpiry.ts;
 * docs/genesys-protocol.md#session-expiry-slides): on a clock the test moves, what Genesys
 * reports is taken as the newest word, each message slides the expiry by the lifetime (one sent
 * before the lifetime is known, once it is), and an unknown lifetime is asked for with an echo at
 * most once per 30 s; through the simulator, the
 * expiry slides with each message either way, and with nothing else.
 */

describe('on a clock the test moves', () => {
  /**
   * When Genesys ends an idle guest session (src/genesys/guest/link/sessionExpiry.ts;
   * docs/genesys-protocol.md#session-expiry-slides), on a clock the test moves: what Genesys
   * reports is taken as the newest word, each message slides the expiry by the lifetime (one sent
   * before the lifetime is known, once it is), and an unknown lifetime is asked for with an echo
   * at most once per 30 s.
   */
  let now = 1_000_000;
  beforeEach(() => {
    now = 1_000_000;
  });

  function expiry() {
    let echoes = 0;
    let answer: () => void = () => undefined;
    const ask = () => {
      echoes++;
      return new Promise<void>((resolve) => (answer = resolve));
    };
    const e = new SessionExpiry(() => now, ask);
    return { e, echoes: () => echoes, answer: () => answer() };
  }

  test('an expiration date Genesys reports is taken as it is, in ms', () => {
    const { e } = expiry();
    e.reported(600, 2000);
    expect(e.at).toBe(2_000_000);
    e.reported(undefined, 1500);
    expect(e.at).toBe(1_500_000);
  });

  test('a lifetime alone sets the expiry from now, once; later reports without a date keep it', () => {
    const { e } = expiry();
    e.reported(600, undefined);
    expect(e.at).toBe(now + 600_000);
    now += 5000;
    e.reported(600, undefined);
    expect(e.at).toBe(1_000_000 + 600_000);
  });

  test('a lifetime that is not a positive number is not taken', () => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const { e } = expiry();
      e.reported(bad, undefined);
      expect(e.at).toBeUndefined();
      e.activity();
      expect(e.at).toBeUndefined();
    }
    const { e } = expiry();
    e.reported(undefined, Number.NaN);
    expect(e.at).toBeUndefined();
  });

  test('each message slides the expiry to a whole lifetime from now, never back', () => {
    const { e, echoes } = expiry();
    e.reported(600, 1_000 + 900);
    now += 10_000;
    e.activity();
    expect(e.at).toBe(1_900_000);
    now += 400_000;
    e.activity();
    expect(e.at).toBe(now + 600_000);
    expect(echoes()).toBe(0);
  });

  test('a message before the lifetime is known moves the expiry once an answer tells the lifetime', () => {
    const { e, echoes } = expiry();
    e.reported(undefined, 1_600); // a SessionResponse with a date and no lifetime
    now += 100_000;
    e.activity();
    expect([e.at, echoes()]).toEqual([1_600_000, 1]);
    // The echo was answered before Genesys saw the message: its date is the old one.
    e.reported(600, 1_600);
    expect(e.at).toBe(1_100_000 + 600_000);
    // Applied once: the next word is taken as it is.
    e.reported(600, 1_650);
    expect(e.at).toBe(1_650_000);
  });

  test('an answer that tells the lifetime with a later date than the message gives keeps that date', () => {
    const { e } = expiry();
    e.activity();
    e.reported(600, 1_800);
    expect(e.at).toBe(1_800_000);
  });

  test('with the lifetime unknown, current() asks Genesys with an echo and answers what the reply said', async () => {
    const { e, echoes, answer } = expiry();
    const pending = e.current();
    const second = e.current();
    expect(echoes()).toBe(1);
    e.reported(600, 2500);
    answer();
    await expect(pending).resolves.toBe(2_500_000);
    await expect(second).resolves.toBe(2_500_000);
    // Known now: no more echoes.
    await e.current();
    e.activity();
    expect(echoes()).toBe(1);
  });

  test('with the lifetime known, current() answers what Genesys reported without an echo, however long after', async () => {
    const { e, echoes } = expiry();
    e.reported(600, 2000);
    now += 60_000;
    await expect(e.current()).resolves.toBe(2_000_000);
    expect(echoes()).toBe(0);
  });

  test("a caller while an echo is under way waits for that echo's answer, not for nothing", async () => {
    const { e, answer } = expiry();
    void e.current();
    let second: unknown = 'pending';
    const asked = e.current().then((at) => (second = at));
    // Everything already due has run: the second caller still waits.
    await new Promise((resolve) => setImmediate(resolve));
    expect(second).toBe('pending');
    e.reported(600, 2500);
    answer();
    await asked;
    expect(second).toBe(2_500_000);
  });

  test('an echo is asked at most once per 30 s, and a failed one is not retried sooner', async () => {
    let echoes = 0;
    const e = new SessionExpiry(
      () => now,
      async () => {
        echoes++;
        throw new Error('no answer');
      },
    );
    await expect(e.current()).resolves.toBeUndefined();
    now += 29_999;
    e.activity();
    await e.current();
    expect(echoes).toBe(1);
    now += 1;
    await e.current();
    expect(echoes).toBe(2);
  });

  test('a message while the lifetime is unknown asks with an echo instead of guessing', async () => {
    const { e, echoes, answer } = expiry();
    e.activity();
    expect(echoes()).toBe(1);
    expect(e.at).toBeUndefined();
    answer();
  });

  test('an echo reply metadata gives the lifetime and date, as strings or numbers', () => {
    expect(expiryInMetadata({ durationSeconds: '600', expirationDate: '1700000000' })).toEqual({
      durationSeconds: 600,
      expirationDate: 1_700_000_000,
    });
    expect(expiryInMetadata({ durationSeconds: 600 })).toEqual({ durationSeconds: 600, expirationDate: undefined });
    expect(expiryInMetadata({ expirationDate: '1700000000' })).toEqual({
      durationSeconds: undefined,
      expirationDate: 1_700_000_000,
    });
  });

  test('metadata without either, or with values that are not numbers, gives nothing', () => {
    expect(expiryInMetadata(undefined)).toBeUndefined();
    expect(expiryInMetadata(null)).toBeUndefined();
    expect(expiryInMetadata({})).toBeUndefined();
    expect(expiryInMetadata({ durationSeconds: '', expirationDate: 'soon' })).toBeUndefined();
    expect(expiryInMetadata({ durationSeconds: true, expirationDate: {} })).toBeUndefined();
    expect(expiryInMetadata({ durationSeconds: 'Infinity' })).toBeUndefined();
    expect(expiryInMetadata({ durationSeconds: '600', expirationDate: '' })).toEqual({
      durationSeconds: 600,
      expirationDate: undefined,
    });
  });
});

describe('what moves it in a live session', () => {
  /**
   * A session's expiry slides with each message either way (docs/genesys-protocol.md#session-expiry-slides),
   * and with nothing else: an agent's typing leaves it where it was.
   */
  let sim: Simulator;

  beforeAll(async () => {
    sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  });
  afterAll(() => sim.stop());

  test("an agent's message moves the session's expiry; the agent's typing does not", async () => {
    const hub = hubFor(sim);
    try {
      const token = randomUUID();
      const session = hub.session(token);
      const live = collect(session);
      await session.ready();
      const first = await session.expiry.current();
      expect(first).toEqual(expect.any(Number));

      await sleep(20);
      sim.agent.typing(token);
      await live.next((e) => e.type === 'typing');
      expect(session.expiry.at).toBe(first);

      await sleep(20);
      sim.agent.say(token, 'still here');
      await live.next((e) => e.type === 'message');
      expect(session.expiry.at).toBeGreaterThan(first!);
      live.unsubscribe();
    } finally {
      hub.close();
    }
  });
});
