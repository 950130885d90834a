import { AppError } from '../../../src/domain/errors';
import { answerOf, checkText, MAX_TEXT_BYTES } from '../../../src/session/sending/messageInput';

/** What POST /messages carries, checked before anything is sent and shaped for the frame that sends it. */

function refusal(text: string): AppError {
  try {
    checkText(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error(`${JSON.stringify(text).slice(0, 40)} was not refused`);
}

describe('checkText', () => {
  test.each([
    ['empty', ''],
    ['only spaces', '   '],
    ['only white space of other kinds', '\t\n\u00a0\u2003'],
  ])('refuses %s text as validation_failed (400), saying it is empty', (_, text) => {
    const error = refusal(text);
    expect(error).toMatchObject({ code: 'validation_failed', status: 400 });
    expect(error.message).toMatch(/empty/i);
  });

  test.each([
    ['a lone high surrogate', 'hi \ud800'],
    ['a lone low surrogate', '\udc00 there'],
    ['surrogates in the wrong order', '\udc00\ud800'],
  ])('refuses %s as validation_failed (400), saying it must be well-formed Unicode', (_, text) => {
    const error = refusal(text);
    expect(error).toMatchObject({ code: 'validation_failed', status: 400 });
    expect(error.message).toMatch(/well-formed/i);
  });

  test('a lone surrogate among white space is refused too (it is something, but not text)', () => {
    expect(refusal('  \ud800  ')).toMatchObject({ code: 'validation_failed' });
  });

  test('takes text with something in it, paired surrogates included, up to exactly 4096 UTF-8 bytes', () => {
    expect(() => checkText(' x ')).not.toThrow();
    expect(() => checkText('😀')).not.toThrow();
    const exact = 'é'.repeat(2048);
    expect(Buffer.byteLength(exact)).toBe(MAX_TEXT_BYTES);
    expect(() => checkText(exact)).not.toThrow();
  });

  test('refuses one UTF-8 byte more as message_too_long (413), with the bytes and the limit as fields', () => {
    const error = refusal(`${'é'.repeat(2048)}x`);
    expect(error).toMatchObject({ code: 'message_too_long', status: 413, extensions: { bytes: 4097, limit: 4096 } });
    // The detail a client shows says both numbers too, not only the fields.
    expect(error.message).toBe('The message is 4097 bytes (UTF-8); Genesys accepts at most 4096.');
  });

  test('counts UTF-8 bytes, not characters', () => {
    expect(refusal('€'.repeat(1366))).toMatchObject({
      code: 'message_too_long',
      extensions: { bytes: 4098, limit: 4096 },
    });
  });
});

describe('answerOf', () => {
  test('a text is no answer', () => {
    expect(answerOf({ text: 'hello' })).toBeUndefined();
  });

  test('a quick reply and a card button keep their text, payload and originating message', () => {
    const answer = { text: 'Yes', payload: 'YES', originatingMessageId: 'm-1' };
    expect(answerOf({ quickReply: answer })).toEqual({ kind: 'QuickReply', ...answer });
    expect(answerOf({ button: answer })).toEqual({ kind: 'Button', ...answer });
  });

  test('a date pick carries its date-time as the payload and, without a text of its own, as the text', () => {
    const dateTime = '2026-12-01T10:00:00.000Z';
    expect(answerOf({ datePicker: { dateTime, originatingMessageId: 'picker-1' } })).toEqual({
      kind: 'DatePicker',
      text: dateTime,
      payload: dateTime,
      originatingMessageId: 'picker-1',
    });
  });

  test("a date pick's own text is what the guest sees; the payload stays the date-time", () => {
    const dateTime = '2026-12-01T10:00:00+01:00';
    expect(answerOf({ datePicker: { dateTime, originatingMessageId: 'picker-1', text: 'Tuesday at ten' } })).toEqual({
      kind: 'DatePicker',
      text: 'Tuesday at ten',
      payload: dateTime,
      originatingMessageId: 'picker-1',
    });
  });
});
