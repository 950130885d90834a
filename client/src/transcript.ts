import type { Transport } from './transport.js';
import type { ChatMessage } from './types.js';
import type { Wording } from './wording/index.js';

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

/** The words of a transcript built on the page; the defaults are the service's own (English). */
export interface TranscriptLabels {
  title: string;
  you: string;
  agent: string;
  bot: string;
  saved: string;
  messages(count: number): string;
  incomplete: string;
  /** The name of the list of messages (the HTML page's `aria-label`). */
  list: string;
}

export const ENGLISH_TRANSCRIPT_LABELS: TranscriptLabels = {
  title: 'Chat transcript',
  you: 'You',
  agent: 'Agent',
  bot: 'Bot',
  saved: 'Saved',
  messages: (n) => (n === 1 ? '1 message' : `${n} messages`),
  incomplete:
    'The oldest messages are not included: the conversation is longer than the service reads at once. ' +
    'This transcript holds the newest ones.',
  list: 'Messages',
};

/** The kit's words for a transcript built on the page, in `wording`'s language. */
export function transcriptLabelsOf(wording: Wording): TranscriptLabels {
  const { t } = wording;
  return {
    title: t('transcriptTitle'),
    you: t('you'),
    agent: t('agent'),
    bot: t('bot'),
    saved: t('transcriptSaved'),
    messages: (count) => t('transcriptMessages', { count }),
    incomplete: t('transcriptIncomplete'),
    list: t('transcriptList'),
  };
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

export async function fetchTranscript(transport: Transport, format: TranscriptFormat): Promise<Transcript> {
  const answer = await transport.requestText(`/messages/transcript?format=${format}`, ACCEPT[format]);
  return {
    format,
    mediaType: MEDIA_TYPES[format],
    fileName: fileNameOf(answer.header('content-disposition')) ?? fileNameFor(format, new Date()),
    content: answer.text,
    source: 'service',
  };
}

// ---------------------------------------------------------------- built on the page, as the service lays it out

function authorOf(message: ChatMessage, labels: TranscriptLabels): string {
  if (message.direction === 'inbound') return labels.you;
  return message.from?.name?.trim() || (message.originatingEntity === 'bot' ? labels.bot : labels.agent);
}

function contentLines(message: ChatMessage): string[] {
  const lines: string[] = [];
  for (const card of message.cards ?? []) {
    const actions = card.actions.map((a) => a.text ?? a.url ?? '').filter(Boolean);
    const words = [card.title, card.description].filter(Boolean).join(': ');
    lines.push(`Card: ${words}${actions.length ? ` [${actions.join(' | ')}]` : ''}`);
  }
  if (message.quickReplies?.length) lines.push(`Quick replies: ${message.quickReplies.map((q) => q.text).join(' | ')}`);
  for (const picker of message.datePickers ?? []) lines.push(`Date picker: ${picker.title ?? ''}`.trimEnd());
  for (const picker of message.listPickers ?? []) lines.push(`List: ${picker.title ?? ''}`.trimEnd());
  for (const form of message.forms ?? []) lines.push(`Form: ${form.title ?? ''}`.trimEnd());
  for (const file of message.attachments ?? []) lines.push(`File: ${file.filename ?? file.mediaType ?? 'attachment'}`);
  return lines;
}

function utc(time: string | Date): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  if (!Number.isFinite(date.getTime())) return String(time);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c as '&']);

/** The service's page style, byte for byte, and the policy that admits it by its SHA-256 (test/client checks both). */
export const TRANSCRIPT_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}' +
  'main{max-width:44rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:0 0 .25rem}' +
  '.summary{color:#4a4a4a;margin:0 0 1rem}.incomplete{border-left:4px solid #8a5a00;padding:.25rem .75rem}' +
  'ol{list-style:none;margin:0;padding:0}.message{margin:0 0 .75rem;padding:.5rem .75rem;border-radius:.5rem;' +
  'background:#f1f3f5}.message.inbound{background:#e3eefc}.meta{margin:0;font-size:.875rem;color:#3d3d3d}' +
  '.author{font-weight:600;margin-inline-end:.5rem}.text{margin:.25rem 0 0;white-space:pre-wrap;' +
  'overflow-wrap:anywhere}ul{margin:.25rem 0 0;padding-inline-start:1.25rem}' +
  '@media print{.message{break-inside:avoid}}';
const STYLE_HASH = 'sha256-/4YbcaFm8GcXflzujwhBnxUmIxO6PGV2QOrGNfFsPXM=';
export const TRANSCRIPT_CSP = `default-src 'none'; style-src '${STYLE_HASH}'; base-uri 'none'; form-action 'none'`;

export interface BuildTranscriptOptions {
  format?: TranscriptFormat;
  /** Default: the service's English. */
  labels?: TranscriptLabels;
  /** The page's language and direction, on the HTML page's root. Default `en`, left to right. */
  lang?: string;
  dir?: 'ltr' | 'rtl';
  /** Default: now. */
  readAt?: Date;
  /** False when the oldest messages are missing. Default true. */
  complete?: boolean;
}

/** The transcript of `messages` (events left out), laid out as the service lays it out. */
export function buildTranscript(messages: readonly ChatMessage[], options: BuildTranscriptOptions = {}): Transcript {
  const format = options.format ?? 'text';
  const readAt = options.readAt ?? new Date();
  const input = {
    messages: messages.filter((m) => m.type !== 'event'),
    complete: options.complete ?? true,
    readAt,
    labels: options.labels ?? ENGLISH_TRANSCRIPT_LABELS,
  };
  const content =
    format === 'html' ? transcriptHtml(input, options.lang ?? 'en', options.dir ?? 'ltr') : transcriptText(input);
  return { format, mediaType: MEDIA_TYPES[format], fileName: fileNameFor(format, readAt), content, source: 'page' };
}

interface Input {
  messages: ChatMessage[];
  complete: boolean;
  readAt: Date;
  labels: TranscriptLabels;
}

function transcriptText({ messages, complete, readAt, labels }: Input): string {
  const head = [labels.title, `${labels.saved} ${utc(readAt)} · ${labels.messages(messages.length)}`];
  if (!complete) head.push(labels.incomplete);
  const body = messages.map((m) => {
    const lines = [...(m.text ? m.text.split(/\r?\n/) : []), ...contentLines(m)];
    const [first = '', ...rest] = lines;
    return [`[${utc(m.time)}] ${authorOf(m, labels)}: ${first}`, ...rest.map((line) => `    ${line}`)].join('\n');
  });
  return `${[...head, '', ...body].join('\n')}\n`;
}

function transcriptHtml({ messages, complete, readAt, labels }: Input, lang: string, dir: 'ltr' | 'rtl'): string {
  const items = messages.map((m) => {
    const extra = contentLines(m);
    return [
      `<li class="message ${m.direction}">`,
      `<p class="meta"><span class="author">${escape(authorOf(m, labels))}</span>`,
      `<time datetime="${escape(m.time)}">${escape(utc(m.time))}</time></p>`,
      m.text ? `<p class="text" dir="auto">${escape(m.text)}</p>` : '',
      extra.length ? `<ul>${extra.map((line) => `<li dir="auto">${escape(line)}</li>`).join('')}</ul>` : '',
      '</li>',
    ].join('');
  });
  const title = escape(labels.title);
  return [
    '<!doctype html>',
    `<html lang="${escape(lang)}"${dir === 'rtl' ? ' dir="rtl"' : ''}>`,
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${TRANSCRIPT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${title}</title>`,
    `<style>${TRANSCRIPT_STYLE}</style>`,
    '</head>',
    '<body>',
    `<main aria-labelledby="title"><h1 id="title">${title}</h1>`,
    `<p class="summary">${escape(labels.saved)} <time datetime="${readAt.toISOString()}">${utc(readAt)}</time> · ` +
      `${escape(labels.messages(messages.length))}</p>`,
    complete ? '' : `<p class="incomplete" role="note">${escape(labels.incomplete)}</p>`,
    `<ol aria-label="${escape(labels.list)}">${items.join('\n')}</ol>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
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
