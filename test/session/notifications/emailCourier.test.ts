import { emails } from '../../../src/observability/metrics';
import { deriveKeys, Sealer } from '../../../src/session';
import { EmailCourier, type RetrySchedule } from '../../../src/session/notifications/emailCourier';
import { emailKeys } from '../../../src/session/notifications/emailRecords';
import type { OutgoingEmail } from '../../../src/session/notifications/emailSender';
import { type DurableQueue, MemoryStore } from '../../../src/store';
import { captureLogger, type CapturedLogger } from '../../support/app';
import { advanceFakeTimersUntil, waitFor } from '../../support/wait';

/**
 * The e-mail outbox's courier on its own: the service's in-memory store, whose outbox can be made to fail, and a
 * stand-in relay whose answer each test holds. What an operator sees (the log lines, `genesys_bff_emails_total`),
 * what a closing instance leaves to the others, and how long an e-mail and its try hold their records. The relay's
 * real conversation is emailRetry.test.ts's; the schedule's bounds are its property tests'.
 */

const sealer = new Sealer(deriveKeys(['a-session-secret-for-courier-tests-0123']));
const SCHEDULE: RetrySchedule = { tries: 4, firstMs: 60, spanMs: 20_000 };
const EMAIL: OutgoingEmail = { to: 'ada@example.com', subject: 'Replies', text: 'Hello', stop: 'https://x/stop' };
const OUTBOX = 'email:outbox';

/** The outbox's calls, counted, and each made to fail while its flag is up. */
interface Outbox {
  retries: number;
  failLease: boolean;
  failRetry: boolean;
  failRemove?: boolean;
}

/** The courier's store: a MemoryStore whose outbox queue counts its retries and fails as `outbox` says. */
function storeWith(outbox: Outbox): MemoryStore {
  const store = new MemoryStore();
  const queue = store.queue.bind(store);
  store.queue = (name: string): DurableQueue => {
    const inner = queue(name);
    return Object.assign(Object.create(inner) as DurableQueue, {
      lease: (now: number, leaseMs: number, limit: number) =>
        outbox.failLease ? Promise.reject(new Error('store down')) : inner.lease(now, leaseMs, limit),
      retry: (entry: Parameters<DurableQueue['retry']>[0], dueAt: number) => {
        outbox.retries += 1;
        return outbox.failRetry ? Promise.reject(new Error('store down')) : inner.retry(entry, dueAt);
      },
      remove: (id: string) => (outbox.failRemove ? Promise.reject(new Error('store down')) : inner.remove(id)),
    });
  };
  return store;
}

/** A relay whose every send waits until the test answers it. */
function heldRelay() {
  const sends: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  const sender = {
    send: () => new Promise<void>((resolve, reject) => sends.push({ resolve, reject })),
  };
  return { sender, sends };
}

const running: EmailCourier[] = [];
afterEach(() => running.splice(0).forEach((c) => c.close()));

function courier(
  store: MemoryStore,
  sender: { send: () => Promise<void> },
  log: CapturedLogger,
  extra: Partial<ConstructorParameters<typeof EmailCourier>[0]> = {},
): EmailCourier {
  const c = new EmailCourier({
    store,
    sealer,
    sender,
    afterMs: 1000,
    recordMs: 60_000,
    timeoutMs: 2000,
    logger: log.logger,
    schedule: SCHEDULE,
    ...extra,
  });
  running.push(c);
  return c;
}

const counted = async (outcome: string, kind = 'replies') =>
  (await emails.get()).values.find((v) => v.labels.outcome === outcome && v.labels.kind === kind)?.value ?? 0;
const add = (c: EmailCourier, id: string) =>
  c.add(id, { kind: 'replies', sk: 'sk-1', email: EMAIL, messages: ['m1'], traceId: 'a'.repeat(32) });
const waiting = async (store: MemoryStore) => (await store.queue(OUTBOX).depth()).queued;

describe('how long an e-mail holds its records', () => {
  it.each([
    // [firstMs, timeoutMs, the poll, the lease]
    [30_000, 20_000, 5000, 130_000],
    [60, 2000, 15, 22_000],
    [8, 500, 10, 13_000],
  ])(
    'a first wait of %i ms and SMTP steps of %i ms: polled every %i ms, tries leased for %i ms',
    (firstMs, timeoutMs, pollMs, leaseMs) => {
      const schedule = { tries: 5, firstMs, spanMs: 600_000 };
      const c = courier(
        storeWith({ retries: 0, failLease: false, failRetry: false }),
        heldRelay().sender,
        captureLogger(),
        {
          schedule,
          timeoutMs,
        },
      );
      expect(c.leaseMs).toBe(leaseMs);
      // Its replies' claims outlive its last try: the span, a lease on each side, and the poll that finds it.
      expect(c.holdMs).toBe(600_000 + 2 * leaseMs + pollMs);
    },
  );
});

describe('an outbox the store cannot read', () => {
  it('is told once when it fails and once when it answers again', async () => {
    const outbox = { retries: 0, failLease: true, failRetry: false };
    const log = captureLogger('debug');
    const store = storeWith(outbox);
    courier(store, heldRelay().sender, log).start();
    const told = (msg: string) => log.lines().filter((l) => l.msg === msg);
    await waitFor(() =>
      expect(told('e-mail outbox unreadable (shared store unavailable); e-mails wait')).toHaveLength(1),
    );
    expect(told('e-mail outbox unreadable (shared store unavailable); e-mails wait')[0]).toMatchObject({
      err: expect.objectContaining({ message: 'store down' }),
    });
    outbox.failLease = false;
    await waitFor(() => expect(told('e-mail outbox readable again')).toHaveLength(1));
    expect(told('e-mail outbox unreadable (shared store unavailable); e-mails wait')).toHaveLength(1);
  });

  it('an entry that is not this service’s, or not JSON, is removed, counted failed and logged, not sent', async () => {
    const relay = heldRelay();
    const log = captureLogger('debug');
    const store = storeWith({ retries: 0, failLease: false, failRetry: false });
    for (const [id, value] of [
      ['another-version', '{"v":2}'],
      ['not-json', 'not json'],
    ] as const)
      await store.queue(OUTBOX).add([{ id, value }], { dueAt: Date.now(), max: 10, onceKey: id, onceMs: 1000 });
    const before = await counted('failed');
    courier(store, relay.sender, log).start();
    await waitFor(async () => expect(await waiting(store)).toBe(0));
    expect(relay.sends).toHaveLength(0);
    expect(await counted('failed')).toBe(before + 2);
    expect(log.messages('warn')).toContain('e-mail not sent: its outbox entry could not be read');
  });
});

describe('a try', () => {
  it('deferred by the relay is logged with how long until the next try', async () => {
    const relay = heldRelay();
    const log = captureLogger('debug');
    const now = 1_800_000_000_000;
    const c = courier(storeWith({ retries: 0, failLease: false, failRetry: false }), relay.sender, log, {
      now: () => now,
      random: () => 0.5,
    });
    c.start();
    await add(c, 'deferred-1');
    await waitFor(() => expect(relay.sends).toHaveLength(1));
    relay.sends[0]!.reject(Object.assign(new Error('busy'), { responseCode: 451 }));
    await waitFor(() =>
      expect(log.messages('warn')).toContain('e-mail deferred: the relay failed for now; it is tried again'),
    );
    const line = log.lines().find((l) => l.msg === 'e-mail deferred: the relay failed for now; it is tried again');
    // After the first failure the wait is between half and all of the first wait: at random 0.5, three quarters.
    expect(line).toMatchObject({ kind: 'replies', tries: 1, relay: 'smtp_451', retryInMs: 45 });
  });

  it('whose instance closes meanwhile is left to the others: not renewed, deferred or counted', async () => {
    jest.useFakeTimers();
    try {
      const relay = heldRelay();
      const log = captureLogger('debug');
      const outbox = { retries: 0, failLease: false, failRetry: false };
      const store = storeWith(outbox);
      const c = courier(store, relay.sender, log, { leaseMs: 40 });
      c.start();
      await add(c, 'closing-1');
      expect(await advanceFakeTimersUntil(() => relay.sends.length === 1, 1000, 5)).toBe(true);
      // A try that outlives half its lease renews it while the instance runs.
      expect(await advanceFakeTimersUntil(() => outbox.retries >= 1, 1000, 5)).toBe(true);
      const deferred = await counted('deferred');
      c.close();
      const renewed = outbox.retries;
      // Closed, it renews no more: the lease lapses, and a living instance tries the e-mail.
      await jest.advanceTimersByTimeAsync(400);
      expect(outbox.retries).toBe(renewed);
      // The relay's failure, heard after closing, is not this instance's to act on: the e-mail stays as it was.
      relay.sends[0]!.reject(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }));
      await jest.advanceTimersByTimeAsync(100);
      expect(outbox.retries).toBe(renewed);
      expect(await counted('deferred')).toBe(deferred);
      expect(log.messages('warn')).toEqual([]);
      expect(await waiting(store)).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('whose lease the store does not renew says so, and goes on', async () => {
    const relay = heldRelay();
    const log = captureLogger('debug');
    const outbox = { retries: 0, failLease: false, failRetry: true };
    const store = storeWith(outbox);
    const c = courier(store, relay.sender, log, { leaseMs: 40 });
    c.start();
    await add(c, 'unrenewed-1');
    // Unrenewed, the 40 ms lease lapses while the try waits: on a busy machine the courier may lease and try the
    // e-mail again before this looks (a store that fails mid-try can have an e-mail sent twice).
    await waitFor(() => expect(relay.sends.length).toBeGreaterThanOrEqual(1));
    await waitFor(() => expect(log.messages('debug')).toContain('e-mail lease not renewed'));
    expect(log.lines().find((l) => l.msg === 'e-mail lease not renewed')).toMatchObject({
      err: expect.objectContaining({ message: 'store down' }),
    });
    relay.sends[0]!.resolve();
    await waitFor(() => expect(log.messages('info')).toContain('e-mail sent'));
    expect(await waiting(store)).toBe(0);
  });

  it('sent, whose outcome the store does not take, says it will be tried again', async () => {
    const relay = heldRelay();
    const log = captureLogger('debug');
    const store = storeWith({ retries: 0, failLease: false, failRetry: false, failRemove: true });
    const c = courier(store, relay.sender, log);
    c.start();
    await add(c, 'unrecorded-1');
    await waitFor(() => expect(relay.sends).toHaveLength(1));
    relay.sends[0]!.resolve();
    const said = 'e-mail outcome could not be recorded; it will be tried again';
    await waitFor(() => expect(log.messages('warn')).toContain(said));
    expect(log.lines().find((l) => l.msg === said)).toMatchObject({
      err: expect.objectContaining({ message: 'store down' }),
    });
    // Still queued: its lease lapses and it comes due again.
    expect(await waiting(store)).toBe(1);
  });

  it('sent is logged in the trace of what made it, and renews its lease no more', async () => {
    jest.useFakeTimers();
    try {
      const relay = heldRelay();
      const log = captureLogger('debug');
      const outbox = { retries: 0, failLease: false, failRetry: false };
      const c = courier(storeWith(outbox), relay.sender, log, { leaseMs: 40 });
      c.start();
      await add(c, 'traced-1');
      expect(await advanceFakeTimersUntil(() => relay.sends.length === 1, 1000, 5)).toBe(true);
      relay.sends[0]!.resolve();
      expect(await advanceFakeTimersUntil(() => log.messages('info').includes('e-mail sent'), 1000, 5)).toBe(true);
      expect(log.lines().find((l) => l.msg === 'e-mail sent')).toMatchObject({
        trace_id: 'a'.repeat(32),
        requestId: expect.stringMatching(/^email-[0-9a-f]{16}$/),
      });
      const renewed = outbox.retries;
      await jest.advanceTimersByTimeAsync(400);
      expect(outbox.retries).toBe(renewed);
    } finally {
      jest.useRealTimers();
    }
  });

  it("of a confirmation leaves the chat's window of replies alone", async () => {
    const relay = heldRelay();
    const log = captureLogger('debug');
    const store = storeWith({ retries: 0, failLease: false, failRetry: false });
    const c = courier(store, relay.sender, log);
    c.start();
    await c.add('confirm-1', { kind: 'confirmation', sk: 'sk-2', email: EMAIL, messages: [], traceId: 'b'.repeat(32) });
    await waitFor(() => expect(relay.sends).toHaveLength(1));
    relay.sends[0]!.resolve();
    await waitFor(async () => expect(await waiting(store)).toBe(0));
    await waitFor(() => expect(log.messages('info')).toContain('e-mail sent'));
    expect(await store.get(emailKeys('sk-2').window)).toBeUndefined();
  });
});
