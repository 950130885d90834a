import type { SendInput } from '../../domain/api';
import { AppError } from '../../domain/errors';
import type { AnswerKind } from '../../genesys/guest';

/** What POST /messages carries, checked and shaped for the Guest API frame that sends it. */

export const MAX_TEXT_BYTES = 4096;

/** A quick-reply, card-button or date-picker answer as the frame that carries it wants it; undefined for a text. */
export function answerOf(
  input: SendInput,
): { kind: AnswerKind; text: string; payload: string; originatingMessageId?: string } | undefined {
  if (input.quickReply) return { kind: 'QuickReply', ...input.quickReply };
  if (input.button) return { kind: 'Button', ...input.button };
  if (input.datePicker) {
    const { dateTime, originatingMessageId } = input.datePicker;
    return { kind: 'DatePicker', text: input.datePicker.text ?? dateTime, payload: dateTime, originatingMessageId };
  }
  return undefined;
}

/** Refuses text Genesys would refuse (empty, malformed, over 4096 UTF-8 bytes), before anything is sent. */
export function checkText(text: string): void {
  if (text.trim().length === 0) throw new AppError('validation_failed', 'The message text is empty.');
  if (!text.isWellFormed()) throw new AppError('validation_failed', 'The message text must be well-formed Unicode.');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES) {
    throw new AppError(
      'message_too_long',
      `The message is ${bytes} bytes (UTF-8); Genesys accepts at most ${MAX_TEXT_BYTES}.`,
      {
        extensions: { bytes, limit: MAX_TEXT_BYTES },
      },
    );
  }
}
