import { chatIdOf, endpointKey, entryId, messageIdOf, parseEntry } from '../../src/webhooks/outboxEntry';

/**
 * The ids an outbox entry is known by (src/webhooks/outboxEntry.ts). During a rolling upgrade an old and a new
 * instance see the same chat and the same event, and a receiver drops what it has seen by `webhook-id`: each id is a
 * fixed function of what it names, so the values below are pinned, not recomputed here. And an entry the store
 * holds in a shape this version cannot read is skipped, not delivered half-read.
 */

test('a chat id is a keyed hash of its guest token: fixed, and apart from the token', () => {
  expect(chatIdOf('guest-token-1')).toBe('chat_LYjQHfy3lRnxxHJ360-qgZ4isfH');
  expect(chatIdOf('guest-token-2')).not.toBe(chatIdOf('guest-token-1'));
  expect(chatIdOf('guest-token-1')).not.toContain('guest-token');
});

test("an event's webhook-id depends on its deployment and its key, and on nothing else", () => {
  expect(messageIdOf('default', 'chat.started:abc')).toBe('msg_y7-8L09E26VYphea0CByulNqsSU');
  expect(messageIdOf('other', 'chat.started:abc')).not.toBe(messageIdOf('default', 'chat.started:abc'));
  expect(messageIdOf('default', 'chat.started:abd')).not.toBe(messageIdOf('default', 'chat.started:abc'));
});

test("an endpoint's key is a short hash of its URL, never the URL (whose query may hold a secret)", () => {
  expect(endpointKey({ url: 'https://hooks.example.com/h' })).toBe('kQUaF45qqYe3GVLJ');
  expect(endpointKey({ url: 'https://hooks.example.com/h?token=s3cret' })).toMatch(/^[\w-]{16}$/);
  expect(entryId('msg_1', 'kQUaF45qqYe3GVLJ')).toBe('msg_1.kQUaF45qqYe3GVLJ');
});

test('an entry reads back as written; one without a string msgId and body, or no JSON, reads as none', () => {
  const entry = { endpoint: 'e', msgId: 'msg_1', body: '{}', type: 'chat.started', firstAt: 1, attempts: 0 };
  expect(parseEntry(JSON.stringify(entry))).toEqual(entry);
  expect(parseEntry(JSON.stringify({ ...entry, msgId: 1 }))).toBeUndefined();
  expect(parseEntry(JSON.stringify({ ...entry, body: undefined }))).toBeUndefined();
  expect(parseEntry('{"msgId":"msg_1"')).toBeUndefined();
});
