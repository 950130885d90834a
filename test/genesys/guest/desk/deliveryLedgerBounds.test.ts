import pino from 'pino';
import type { NormalizedMessage } from '../../../../src/domain/message';
import { DeliveryLedger } from '../../../../src/genesys/guest/desk/deliveryProof';

/**
 * The ledger's memory of late echoes is a ceiling, not a hope: a session that sends for hours keeps
 * the last 200 (deliveryProof.ts, ACCOUNTED_IDS), and a send older than that is proved from history
 * again, like any other.
 */
const SENT_AT = Date.parse('2026-11-22T10:00:00Z');
const echo = (n: number): NormalizedMessage => ({
  id: `genesys-${n}`,
  direction: 'inbound',
  type: 'text',
  text: `message ${n}`,
  time: '2026-11-22T10:00:01Z',
});
const sent = (n: number) => ({ messageId: `our-${n}`, text: `message ${n}`, sentAt: SENT_AT });

test('a ledger remembers the last 200 late echoes and forgets the oldest first', async () => {
  // No history reader: what the ledger does not remember cannot be proved, so it is "unknown".
  const ledger = new DeliveryLedger(undefined, pino({ level: 'silent' }), () => SENT_AT + 1000);
  for (let n = 0; n <= 200; n += 1) ledger.lateEcho(`our-${n}`, echo(n));

  await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'unknown' });
  await expect(ledger.prove(sent(1))).resolves.toEqual({ verdict: 'delivered', message: echo(1) });
  await expect(ledger.prove(sent(200))).resolves.toEqual({ verdict: 'delivered', message: echo(200) });
});

test('a ledger accounts for the last 200 answered Genesys ids: the oldest can prove a send again once 200 newer ones are in', async () => {
  const page = [echo(0)];
  const ledger = new DeliveryLedger(
    () => Promise.resolve(page),
    pino({ level: 'silent' }),
    () => SENT_AT + 1000,
  );
  ledger.accountFor('genesys-0');
  await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'not_delivered' });
  for (let n = 1; n <= 200; n += 1) ledger.accountFor(`genesys-${n}`);
  await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'delivered', message: echo(0) });
});
