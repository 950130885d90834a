import { randomBytes, randomUUID } from 'node:crypto';
import { pushSubscriptionBody, sendMessageBody } from '../../src/domain/api';

/**
 * Request bodies as their schemas take them before any of it reaches Genesys or a push service: POST /messages
 * (README.md, "POST /messages") and PUT /notifications/push.
 */

const accepts = (body: unknown) => sendMessageBody.safeParse(body).success;

test('a quick reply, a button or a date picker answer needs a text (and payload) with something in it', () => {
  expect(accepts({ quickReply: { text: 'Yes', payload: 'yes' } })).toBe(true);
  for (const blank of ['', '   ', '\t\n']) {
    expect({ blank, accepted: accepts({ quickReply: { text: blank, payload: 'yes' } }) }).toEqual({
      blank,
      accepted: false,
    });
    expect({ blank, accepted: accepts({ button: { text: 'Open', payload: blank } }) }).toEqual({
      blank,
      accepted: false,
    });
    expect({
      blank,
      accepted: accepts({ datePicker: { dateTime: '2026-11-23T10:00:00Z', originatingMessageId: 'm-1', text: blank } }),
    }).toEqual({ blank, accepted: false });
  }
});

test('each attachment id may appear once on a message', () => {
  const [a, b] = [randomUUID(), randomUUID()];
  expect(accepts({ attachmentIds: [a, b] })).toBe(true);
  const twice = sendMessageBody.safeParse({ text: 'two files', attachmentIds: [a, b, a] });
  expect(twice.success).toBe(false);
  expect(twice.error?.issues.map((i) => i.message)).toEqual(['Each attachment id may appear once.']);
});

describe("a push subscription's keys are what the browser gives (RFC 8291)", () => {
  const b64 = (bytes: Buffer) => bytes.toString('base64url');
  /** An uncompressed P-256 point: the byte 4, then 64 bytes of coordinates. */
  const point = (first = 4, length = 65) => b64(Buffer.concat([Buffer.from([first]), randomBytes(length - 1)]));
  const problems = (keys: { p256dh: string; auth: string }) => {
    const parsed = pushSubscriptionBody.safeParse({ endpoint: 'https://push.example.com/send/abc', keys });
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('a 65-byte point starting with 4 and a 16-byte secret are taken', () => {
    expect(problems({ p256dh: point(), auth: b64(randomBytes(16)) })).toEqual([]);
  });

  test('a key or secret of any other length is refused, saying how long it must be', () => {
    for (const length of [64, 66, 33]) {
      expect(problems({ p256dh: point(4, length), auth: b64(randomBytes(16)) })).toContain(
        "keys.p256dh: must be 65 bytes, base64url: the subscription's P-256 public key (uncompressed point)",
      );
    }
    for (const length of [15, 17, 32]) {
      expect(problems({ p256dh: point(), auth: b64(randomBytes(length)) })).toEqual([
        "keys.auth: must be 16 bytes, base64url: the subscription's authentication secret",
      ]);
    }
  });

  test('a compressed or otherwise encoded point (its first byte not 4) is refused', () => {
    for (const first of [2, 3, 0, 5]) {
      expect(problems({ p256dh: point(first), auth: b64(randomBytes(16)) })).toEqual([
        'keys.p256dh: must be an uncompressed P-256 point (first byte 4)',
      ]);
    }
  });
});
