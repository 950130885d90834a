import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryVerdict, SentMessage } from '../../../src/genesys/guest/desk/deliveryProof';
import { SendLedger, type KeyedSend } from '../../../src/session/sending/sendLedger';
import { MemoryStore } from '../../../src/store';

/**
 * The lease a keyed send holds on its record while it runs (src/session/sending/sendLedger.ts, class Lease):
 * a renewal the store fails is not taken as done, so the outcome still lands; and once the send is
 * over, nothing renews its record again.
 */

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

test('once a send is over, its record is never renewed again', async () => {
  const store = new FlakyStore(0);
  await ledger(store).run('s', slowSend([], []));
  // Renewed at least once while it ran (every 5 ms over a 40 ms send), then settled.
  expect(store.swaps).toBeGreaterThan(1);
  const swapsWhenDone = store.swaps;
  await sleep(40);
  expect(store.swaps).toBe(swapsWhenDone);
});
