import fc from 'fast-check';
import { GuestApiError, type NewestPage, type SessionHub } from '../../../src/genesys/guest';
import { createLogger } from '../../../src/observability/logger';
import { notifyHistoryReads } from '../../../src/observability/metrics';
import { HistoryPoll } from '../../../src/session/notifications/historyWatch';
import { ReadPacer } from '../../../src/session/notifications/readPacer';
import { captureLogger } from '../../support/app';

/**
 * The pace of watching a chat by history reads, on jest's fake clock: the process-wide pacer never gives more than
 * its rate (against an oracle: any window of T seconds holds at most T × rate + 1 turns, given in the order asked),
 * and one chat's reads back off while nothing comes, reset on a reply, and wait out a 429's Retry-After.
 */

const logger = createLogger({ level: 'silent' });
const EMPTY: NewestPage = { messages: [], receipts: [] };

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

describe('ReadPacer', () => {
  it('spaces its turns 1/rate apart (any T seconds hold at most T × rate + 1), first asked first served', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }),
        async (perSecond, askAt) => {
          const pacer = new ReadPacer(perSecond);
          const given: Array<{ at: number; n: number }> = [];
          const start = Date.now();
          const asked = [...askAt].sort((a, b) => a - b);
          let n = 0;
          for (const at of asked) {
            await jest.advanceTimersByTimeAsync(start + at - Date.now());
            const mine = n++;
            void pacer.turn().ready.then((ok) => ok && given.push({ at: Date.now(), n: mine }));
          }
          // Bounded: every turn is given within (turns / rate) seconds of the last ask.
          await jest.advanceTimersByTimeAsync(Math.ceil((asked.length / perSecond) * 1000) + 10);
          expect(given).toHaveLength(asked.length);
          expect(given.map((g) => g.n)).toEqual(given.map((_, i) => i));
          const spacing = 1000 / perSecond;
          for (let i = 1; i < given.length; i++)
            expect(given[i]!.at - given[i - 1]!.at).toBeGreaterThanOrEqual(spacing - 1);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a cancelled turn is never given and spends nothing', async () => {
    const pacer = new ReadPacer(1);
    const first = pacer.turn();
    const second = pacer.turn();
    const third = pacer.turn();
    second.cancel();
    await expect(second.ready).resolves.toBe(false);
    await jest.advanceTimersByTimeAsync(0);
    await expect(first.ready).resolves.toBe(true);
    // The third comes one spacing after the first: the cancelled one took no turn.
    await jest.advanceTimersByTimeAsync(999);
    expect(pacer.waiting).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(third.ready).resolves.toBe(true);
  });

  it('cancelling the turn next in line, or one already given, takes no turn from the others', async () => {
    const pacer = new ReadPacer(1);
    const given = pacer.turn();
    await jest.advanceTimersByTimeAsync(0);
    await expect(given.ready).resolves.toBe(true);
    const next = pacer.turn();
    const after = pacer.turn();
    const last = pacer.turn();
    given.cancel();
    next.cancel();
    await expect(next.ready).resolves.toBe(false);
    expect(pacer.waiting).toBe(2);
    await jest.advanceTimersByTimeAsync(2000);
    await expect(after.ready).resolves.toBe(true);
    await expect(last.ready).resolves.toBe(true);
  });
});

describe('HistoryPoll', () => {
  /** A chat read by a poll, whose reads answer from `answers` (a number: that many new replies; else it throws). */
  function polled(answers: Array<number | Error>, pollMs = 1000, pollMaxMs = 8000) {
    const reads: number[] = [];
    const jwts: number[] = [];
    const over: string[] = [];
    let next = 0;
    const hub = {
      history: {
        newest: async (session: { getJwt: () => Promise<unknown> }) => {
          await session.getJwt();
          reads.push(Date.now());
          const answer = answers[Math.min(next++, answers.length - 1)]!;
          if (answer instanceof Error) throw answer;
          return { ...EMPTY, fresh: answer };
        },
      },
      session: () => ({
        getJwt: async () => {
          jwts.push(Date.now());
          return { jwt: 'jwt', exp: Math.floor(Date.now() / 1000) + 3600 };
        },
        retire: () => undefined,
      }),
    } as unknown as SessionHub;
    const poll = new HistoryPoll({
      parts: { hub, room: () => true, pacer: new ReadPacer(1000), pollMs, pollMaxMs },
      guestToken: 'gt',
      take: async (page) => (page as NewestPage & { fresh: number }).fresh,
      over: (reason) => over.push(reason),
      logger,
    });
    poll.start();
    return { poll, reads, jwts, over };
  }

  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

  it('reads at once, doubles the wait while nothing comes up to its ceiling, and starts over after a reply', async () => {
    const { poll, reads, jwts } = polled([0, 0, 0, 0, 0, 0, 2, 0]);
    await jest.advanceTimersByTimeAsync(60_000);
    poll.stop();
    expect(reads.length).toBeGreaterThan(9);
    // At once: a timer of 0 is a millisecond on the fake clock.
    expect(reads[0]).toBeLessThanOrEqual(1_000_002);
    // After a reply the wait starts over: pollMs, then (nothing new) pollMs again and doubling from there.
    const expected = [1000, 2000, 4000, 8000, 8000, 8000, 1000, 1000, 2000];
    gaps(reads)
      .slice(0, expected.length)
      .forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(expected[i]!);
        // Jitter lengthens a wait by at most a tenth; the pacer (1000 a second) adds at most a millisecond.
        expect(gap).toBeLessThanOrEqual(expected[i]! * 1.1 + 2);
      });
    // One JWT served every read: it lives an hour.
    expect(jwts).toHaveLength(1);
  });

  it('waits at least the Retry-After of a 429 from Genesys', async () => {
    const limited = new GuestApiError('rate_limited', 'slow down', { genesysCode: 429, retryAfterSeconds: 30 });
    const { poll, reads } = polled([0, limited, 0]);
    // The first read comes a millisecond in; the second within 1000 ms plus a tenth of jitter and the pacer's
    // millisecond after it, so by 1103 ms at the latest, and the 429's 30 s keeps a third far off.
    await jest.advanceTimersByTimeAsync(1200);
    expect(reads).toHaveLength(2);
    // From the refused read itself: it came up to a tenth of a second after the first (jitter).
    await jest.advanceTimersByTimeAsync(reads[1]! + 29_999 - Date.now());
    expect(reads).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(3002);
    expect(reads).toHaveLength(3);
    expect(reads[2]! - reads[1]!).toBeGreaterThanOrEqual(30_000);
    poll.stop();
  });

  it('comes again when a read held back before it went out says, without slowing its pace', async () => {
    // No Genesys code: the session's own budget (or the brief sockets' ceiling) held it back.
    const heldBack = new GuestApiError('rate_limited', 'budget spent', { retryAfterSeconds: 2 });
    const { poll, reads } = polled([0, heldBack, 0, 0]);
    await jest.advanceTimersByTimeAsync(20_000);
    poll.stop();
    expect(reads.length).toBeGreaterThan(4);
    // 1 s (nothing new), 2 s (held back: its wait, the pace kept at 2 s), 2 s, then 4 s.
    [1000, 2000, 2000, 4000].forEach((expected, i) => {
      const gap = reads[i + 1]! - reads[i]!;
      expect(gap).toBeGreaterThanOrEqual(expected);
      expect(gap).toBeLessThanOrEqual(expected * 1.1 + 2);
    });
  });

  it('ends the watch when the chat is over at Genesys, and reads no more', async () => {
    const expired = new GuestApiError('session_expired', 'expired');
    const { reads, over } = polled([expired]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(over).toEqual(['the chat is over at Genesys']);
    expect(reads).toHaveLength(1);
  });

  it('reads nothing once stopped, even with a turn already asked for', async () => {
    const { poll, reads } = polled([0]);
    await jest.advanceTimersByTimeAsync(500);
    expect(reads).toHaveLength(1);
    poll.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(reads).toHaveLength(1);
  });

  /**
   * A poll whose credentials come from brief sockets: each lives `jwtLifeS` seconds, and the hub has room for a
   * brief socket while `room.open`; `read` answers each history read (it may forget the credential, as a 401 does).
   */
  function briefSockets(
    read: (session: { getJwt(): Promise<unknown>; forgetJwt(): void }) => Promise<number>,
    pollMs = 1000,
  ) {
    const sockets: { at: number; retired?: string }[] = [];
    const reads: number[] = [];
    const room = { open: true, jwtLifeS: 3600 };
    const hub = {
      history: {
        newest: async (session: { getJwt(): Promise<unknown>; forgetJwt(): void }) => {
          const fresh = await read(session);
          reads.push(Date.now());
          return { ...EMPTY, fresh };
        },
      },
      session: () => {
        const socket: { at: number; retired?: string } = { at: Date.now() };
        sockets.push(socket);
        return {
          getJwt: async () => ({ jwt: `jwt-${sockets.length}`, exp: Math.floor(Date.now() / 1000) + room.jwtLifeS }),
          retire: (reason: string) => void (socket.retired = reason),
        };
      },
    } as unknown as SessionHub;
    const log = captureLogger('debug');
    const poll = new HistoryPoll({
      parts: { hub, room: () => room.open, pacer: new ReadPacer(1000), pollMs, pollMaxMs: 8000 },
      guestToken: 'gt',
      take: async (page) => (page as NewestPage & { fresh: number }).fresh,
      over: () => undefined,
      logger: log.logger,
    });
    return { poll, sockets, reads, room, log };
  }

  const countOf = async (outcome: string) =>
    (await notifyHistoryReads.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

  it('fetches a credential on a brief socket, closed at once, and keeps it until a minute before it expires', async () => {
    const { poll, sockets, reads, room } = briefSockets(async (session) => (await session.getJwt(), 0));
    // Each credential lives 90 s: kept for 30 s, then fetched again.
    room.jwtLifeS = 90;
    poll.start();
    await jest.advanceTimersByTimeAsync(29_000);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.retired).toBe('closed once it gave a credential for history reads');
    expect(reads.length).toBeGreaterThanOrEqual(4);
    await jest.advanceTimersByTimeAsync(20_000);
    poll.stop();
    expect(sockets).toHaveLength(2);
    expect(sockets[1]!.at - sockets[0]!.at).toBeGreaterThanOrEqual(30_000);
    expect(sockets.every((s) => s.retired !== undefined)).toBe(true);
  });

  it('fetches a new credential after a read forgot the one it had (a 401)', async () => {
    let forget = false;
    const { poll, sockets, reads } = briefSockets(async (session) => {
      await session.getJwt();
      if (forget) {
        forget = false;
        session.forgetJwt();
        await session.getJwt();
      }
      return 0;
    });
    poll.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(sockets).toHaveLength(1);
    forget = true;
    await jest.advanceTimersByTimeAsync(2500);
    poll.stop();
    expect(reads).toHaveLength(2);
    expect(sockets).toHaveLength(2);
  });

  it('opens no brief socket past their ceiling: the read is held back, logged, and comes again when it says', async () => {
    const refusedBefore = await countOf('refused');
    const { poll, sockets, reads, room, log } = briefSockets(async (session) => (await session.getJwt(), 0), 200);
    room.open = false;
    poll.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(sockets).toHaveLength(0);
    expect(reads).toHaveLength(0);
    expect(await countOf('refused')).toBe(refusedBefore + 1);
    const held = log.lines().filter((l) => l.msg.startsWith('a history read watching a chat was held back'));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ level: 20, err: { failure: 'rate_limited' } });
    expect(String((held[0]!.err as { message: string }).message)).toBe(
      'As many brief sockets fetch history credentials as may; later.',
    );
    room.open = true;
    // Held back, it comes again when the refusal said (1 s), not at the pace (200 ms), which stays: 200 ms after.
    await jest.advanceTimersByTimeAsync(980);
    expect(reads).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(130);
    expect(reads).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(225);
    poll.stop();
    expect(reads).toHaveLength(2);
  });

  it('counts a read with new replies apart from one with nothing new', async () => {
    const before = { replies: await countOf('replies'), nothing: await countOf('nothing_new') };
    const answers = [2, 0];
    const { poll } = briefSockets(async () => answers.shift() ?? 0);
    poll.start();
    await jest.advanceTimersByTimeAsync(1200);
    poll.stop();
    expect(await countOf('replies')).toBe(before.replies + 1);
    expect(await countOf('nothing_new')).toBe(before.nothing + 1);
  });

  it('after a read Genesys failed waits twice as long, logged with its outcome', async () => {
    const failures = [new Error('socket hang up'), new Error('socket hang up')];
    const { poll, reads, log } = briefSockets(async () => {
      const failure = failures.shift();
      if (failure) {
        reads.push(Date.now());
        throw failure;
      }
      return 0;
    });
    poll.start();
    await jest.advanceTimersByTimeAsync(10);
    // The first wait, pollMs (1 s), doubled by the failure: 2 s, then 4 s; not the ceiling (8 s) at once.
    await jest.advanceTimersByTimeAsync(2300);
    expect(reads).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(4500);
    poll.stop();
    expect(reads).toHaveLength(3);
    const waited = log
      .lines()
      .filter((l) => l.msg === 'a history read watching a chat did not answer; it waits longer');
    expect(waited).toHaveLength(2);
    expect(waited[0]).toMatchObject({ level: 30, outcome: 'failed', err: { message: 'socket hang up' } });
  });

  it('a wait is lengthened by its jitter, up to a tenth', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.99);
    try {
      const { poll, reads } = briefSockets(async () => 0);
      poll.start();
      await jest.advanceTimersByTimeAsync(10);
      expect(reads).toHaveLength(1);
      // 1000 ms and 99 of jitter.
      await jest.advanceTimersByTimeAsync(reads[0]! + 1098 - Date.now());
      expect(reads).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(5);
      expect(reads).toHaveLength(2);
      poll.stop();
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('stopped while a read is out, it reads no more once that read answers', async () => {
    let answer!: (fresh: number) => void;
    let asked = 0;
    const { poll } = briefSockets(() => {
      asked++;
      return new Promise<number>((resolve) => (answer = resolve));
    });
    poll.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(asked).toBe(1);
    poll.stop();
    answer(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(asked).toBe(1);
  });
});
