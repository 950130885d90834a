import { randomUUID } from 'node:crypto';
import axios from 'axios';
import { baseUrlsFor, findRegion } from '../config/regions';
import { getAttachmentFrame } from '../genesys/guest/attachmentFrames';
import { clearFrame, configureSessionFrame, echoFrame, getJwtFrame, joinFrame, textMessageFrame } from '../genesys/guest/outboundFrames';
import type { SignInGrant } from '../genesys/guest/webDeploymentTokens';
import { RawConnection, type Frame } from './rawGuestConnection';
import { verifySignIn } from './verifySignIn';

/**
 * `npm run verify:genesys`: a short scripted conversation against a real
 * deployment that reports, point by point, each protocol assumption this
 * service relies on (docs/genesys-protocol.md#unverified-points) and what
 * the deployment actually did. It talks to Genesys directly, the way the
 * service does, and looks at the raw frames.
 */

export interface VerifyTarget {
  deploymentId: string;
  origin: string;
  webMessagingUrl: string;
  apiUrl: string;
  cdnUrl: string;
  timeoutMs?: number;
}

type Verdict = 'holds' | 'differs' | 'not checked';

interface Finding {
  point: string;
  expected: string;
  observed: string;
  verdict: Verdict;
}

/** A frame or REST answer seen on the way, for `--record` (scrubbed before it is written). */
export interface Exchange {
  kind: 'frame-out' | 'frame-in' | 'rest';
  data: unknown;
}

export interface VerifyReport {
  target: { deploymentId: string; webMessagingUrl: string; apiUrl: string };
  findings: Finding[];
  exchanges: Exchange[];
  /** What the run must keep out of any file it writes. */
  secrets: string[];
}

/** The Genesys part of the service's environment; nothing else is needed. */
export function targetFromEnv(env: NodeJS.ProcessEnv): VerifyTarget | string[] {
  const problems: string[] = [];
  const region = env.GENESYS_REGION ? findRegion(env.GENESYS_REGION) : undefined;
  if (!env.GENESYS_REGION) problems.push('GENESYS_REGION is not set (e.g. mypurecloud.ie)');
  else if (!region) problems.push(`GENESYS_REGION "${env.GENESYS_REGION}" is not a Genesys Cloud region`);
  if (!env.GENESYS_DEPLOYMENT_ID) problems.push('GENESYS_DEPLOYMENT_ID is not set (the Messenger deployment id)');
  const origin = env.GENESYS_ORIGIN ?? env.CORS_ALLOWED_ORIGINS?.split(',').map((o) => o.trim()).find((o) => o && !o.includes('*'));
  if (!origin) problems.push('GENESYS_ORIGIN is not set (an origin on the deployment\'s allowed domains, e.g. https://shop.example.com)');
  if (problems.length > 0 || !region) return problems;
  const derived = baseUrlsFor(region.domain);
  return {
    deploymentId: env.GENESYS_DEPLOYMENT_ID!,
    origin: origin!,
    webMessagingUrl: env.GENESYS_WEBMESSAGING_URL ?? derived.webMessagingUrl,
    apiUrl: env.GENESYS_API_URL ?? derived.apiUrl,
    cdnUrl: env.GENESYS_CDN_URL ?? derived.cdnUrl,
    timeoutMs: env.GENESYS_TIMEOUT_MS ? Number(env.GENESYS_TIMEOUT_MS) : undefined,
  };
}

const KNOWN_CLASSES = new Set([
  'SessionResponse',
  'StructuredMessage',
  'JwtResponse',
  'PresignedUrlResponse',
  'UploadSuccessEvent',
  'UploadFailureEvent',
  'GenerateUrlError',
  'AttachmentDeletedResponse',
  'SessionExpiredEvent',
  'TooManyRequestsErrorMessage',
  'ConnectionClosedEvent',
  'LogoutEvent',
  'SessionClearedEvent',
  'string',
  'Error',
]);

/** Paths of every `null` in a value, e.g. `body.durationSeconds`. */
function nullPaths(value: unknown, path = ''): string[] {
  if (value === null) return [path || '(root)'];
  if (typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => nullPaths(v, path ? `${path}.${k}` : k));
}

const traced = (f: Frame | undefined) => (f === undefined ? 'no reply' : f.tracingId === undefined ? 'no tracingId' : 'tracingId present');

/** What each step of the run shares. */
interface Run {
  target: VerifyTarget;
  socket: RawConnection;
  token: string;
  timeoutMs: number;
  exchanges: Exchange[];
  secrets: string[];
  config?: Record<string, unknown>;
  add(point: string, expected: string, observed: string, verdict: Verdict): void;
}

export interface VerifyOptions {
  /** A sign-in from the deployment's identity provider, to check authenticated messaging too (verifySignIn.ts). */
  signIn?: SignInGrant;
  /** A message that makes the deployment's bot (or a waiting agent) send a file, to check `getAttachment` on an agent's file (VERIFY_AGENT_FILE_PROMPT). */
  agentFilePrompt?: string;
}

export async function verifyGenesys(target: VerifyTarget, options: VerifyOptions = {}): Promise<VerifyReport> {
  const timeoutMs = target.timeoutMs ?? 10_000;
  const findings: Finding[] = [];
  const exchanges: Exchange[] = [];
  const token = randomUUID();
  const secrets: string[] = [token];
  const add = (point: string, expected: string, observed: string, verdict: Verdict) => findings.push({ point, expected, observed, verdict });
  const report = () => ({ target: summary(target), findings, exchanges, secrets });

  const config = await readConfig(target, exchanges, timeoutMs);
  reportConfig(config, add);
  let socket: RawConnection;
  try {
    socket = await RawConnection.open(target, exchanges, timeoutMs);
  } catch (error) {
    add('guest WebSocket', 'handshake accepted with the configured Origin', (error as Error).message, 'differs');
    return report();
  }
  const run: Run = { target, socket, token, timeoutMs, exchanges, secrets, config, add };
  try {
    if (!(await configure(run))) return report();
    await join(run);
    const sent = await message(run);
    await jwtAndHistory(run, sent);
    await expirySlides(run);
    await messageRate(run);
    await agentFile(run, options.agentFilePrompt);
    await tooLong(run);
    const nulls = socket.frames.flatMap((f) => nullPaths(f.body).map((p) => `${f.class}: ${p}`));
    add('nulls in optional fields', 'accepted wherever a field is optional', nulls.length ? [...new Set(nulls)].join(', ') : 'none seen', 'holds');
    await clear(run);
    const unknown = [...new Set(socket.frames.map((f) => f.class ?? '(no class)').filter((c) => !KNOWN_CLASSES.has(c)))];
    add('frame classes', 'only the classes the official SDK knows (others are logged and ignored)', unknown.length ? `unknown: ${unknown.join(', ')}` : 'all known', unknown.length ? 'differs' : 'holds');
  } finally {
    socket.close();
  }
  if (options.signIn) secrets.push(...Object.values(options.signIn).filter((v): v is string => typeof v === 'string' && v.length >= 8));
  await verifySignIn({ target, exchanges, secrets, timeoutMs, add }, options.signIn);
  return report();
}

function tracingPoint(run: Run, point: string, reply: Frame | undefined): void {
  run.add(point, 'tracingId copied from the request, or absent (both handled)', traced(reply), reply === undefined ? 'not checked' : reply.tracingId ? 'holds' : 'differs');
}

function featureOn(config: Record<string, unknown> | undefined, key: string): boolean {
  const conversations = (config?.messenger as { apps?: { conversations?: Record<string, { enabled?: boolean }> } } | undefined)?.apps?.conversations;
  return conversations?.[key]?.enabled === true;
}

function reportConfig(config: Record<string, unknown> | undefined, add: Run['add']): void {
  add('config.json readable', 'HTTP 200 with the Messenger configuration', config ? 'read' : 'not readable', config ? 'holds' : 'differs');
  if (!config) return;
  const auth = config.auth as { enabled?: boolean; allowSessionUpgrade?: boolean } | undefined;
  const upload = (config.messenger as { fileUpload?: { modes?: unknown[] } } | undefined)?.fileUpload?.modes?.length ?? 0;
  add(
    'deployment features',
    'read from config.json',
    `autostart ${featureOn(config, 'autoStart')}, conversation clear ${featureOn(config, 'conversationClear')}, file upload modes ${upload}, auth ${auth?.enabled === true} (session upgrade ${auth?.allowSessionUpgrade === true})`,
    'holds',
  );
}

async function configure(run: Run): Promise<boolean> {
  const { socket, token, target, timeoutMs, add } = run;
  const mark = socket.frames.length;
  socket.send(configureSessionFrame({ token, deploymentId: target.deploymentId, startNew: false, tracingId: randomUUID() }));
  const session = await socket.next((f) => f.class === 'SessionResponse' || f.class === 'string', mark, timeoutMs);
  if (session?.class !== 'SessionResponse') {
    add('configureSession', 'a SessionResponse', session ? `error ${session.code}: ${String(session.body)}` : 'no answer', 'differs');
    return false;
  }
  tracingPoint(run, 'SessionResponse carries tracingId', session);
  const body = session.body as Record<string, unknown>;
  const limits = {
    maxCustomDataBytes: body.maxCustomDataBytes,
    durationSeconds: body.durationSeconds,
    expirationDate: body.expirationDate,
    allowedMedia: body.allowedMedia,
    blockedExtensions: Array.isArray(body.blockedExtensions) ? `${body.blockedExtensions.length} extensions` : body.blockedExtensions,
  };
  add('SessionResponse limits', 'maxCustomDataBytes, durationSeconds, expirationDate, allowedMedia, blockedExtensions (each optional)', JSON.stringify(limits), 'holds');
  return true;
}

async function join(run: Run): Promise<void> {
  if (!featureOn(run.config, 'autoStart')) {
    run.add('Presence Join echo carries tracingId', 'tracingId or none', 'autostart is off', 'not checked');
    return;
  }
  const mark = run.socket.frames.length;
  run.socket.send(joinFrame({ token: run.token, tracingId: randomUUID() }));
  const echo = await run.socket.next((f) => f.class === 'StructuredMessage' && JSON.stringify(f.body).includes('"Join"'), mark, run.timeoutMs);
  tracingPoint(run, 'Presence Join echo carries tracingId', echo);
}

async function message(run: Run): Promise<{ messageId: string; text: string }> {
  const messageId = randomUUID();
  const text = `verify:genesys ${new Date().toISOString()}`;
  const mark = run.socket.frames.length;
  run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId }));
  const echo = await run.socket.next((f) => f.class === 'StructuredMessage' && (f.body as { text?: string })?.text === text, mark, run.timeoutMs);
  tracingPoint(run, 'message echo carries tracingId', echo);
  const echoedId = (echo?.body as { channel?: { messageId?: string } } | undefined)?.channel?.messageId;
  run.add(
    'metadata.id comes back as channel.messageId',
    'the id sent in message.metadata.id (the service also proves delivery by content)',
    echo === undefined ? 'no echo' : echoedId === messageId ? 'the same id' : `another id (${echoedId === undefined ? 'none' : 'Genesys-generated'})`,
    echo === undefined ? 'not checked' : echoedId === messageId ? 'holds' : 'differs',
  );
  return { messageId, text };
}

async function jwtAndHistory(run: Run, sent: { messageId: string; text: string }): Promise<void> {
  const mark = run.socket.frames.length;
  run.socket.send(getJwtFrame({ token: run.token, tracingId: randomUUID() }));
  const reply = await run.socket.next((f) => f.class === 'JwtResponse' || f.class === 'string', mark, run.timeoutMs);
  tracingPoint(run, 'JwtResponse carries tracingId', reply);
  const jwt = (reply?.body as { jwt?: string } | undefined)?.jwt;
  if (jwt) run.secrets.push(jwt);
  await checkHistory(run.target, jwt, sent, run.exchanges, run.add, run.timeoutMs);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `expirationDate` an echo reply reports (docs/genesys-protocol.md#session-expiry-slides), in epoch seconds. */
async function echoExpiry(run: Run): Promise<{ expirationDate?: number; durationSeconds?: number } | undefined> {
  const mark = run.socket.frames.length;
  run.socket.send(echoFrame({ token: run.token, tracingId: randomUUID() }));
  const reply = await run.socket.next((f) => f.type === 'response' && f.class === 'StructuredMessage', mark, run.timeoutMs);
  const metadata = (reply?.body as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  if (!metadata) return undefined;
  const num = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : Number(v));
  return { expirationDate: num(metadata.expirationDate), durationSeconds: num(metadata.durationSeconds) };
}

/** The expiry slides with activity: an echo, a message two seconds later, an echo (Genesys answers 2 echoes a minute per connection). */
async function expirySlides(run: Run): Promise<void> {
  const before = await echoExpiry(run);
  await pause(2100);
  const mark = run.socket.frames.length;
  const text = `verify:genesys expiry ${new Date().toISOString()}`;
  run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId: randomUUID() }));
  await run.socket.next((f) => f.class === 'StructuredMessage' && (f.body as { text?: string })?.text === text, mark, run.timeoutMs);
  const after = await echoExpiry(run);
  const expected = 'expirationDate moves later with a message (the service slides it by durationSeconds)';
  if (before?.expirationDate === undefined || after?.expirationDate === undefined) {
    run.add('session expiry slides with a message', expected, 'the echo reply carried no expirationDate', 'not checked');
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

/** Three messages at once, a second after the last: the third is refused when Genesys allows 2 a second (docs/genesys-protocol.md#limits-and-timing). */
async function messageRate(run: Run): Promise<void> {
  await pause(1100);
  const mark = run.socket.frames.length;
  const texts = [1, 2, 3].map((i) => `verify:genesys rate ${i} ${new Date().toISOString()}`);
  for (const text of texts) run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId: randomUUID() }));
  const answered = (f: Frame) => f.class === 'TooManyRequestsErrorMessage' || (f.class === 'StructuredMessage' && texts.includes((f.body as { text?: string })?.text ?? ''));
  for (let i = 0; i < texts.length; i++) {
    if (!(await run.socket.next((f) => answered(f) && run.socket.frames.slice(mark).filter(answered).length > i, mark, run.timeoutMs))) break;
  }
  const replies = run.socket.frames.slice(mark).filter(answered);
  const refused = replies.filter((f) => f.class === 'TooManyRequestsErrorMessage');
  const accepted = replies.length - refused.length;
  const observed = refused.length > 0 ? `${accepted} accepted, ${refused.length} refused with 429 (retryAfter ${String((refused[0]!.body as { retryAfter?: unknown })?.retryAfter)}, ${traced(refused[0])})` : `all ${accepted} accepted`;
  run.add(
    'onMessage rate per session',
    'at most 2 a second (GENESYS_MESSAGES_PER_SECOND=2); the third of three at once refused with 429',
    observed,
    replies.length < texts.length ? 'not checked' : refused.length > 0 && accepted === 2 ? 'holds' : 'differs',
  );
  await pause(1100);
}

/** `getAttachment` on a file the agent sent (docs/genesys-protocol.md#download-links): only when something sends one during the run. */
async function agentFile(run: Run, prompt: string | undefined): Promise<void> {
  const point = "getAttachment on an agent's file";
  const expected = 'a fresh URL (PresignedUrlResponse), or a refusal (the service then serves the last URL Genesys gave)';
  const isAgentFile = (f: Frame) =>
    f.class === 'StructuredMessage' &&
    (f.body as { direction?: string })?.direction === 'Outbound' &&
    ((f.body as { content?: { contentType?: string }[] })?.content ?? []).some((c) => c.contentType === 'Attachment');
  const mark = run.socket.frames.length;
  if (prompt) run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text: prompt, messageId: randomUUID() }));
  const file = run.socket.frames.find(isAgentFile) ?? (prompt ? await run.socket.next(isAgentFile, mark, run.timeoutMs) : undefined);
  const id = ((file?.body as { content?: { attachment?: { id?: string } }[] } | undefined)?.content ?? []).find((c) => c.attachment?.id)?.attachment?.id;
  if (!id) {
    run.add(point, expected, prompt ? 'no file came back to the prompt' : 'no agent file in this run (set VERIFY_AGENT_FILE_PROMPT to a message your bot answers with a file)', 'not checked');
    return;
  }
  const asked = run.socket.frames.length;
  run.socket.send(getAttachmentFrame({ token: run.token, tracingId: randomUUID(), attachmentId: id }));
  const reply = await run.socket.next((f) => ['PresignedUrlResponse', 'GenerateUrlError', 'string', 'Error', 'TooManyRequestsErrorMessage'].includes(f.class ?? ''), asked, run.timeoutMs);
  const signed = reply?.class === 'PresignedUrlResponse';
  run.add(point, expected, reply === undefined ? 'no answer' : signed ? 'a fresh URL' : `refused: ${reply.class} ${reply.code}`, reply === undefined ? 'not checked' : signed ? 'holds' : 'differs');
}

async function tooLong(run: Run): Promise<void> {
  const mark = run.socket.frames.length;
  run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text: 'x'.repeat(4200), messageId: randomUUID() }));
  const refused = await run.socket.next((f) => f.class === 'string' || f.class === 'Error' || f.class === 'TooManyRequestsErrorMessage', mark, run.timeoutMs);
  run.add('a text over 4096 bytes is refused with 4011', 'error frame with code 4011', refused ? `${refused.class} ${refused.code}` : 'no error frame', refused?.code === 4011 ? 'holds' : 'differs');
  tracingPoint(run, 'error frames carry tracingId', refused);
}

async function clear(run: Run): Promise<void> {
  const mark = run.socket.frames.length;
  run.socket.send(clearFrame({ token: run.token, tracingId: randomUUID() }));
  const cleared = await run.socket.next((f) => f.class === 'SessionClearedEvent' || f.class === 'string', mark, run.timeoutMs);
  const closed = await run.socket.next((f) => f.class === 'ConnectionClosedEvent', mark, run.timeoutMs / 2);
  const observed =
    cleared === undefined ? 'no answer' : cleared.class === 'string' ? `error ${cleared.code}: ${String(cleared.body)}` : `SessionClearedEvent${closed ? ' then ConnectionClosedEvent' : ''}`;
  const holds = cleared?.class === 'SessionClearedEvent' || (cleared?.code === 403 && !featureOn(run.config, 'conversationClear'));
  run.add('Presence Clear ends the conversation', 'SessionClearedEvent then ConnectionClosedEvent, or 403 when conversation clear is off', observed, holds ? 'holds' : 'differs');
}

function summary(target: VerifyTarget) {
  return { deploymentId: target.deploymentId, webMessagingUrl: target.webMessagingUrl, apiUrl: target.apiUrl };
}

async function readConfig(target: VerifyTarget, exchanges: Exchange[], timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  const url = `${target.cdnUrl.replace(/\/+$/, '')}/webdeployments/v1/deployments/${encodeURIComponent(target.deploymentId)}/config.json`;
  try {
    const res = await axios.get(url, { timeout: timeoutMs, validateStatus: () => true, maxContentLength: 1024 * 1024 });
    exchanges.push({ kind: 'rest', data: { method: 'GET', url, status: res.status, response: res.data } });
    return res.status === 200 && typeof res.data === 'object' ? (res.data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function checkHistory(
  target: VerifyTarget,
  jwt: string | undefined,
  sent: { messageId: string; text: string },
  exchanges: Exchange[],
  add: (point: string, expected: string, observed: string, verdict: Verdict) => void,
  timeoutMs: number,
): Promise<void> {
  const expected = '200 with entities, pageSize, pageNumber, total, pageCount; the message just sent in it';
  if (!jwt) return add('history (REST)', expected, 'no guest JWT to read it with', 'not checked');
  const url = `${target.apiUrl.replace(/\/+$/, '')}/api/v2/webmessaging/messages`;
  const res = await axios
    .get(url, { params: { pageNumber: 1, pageSize: 25 }, headers: { Authorization: `bearer ${jwt}`, Origin: target.origin }, timeout: timeoutMs, validateStatus: () => true })
    .catch((error: Error) => ({ status: 0, data: error.message }));
  exchanges.push({ kind: 'rest', data: { method: 'GET', url: `${url}?pageNumber=1&pageSize=25`, status: res.status, response: res.data } });
  if (res.status !== 200) return add('history (REST)', expected, `HTTP ${res.status}`, 'differs');
  const body = res.data as { entities?: { text?: string; channel?: { messageId?: string } }[] };
  const keys = Object.keys(body ?? {}).sort().join(', ');
  const byId = body.entities?.some((e) => e.channel?.messageId === sent.messageId);
  const byText = body.entities?.some((e) => e.text === sent.text);
  const nulls = [...new Set(nullPaths(body.entities ?? []).map((p) => p.replace(/^\d+\./, '')))];
  add('history (REST)', expected, `keys: ${keys}; sent message found ${byId ? 'by its id' : byText ? 'by its text only' : 'not at all'}; nulls: ${nulls.join(', ') || 'none'}`, byText || byId ? 'holds' : 'differs');
}

/** The report as a table a person reads. */
export function formatReport(report: VerifyReport): string {
  const rows = report.findings.map((f) => `${f.verdict === 'holds' ? 'ok  ' : f.verdict === 'differs' ? 'DIFF' : '--  '}  ${f.point}\n      expected: ${f.expected}\n      observed: ${f.observed}`);
  return [`Genesys deployment ${report.target.deploymentId} (${report.target.webMessagingUrl})`, '', ...rows, ''].join('\n');
}

