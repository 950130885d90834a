import { dayKey, emailKeys, parseEmailRecord, type EmailRecord } from '../../../src/session/notifications/emailRecords';

/**
 * The e-mail records' keys and their reading (src/session/notifications/emailRecords.ts). Every instance, of this
 * version or the one a rolling upgrade replaces, counts an address's e-mails under the same key, so that key is
 * pinned here, not recomputed.
 */

const NOON = Date.UTC(2026, 10, 28, 12);

test("each chat's opt-in, e-mail window and per-reply records have keys of their own", () => {
  const a = emailKeys('{chat-a}');
  const b = emailKeys('{chat-b}');
  const keys = [a.record, a.window, a.message('m1'), a.message('m2'), b.record, b.window, b.message('m1')];
  expect(new Set(keys).size).toBe(keys.length);
  for (const key of [a.record, a.window, a.message('m1')]) expect(key).toContain('{chat-a}');
});

test("an address's daily count is keyed by a hash of it, in any case, per UTC day", () => {
  expect(dayKey('customer@example.com', NOON)).toBe('email-day:utRsYeQavmhcj0QS3svLlor02uSK2YvC:2026-11-28');
  expect(dayKey('Customer@EXAMPLE.com', NOON)).toBe(dayKey('customer@example.com', NOON));
  expect(dayKey('other@example.com', NOON)).not.toBe(dayKey('customer@example.com', NOON));
  const lastMs = Date.UTC(2026, 10, 28, 23, 59, 59, 999);
  expect(dayKey('customer@example.com', lastMs)).toBe(dayKey('customer@example.com', NOON));
  expect(dayKey('customer@example.com', lastMs + 1)).toMatch(/:2026-11-29$/);
  expect(dayKey('customer@example.com', NOON)).not.toContain('example');
});

test('an opt-in reads back as written; one of another shape, or no JSON, reads as none', () => {
  const record: EmailRecord = {
    v: 1,
    chat: 'sealed-chat',
    to: 'sealed-address',
    nonce: 'n-1',
    confirmed: false,
    url: 'https://shop.example.com/chat',
    base: 'https://chat.example.com',
    since: NOON,
  };
  expect(parseEmailRecord(JSON.stringify(record))).toEqual(record);
  expect(parseEmailRecord(undefined)).toBeUndefined();
  expect(parseEmailRecord(JSON.stringify({ ...record, v: 2 }))).toBeUndefined();
  expect(parseEmailRecord(JSON.stringify({ ...record, to: '' }))).toBeUndefined();
  expect(parseEmailRecord('{"v":1')).toBeUndefined();
});
