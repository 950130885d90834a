import { createHash } from 'node:crypto';
import type { NormalizedMessage } from '../../domain/message';

/** What a transcript is made of: the conversation, oldest first, and when it was read. */
export interface TranscriptInput {
  messages: NormalizedMessage[];
  /** False when the oldest messages are missing (a conversation longer than one read of it holds). */
  complete: boolean;
  readAt: Date;
}

/**
 * The words of a transcript. The service answers in English (as its problem titles); the
 * customer's own words and the agent's are kept as written, each marked `dir="auto"` in HTML.
 */
const WORDS = {
  title: 'Chat transcript',
  you: 'You',
  agent: 'Agent',
  bot: 'Bot',
  saved: 'Saved',
  messages: (n: number) => (n === 1 ? '1 message' : `${n} messages`),
  incomplete:
    'The oldest messages are not included: the conversation is longer than the service reads at once. ' +
    'This transcript holds the newest ones.',
};

/** The name a message is shown under. */
export function authorOf(message: NormalizedMessage): string {
  if (message.direction === 'inbound') return WORDS.you;
  return message.from?.name?.trim() || (message.originatingEntity === 'bot' ? WORDS.bot : WORDS.agent);
}

/** What a message holds besides its text, one line each: cards, choices, pickers, forms and files. */
export function contentLines(message: NormalizedMessage): string[] {
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

/** `2026-11-26 09:15:02 UTC`: one reading for every customer, whatever their time zone. */
function utc(time: string | Date): string {
  const date = typeof time === 'string' ? new Date(time) : time;
  if (!Number.isFinite(date.getTime())) return String(time);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The transcript as plain text: a header, then each message with its time, author, text and content. */
export function transcriptText({ messages, complete, readAt }: TranscriptInput): string {
  const head = [WORDS.title, `${WORDS.saved} ${utc(readAt)} · ${WORDS.messages(messages.length)}`];
  if (!complete) head.push(WORDS.incomplete);
  const body = messages.map((m) => {
    const lines = [...(m.text ? m.text.split(/\r?\n/) : []), ...contentLines(m)];
    const [first = '', ...rest] = lines;
    return [`[${utc(m.time)}] ${authorOf(m)}: ${first}`, ...rest.map((line) => `    ${line}`)].join('\n');
  });
  return `${[...head, '', ...body].join('\n')}\n`;
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c as '&']);

/** The page's only style, in the page itself; the policy admits it by its hash and nothing else. */
const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#fff}' +
  'main{max-width:44rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:0 0 .25rem}' +
  '.summary{color:#4a4a4a;margin:0 0 1rem}.incomplete{border-left:4px solid #8a5a00;padding:.25rem .75rem}' +
  'ol{list-style:none;margin:0;padding:0}.message{margin:0 0 .75rem;padding:.5rem .75rem;border-radius:.5rem;' +
  'background:#f1f3f5}.message.inbound{background:#e3eefc}.meta{margin:0;font-size:.875rem;color:#3d3d3d}' +
  '.author{font-weight:600;margin-inline-end:.5rem}.text{margin:.25rem 0 0;white-space:pre-wrap;' +
  'overflow-wrap:anywhere}ul{margin:.25rem 0 0;padding-inline-start:1.25rem}' +
  '@media print{.message{break-inside:avoid}}';

/**
 * The policy of the transcript page, sent as its header and written into the page, so it holds
 * where the file is opened from disk as well: no script, no request, only its own style.
 */
export const TRANSCRIPT_CSP =
  `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'";

/** The transcript as one self-contained, accessible HTML page: no script, no outside resource. */
export function transcriptHtml({ messages, complete, readAt }: TranscriptInput): string {
  const items = messages.map((m) => {
    const extra = contentLines(m);
    return [
      `<li class="message ${m.direction}">`,
      `<p class="meta"><span class="author">${escape(authorOf(m))}</span>`,
      `<time datetime="${escape(m.time)}">${escape(utc(m.time))}</time></p>`,
      m.text ? `<p class="text" dir="auto">${escape(m.text)}</p>` : '',
      extra.length ? `<ul>${extra.map((line) => `<li dir="auto">${escape(line)}</li>`).join('')}</ul>` : '',
      '</li>',
    ].join('');
  });
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${TRANSCRIPT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${WORDS.title}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<main aria-labelledby="title"><h1 id="title">${WORDS.title}</h1>`,
    `<p class="summary">${WORDS.saved} <time datetime="${readAt.toISOString()}">${utc(readAt)}</time> · ` +
      `${WORDS.messages(messages.length)}</p>`,
    complete ? '' : `<p class="incomplete" role="note">${WORDS.incomplete}</p>`,
    `<ol aria-label="Messages">${items.join('\n')}</ol>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
