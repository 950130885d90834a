import type { NormalizedMessage } from '../../domain/message';
import {
  ENGLISH_TRANSCRIPT_LOCALE,
  TRANSCRIPT_CSP,
  transcriptHtml,
  transcriptText,
} from '../../../client/src/transcriptLayout';

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
 * (client/src/transcriptLayout.ts, compiled into the service as dist/client/src/): English, as its problem titles
 * are, every time in UTC. The same messages give the kit's `buildTranscript` the same bytes.
 */
export function transcriptDocument(format: TranscriptFormat, input: TranscriptInput): string {
  return format === 'html'
    ? transcriptHtml(input, ENGLISH_TRANSCRIPT_LOCALE)
    : transcriptText(input, ENGLISH_TRANSCRIPT_LOCALE);
}
