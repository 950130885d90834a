import pino from 'pino';
import type { NormalizedMessage } from '../../../src/domain/message';
import { DeliveryLedger, proveDelivery, type SentMessage } from '../../../src/genesys/guest/deliveryProof';
import { parseInbound } from '../../../src/genesys/guest/frames';
import type { GuestSocket } from '../../../src/genesys/guest/guestSocket';
import { dispatchInbound, type InboundTarget } from '../../../src/genesys/guest/inboundDispatch';
import { PendingRequests, type Pending } from '../../../src/genesys/guest/pendingRequests';
import { RequestDesk } from '../../../src/genesys/guest/requestDesk';

const logger = pino({ level: 'silent' });
const SENT_AT = Date.parse('2026-11-22T10:00:00Z');
const sent: SentMessage = { messageId: 'our-id', text: 'where is my order?', sentAt: SENT_AT };

const inbound = (over: Partial<NormalizedMessage>): NormalizedMessage => ({
  id: 'genesys-id',
  direction: 'inbound',
  type: 'text',
  text: 'where is my order?',
  time: '2026-11-22T10:00:01Z',
  ...over,
});

const page = (...messages: NormalizedMessage[]) => () => Promise.resolve(messages);

test('our id coming back as channel.messageId proves delivery', async () => {
  const verdict = await proveDelivery(sent, page(inbound({ clientMessageId: 'our-id', text: 'edited?' })), new Set(), logger);
  expect(verdict).toMatchObject({ verdict: 'delivered', message: { clientMessageId: 'our-id' } });
});

test('when Genesys reports its own messageId, the same text from the guest after the send proves delivery', async () => {
  const verdict = await proveDelivery(sent, page(inbound({ clientMessageId: 'genesys-generated' })), new Set(), logger);
  expect(verdict).toMatchObject({ verdict: 'delivered', message: { id: 'genesys-id' } });
});

test('the same text already answered another send, or sent before this one, or by the agent, proves nothing', async () => {
  const messages = [
    inbound({ id: 'accounted' }),
    inbound({ id: 'older', time: '2026-11-22T09:50:00Z' }),
    inbound({ id: 'agent', direction: 'outbound' }),
    inbound({ id: 'other-text', text: 'something else' }),
  ];
  const verdict = await proveDelivery(sent, page(...messages), new Set(['accounted']), logger);
  expect(verdict).toEqual({ verdict: 'not_delivered' });
});

test('a quick-reply answer is matched by its payload and text', async () => {
  const answer: SentMessage = { messageId: 'q', text: 'Yes', payload: 'YES', sentAt: SENT_AT };
  const wrong = inbound({ id: 'w', text: undefined, type: 'structured', buttonResponse: { text: 'Yes', payload: 'NO' } });
  const right = inbound({ id: 'r', text: undefined, type: 'structured', buttonResponse: { text: 'Yes', payload: 'YES' } });
  expect(await proveDelivery(answer, page(wrong), new Set(), logger)).toEqual({ verdict: 'not_delivered' });
  expect(await proveDelivery(answer, page(wrong, right), new Set(), logger)).toMatchObject({ verdict: 'delivered', message: { id: 'r' } });
});

test('history that cannot be read is an honest "unknown", never "not delivered"', async () => {
  const verdict = await proveDelivery(sent, () => Promise.reject(new Error('ECONNRESET')), new Set(), logger);
  expect(verdict).toMatchObject({ verdict: 'unknown' });
});

describe('the ledger: no Genesys message proves two sends', () => {
  const now = () => SENT_AT + 1000;
  const echoOf = (text: string, id: string, tracingId: string) => ({
    type: 'message',
    class: 'StructuredMessage',
    code: 200,
    body: { id, type: 'Text', text, direction: 'Inbound', channel: { time: '2026-11-22T10:00:01Z', messageId: null } },
    tracingId,
  });

  /** A desk whose socket takes every frame; the test drops it with socketLost(). */
  function deskWithSends(texts: string[]) {
    const socket = { send: async () => undefined } as unknown as GuestSocket;
    const desk = new RequestDesk({ current: () => socket, isReady: () => true, wake: () => undefined, dead: () => undefined }, 60_000, { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 }, now);
    const outcomes = texts.map((text, i) =>
      desk.request<NormalizedMessage>('send', () => ({}), { messageId: `m${i}`, text }).then(
        (message) => ({ delivered: message.id }),
        (error: Error) => ({ error: error.message }),
      ),
    );
    return { desk, outcomes };
  }

  test('two sends in doubt with the same text, one such message in history: one is delivered, the other is not; history is read once', async () => {
    let reads = 0;
    const ledger = new DeliveryLedger(() => (reads++, Promise.resolve([inbound({ id: 'g1', text: 'twice?' })])), logger, now);
    const { desk, outcomes } = deskWithSends(['twice?', 'twice?']);
    desk.socketLost();
    await ledger.settleInDoubt(desk);
    const [first, second] = await Promise.all(outcomes);
    expect(first).toEqual({ delivered: 'g1' });
    expect(second).toEqual({ error: expect.stringMatching(/not delivered/) });
    expect(reads).toBe(1);
  });

  test('a message proved for one retry is accounted for: another send with the same text is not proved by it', async () => {
    const ledger = new DeliveryLedger(page(inbound({ id: 'g1', text: 'same words' })), logger, now);
    const a = await ledger.prove({ messageId: 'a', text: 'same words', sentAt: SENT_AT });
    const b = await ledger.prove({ messageId: 'b', text: 'same words', sentAt: SENT_AT });
    expect(a).toMatchObject({ verdict: 'delivered', message: { id: 'g1' } });
    expect(b).toEqual({ verdict: 'not_delivered' });
  });

  test('the late echo of a send that timed out proves that send, and never another with the same text', async () => {
    const ledger = new DeliveryLedger(page(inbound({ id: 'g-late', text: 'hello?', clientMessageId: 'genesys-own-id' })), logger, now);
    const pending = new PendingRequests(120_000, now);
    const target: InboundTarget = {
      pending,
      logger,
      now,
      settle: (p, _outcome, gaveUp = false) => void pending.remove(p, gaveUp),
      emit: () => undefined,
      die: () => undefined,
      updateInfo: () => undefined,
      closingByServer: () => undefined,
      refused: () => undefined,
      accountFor: (id) => ledger.accountFor(id),
      lateEcho: (id, message) => ledger.lateEcho(id, message),
      uploadSettled: () => false,
    };
    const timedOut = { kind: 'send', tracingId: 'T', frame: {}, written: true, inDoubt: false, messageId: 'ours', text: 'hello?' } as Pending;
    pending.add(timedOut);
    pending.remove(timedOut, true);
    dispatchInbound(parseInbound(JSON.stringify(echoOf('hello?', 'g-late', 'T'))), target);
    expect(await ledger.prove({ messageId: 'other', text: 'hello?', sentAt: SENT_AT })).toEqual({ verdict: 'not_delivered' });
    expect(await ledger.prove({ messageId: 'ours', text: 'hello?', sentAt: SENT_AT })).toMatchObject({ verdict: 'delivered', message: { id: 'g-late' } });
  });

  test('the on-time echo of a send proves that send when its retry has to (its record could not be marked done), and never another', async () => {
    const ledger = new DeliveryLedger(page(inbound({ id: 'g-echo', text: 'kept?', clientMessageId: 'genesys-own-id' })), logger, now);
    const pending = new PendingRequests(120_000, now);
    const settled: unknown[] = [];
    const target: InboundTarget = {
      pending,
      logger,
      now,
      settle: (p, outcome) => void (settled.push(outcome), pending.remove(p, false)),
      refused: () => undefined,
      emit: () => undefined,
      die: () => undefined,
      updateInfo: () => undefined,
      closingByServer: () => undefined,
      accountFor: (id) => ledger.accountFor(id),
      lateEcho: (id, message) => ledger.lateEcho(id, message),
      uploadSettled: () => false,
    };
    pending.add({ kind: 'send', tracingId: 'E', frame: {}, written: true, inDoubt: false, messageId: 'ours', text: 'kept?' } as Pending);
    dispatchInbound(parseInbound(JSON.stringify(echoOf('kept?', 'g-echo', 'E'))), target);
    expect(settled).toEqual([{ value: expect.objectContaining({ id: 'g-echo' }) }]);
    expect(await ledger.prove({ messageId: 'other', text: 'kept?', sentAt: SENT_AT })).toEqual({ verdict: 'not_delivered' });
    expect(await ledger.prove({ messageId: 'ours', text: 'kept?', sentAt: SENT_AT })).toMatchObject({ verdict: 'delivered', message: { id: 'g-echo' } });
  });
});

test('right after a send Genesys was slow to confirm, its absence from history is "unknown" until it should show', async () => {
  let clock = SENT_AT + 3000;
  const ledger = new DeliveryLedger(page(), logger, () => clock);
  const slow: SentMessage = { ...sent, visibleBy: SENT_AT + 6000 };
  expect(await ledger.prove(slow)).toMatchObject({ verdict: 'unknown' });
  clock = SENT_AT + 6000;
  expect(await ledger.prove(slow)).toEqual({ verdict: 'not_delivered' });
});
