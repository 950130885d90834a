import pino from 'pino';
import type { NormalizedMessage } from '../../../src/domain/message';
import { proveDelivery, type SentMessage } from '../../../src/genesys/guest/deliveryProof';

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
