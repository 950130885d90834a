/**
 * The one layout of a conversation transcript, as plain text or as a self-contained HTML page. The service writes
 * it (`GET /messages/transcript`, src/http/routes/transcriptDocument.ts compiles this very file) and the kit builds
 * it from a page's messages when the service cannot (transcript.ts), so the two files are the same for the same
 * messages. Pure and self-contained: it imports nothing, uses no DOM and no Node API (the service's build has no
 * DOM library and the client's no Node types, so either fails on one). What it reads in is a `TranscriptLocale`:
 * the layout decides where things go, the locale what they say and how a moment reads.
 */

/** What a transcript reads of a message: the service's NormalizedMessage and the kit's ChatMessage are each one. */
export interface TranscriptMessage {
  direction: 'inbound' | 'outbound';
  /** Events (typing, presence) are not part of a transcript. */
  type: 'text' | 'structured' | 'event';
  text?: string;
  /** ISO 8601, as Genesys gave it. */
  time: string;
  originatingEntity?: 'human' | 'bot';
  from?: { name?: string };
  cards?: readonly { title?: string; description?: string; actions: readonly { text?: string; url?: string }[] }[];
  quickReplies?: readonly { text: string }[];
  datePickers?: readonly { title?: string }[];
  listPickers?: readonly { title?: string }[];
  forms?: readonly { title?: string }[];
  attachments?: readonly { filename?: string; mediaType?: string }[];
  /** The guest's answer to a quick reply, a card's button or a date picker; its text is what they chose. */
  buttonResponse?: { text?: string };
  /** A guest's message: `failed` is marked (Genesys did not deliver it). */
  status?: 'sent' | 'delivered' | 'read' | 'failed';
}

/** The words of a transcript. The customer's and the agent's own words are kept as written. */
export interface TranscriptWords {
  title: string;
  you: string;
  agent: string;
  bot: string;
  saved: string;
  messages(count: number): string;
  incomplete: string;
  /** The name of the list of messages (the HTML page's `aria-label`). */
  list: string;
  /** What a message holds besides its text, each on a line of its own after one of these. */
  card: string;
  quickReplies: string;
  datePicker: string;
  listPicker: string;
  form: string;
  file: string;
  /** A file that has neither a name nor a type. */
  attachment: string;
  /** The mark of a message Genesys failed. */
  notDelivered: string;
}

/** Whom a transcript is written for: its words, how a moment reads, and the HTML page's language and direction. */
export interface TranscriptLocale {
  words: TranscriptWords;
  /** A valid moment as the reader reads it; a time that is no date is shown as Genesys wrote it. */
  time(at: Date): string;
  lang: string;
  dir: 'ltr' | 'rtl';
}

/** What a transcript is made of: the conversation, oldest first, and when it was read. */
export interface TranscriptInput {
  messages: readonly TranscriptMessage[];
  /** False when the oldest messages are missing (a conversation longer than one read of it holds). */
  complete: boolean;
  readAt: Date;
}

export const ENGLISH_TRANSCRIPT_WORDS: TranscriptWords = {
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
  card: 'Card',
  quickReplies: 'Quick replies',
  datePicker: 'Date picker',
  listPicker: 'List',
  form: 'Form',
  file: 'File',
  attachment: 'attachment',
  notDelivered: 'Not delivered',
};

/** `2026-11-26 09:15:02 UTC`: one reading for every customer, whatever their time zone. */
export function utcTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** English, every time in UTC: what the service writes, and what the kit builds unless told otherwise. */
export const ENGLISH_TRANSCRIPT_LOCALE: TranscriptLocale = {
  words: ENGLISH_TRANSCRIPT_WORDS,
  time: utcTime,
  lang: 'en',
  dir: 'ltr',
};

/** The page's only style, in the page itself; the policy admits it by its hash and nothing else. */
export const TRANSCRIPT_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}' +
  'main{max-width:44rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:0 0 .25rem}' +
  '.summary{color:#4a4a4a;margin:0 0 1rem}.incomplete{border-left:4px solid #8a5a00;padding:.25rem .75rem}' +
  'ol{list-style:none;margin:0;padding:0}.message{margin:0 0 .75rem;padding:.5rem .75rem;border-radius:.5rem;' +
  'background:#f1f3f5}.message.inbound{background:#e3eefc}.meta{margin:0;font-size:.875rem;color:#3d3d3d}' +
  '.author{font-weight:600;margin-inline-end:.5rem}.text{margin:.25rem 0 0;white-space:pre-wrap;' +
  'overflow-wrap:anywhere}ul{margin:.25rem 0 0;padding-inline-start:1.25rem}' +
  '@media print{.message{break-inside:avoid}}';

/**
 * The policy of the transcript page, sent as its header and written into the page, so it holds where the file is
 * opened from disk as well: no script, no request, only its own style. The style's SHA-256 is written out here (a
 * browser has no synchronous hash); the tests hold it to the style.
 */
export const TRANSCRIPT_CSP =
  "default-src 'none'; style-src 'sha256-/4YbcaFm8GcXflzujwhBnxUmIxO6PGV2QOrGNfFsPXM='; " +
  "base-uri 'none'; form-action 'none'";

/** The transcript as plain text: a header, then each message with its time, author, text and content. */
export function transcriptText(input: TranscriptInput, locale: TranscriptLocale): string {
  const { words } = locale;
  const messages = messagesOf(input);
  const head = [words.title, `${words.saved} ${shownTime(input.readAt, locale)} · ${words.messages(messages.length)}`];
  if (!input.complete) head.push(words.incomplete);
  const body = messages.map((m) => {
    const text = textOf(m);
    const lines = [...(text ? text.split(/\r?\n/) : []), ...contentLines(m, words)];
    const [first = '', ...rest] = lines;
    const heading = `[${shownTime(m.time, locale)}] ${authorOf(m, words)}: ${first}`;
    return [heading, ...rest.map((line) => `    ${line}`)].join('\n');
  });
  return `${[...head, '', ...body].join('\n')}\n`;
}

/** The transcript as one self-contained, accessible HTML page: no script, no outside resource. */
export function transcriptHtml(input: TranscriptInput, locale: TranscriptLocale): string {
  const { words } = locale;
  const messages = messagesOf(input);
  const items = messages.map((m) => {
    const text = textOf(m);
    const extra = contentLines(m, words);
    return [
      `<li class="message ${m.direction}">`,
      `<p class="meta"><span class="author">${escape(authorOf(m, words))}</span>`,
      `<time datetime="${escape(m.time)}">${escape(shownTime(m.time, locale))}</time></p>`,
      text ? `<p class="text" dir="auto">${escape(text)}</p>` : '',
      extra.length ? `<ul>${extra.map((line) => `<li dir="auto">${escape(line)}</li>`).join('')}</ul>` : '',
      '</li>',
    ].join('');
  });
  const title = escape(words.title);
  const readAt = input.readAt;
  return [
    '<!doctype html>',
    `<html lang="${escape(locale.lang)}"${locale.dir === 'rtl' ? ' dir="rtl"' : ''}>`,
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
    `<p class="summary">${escape(words.saved)} ` +
      `<time datetime="${readAt.toISOString()}">${escape(shownTime(readAt, locale))}</time> · ` +
      `${escape(words.messages(messages.length))}</p>`,
    input.complete ? '' : `<p class="incomplete" role="note">${escape(words.incomplete)}</p>`,
    `<ol aria-label="${escape(words.list)}">${items.join('\n')}</ol>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function messagesOf({ messages }: TranscriptInput): readonly TranscriptMessage[] {
  return messages.filter((m) => m.type !== 'event');
}

/**
 * What the message says: its text, or the answer it carries. Genesys takes a quick reply's or a date pick's answer
 * as a Text message with empty text, the choice in its ButtonResponse.
 */
function textOf(message: TranscriptMessage): string | undefined {
  return message.text || message.buttonResponse?.text;
}

/** The name a message is shown under. */
function authorOf(message: TranscriptMessage, words: TranscriptWords): string {
  if (message.direction === 'inbound') return words.you;
  return message.from?.name?.trim() || (message.originatingEntity === 'bot' ? words.bot : words.agent);
}

/** What a message holds besides its text, one line each: cards, choices, pickers, forms and files. */
function contentLines(message: TranscriptMessage, words: TranscriptWords): string[] {
  const lines: string[] = [];
  for (const card of message.cards ?? []) {
    const actions = card.actions.map((a) => a.text ?? a.url ?? '').filter(Boolean);
    const about = [card.title, card.description].filter(Boolean).join(': ');
    lines.push(`${words.card}: ${about}${actions.length ? ` [${actions.join(' | ')}]` : ''}`);
  }
  if (message.quickReplies?.length) {
    lines.push(`${words.quickReplies}: ${message.quickReplies.map((q) => q.text).join(' | ')}`);
  }
  for (const picker of message.datePickers ?? []) lines.push(`${words.datePicker}: ${picker.title ?? ''}`.trimEnd());
  for (const picker of message.listPickers ?? []) lines.push(`${words.listPicker}: ${picker.title ?? ''}`.trimEnd());
  for (const form of message.forms ?? []) lines.push(`${words.form}: ${form.title ?? ''}`.trimEnd());
  for (const file of message.attachments ?? []) {
    lines.push(`${words.file}: ${file.filename ?? file.mediaType ?? words.attachment}`);
  }
  if (message.status === 'failed') lines.push(`(${words.notDelivered})`);
  return lines;
}

function shownTime(time: string | Date, locale: TranscriptLocale): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  return Number.isFinite(date.getTime()) ? locale.time(date) : String(time);
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c as '&']);
