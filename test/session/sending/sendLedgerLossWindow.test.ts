import type { DeliveryVerdict, SentMessage } from '../../../src/genesys/guest/desk/deliveryProof';
import { SendLedger, type KeyedSend } from '../../../src/session/sending/sendLedger';
import { MemoryStore } from '../../../src/store';

/**
 * Which keyed sends a store's record loss (recordsLostSince) puts in doubt, at the window's edges, on a
 * clock the test holds: a send is proven against Genesys before it goes out only when its session
 * began before the loss and the loss is younger than the retry window (the ledger's ttlMs). The
 * outcomes in between are in test/session/sending/sendLedger.test.ts.
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
