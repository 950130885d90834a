import { createHash } from 'node:crypto';
import type { ServerFrame, StructuredMessageBody } from './frames';

/**
 * How strictly the simulator behaves. `default` answers the way most live
 * captures do. `strict` sends every shape Genesys's own SDK fixtures and
 * schemas allow, so a client that passes against it does not rely on the
 * simulator being kind (the transport SDK's
 * transport/src/androidUnitTest/kotlin/transport/util/Response.kt and
 * TestWebMessagingApiResponses.kt, the Java SDK's build/docs):
 *
 * - no `tracingId` on SessionResponse, JwtResponse, error frames,
 *   TooManyRequestsErrorMessage, the attachment replies and the Presence Join echo;
 * - `null` in optional fields (SessionResponse durations and flags, the
 *   agent's `channel.from.image`, history `channel.time`, an attachment's
 *   `sha256` and `text`; the implicit-flow sign-in exchange's `refreshToken`);
 * - `channel.messageId` on the guest's messages that is Genesys's own, not
 *   the `metadata.id` the client sent (no source confirms the echo);
 * - a frame of a class no client knows after every configure;
 * - an upload's verdict (UploadSuccessEvent, UploadFailureEvent) before
 *   storage answers its PUT (fileServer.ts);
 * - the history limit (10 reads a minute per session), the deployment's
 *   1,000 new connections a minute and each connection's request budget
 *   (`requestsPerConnectionPerMinute`, 60; the excess gets an untraced 429),
 *   enforced;
 * - `getAttachment` refused ("not found") for a file the agent sent, the
 *   unkinder reading of what no source settles;
 * - the per-action limits, `echo` 2 a minute per connection and `configureSession` 60 a minute per session
 *   (actionLimits.ts);
 * - a `Receipt` after each of the guest's messages, live and in history: `Delivered`, or `Failed` with the reason
 *   `DataFiltered` for a text the deployment's data filter catches (options.ts `dataFilter`), then `Read` when the
 *   agent answers it: the REST schema allows the type and the SDK has no class for it, so a client must tell it
 *   from a message;
 * - download links that state no expiry and redirect to storage (attachments.ts, `downloadLinks`);
 * - ids for the agent's files that are no UUIDs (attachments.ts, `agentAttachmentIds`);
 * - an expiry that does not slide on configure: only messages move it;
 * - on the Platform API (platformAccess.ts, availability.ts, observations.ts): each OAuth token's budget,
 *   `platformRequestsPerMinute` (300, `client.credentials.token.rate.per.minute`), then 429 with Retry-After, and
 *   the `inin-ratelimit-*` headers on every answer; only the fields the SDK models promise (no empty schedule lists,
 *   no `timeZone` a group does not state, no `enabled` on an emergency that is off, no observation that counts
 *   nothing, no `results` when none is left); queue observations one result per media type
 *   (`observationMediaTypes`); a query off the SDK's enums refused with 400; the estimated wait as several
 *   predictions, `BEST` first, then other formulas' with other values. The OAuth client's permissions by division
 *   (`clientGrants`) are checked under both profiles.
 */
export type Profile = 'default' | 'strict';

const UNTRACED = new Set([
  'SessionResponse',
  'JwtResponse',
  'string',
  'Error',
  'TooManyRequestsErrorMessage',
  // No attachment reply carries one in the fixtures: they name their attachmentId instead.
  'PresignedUrlResponse',
  'GenerateUrlError',
  'AttachmentDeletedResponse',
]);

/** The frame as the strict profile sends it (a copy; the input is not changed). */
export function strictFrame(frame: ServerFrame): ServerFrame {
  const out: ServerFrame = { ...frame };
  if (UNTRACED.has(frame.class) || (frame.class === 'StructuredMessage' && isJoinEcho(frame.body)))
    delete out.tracingId;
  if (frame.class === 'SessionResponse' && typeof frame.body === 'object' && frame.body !== null) {
    // `null` where the fixtures allow it, but a cleared session is still said (the SDK's ExistingAuthSessionCleared).
    const cleared = (frame.body as { clearedExistingSession?: boolean }).clearedExistingSession === true;
    out.body = { ...(frame.body as object), durationSeconds: null, clearedExistingSession: cleared || null };
  }
  if (frame.class === 'StructuredMessage' && typeof frame.body === 'object' && frame.body !== null) {
    out.body = strictMessage(frame.body as StructuredMessageBody, false);
  }
  return out;
}

/** A message (live or in history) as the strict profile shows it. */
export function strictMessage(body: StructuredMessageBody, inHistory: boolean, index = 0): StructuredMessageBody {
  const channel: Record<string, unknown> = { ...body.channel };
  if (body.direction === 'Inbound' && typeof channel.messageId === 'string')
    channel.messageId = genesysMessageId(channel.messageId);
  if (body.direction === 'Outbound' && body.type === 'Text')
    channel.from = { nickname: 'Simulator', ...(channel.from as object | undefined), image: null };
  if (inHistory && index % 3 === 1) channel.time = null;
  // The SDK's attachment carries optional sha256 and text, which may come as null.
  const content = body.content?.map((item) => {
    const a = (item as { attachment?: object }).attachment;
    return a ? { ...(item as object), attachment: { ...a, sha256: null, text: null } } : item;
  });
  return { ...body, channel, ...(content ? { content } : {}) } as unknown as StructuredMessageBody;
}

/** A stable id Genesys might use instead of the client's (the same in live frames and in history). */
function genesysMessageId(clientId: string): string {
  const h = createHash('sha256').update(`genesys:${clientId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A receipt Genesys may send for a guest's message: the message's id, `type: "Receipt"`, a status, and for `Failed`
 * its reasons (`{code, message}`, the Platform SDKs' receipt model).
 */
export function receiptFor(
  messageId: string,
  status: 'Delivered' | 'Read' | 'Failed' = 'Delivered',
  reasons?: { code: string; message: string }[],
): StructuredMessageBody {
  return {
    id: messageId,
    type: 'Receipt',
    status,
    ...(reasons ? { reasons } : {}),
    direction: 'Outbound',
    channel: { time: new Date().toISOString() },
  } as unknown as StructuredMessageBody;
}

/** The reason a data-filtered message failed, in the Platform SDKs' receipt reason shape. */
export const DATA_FILTERED = { code: 'DataFiltered', message: 'The message was blocked by data filtering.' };

/** A frame class no client knows, sent now and then: a client must log it and go on. */
export const UNKNOWN_CLASS_FRAME: ServerFrame = {
  type: 'message',
  class: 'FutureFeatureEvent',
  code: 200,
  body: { note: null },
};

function isJoinEcho(body: unknown): boolean {
  const b = body as StructuredMessageBody;
  return (
    b?.direction === 'Inbound' &&
    (b.events ?? []).some((e) => (e as { presence?: { type?: string } }).presence?.type === 'Join')
  );
}

/** A sliding one-minute counter (history reads per session, connections per deployment). */
export class PerMinute {
  private readonly times = new Map<string, number[]>();

  /** `currentLimit`, when given, is read on every use, so a test that changes the option changes the limit. */
  constructor(
    private readonly limit: number,
    private readonly now: () => number,
    private readonly currentLimit: () => number = () => limit,
  ) {}

  /** Seconds to wait when `key` is over the limit, else 0 (and the use is counted). */
  take(key: string): number {
    const now = this.now();
    const recent = (this.times.get(key) ?? []).filter((t) => t > now - 60_000);
    if (recent.length >= this.currentLimit()) return Math.max(1, Math.ceil((recent[0]! + 60_000 - now) / 1000));
    recent.push(now);
    this.times.set(key, recent);
    return 0;
  }

  reset(): void {
    this.times.clear();
  }
}
