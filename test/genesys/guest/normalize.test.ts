import { normalizeMessage } from '../../../src/genesys/guest/normalize';

test('a message without a direction is the guest\'s (inbound), never shown as the agent\'s', () => {
  expect(normalizeMessage({ id: 'x', type: 'Text', text: 'hi' }).direction).toBe('inbound');
  expect(normalizeMessage({ id: 'y', type: 'Text', text: 'hi', direction: 'Outbound' }).direction).toBe('outbound');
});

test('only a guest message carries our client message id; an agent message\'s channel.messageId is Genesys\'s own', () => {
  expect(normalizeMessage({ id: 'a', type: 'Text', text: 'hi', direction: 'Inbound', channel: { messageId: 'ours' } }).clientMessageId).toBe('ours');
  expect(normalizeMessage({ id: 'b', type: 'Text', text: 'hi', direction: 'Outbound', channel: { messageId: 'theirs' } }).clientMessageId).toBeUndefined();
});
