import { knownTimeZone } from '../../../client/src/transcriptLocale';
import { z } from 'zod';

/**
 * What only the HTTP edge reads: query strings, the health answers and the
 * problem document. The public shapes themselves are in src/domain/api.ts.
 */
export * from '../../domain/api';
export { normalizedMessageSchema } from '../../domain/message';
import { STREAM_EVENT_ID } from '../../domain/message';

/** Accepted on every route (clients may send it wherever they cannot send X-Chat-Session); only proxies read it. */
const routingKeyQuery = z
  .string()
  .max(64)
  .optional()
  .describe(
    "The session's routingKey, for a proxy that hashes on it (EventSource cannot send X-Chat-Session); the service " +
      'ignores it',
  );

/** A confirm or stop link of an e-mail: what it acts on, sealed. */
export const emailLinkQuery = z.strictObject({
  t: z.string().min(1).max(1024).describe('What the link acts on, sealed by this service'),
});

export const historyQuery = z.strictObject({
  page: z.coerce.number().int().min(1).max(10_000).default(1).describe('1 is the newest page'),
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
  routingKey: routingKeyQuery,
});

export const transcriptQuery = z.strictObject({
  format: z
    .enum(['text', 'html'])
    .optional()
    .describe('text (text/plain) or html (a self-contained page); absent, the Accept header chooses, else text'),
  lang: z
    .string()
    .max(35)
    .regex(/^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$/, 'must be a language tag such as de or ar-EG')
    .optional()
    .describe(
      "The reader's language (a language tag): the transcript's words in it where the browser kit has them (en, de, " +
        'fr, es, ar), else English; absent, the Accept-Language header chooses',
    ),
  timeZone: z
    .string()
    .max(64)
    .refine(knownTimeZone, 'must be an IANA time zone such as Europe/Berlin')
    .optional()
    .describe("The reader's IANA time zone (Europe/Berlin): every moment in it, the zone named; absent, UTC"),
  routingKey: routingKeyQuery,
});

export const streamQuery = z.strictObject({
  ticket: z
    .string()
    .max(6144)
    .optional()
    .describe('From POST /messages/stream-ticket, for EventSource (which cannot send headers)'),
  routingKey: routingKeyQuery,
  lastEventId: z
    .string()
    .regex(STREAM_EVENT_ID, 'lastEventId must be an event id this service sent (1 to 128 of A-Z a-z 0-9 _ -)')
    .optional()
    .describe(
      'The id of the last event seen, where a client cannot send the Last-Event-ID header: the messages after it ' +
        'are sent first',
    ),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const readinessSchema = z.object({
  status: z
    .enum(['ready', 'degraded', 'not_ready'])
    .describe(
      '`degraded`: ready, but a dependency every instance shares (Redis, Genesys) is down; its check says which',
    ),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string() }).loose()),
});

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable error code (README "Errors you will meet")'),
    requestId: z.string().optional(),
  })
  .loose()
  .describe('RFC 9457 problem details');

/**
 * A value of a PUT or PATCH /guest-attributes body. An object there is most
 * often the whole map wrapped as `{"attributes": {...}}`, the shape of
 * POST /guest-session: the refusal says which shape to send instead.
 */
const attributeValue = z.string({
  error: (issue) =>
    typeof issue.input === 'object' && issue.input !== null && !Array.isArray(issue.input)
      ? 'an attribute value must be a string, not an object: the body is the attributes map itself, like {"cart":"3 ' +
        'items"}, not {"attributes":{"cart":"3 items"}}'
      : undefined,
});

export const attributesBodySchema = z
  .record(z.string(), attributeValue)
  .describe('The attributes map itself: string keys to string values');

export const attributesPatchSchema = z
  .record(z.string(), attributeValue.nullable())
  .describe('The attributes to merge, as the map itself; a null value removes the key');
