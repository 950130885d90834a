import type { NormalizedMessage } from '../../domain/message';
import {
  ENGLISH_TRANSCRIPT_LOCALE,
  TRANSCRIPT_CSP,
  transcriptHtml,
  transcriptText,
  type TranscriptLocale,
} from '../../../client/src/transcriptLayout';

export { shippedLanguages, transcriptLocaleOf } from '../../../client/src/transcriptLocale';

export { TRANSCRIPT_CSP };

export type TranscriptFormat = 'text' | 'html';

/** What a transcript is made of: the conversation, oldest first, and when it was read. */
export interface TranscriptInput {
  messages: NormalizedMessage[];
  /** False when the oldest messages are missing (a conversation longer than one read of it holds). */
  complete: boolean;
  readAt: Date;
}

/**
 * The service's transcript in the one layout it shares with the browser kit's fallback
 * (client/src/transcriptLayout.ts, compiled into the service as dist/client/src/), for `locale`
 * (client/src/transcriptLocale.ts: the reader's language and time zone; English and UTC by default). The same
 * messages, language and time zone give the kit's `buildTranscript` the same bytes.
 */
export function transcriptDocument(
  format: TranscriptFormat,
  input: TranscriptInput,
  locale: TranscriptLocale = ENGLISH_TRANSCRIPT_LOCALE,
): string {
  return format === 'html' ? transcriptHtml(input, locale) : transcriptText(input, locale);
}
