import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, DEFAULT_RETRY_AFTER_SECONDS } from '../../../src/domain/errors';
import type { DeliveryVerdict, SentMessage } from '../../../src/genesys/guest/desk/deliveryProof';
import { RequestDesk } from '../../../src/genesys/guest/desk/requestDesk';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import { SendLedger, type KeyedSend } from '../../../src/session/sending/sendLedger';
import { MemoryStore, type SharedStore } from '../../../src/store';
import { StandInSocket } from '../../support/deskSocket';
import { waitFor } from '../../support/wait';

/**
 * The send ledger (src/session/sending/sendLedger.ts): as two instances see it, two ledgers over
 * one store; the lease a keyed send holds on its record while it runs; and which keyed sends a
 * store's record loss puts in doubt, at the window's edges.
 */

describe('two instances over one store', () => {
  /**
   * The send ledger as two instances see it: two ledgers over one store. What
   * Genesys received is `delivered`; a send "reaches Genesys" by pushing to it.
   */
  function fakeGenesys() {
    const delivered: string[] = [];
    const proofs: SentMessage[] = [];
    return {
      delivered,
      proofs,
      keyed(overrides: Partial<KeyedSend<string>> & { text?: string } = {}): KeyedSend<string> {
        const text = overrides.text ?? 'hello';
        return {
          messageId: 'm-1',
          fingerprint: `fp:${text}`,
          describe: (sentAt) => ({ messageId: 'm-1', text, sentAt }),
          prove: async (earlier): Promise<DeliveryVerdict> => {
            proofs.push(earlier);
            return delivered.includes(earlier.messageId)
              ? { verdict: 'delivered', message: { id: 'g-1' } as never }
              : { verdict: 'not_delivered' };
          },
          send: async () => {
            delivered.push('m-1');
            return `sent:${text}`;
          },
          fromHistory: () => 'from-history',
          ...overrides,
        };
      },
    };
  }

  /** A claim of `leaseMs` that is never renewed past its first lease (maxHoldMs = leaseMs): the sender's lease is its whole hold. */
  const ledger = (store: SharedStore, leaseMs = 60_000) =>
    new SendLedger({ store, ttlMs: 3_600_000, leaseMs, renewMs: 1000, maxHoldMs: leaseMs, waitMs: 5_000, pollMs: 5 });

  test('two instances racing on one key send once; both answer with the first result', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = genesys.keyed({
      send: async () => {
        await gate;
        genesys.delivered.push('m-1');
        return 'first';
      },
    });
    const a = ledger(store).run('session', slow);
    const b = ledger(store).run('session', genesys.keyed());
    release();
    await expect(Promise.all([a, b])).resolves.toEqual(['first', 'first']);
    expect(genesys.delivered).toEqual(['m-1']);
  });

  test('a retry on this instance joins the attempt in flight', async () => {
    const genesys = fakeGenesys();
    const one = ledger(new MemoryStore());
    const [a, b] = await Promise.all([one.run('s', genesys.keyed()), one.run('s', genesys.keyed())]);
    expect([a, b]).toEqual(['sent:hello', 'sent:hello']);
    expect(genesys.delivered).toHaveLength(1);
  });

  test('the same key with another message is refused, here and on another instance', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    await ledger(store).run('s', genesys.keyed());
    await expect(ledger(store).run('s', genesys.keyed({ text: 'other' }))).rejects.toMatchObject({
      code: 'idempotency_key_reused',
    });
    expect(genesys.delivered).toHaveLength(1);
  });

  test('an attempt in doubt is proven on another instance before anything is sent again', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    const timesOut = genesys.keyed({
      send: async () => {
        genesys.delivered.push('m-1'); // it did reach Genesys, but no answer came back
        throw new GuestApiError('timeout', 'no answer');
      },
    });
    await expect(ledger(store).run('s', timesOut)).rejects.toMatchObject({ failure: 'timeout' });
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('from-history');
    expect(genesys.delivered).toEqual(['m-1']);
    expect(genesys.proofs).toHaveLength(1);
    // Proven once: the record is now `done`, so a third retry proves nothing again.
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('from-history');
    expect(genesys.proofs).toHaveLength(1);
  });

  test('an attempt in doubt that history proves undelivered is sent, once', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    const lost = genesys.keyed({
      send: async () => {
        throw new GuestApiError('connection_lost', 'socket closed after the write');
      },
    });
    await expect(ledger(store).run('s', lost)).rejects.toMatchObject({ failure: 'connection_lost' });
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('sent:hello');
    expect(genesys.delivered).toEqual(['m-1']);
  });

  test('when history cannot tell, nothing is sent and the doubt stays for the next retry', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    await expect(
      ledger(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('timeout', 'x')) })),
    ).rejects.toThrow();
    const blind = genesys.keyed({ prove: async () => ({ verdict: 'unknown' }) });
    await expect(ledger(store).run('s', blind)).rejects.toMatchObject({ failure: 'unavailable' });
    expect(genesys.delivered).toEqual([]);
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('sent:hello');
    // The doubt was still there: this retry proved again (the blind proof above is not counted) before sending.
    expect(genesys.proofs).toHaveLength(1);
  });

  test('a definite refusal is forgotten, so a retry may send, on another instance or this one', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    await expect(
      ledger(store).run(
        's',
        genesys.keyed({ send: () => Promise.reject(new GuestApiError('rate_limited', 'slow down')) }),
      ),
    ).rejects.toThrow();
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('sent:hello');
    expect(genesys.proofs).toEqual([]);
    const one = ledger(new MemoryStore());
    await expect(
      one.run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('rate_limited', 'slow down')) })),
    ).rejects.toThrow();
    await expect(one.run('s', genesys.keyed())).resolves.toBe('sent:hello');
  });

  test('a claim whose instance died is taken over once it lapses, and proven before sending', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    // The first instance wrote the frame and then vanished: its attempt never settles.
    void ledger(store, 30).run(
      's',
      genesys.keyed({ send: () => (genesys.delivered.push('m-1'), new Promise<string>(() => {})) }),
    );
    await expect(ledger(store, 30).run('s', genesys.keyed())).resolves.toBe('from-history');
    expect(genesys.delivered).toEqual(['m-1']);
    expect(genesys.proofs).toHaveLength(1);
  });

  test('a retry that cannot wait out a live claim says so and sends nothing', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    void ledger(store).run('s', genesys.keyed({ send: () => new Promise<string>(() => {}) }));
    const impatient = new SendLedger({
      store,
      ttlMs: 3_600_000,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs: 20,
      pollMs: 5,
    });
    const error = await impatient.run('s', genesys.keyed()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'upstream_unavailable' });
    expect((error as AppError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(genesys.delivered).toEqual([]);
  });

  test('a store that cannot answer refuses the send before Genesys sees it', async () => {
    const broken = new MemoryStore();
    broken.claim = () => Promise.reject(new AppError('store_unavailable', 'down'));
    const genesys = fakeGenesys();
    await expect(ledger(broken).run('s', genesys.keyed())).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(genesys.delivered).toEqual([]);
  });

  test('a lost connection after the frame was written is proven, not sent again', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    const lostAfterWrite = genesys.keyed({
      send: async () => {
        genesys.delivered.push('m-1');
        throw new GuestApiError('connection_lost', 'socket closed after the write');
      },
    });
    await expect(ledger(store).run('s', lostAfterWrite)).rejects.toMatchObject({ failure: 'connection_lost' });
    await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('from-history');
    expect(genesys.delivered).toEqual(['m-1']);
  });

  test('each message of a session, and each session, has its own record', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    await ledger(store).run('s', genesys.keyed());
    const second = genesys.keyed({ messageId: 'm-2', fingerprint: 'fp:second', send: async () => 'sent:second' });
    await expect(ledger(store).run('s', second)).resolves.toBe('sent:second');
    const elsewhere = genesys.keyed({ fingerprint: 'fp:elsewhere', send: async () => 'sent:elsewhere' });
    await expect(ledger(store).run('other-session', elsewhere)).resolves.toBe('sent:elsewhere');
  });

  test('a retry on this instance joins the attempt in flight without waiting on the store, and another message under its key is refused at once', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const one = new SendLedger({
      store,
      ttlMs: 3_600_000,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs: 0,
      pollMs: 5,
    });
    const first = one.run(
      's',
      genesys.keyed({
        send: async () => {
          await gate;
          return 'first';
        },
      }),
    );
    const retry = one.run('s', genesys.keyed());
    const error = await one.run('s', genesys.keyed({ text: 'other' })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'idempotency_key_reused',
      message: expect.stringMatching(/different message/),
    });
    release();
    await expect(Promise.all([first, retry])).resolves.toEqual(['first', 'first']);
  });

  test('a ledger that may not wait still sends a message nobody else is sending', async () => {
    const genesys = fakeGenesys();
    const noWait = new SendLedger({
      store: new MemoryStore(),
      ttlMs: 3_600_000,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs: 0,
    });
    await expect(noWait.run('s', genesys.keyed())).resolves.toBe('sent:hello');
  });

  /** Ledgers of one store on the test's clock, each with its own patience for a claim still live. */
  const onClock = (store: SharedStore, now: () => number) => (waitMs: number) =>
    new SendLedger({
      store,
      ttlMs: 3_600_000,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs,
      pollMs: 5,
      now,
    });

  test('a retry that cannot wait is told how long the live claim may still hold', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    const clock = Date.parse('2026-11-22T10:00:00Z');
    const at = onClock(store, () => clock);
    void at(5_000).run('s', genesys.keyed({ send: () => new Promise<string>(() => {}) }));
    const error = await at(0)
      .run('s', genesys.keyed())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      retryAfterSeconds: 60,
      message: expect.stringMatching(
        /still being sent.*it was not sent again\. Retry after Retry-After seconds with the same Idempotency-Key\.$/,
      ),
    });
    expect(genesys.delivered).toEqual([]);
  });

  test('a claim has lapsed the moment its lease ends: a retry then takes it over and proves it before sending', async () => {
    const store = new MemoryStore();
    const genesys = fakeGenesys();
    let clock = Date.parse('2026-11-22T10:00:00Z');
    const at = onClock(store, () => clock);
    void at(5_000).run(
      's',
      genesys.keyed({ send: () => (genesys.delivered.push('m-1'), new Promise<string>(() => {})) }),
    );
    await waitFor(() => genesys.delivered.length === 1);
    clock += 60_000;
    await expect(at(0).run('s', genesys.keyed())).resolves.toBe('from-history');
    expect(genesys.delivered).toEqual(['m-1']);
    expect(genesys.proofs).toHaveLength(1);
  });

  test('a record that keeps vanishing between claim and read does not hold a retry beyond its wait', async () => {
    let clock = Date.parse('2026-11-22T10:00:00Z');
    let reads = 0;
    const flapping = new MemoryStore();
    flapping.claim = async () => false;
    flapping.get = async () => {
      reads += 1;
      // Bounded, so a ledger that never gives up fails here instead of spinning.
      if (reads > 1_000) throw new Error('the ledger kept reading past its wait');
      clock += 10;
      return undefined;
    };
    const patient = new SendLedger({
      store: flapping,
      ttlMs: 3_600_000,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs: 50,
      pollMs: 5,
      now: () => clock,
    });
    await expect(patient.run('s', fakeGenesys().keyed())).rejects.toMatchObject({
      code: 'upstream_unavailable',
      retryAfterSeconds: 1,
    });
    expect(reads).toBe(5);
  });

  describe('a send in doubt after a timeout, while history may not show it yet', () => {
    const T0 = Date.parse('2026-11-22T10:00:00Z');
    let clock = T0;
    const at = (store: SharedStore) =>
      new SendLedger({
        store,
        ttlMs: 3_600_000,
        leaseMs: 60_000,
        renewMs: 1000,
        maxHoldMs: 60_000,
        waitMs: 5_000,
        pollMs: 5,
        visibilityGraceMs: 10_000,
        now: () => clock,
      });
    const blindRetry = (genesys: ReturnType<typeof fakeGenesys>) =>
      genesys.keyed({
        prove: async (earlier) => {
          genesys.proofs.push(earlier);
          return { verdict: 'unknown' }; // history does not show it yet
        },
      });

    beforeEach(() => {
      clock = T0;
    });

    test('is not sent again; the retry is told when history will tell, and nothing once it should', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      await expect(
        at(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('timeout', 'x')) })),
      ).rejects.toThrow();
      const answers: unknown[] = [];
      for (const after of [2_500, 10_000, 20_000]) {
        clock = T0 + after;
        answers.push(
          await at(store)
            .run('s', blindRetry(genesys))
            .catch((e: unknown) => e),
        );
      }
      expect(answers[0]).toMatchObject({
        failure: 'unavailable',
        retryAfterSeconds: 8,
        message: expect.stringMatching(
          /not sent again; retry after Retry-After seconds with the same Idempotency-Key\.$/,
        ),
      });
      // Past the grace, no wait of its own: the default every 503 carries.
      for (const later of answers.slice(1))
        expect(later).toMatchObject({ failure: 'unavailable', retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS });
      expect(genesys.proofs.map((p) => p.visibleBy)).toEqual([T0 + 10_000, T0 + 10_000, T0 + 10_000]);
      expect(genesys.delivered).toEqual([]);
    });

    test('a send the circuit answered while Genesys hung is held as a timed-out one: proved with the same grace', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      const desk = new RequestDesk(
        new StandInSocket(),
        10_000,
        { messagesPerSecond: 2, requestsPerMinute: 60 },
        () => clock,
      );
      // Written to Genesys, then the circuit opens before any answer (requestDesk.ts `release`).
      const released = genesys.keyed({
        send: () => {
          const echo = desk.request<string>('send', (tracingId) => ({ tracingId }), {
            messageId: 'm-1',
            text: 'hello',
          });
          desk.release(new GuestApiError('circuit_open', 'Genesys stopped answering.', { retryAfterSeconds: 3 }));
          return echo;
        },
      });
      await expect(at(store).run('s', released)).rejects.toMatchObject({ status: 503, retryAfterSeconds: 3 });
      clock = T0 + 2_500;
      await expect(at(store).run('s', blindRetry(genesys))).rejects.toMatchObject({
        failure: 'unavailable',
        retryAfterSeconds: 8,
        message: expect.stringMatching(/not sent again/),
      });
      expect(genesys.proofs.map((p) => p.visibleBy)).toEqual([T0 + 10_000]);
      expect(genesys.delivered).toEqual([]);
    });

    test('a lost connection gives history no grace', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      await expect(
        at(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('connection_lost', 'x')) })),
      ).rejects.toThrow();
      clock = T0 + 2_500;
      await expect(at(store).run('s', blindRetry(genesys))).rejects.toMatchObject({
        failure: 'unavailable',
        retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
      });
      expect(genesys.proofs).toEqual([{ messageId: 'm-1', text: 'hello', sentAt: T0 }]);
    });

    test("a proof Genesys's history limit refused tells the retry Genesys's wait, or history's grace if longer", async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      await expect(
        at(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('timeout', 'x')) })),
      ).rejects.toThrow();
      const limited = (retryAfterSeconds: number) =>
        genesys.keyed({ prove: async () => ({ verdict: 'unknown', retryAfterSeconds }) });
      clock = T0 + 2_500;
      await expect(at(store).run('s', limited(40))).rejects.toMatchObject({
        failure: 'unavailable',
        retryAfterSeconds: 40,
      });
      await expect(at(store).run('s', limited(3))).rejects.toMatchObject({ retryAfterSeconds: 8 });
      expect(genesys.delivered).toEqual([]);
    });
  });

  describe('a retry waiting on a live claim (fake timers)', () => {
    beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-11-22T10:00:00Z') }));
    afterEach(() => jest.useRealTimers());

    /** Starts a claim on `store` that lives `leaseMs` and never settles (its sender wrote the frame, then vanished). */
    function claimed(store: SharedStore, genesys: ReturnType<typeof fakeGenesys>, leaseMs: number) {
      void ledger(store, leaseMs).run(
        's',
        genesys.keyed({ send: () => (genesys.delivered.push('m-1'), new Promise<string>(() => {})) }),
      );
    }
    function outcomeOf(promise: Promise<string>) {
      const outcome: { value?: unknown } = {};
      promise.then(
        (value) => (outcome.value = value),
        (error: unknown) => (outcome.value = error),
      );
      return outcome;
    }

    test.each([
      ['given 100 ms', 100, 5],
      ['given none, as the service builds it: 50 ms', undefined, 10],
    ])('reads the shared store once per poll interval (%s), not faster', async (_name, pollMs, reads500ms) => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      claimed(store, genesys, 60_000);
      const reads = jest.spyOn(store, 'get');
      const retry = outcomeOf(
        new SendLedger({
          store,
          ttlMs: 3_600_000,
          leaseMs: 60_000,
          renewMs: 1000,
          maxHoldMs: 60_000,
          waitMs: 500,
          pollMs,
        }).run('s', genesys.keyed()),
      );
      await jest.advanceTimersByTimeAsync(500);
      expect(retry.value).toMatchObject({ code: 'upstream_unavailable' });
      expect(reads.mock.calls.length).toBeGreaterThanOrEqual(reads500ms - 1);
      expect(reads.mock.calls.length).toBeLessThanOrEqual(reads500ms + 1);
    });

    test('takes the claim over as soon as it lapses, however long the poll interval', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      claimed(store, genesys, 100);
      const retry = outcomeOf(
        new SendLedger({
          store,
          ttlMs: 3_600_000,
          leaseMs: 60_000,
          renewMs: 1000,
          maxHoldMs: 60_000,
          waitMs: 5_000,
          pollMs: 10_000,
        }).run('s', genesys.keyed()),
      );
      await jest.advanceTimersByTimeAsync(101);
      expect(retry.value).toBe('from-history');
      expect(genesys.delivered).toEqual(['m-1']);
    });

    test('answers when its wait is over, however long the poll interval', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      claimed(store, genesys, 60_000);
      const retry = outcomeOf(
        new SendLedger({
          store,
          ttlMs: 3_600_000,
          leaseMs: 60_000,
          renewMs: 1000,
          maxHoldMs: 60_000,
          waitMs: 100,
          pollMs: 10_000,
        }).run('s', genesys.keyed()),
      );
      await jest.advanceTimersByTimeAsync(100);
      expect(retry.value).toMatchObject({ code: 'upstream_unavailable' });
    });

    test('a live sender renews its short lease, so a retry waits for its outcome instead of taking over', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      let answer!: (value: string) => void;
      const slow = genesys.keyed({
        send: () => (genesys.delivered.push('m-1'), new Promise<string>((resolve) => (answer = resolve))),
      });
      const first = outcomeOf(
        new SendLedger({
          store,
          ttlMs: 3_600_000,
          leaseMs: 3000,
          renewMs: 1000,
          maxHoldMs: 30_000,
          waitMs: 10_000,
          pollMs: 100,
        }).run('s', slow),
      );
      await jest.advanceTimersByTimeAsync(10);
      const retry = outcomeOf(
        new SendLedger({
          store,
          ttlMs: 3_600_000,
          leaseMs: 3000,
          renewMs: 1000,
          maxHoldMs: 30_000,
          waitMs: 10_000,
          pollMs: 100,
        }).run('s', genesys.keyed()),
      );
      // Two leases long: without renewals the retry would have taken over (and proven) by now.
      await jest.advanceTimersByTimeAsync(6000);
      expect(retry.value).toBeUndefined();
      expect(genesys.proofs).toEqual([]);
      answer('first');
      await jest.advanceTimersByTimeAsync(200);
      expect(first.value).toBe('first');
      expect(retry.value).toBe('first');
      expect(genesys.delivered).toEqual(['m-1']);
    });

    test('a sender stuck for good lets go after maxHoldMs, and the retry proves before sending', async () => {
      const store = new MemoryStore();
      const genesys = fakeGenesys();
      const options = {
        store,
        ttlMs: 3_600_000,
        leaseMs: 3000,
        renewMs: 1000,
        maxHoldMs: 8000,
        waitMs: 60_000,
        pollMs: 100,
      };
      void new SendLedger(options).run(
        's',
        genesys.keyed({ send: () => (genesys.delivered.push('m-1'), new Promise<string>(() => {})) }),
      );
      await jest.advanceTimersByTimeAsync(10);
      const retry = outcomeOf(new SendLedger(options).run('s', genesys.keyed()));
      await jest.advanceTimersByTimeAsync(7000);
      expect(retry.value).toBeUndefined();
      await jest.advanceTimersByTimeAsync(5000);
      expect(retry.value).toBe('from-history');
      expect(genesys.delivered).toEqual(['m-1']);
    });
  });

  describe('a store that may have lost some records (evictions, a failover to a replica behind)', () => {
    /** A store whose `done` record for the key vanished, as an eviction or a lagging replica leaves it, since `lostAt`. */
    function forgetful(lostAt: number | undefined): SharedStore {
      return Object.assign(new MemoryStore(), { recordsLostSince: () => lostAt });
    }
    const BORN = Date.now() - 120_000;

    test('a key with no record in a session older than the loss is proven first: delivered before, so not sent again', async () => {
      const genesys = fakeGenesys();
      genesys.delivered.push('m-1');
      const result = await ledger(forgetful(BORN + 60_000)).run('s', genesys.keyed({ bornAt: BORN }));
      expect(result).toBe('from-history');
      expect(genesys.delivered).toEqual(['m-1']);
      // Searched from the session's start: when the forgotten attempt was is unknown.
      expect(genesys.proofs).toEqual([expect.objectContaining({ messageId: 'm-1', sentAt: BORN })]);
    });

    test('proven not delivered: sent once, and the next retry is answered from its record', async () => {
      const genesys = fakeGenesys();
      const store = forgetful(BORN + 60_000);
      await expect(ledger(store).run('s', genesys.keyed({ bornAt: BORN }))).resolves.toBe('sent:hello');
      await expect(ledger(store).run('s', genesys.keyed({ bornAt: BORN }))).resolves.toBe('sent:hello');
      expect(genesys.delivered).toEqual(['m-1']);
      expect(genesys.proofs).toHaveLength(1);
    });

    test('sessions begun after the loss, and any store that lost nothing, send without a proof', async () => {
      for (const [store, bornAt] of [
        [forgetful(BORN - 1), BORN],
        [forgetful(undefined), BORN],
        [new MemoryStore(), undefined],
      ] as const) {
        const genesys = fakeGenesys();
        await expect(ledger(store).run('s', genesys.keyed({ bornAt }))).resolves.toBe('sent:hello');
        expect(genesys.proofs).toEqual([]);
      }
    });
  });
});

describe('the lease a keyed send holds while it runs', () => {
  /** A memory store that counts swaps and fails the first `failing` of them, as a store that did not answer. */
  class FlakyStore extends MemoryStore {
    swaps = 0;
    constructor(private failing: number) {
      super();
    }
    override async swap(key: string, expected: string, value: string | undefined, ttlMs: number): Promise<boolean> {
      this.swaps += 1;
      if (this.failing > 0) {
        this.failing -= 1;
        throw new Error('store did not answer');
      }
      return super.swap(key, expected, value, ttlMs);
    }
  }

  function slowSend(proofs: SentMessage[], delivered: string[]): KeyedSend<string> {
    return {
      messageId: 'm-1',
      fingerprint: 'fp',
      describe: (sentAt) => ({ messageId: 'm-1', text: 'hello', sentAt }),
      prove: async (earlier): Promise<DeliveryVerdict> => {
        proofs.push(earlier);
        return { verdict: 'not_delivered' };
      },
      send: async () => {
        await sleep(40);
        delivered.push('m-1');
        return 'sent';
      },
      fromHistory: () => 'from-history',
    };
  }

  const ledger = (store: MemoryStore) =>
    new SendLedger({ store, ttlMs: 3_600_000, leaseMs: 60_000, renewMs: 5, maxHoldMs: 600_000, waitMs: 50, pollMs: 5 });

  test('a renewal the store failed to make is not counted as made: the outcome still lands, and a retry is answered from it', async () => {
    const store = new FlakyStore(1);
    const proofs: SentMessage[] = [];
    const delivered: string[] = [];
    await expect(ledger(store).run('s', slowSend(proofs, delivered))).resolves.toBe('sent');
    expect(store.swaps).toBeGreaterThan(1);
    await expect(ledger(store).run('s', slowSend(proofs, delivered))).resolves.toBe('sent');
    expect(delivered).toEqual(['m-1']);
    expect(proofs).toEqual([]);
  });

  test('an attempt that ends in an error of its own stops renewing its record', async () => {
    const store = new FlakyStore(0);
    const noResult = {
      ...slowSend([], []),
      prove: async (): Promise<DeliveryVerdict> => ({ verdict: 'delivered', message: { id: 'g-1' } as never }),
      fromHistory: () => {
        throw new Error('no result');
      },
    };
    // In doubt first, so the next attempt proves it, and its own result fails.
    await expect(
      ledger(store).run('s', { ...slowSend([], []), send: () => Promise.reject(new GuestApiError('timeout', 'x')) }),
    ).rejects.toThrow();
    await expect(ledger(store).run('s', noResult)).rejects.toThrow('no result');
    const swapsWhenDone = store.swaps;
    await sleep(40);
    expect(store.swaps).toBe(swapsWhenDone);
  });

  test('renewals queued behind a slow store are dropped once the send is over: the outcome is the next write', async () => {
    const store = new MemoryStore();
    const swap = store.swap.bind(store);
    let over = false;
    const late: string[] = [];
    store.swap = async (key, expected, value, ttlMs) => {
      if (over) late.push(value === undefined ? 'deleted' : (JSON.parse(value) as { state: string }).state);
      // Slower than the renewals come (every 5 ms): they queue up behind each other.
      await sleep(30);
      return swap(key, expected, value, ttlMs);
    };
    const send = {
      ...slowSend([], []),
      send: async () => {
        await sleep(100);
        over = true;
        return 'sent';
      },
    };
    await expect(ledger(store).run('s', send)).resolves.toBe('sent');
    expect(late).toEqual(['done']);
  });

  test('once a send is over, its record is never renewed again', async () => {
    const store = new FlakyStore(0);
    await ledger(store).run('s', slowSend([], []));
    // Renewed at least once while it ran (every 5 ms over a 40 ms send), then settled.
    expect(store.swaps).toBeGreaterThan(1);
    const swapsWhenDone = store.swaps;
    await sleep(40);
    expect(store.swaps).toBe(swapsWhenDone);
  });
});

describe("the sends a store's record loss puts in doubt", () => {
  /**
   * Which keyed sends a store's record loss (recordsLostSince) puts in doubt, at the window's edges, on a
   * clock the test holds: a send is proven against Genesys before it goes out only when its session
   * began before the loss and the loss is younger than the retry window (the ledger's ttlMs). The
   * outcomes in between are those of the blocks above.
   */
  const NOW = 1_700_000_000_000;
  const TTL_MS = 3_600_000;

  function ledgerAfterLoss(lostAt: number) {
    const store = Object.assign(new MemoryStore(), { recordsLostSince: () => lostAt });
    return new SendLedger({
      store,
      ttlMs: TTL_MS,
      leaseMs: 60_000,
      renewMs: 1000,
      maxHoldMs: 60_000,
      waitMs: 5_000,
      pollMs: 5,
      now: () => NOW,
    });
  }

  /** A keyed send that records each proof asked of it; Genesys never saw an earlier attempt. */
  function keyed(bornAt: number | undefined) {
    const proofs: SentMessage[] = [];
    const send: KeyedSend<string> = {
      messageId: 'm-1',
      fingerprint: 'fp',
      bornAt,
      describe: (sentAt) => ({ messageId: 'm-1', text: 'hello', sentAt }),
      prove: async (earlier): Promise<DeliveryVerdict> => {
        proofs.push(earlier);
        return { verdict: 'not_delivered' };
      },
      send: async () => 'sent',
      fromHistory: () => 'from-history',
    };
    return { send, proofs };
  }

  async function proofsFor(lostAt: number, bornAt: number | undefined): Promise<SentMessage[]> {
    const { send, proofs } = keyed(bornAt);
    await expect(ledgerAfterLoss(lostAt).run('s', send)).resolves.toBe('sent');
    return proofs;
  }

  test('a session that began exactly when the store lost records is in doubt; one a millisecond later is not', async () => {
    expect(await proofsFor(NOW - 1000, NOW - 1000)).toHaveLength(1);
    expect(await proofsFor(NOW - 1000, NOW - 999)).toEqual([]);
  });

  test('a loss just inside the retry window still puts a send in doubt; one the window has passed does not', async () => {
    expect(await proofsFor(NOW - TTL_MS + 1, NOW - TTL_MS - 10)).toHaveLength(1);
    expect(await proofsFor(NOW - TTL_MS, NOW - TTL_MS - 10)).toEqual([]);
    expect(await proofsFor(NOW - 2 * TTL_MS, NOW - 3 * TTL_MS)).toEqual([]);
  });

  test('history is searched from the session start, or from the whole retry window for a session that does not say when it began', async () => {
    expect(await proofsFor(NOW - 1000, NOW - 5000)).toEqual([expect.objectContaining({ sentAt: NOW - 5000 })]);
    expect(await proofsFor(NOW - 1000, undefined)).toEqual([expect.objectContaining({ sentAt: NOW - TTL_MS })]);
  });
});
