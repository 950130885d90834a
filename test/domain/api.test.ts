import { randomUUID } from 'node:crypto';
import { sendMessageBody } from '../../src/domain/api';

/** POST /messages bodies (README.md, "POST /messages"): what the schema takes before any of it reaches Genesys. */

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
