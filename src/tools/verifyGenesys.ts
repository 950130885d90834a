import { randomUUID } from 'node:crypto';
import {
  clearFrame,
  configureSessionFrame,
  getJwtFrame,
  joinFrame,
  readReceiptFrame,
  textMessageFrame,
  type SignInGrant,
} from '../genesys/guest';
import { RawConnection } from './rawGuestConnection';
import { agentFile, expirySlides, messageRate } from './verifyBudgets';
import { checkHistory, featureOn, nullPaths, readConfig, reportConfig } from './verifyRest';
import type { Exchange, Finding, Frame, Run, Verdict, VerifyReport, VerifyTarget } from './verifyRun';
import { verifySignIn } from './verifySignIn';
import { verifyAvailability } from './verifyAvailability';

/**
 * `npm run verify:genesys`: a short scripted conversation against a real
 * deployment that reports, point by point, each protocol assumption this
 * service relies on (docs/genesys-protocol.md#unverified-points) and what
 * the deployment actually did. It talks to Genesys directly, the way the
 * service does, and looks at the raw frames. The REST points are
 * verifyRest.ts's, the budgets verifyBudgets.ts's, sign-in verifySignIn.ts's;
 * what they all speak of (the target, the run, its exchanges and verdicts)
 * is verifyRun.ts's.
 */

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

const traced = (f: Frame | undefined) =>
  f === undefined ? 'no reply' : f.tracingId === undefined ? 'no tracingId' : 'tracingId present';

export interface VerifyOptions {
  /** A sign-in from the deployment's identity provider, to check authenticated messaging too (verifySignIn.ts). */
  signIn?: SignInGrant;
  /**
   * A message that makes the deployment's bot (or a waiting agent) send a file,
   * to check `getAttachment` on an agent's file (VERIFY_AGENT_FILE_PROMPT).
   */
  agentFilePrompt?: string;
}

export async function verifyGenesys(target: VerifyTarget, options: VerifyOptions = {}): Promise<VerifyReport> {
  const timeoutMs = target.timeoutMs ?? 10_000;
  const findings: Finding[] = [];
  const exchanges: Exchange[] = [];
  const token = randomUUID();
  const secrets: string[] = [token];
  const add = (point: string, expected: string, observed: string, verdict: Verdict) =>
    findings.push({ point, expected, observed, verdict });
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
    await receipts(run, sent);
    await jwtAndHistory(run, sent);
    await expirySlides(run);
    await messageRate(run);
    await agentFile(run, options.agentFilePrompt);
    await tooLong(run);
    const nulls = socket.frames.flatMap((f) => nullPaths(f.body).map((p) => `${f.class}: ${p}`));
    add(
      'nulls in optional fields',
      'accepted wherever a field is optional',
      nulls.length ? [...new Set(nulls)].join(', ') : 'none seen',
      'holds',
    );
    await clear(run);
    const unknown = [
      ...new Set(socket.frames.map((f) => f.class ?? '(no class)').filter((c) => !KNOWN_CLASSES.has(c))),
    ];
    add(
      'frame classes',
      'only the classes the official SDK knows (others are logged and ignored)',
      unknown.length ? `unknown: ${unknown.join(', ')}` : 'all known',
      unknown.length ? 'differs' : 'holds',
    );
  } finally {
    socket.close();
  }
  if (options.signIn)
    secrets.push(...Object.values(options.signIn).filter((v): v is string => typeof v === 'string' && v.length >= 8));
  await verifySignIn({ target, exchanges, secrets, timeoutMs, add }, options.signIn);
  await verifyAvailability(target.availability, { add, timeoutMs, exchanges, secrets });
  return report();
}

function tracingPoint(run: Run, point: string, reply: Frame | undefined): void {
  run.add(
    point,
    'tracingId copied from the request, or absent (both handled)',
    traced(reply),
    reply === undefined ? 'not checked' : reply.tracingId ? 'holds' : 'differs',
  );
}

async function configure(run: Run): Promise<boolean> {
  const { socket, token, target, timeoutMs, add } = run;
  const mark = socket.frames.length;
  socket.send(
    configureSessionFrame({ token, deploymentId: target.deploymentId, startNew: false, tracingId: randomUUID() }),
  );
  const session = await socket.next((f) => f.class === 'SessionResponse' || f.class === 'string', mark, timeoutMs);
  if (session?.class !== 'SessionResponse') {
    add(
      'configureSession',
      'a SessionResponse',
      session ? `error ${session.code}: ${String(session.body)}` : 'no answer',
      'differs',
    );
    return false;
  }
  tracingPoint(run, 'SessionResponse carries tracingId', session);
  const body = session.body as Record<string, unknown>;
  const limits = {
    maxCustomDataBytes: body.maxCustomDataBytes,
    durationSeconds: body.durationSeconds,
    expirationDate: body.expirationDate,
    allowedMedia: body.allowedMedia,
    blockedExtensions: Array.isArray(body.blockedExtensions)
      ? `${body.blockedExtensions.length} extensions`
      : body.blockedExtensions,
  };
  add(
    'SessionResponse limits',
    'maxCustomDataBytes, durationSeconds, expirationDate, allowedMedia, blockedExtensions (each optional)',
    JSON.stringify(limits),
    'holds',
  );
  return true;
}

async function join(run: Run): Promise<void> {
  if (!featureOn(run.config, 'autoStart')) {
    run.add('Presence Join echo carries tracingId', 'tracingId or none', 'autostart is off', 'not checked');
    return;
  }
  const mark = run.socket.frames.length;
  run.socket.send(joinFrame({ token: run.token, tracingId: randomUUID() }));
  const echo = await run.socket.next(
    (f) => f.class === 'StructuredMessage' && JSON.stringify(f.body).includes('"Join"'),
    mark,
    run.timeoutMs,
  );
  tracingPoint(run, 'Presence Join echo carries tracingId', echo);
}

async function message(run: Run): Promise<{ messageId: string; text: string; echoId?: string }> {
  const messageId = randomUUID();
  const text = `verify:genesys ${new Date().toISOString()}`;
  const mark = run.socket.frames.length;
  run.socket.send(textMessageFrame({ token: run.token, tracingId: randomUUID(), text, messageId }));
  const echo = await run.socket.next(
    (f) => f.class === 'StructuredMessage' && (f.body as { text?: string })?.text === text,
    mark,
    run.timeoutMs,
  );
  tracingPoint(run, 'message echo carries tracingId', echo);
  const echoedId = (echo?.body as { channel?: { messageId?: string } } | undefined)?.channel?.messageId;
  run.add(
    'metadata.id comes back as channel.messageId',
    'the id sent in message.metadata.id (the service also proves delivery by content)',
    echo === undefined
      ? 'no echo'
      : echoedId === messageId
        ? 'the same id'
        : `another id (${echoedId === undefined ? 'none' : 'Genesys-generated'})`,
    echo === undefined ? 'not checked' : echoedId === messageId ? 'holds' : 'differs',
  );
  return { messageId, text, echoId: (echo?.body as { id?: string } | undefined)?.id };
}

/** The start of a frame's body, as text. */
const bodyText = (f: Frame) => String(JSON.stringify(f.body)).slice(0, 120);

/** How long the receipts of the run's message, and a refusal of the guest's own, are waited for. */
const RECEIPT_WAIT_MS = 3000;

/**
 * Receipts (docs/genesys-protocol.md#receipts): which ones the deployment sends a guest about its message, and
 * whether it takes the guest's own `Read` (READ_RECEIPTS). Either answer is one the service handles: the findings say
 * which this deployment gives.
 */
async function receipts(run: Run, sent: { echoId?: string }): Promise<void> {
  const { socket, token, timeoutMs } = run;
  if (sent.echoId === undefined) {
    run.add('receipts Genesys sends a guest', 'Delivered, Read or Failed receipts, or none', 'no echo', 'not checked');
    run.add('a guest Read receipt', 'taken or refused', 'no echo to name', 'not checked');
    return;
  }
  const isReceipt = (f: Frame) =>
    f.class === 'StructuredMessage' && (f.body as { type?: string; id?: string })?.type === 'Receipt';
  await socket.next(
    (f) => isReceipt(f) && ['Read', 'Failed'].includes((f.body as { status?: string }).status ?? ''),
    0,
    Math.min(RECEIPT_WAIT_MS, timeoutMs),
  );
  const statuses = socket.frames
    .filter((f) => isReceipt(f) && (f.body as { id?: string }).id === sent.echoId)
    .map((f) => (f.body as { status?: string }).status ?? '(no status)');
  run.add(
    'receipts Genesys sends a guest',
    "Delivered, Read or Failed receipts about the guest's message (shown on the stream), or none (it stays sent)",
    statuses.length > 0 ? statuses.join(', ') : `none within ${RECEIPT_WAIT_MS / 1000} s`,
    'holds',
  );
  const mark = socket.frames.length;
  socket.send(readReceiptFrame({ token, tracingId: randomUUID(), messageId: sent.echoId }));
  const refused = await socket.next(
    (f) => f.class === 'string' || f.class === 'Error' || f.class === 'TooManyRequestsErrorMessage',
    mark,
    Math.min(RECEIPT_WAIT_MS, timeoutMs),
  );
  run.add(
    'a guest Read receipt',
    'taken without an error (READ_RECEIPTS=on may be set), or refused (leave it off)',
    refused
      ? `refused: ${refused.class} ${refused.code}: ${bodyText(refused)}; leave READ_RECEIPTS off`
      : `taken: no error within ${RECEIPT_WAIT_MS / 1000} s; READ_RECEIPTS=on may be set`,
    'holds',
  );
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

async function tooLong(run: Run): Promise<void> {
  const mark = run.socket.frames.length;
  run.socket.send(
    textMessageFrame({ token: run.token, tracingId: randomUUID(), text: 'x'.repeat(4200), messageId: randomUUID() }),
  );
  const refused = await run.socket.next(
    (f) => f.class === 'string' || f.class === 'Error' || f.class === 'TooManyRequestsErrorMessage',
    mark,
    run.timeoutMs,
  );
  run.add(
    'a text over 4096 bytes is refused with 4011',
    'error frame with code 4011',
    refused ? `${refused.class} ${refused.code}` : 'no error frame',
    refused?.code === 4011 ? 'holds' : 'differs',
  );
  tracingPoint(run, 'error frames carry tracingId', refused);
}

async function clear(run: Run): Promise<void> {
  const mark = run.socket.frames.length;
  run.socket.send(clearFrame({ token: run.token, tracingId: randomUUID() }));
  const cleared = await run.socket.next(
    (f) => f.class === 'SessionClearedEvent' || f.class === 'string',
    mark,
    run.timeoutMs,
  );
  const closed = await run.socket.next((f) => f.class === 'ConnectionClosedEvent', mark, run.timeoutMs / 2);
  const observed =
    cleared === undefined
      ? 'no answer'
      : cleared.class === 'string'
        ? `error ${cleared.code}: ${String(cleared.body)}`
        : `SessionClearedEvent${closed ? ' then ConnectionClosedEvent' : ''}`;
  const holds =
    cleared?.class === 'SessionClearedEvent' || (cleared?.code === 403 && !featureOn(run.config, 'conversationClear'));
  run.add(
    'Presence Clear ends the conversation',
    'SessionClearedEvent then ConnectionClosedEvent, or 403 when conversation clear is off',
    observed,
    holds ? 'holds' : 'differs',
  );
}

function summary(target: VerifyTarget) {
  const { name, deploymentId, webMessagingUrl, apiUrl } = target;
  return { name, deploymentId, webMessagingUrl, apiUrl };
}

/** The report as a table a person reads. */
export function formatReport(report: VerifyReport): string {
  const rows = report.findings.map(
    (f) =>
      `${f.verdict === 'holds' ? 'ok  ' : f.verdict === 'differs' ? 'DIFF' : '--  '}  ${f.point}\n` +
      `      expected: ${f.expected}\n` +
      `      observed: ${f.observed}`,
  );
  const { name, deploymentId, webMessagingUrl } = report.target;
  return [`Deployment ${name}: Genesys deployment ${deploymentId} (${webMessagingUrl})`, '', ...rows, ''].join('\n');
}
