import { randomUUID } from 'node:crypto';
import { linkShape, statedExpiry } from '../genesys/downloadLinks';
import { getAttachmentFrame, echoFrame, textMessageFrame } from '../genesys/guest';
import type { Frame, Run } from './verifyRun';

const traced = (f: Frame | undefined) =>
  f === undefined ? 'no reply' : f.tracingId === undefined ? 'no tracingId' : 'tracingId present';

/**
 * The `npm run verify:genesys` points about Genesys's budgets (verifyGenesys.ts runs them): the
 * session expiry's slide, the message rate, and `getAttachment` on an agent's file
 * (docs/genesys-protocol.md#limits-and-timing, #session-expiry-slides, #download-links).
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `expirationDate` an echo reply reports (docs/genesys-protocol.md#session-expiry-slides), in epoch seconds. */
async function echoExpiry(run: Run): Promise<{ expirationDate?: number; durationSeconds?: number } | undefined> {
  const mark = run.socket.frames.length;
  run.socket.send(echoFrame({ token: run.token, tracingId: randomUUID() }));
  const reply = await run.socket.next(
    (f) => f.type === 'response' && f.class === 'StructuredMessage',
    mark,
    run.timeoutMs,
  );
  const metadata = (reply?.body as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  if (!metadata) return undefined;
  const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));
  return { expirationDate: num(metadata.expirationDate), durationSeconds: num(metadata.durationSeconds) };
}

/**
 * The expiry slides with activity: an echo, a message two seconds
 * later, an echo (Genesys answers 2 echoes a minute per connection).
 */
export async function expirySlides(run: Run): Promise<void> {
  const before = await echoExpiry(run);
  await pause(2100);
  const mark = run.socket.frames.length;
  const text = `verify:genesys expiry ${new Date().toISOString()}`;
  run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId: randomUUID() }));
  await run.socket.next(
    (f) => f.class === 'StructuredMessage' && (f.body as { text?: string })?.text === text,
    mark,
    run.timeoutMs,
  );
  const after = await echoExpiry(run);
  const expected = 'expirationDate moves later with a message (the service slides it by durationSeconds)';
  if (before?.expirationDate === undefined || after?.expirationDate === undefined) {
    run.add(
      'session expiry slides with a message',
      expected,
      'the echo reply carried no expirationDate',
      'not checked',
    );
    return;
  }
  const moved = after.expirationDate - before.expirationDate;
  run.add(
    'session expiry slides with a message',
    expected,
    `moved ${moved} s (durationSeconds ${after.durationSeconds ?? before.durationSeconds ?? 'not given'})`,
    moved > 0 ? 'holds' : 'differs',
  );
}

/**
 * Three messages at once, a second after the last: the third is refused when
 * Genesys allows 2 a second (docs/genesys-protocol.md#limits-and-timing).
 */
export async function messageRate(run: Run): Promise<void> {
  await pause(1100);
  const mark = run.socket.frames.length;
  const texts = [1, 2, 3].map((i) => `verify:genesys rate ${i} ${new Date().toISOString()}`);
  for (const text of texts)
    run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId: randomUUID() }));
  const answered = (f: Frame) =>
    f.class === 'TooManyRequestsErrorMessage' ||
    (f.class === 'StructuredMessage' && texts.includes((f.body as { text?: string })?.text ?? ''));
  for (let i = 0; i < texts.length; i++) {
    if (
      !(await run.socket.next(
        (f) => answered(f) && run.socket.frames.slice(mark).filter(answered).length > i,
        mark,
        run.timeoutMs,
      ))
    )
      break;
  }
  const replies = run.socket.frames.slice(mark).filter(answered);
  const refused = replies.filter((f) => f.class === 'TooManyRequestsErrorMessage');
  const accepted = replies.length - refused.length;
  const observed =
    refused.length > 0
      ? `${accepted} accepted, ${refused.length} refused with 429 ` +
        `(retryAfter ${String((refused[0]!.body as { retryAfter?: unknown })?.retryAfter)}, ${traced(refused[0])})`
      : `all ${accepted} accepted`;
  run.add(
    'onMessage rate per session',
    'at most 2 a second (GENESYS_MESSAGES_PER_SECOND=2); the third of three at once refused with 429',
    observed,
    replies.length < texts.length ? 'not checked' : refused.length > 0 && accepted === 2 ? 'holds' : 'differs',
  );
  await pause(1100);
}

/**
 * `getAttachment` on a file the agent sent (docs/genesys-protocol.md#download-links):
 * only when something sends one during the run.
 */
export async function agentFile(run: Run, prompt: string | undefined): Promise<void> {
  const point = "getAttachment on an agent's file";
  const expected =
    'a fresh URL (PresignedUrlResponse), or a refusal (the service then serves the last URL Genesys gave)';
  const isAgentFile = (f: Frame) =>
    f.class === 'StructuredMessage' &&
    (f.body as { direction?: string })?.direction === 'Outbound' &&
    ((f.body as { content?: { contentType?: string }[] })?.content ?? []).some((c) => c.contentType === 'Attachment');
  const mark = run.socket.frames.length;
  if (prompt)
    run.socket.send(
      textMessageFrame({ token: run.token, tracingId: randomUUID(), text: prompt, messageId: randomUUID() }),
    );
  const file =
    run.socket.frames.find(isAgentFile) ??
    (prompt ? await run.socket.next(isAgentFile, mark, run.timeoutMs) : undefined);
  const attachment = (
    (file?.body as { content?: { attachment?: { id?: string; url?: string } }[] } | undefined)?.content ?? []
  ).find((c) => c.attachment?.id)?.attachment;
  const id = attachment?.id;
  if (!id) {
    run.add(
      LINK_POINT,
      LINK_EXPECTED,
      'no agent file in this run, so no agent link to read: only a file a bot or agent sends carries one ' +
        '(set VERIFY_AGENT_FILE_PROMPT); until then DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS keeps its default',
      'not checked',
    );
    run.add(
      point,
      expected,
      prompt
        ? 'no file came back to the prompt'
        : 'no agent file in this run (set VERIFY_AGENT_FILE_PROMPT to a message your bot answers with a file)',
      'not checked',
    );
    return;
  }
  run.add(
    LINK_POINT,
    LINK_EXPECTED,
    describeLink(id, attachment?.url),
    attachment?.url ? linkVerdict(attachment.url) : 'differs',
  );
  const asked = run.socket.frames.length;
  run.socket.send(getAttachmentFrame({ token: run.token, tracingId: randomUUID(), attachmentId: id }));
  const reply = await run.socket.next(
    (f) =>
      ['PresignedUrlResponse', 'GenerateUrlError', 'string', 'Error', 'TooManyRequestsErrorMessage'].includes(
        f.class ?? '',
      ),
    asked,
    run.timeoutMs,
  );
  const signed = reply?.class === 'PresignedUrlResponse';
  const fresh = signed ? (reply.body as { url?: string } | undefined)?.url : undefined;
  if (fresh) run.add(`${LINK_POINT} (from getAttachment)`, LINK_EXPECTED, describeLink(id, fresh), linkVerdict(fresh));
  run.add(
    point,
    expected,
    reply === undefined ? 'no answer' : signed ? 'a fresh URL' : `refused: ${reply.class} ${reply.code}`,
    reply === undefined ? 'not checked' : signed ? 'holds' : 'differs',
  );
}

const LINK_POINT = "an agent file's download link";
const LINK_EXPECTED =
  'a URL that states its expiry (X-Amz-Date + X-Amz-Expires, or Expires); one that does not is reused for ' +
  'DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS';

/** The link's shape (no values), how long it says it lasts, and the attachment id's form, for the operator. */
function describeLink(id: string, url: string | undefined): string {
  const idForm = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ? 'id a UUID'
    : `id not a UUID (${id.length} characters)`;
  if (!url) return `${idForm}; no url on the attachment`;
  const expiry = statedExpiry(url);
  const lifetime =
    expiry === undefined
      ? 'states no lifetime: set DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS below how long such links work'
      : `states it works ${Math.round((expiry - Date.now()) / 1000)} s more`;
  return `${idForm}; ${linkShape(url)}; ${lifetime}`;
}

const linkVerdict = (url: string) => (statedExpiry(url) === undefined ? 'differs' : 'holds');
