import type { Transport } from './transport.js';
import type { ChatMessage } from './types.js';
import type { Wording } from './wording/index.js';
import {
  ENGLISH_TRANSCRIPT_LOCALE,
  ENGLISH_TRANSCRIPT_WORDS,
  transcriptHtml,
  transcriptText,
  type TranscriptLocale,
  type TranscriptWords,
} from './transcriptLayout.js';
import { knownTimeZone, transcriptWordsOf, zonedTime } from './transcriptLocale.js';

/**
 * A copy of the conversation to keep: fetched from the service (`GET /messages/transcript`, every history
 * page), or built here from the messages the page holds, in the same layout, when the service cannot give it
 * (the guest ended the session: 410; the history budget is spent: 429; the service is away).
 */

export type TranscriptFormat = 'text' | 'html';

export interface Transcript {
  format: TranscriptFormat;
  /** `text/plain;charset=utf-8` or `text/html;charset=utf-8`. */
  mediaType: string;
  /** `chat-transcript-YYYY-MM-DD.txt` (or `.html`). */
  fileName: string;
  content: string;
  /** `service`: the whole conversation from Genesys's history; `page`: what the page held. */
  source: 'service' | 'page';
}

/**
 * The words of a transcript built on the page; the defaults are the service's own (English). The layout itself is
 * transcriptLayout.ts, which the service compiles too.
 */
export type TranscriptLabels = TranscriptWords;

export const ENGLISH_TRANSCRIPT_LABELS: TranscriptLabels = ENGLISH_TRANSCRIPT_WORDS;

/** The kit's words for a transcript built on the page, in `wording`'s language: the service's for that language. */
export function transcriptLabelsOf(wording: Wording): TranscriptLabels {
  return transcriptWordsOf(wording);
}

/** For whom the service writes the transcript: the page's language and the reader's time zone, each optional. */
export interface TranscriptReader {
  /** A language the kit ships (`de`, `ar-EG`); the service answers in English otherwise. */
  lang?: string;
  /** An IANA time zone (`Europe/Berlin`); every moment is in UTC otherwise. */
  timeZone?: string;
}

const MEDIA_TYPES = { text: 'text/plain;charset=utf-8', html: 'text/html;charset=utf-8' } as const;
const ACCEPT = { text: 'text/plain', html: 'text/html' } as const;

function fileNameFor(format: TranscriptFormat, at: Date): string {
  return `chat-transcript-${at.toISOString().slice(0, 10)}.${format === 'html' ? 'html' : 'txt'}`;
}

/** The file name the service gave (`Content-Disposition`), when it is a plain one. */
function fileNameOf(disposition: string | null): string | undefined {
  const name = /filename="([^"]+)"/.exec(disposition ?? '')?.[1];
  return name && /^[\w.-]+$/.test(name) ? name : undefined;
}

export async function fetchTranscript(
  transport: Transport,
  format: TranscriptFormat,
  reader: TranscriptReader = {},
): Promise<Transcript> {
  const query = new URLSearchParams({ format });
  if (reader.lang) query.set('lang', reader.lang);
  if (reader.timeZone) query.set('timeZone', reader.timeZone);
  const answer = await transport.requestText(`/messages/transcript?${query}`, ACCEPT[format]);
  return {
    format,
    mediaType: MEDIA_TYPES[format],
    fileName: fileNameOf(answer.header('content-disposition')) ?? fileNameFor(format, new Date()),
    content: answer.text,
    source: 'service',
  };
}

// ---------------------------------------------------------------- built on the page, in the service's layout

export interface BuildTranscriptOptions {
  format?: TranscriptFormat;
  /** Default: the service's English. */
  labels?: TranscriptLabels;
  /** The page's language and direction, on the HTML page's root. Default `en`, left to right. */
  lang?: string;
  dir?: 'ltr' | 'rtl';
  /** The reader's IANA time zone, every moment in it, as the service writes for it; default UTC. */
  timeZone?: string;
  /** Default: now. */
  readAt?: Date;
  /** False when the oldest messages are missing. Default true. */
  complete?: boolean;
}

/**
 * The transcript of `messages` (events left out), laid out as the service lays it out: for the same language, time
 * zone and messages, the same file (every moment in UTC unless `timeZone` names a zone).
 */
export function buildTranscript(messages: readonly ChatMessage[], options: BuildTranscriptOptions = {}): Transcript {
  const format = options.format ?? 'text';
  const readAt = options.readAt ?? new Date();
  const input = { messages, complete: options.complete ?? true, readAt };
  const zone = options.timeZone && knownTimeZone(options.timeZone) ? options.timeZone : undefined;
  const locale: TranscriptLocale = {
    ...ENGLISH_TRANSCRIPT_LOCALE,
    ...(zone === undefined ? {} : { time: zonedTime(zone) }),
    words: options.labels ?? ENGLISH_TRANSCRIPT_WORDS,
    lang: options.lang ?? 'en',
    dir: options.dir ?? 'ltr',
  };
  const content = format === 'html' ? transcriptHtml(input, locale) : transcriptText(input, locale);
  return { format, mediaType: MEDIA_TYPES[format], fileName: fileNameFor(format, readAt), content, source: 'page' };
}

/** Offers the transcript to the browser as a download (an object URL on a temporary `<a download>`). */
export function saveTranscript(transcript: Transcript, doc: Document = document): void {
  const url = URL.createObjectURL(new Blob([transcript.content], { type: transcript.mediaType }));
  const link = doc.createElement('a');
  link.href = url;
  link.download = transcript.fileName;
  link.hidden = true;
  doc.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // The download has taken the data by the next task; the URL is not needed after.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
