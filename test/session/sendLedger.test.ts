import { AppError } from '../../src/domain/errors';
import type { DeliveryVerdict, SentMessage } from '../../src/genesys/guest/deliveryProof';
import { GuestApiError } from '../../src/genesys/guest/errors';
import { SendLedger, type KeyedSend } from '../../src/session/sendLedger';
import { MemoryStore, type SharedStore } from '../../src/store/sharedStore';

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
          return delivered.includes(earlier.messageId) ? { verdict: 'delivered', message: { id: 'g-1' } as never } : { verdict: 'not_delivered' };
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

const ledger = (store: SharedStore, pendingMs = 60_000) => new SendLedger({ store, ttlMs: 3_600_000, pendingMs, waitMs: 5_000, pollMs: 5 });

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
  await expect(ledger(store).run('s', genesys.keyed({ text: 'other' }))).rejects.toMatchObject({ code: 'idempotency_key_reused' });
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
  await expect(ledger(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('timeout', 'x')) }))).rejects.toThrow();
  const blind = genesys.keyed({ prove: async () => ({ verdict: 'unknown', reason: 'history unreadable' }) });
  await expect(ledger(store).run('s', blind)).rejects.toMatchObject({ failure: 'unavailable' });
  expect(genesys.delivered).toEqual([]);
  await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('sent:hello');
  // The doubt was still there: this retry proved again (the blind proof above is not counted) before sending.
  expect(genesys.proofs).toHaveLength(1);
});

test('a definite refusal is forgotten, so a retry may send', async () => {
  const store = new MemoryStore();
  const genesys = fakeGenesys();
  await expect(ledger(store).run('s', genesys.keyed({ send: () => Promise.reject(new GuestApiError('rate_limited', 'slow down')) }))).rejects.toThrow();
  await expect(ledger(store).run('s', genesys.keyed())).resolves.toBe('sent:hello');
  expect(genesys.proofs).toEqual([]);
});

test('a claim whose instance died is taken over once it lapses, and proven before sending', async () => {
  const store = new MemoryStore();
  const genesys = fakeGenesys();
  // The first instance wrote the frame and then vanished: its attempt never settles.
  void ledger(store, 30).run('s', genesys.keyed({ send: () => (genesys.delivered.push('m-1'), new Promise<string>(() => {})) }));
  await expect(ledger(store, 30).run('s', genesys.keyed())).resolves.toBe('from-history');
  expect(genesys.delivered).toEqual(['m-1']);
  expect(genesys.proofs).toHaveLength(1);
});

test('a retry that cannot wait out a live claim says so and sends nothing', async () => {
  const store = new MemoryStore();
  const genesys = fakeGenesys();
  void ledger(store).run('s', genesys.keyed({ send: () => new Promise<string>(() => {}) }));
  const impatient = new SendLedger({ store, ttlMs: 3_600_000, pendingMs: 60_000, waitMs: 20, pollMs: 5 });
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
