import type { ReceivedFrame } from '../../simulator';
import type { RawRequest, RawResponse } from './hostile';

/**
 * What the fuzzer's inputs must get, written from the README's rules and independently of
 * the service's code: for each class of input that must be refused, the answers it may get
 * (its own refusal, or one from a check that comes before it), and what may never reach
 * Genesys (the frames the simulator received) whatever the answer was.
 */

/** Keys that reach an object's prototype: refused anywhere in a body (README, prototype keys). */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];
/** Attribute keys only a verified identity (or the service itself) sets, with identity tokens configured (README, Identity). */
const LOCKED_ATTRIBUTE_KEYS = [
  'customerId',
  'identityVerified',
  'identityIssuer',
  'firstName',
  'lastName',
  'email',
  'phone',
];
const MAX_TEXT_BYTES = 4096;
const MAX_CUSTOM_DATA_BYTES = 2048;
export const BODY_LIMIT_BYTES = 32 * 1024;
const ALLOWED_ORIGINS = ['http://localhost:3000', 'https://shop.example.com', 'https://a.example.org'];
/** The origin every pool session was created from: its token is refused from any other. */
const POOL_ORIGIN = 'http://localhost:3000';

export interface PoolSessionView {
  token: string;
  /** False once the session may have been ended (DELETE answered 204): its token then gets 410. */
  open: boolean;
}

/** An input class that must be refused: why, and the answers (`status code`) it may get. */
export interface Refusal {
  why: string[];
  /** Its own refusals. */
  own: Set<string>;
  /** Refusals of checks that come first (origin, media type, size, authentication). */
  earlier: Set<string>;
}

export function answerOf(req: RawRequest, res: RawResponse): string {
  if (req.method === 'HEAD' || res.status < 400) return String(res.status);
  try {
    return `${res.status} ${String((JSON.parse(res.text) as { code?: unknown }).code)}`;
  } catch {
    return `${res.status} ?`;
  }
}

/** Whether the answer is one the refusal allows (a HEAD answer has no code: its status must match). */
export function allows(refusal: Refusal, req: RawRequest, answer: string): boolean {
  const all = [...refusal.own, ...refusal.earlier];
  if (req.method === 'HEAD') return all.some((a) => a.startsWith(`${answer} `));
  return all.includes(answer);
}

const header = (req: RawRequest, name: string): string | undefined =>
  Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];

/** The path Express routes on: no query, case-insensitive, a trailing slash ignored. */
function routedPath(req: RawRequest): string {
  const path = req.path.split('?')[0]!.toLowerCase();
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

/** Routes answered before any body is read: public GETs (availability among them) and the multipart upload. */
function readsNoJsonBody(req: RawRequest): boolean {
  const method = req.method.toUpperCase();
  const path = routedPath(req);
  if (method === 'OPTIONS') return true;
  if (
    (method === 'GET' || method === 'HEAD') &&
    (['/healthz', '/readyz', '/openapi.json', '/asyncapi.json', '/availability'].includes(path) ||
      /^\/problems\/[^/]+$/.test(path))
  )
    return true;
  return method === 'POST' && path === '/attachments';
}

function bodyText(req: RawRequest): string | undefined {
  if (req.body === undefined || req.body.length === 0) return undefined;
  return Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body;
}

/** The body as the service's JSON parser would see it: undefined when there is none, `malformed` when it is not a JSON object or array. */
function parsedBody(req: RawRequest): { value: unknown } | 'malformed' | undefined {
  const text = bodyText(req);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text.replace(/^\ufeff/, '')) as unknown;
    return typeof value === 'object' && value !== null ? { value } : 'malformed';
  } catch {
    return 'malformed';
  }
}

/** The refusals of the edge that any JSON body may meet first, from the request's headers and size. */
function edgeRefusals(req: RawRequest): string[] {
  const out: string[] = [];
  const origin = header(req, 'Origin');
  if (origin !== undefined && !ALLOWED_ORIGINS.includes(origin)) out.push('403 origin_not_allowed');
  const type = header(req, 'Content-Type') ?? '';
  const encoding = header(req, 'Content-Encoding');
  const plainJson =
    /^application\/(json|[\w.-]+\+json)\s*(;\s*charset="?utf-8"?\s*)?$/i.test(type.trim()) &&
    (encoding === undefined || encoding.trim().toLowerCase() === 'identity');
  if (!plainJson) out.push('415 unsupported_media_type', '400 validation_failed', '413 payload_too_large');
  const bytes = req.body === undefined ? 0 : Buffer.isBuffer(req.body) ? req.body.length : Buffer.byteLength(req.body);
  if (bytes > BODY_LIMIT_BYTES) out.push('413 payload_too_large');
  return out;
}

/**
 * The path to the first entry of a parsed value (depth first) that `bad` finds wrong, if any:
 * iterative, since a fuzzed body may nest twenty thousand levels deep.
 */
function findPath(root: unknown, bad: (key: string | undefined, value: unknown) => boolean): string | undefined {
  const stack: [string, string | undefined, unknown][] = [['$', undefined, root]];
  while (stack.length > 0) {
    const [path, key, value] = stack.pop()!;
    if (bad(key, value)) return path;
    if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value).reverse()) stack.push([`${path}.${k}`, k, v]);
    }
  }
  return undefined;
}

/** The path to a reserved key anywhere in a parsed body, if there is one. */
export function reservedKeyPath(value: unknown): string | undefined {
  return findPath(value, (key) => key !== undefined && RESERVED_KEYS.includes(key));
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const wellFormed = (s: string) => s.isWellFormed();

/** Route rules: what makes a body one the route must refuse, each reason with its answer. */
type Rules = (body: unknown, req: RawRequest) => [string, string][];

function attributeRules(attributes: unknown, allowNull: boolean, where: string): [string, string][] {
  if (!isPlainObject(attributes)) return [[`${where} is not an object`, '400 validation_failed']];
  const out: [string, string][] = [];
  let bytes = 0;
  for (const [key, value] of Object.entries(attributes)) {
    if (key.length === 0 || key.length > 200)
      out.push([`${where} key of ${key.length} characters`, '400 validation_failed']);
    if (!wellFormed(key) || /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(key) || key.trim() !== key)
      out.push([`${where} key ${JSON.stringify(key)} is not printable`, '400 validation_failed']);
    if (LOCKED_ATTRIBUTE_KEYS.includes(key)) out.push([`${where} key ${key} is locked`, '403 attribute_locked']);
    if (value === null && allowNull) continue;
    if (typeof value !== 'string') out.push([`${where}.${key} is not a string`, '400 validation_failed']);
    else if (!wellFormed(value)) out.push([`${where}.${key} has a lone surrogate`, '400 validation_failed']);
    else bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_CUSTOM_DATA_BYTES) out.push([`${where} take ${bytes} bytes`, '413 attributes_too_large']);
  return out;
}

function unknownFields(body: Record<string, unknown>, known: string[], where: string): [string, string][] {
  return Object.keys(body)
    .filter((k) => !known.includes(k))
    .map((k) => [`unknown field ${where}${JSON.stringify(k)}`, '400 validation_failed']);
}

function answerRules(answer: unknown, where: string): [string, string][] {
  if (!isPlainObject(answer)) return [[`${where} is not an object`, '400 validation_failed']];
  const out = unknownFields(answer, ['text', 'payload', 'originatingMessageId'], `${where}.`);
  for (const field of ['text', 'payload', 'originatingMessageId']) {
    const value = answer[field];
    if (value === undefined && field === 'originatingMessageId') continue;
    const max = field === 'originatingMessageId' ? 200 : 1024;
    if (typeof value !== 'string' || !wellFormed(value) || value.trim() === '' || value.length > max)
      out.push([`${where}.${field} is not 1 to ${max} characters of text`, '400 validation_failed']);
  }
  return out;
}

const messageRules: Rules = (body, req) => {
  if (!isPlainObject(body)) return [['the body is not an object', '400 validation_failed']];
  const out = unknownFields(body, ['text', 'attachmentIds', 'quickReply', 'button', 'datePicker'], '');
  const { text, quickReply } = body;
  if (text !== undefined) {
    if (typeof text !== 'string') out.push(['text is not a string', '400 validation_failed']);
    else if (!wellFormed(text)) out.push(['text has a lone surrogate', '400 validation_failed']);
    else if (text.trim() === '') out.push(['text is blank', '400 validation_failed']);
    else if (Buffer.byteLength(text) > MAX_TEXT_BYTES)
      out.push([`text is ${Buffer.byteLength(text)} bytes`, '413 message_too_long']);
  }
  if (quickReply !== undefined) out.push(...answerRules(quickReply, 'quickReply'));
  const kinds = [text ?? body.attachmentIds, quickReply, body.button, body.datePicker].filter(
    (v) => v !== undefined,
  ).length;
  if (kinds !== 1) out.push([`${kinds} kinds of message at once`, '400 validation_failed']);
  const ids = body.attachmentIds;
  if (
    ids !== undefined &&
    !(
      Array.isArray(ids) &&
      ids.length >= 1 &&
      ids.length <= 10 &&
      ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(id))
    )
  ) {
    out.push(['attachmentIds is not a list of ids', '400 validation_failed']);
  }
  const key = header(req, 'Idempotency-Key');
  if (key !== undefined && !/^[\x21-\x7e]{1,200}$/.test(key.replace(/^[ \t]+|[ \t]+$/g, '')))
    out.push(['Idempotency-Key is not 1 to 200 visible ASCII characters', '400 validation_failed']);
  return out;
};

const DETAIL_MAX: Record<string, number> = { firstName: 256, lastName: 256, email: 320, phone: 64 };

const sessionRules: Rules = (body) => {
  if (!isPlainObject(body)) return [['the body is not an object', '400 validation_failed']];
  const out = unknownFields(
    body,
    ['auth', 'firstName', 'lastName', 'email', 'phone', 'attributes', 'identityToken', 'startNew'],
    '',
  );
  for (const [field, max] of Object.entries(DETAIL_MAX)) {
    const value = body[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > max)
      out.push([`${field} is not a string of at most ${max}`, '400 validation_failed']);
    else if (!wellFormed(value)) out.push([`${field} has a lone surrogate`, '400 validation_failed']);
    // Identity tokens are configured: the guest's details are an identity's to set.
    if (typeof value === 'string') out.push([`${field} is set by the browser`, '403 attribute_locked']);
  }
  if (body.startNew !== undefined && typeof body.startNew !== 'boolean')
    out.push(['startNew is not a boolean', '400 validation_failed']);
  const token = body.identityToken;
  if (token !== undefined) {
    if (typeof token !== 'string' || token.length > 8192)
      out.push(['identityToken is not a string', '400 validation_failed']);
    // Not three parts of base64url, or no signature (alg none): forged, whatever it claims.
    else if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token))
      out.push(['identityToken is not a signed JWT', '401 identity_invalid']);
  }
  if (body.attributes !== undefined) out.push(...attributeRules(body.attributes, false, 'attributes'));
  return out;
};

const ROUTE_RULES: Record<string, { rules: Rules; earlier: string[] }> = {
  // Its rate limits and the session's conversation limits come before the body is read.
  'POST /guest-session': { rules: sessionRules, earlier: ['429 rate_limited'] },
  'PUT /guest-attributes': { rules: (body) => attributeRules(body, false, 'the attributes'), earlier: [] },
  'PATCH /guest-attributes': { rules: (body) => attributeRules(body, true, 'the attributes'), earlier: [] },
  'POST /messages': { rules: messageRules, earlier: [] },
};

/** Authentication's refusals that may come before a route reads the body. */
function authRefusals(req: RawRequest, route: string, pool: PoolSessionView[]): string[] {
  const authorization = header(req, 'Authorization');
  if (route === 'POST /guest-session' && authorization === undefined) return [];
  const origin = header(req, 'Origin');
  const session = pool.find((s) => authorization === `Bearer ${s.token}`);
  const out: string[] = [];
  if (!session || (origin !== undefined && origin !== POOL_ORIGIN)) out.push('401 unauthorized');
  if (!session?.open) out.push('410 session_expired');
  return out;
}

/**
 * The refusal an input must get, or undefined when nothing in it must be refused. A reserved key
 * is refused before authentication, for any route that reads a JSON body.
 */
export function expectedRefusal(
  req: RawRequest,
  pool: PoolSessionView[],
  servedMethods: (path: string) => string[] | undefined,
): Refusal | undefined {
  if (readsNoJsonBody(req)) return undefined;
  const parsed = parsedBody(req);
  if (parsed === undefined) return undefined;
  const earlier = new Set(edgeRefusals(req));
  // A path the API serves, asked with another method, is refused before any body is read.
  const served = servedMethods(routedPath(req));
  if (served && !served.includes(req.method.toUpperCase())) earlier.add('405 method_not_allowed');
  if (parsed === 'malformed')
    return { why: ['the body is not a JSON object or array'], own: new Set(['400 validation_failed']), earlier };
  const reserved = reservedKeyPath(parsed.value);
  if (reserved) return { why: [`reserved key at ${reserved}`], own: new Set(['400 validation_failed']), earlier };
  const route = `${req.method.toUpperCase()} ${req.path.split('?')[0]}`;
  const spec = ROUTE_RULES[route];
  if (!spec) return undefined;
  const reasons = spec.rules(parsed.value, req);
  if (reasons.length === 0) return undefined;
  for (const answer of [...spec.earlier, ...authRefusals(req, route, pool)]) earlier.add(answer);
  return { why: reasons.map(([why]) => why), own: new Set(reasons.map(([, answer]) => answer)), earlier };
}

/** The path to a key or string with a lone surrogate anywhere in a parsed value, if there is one. */
function malformedTextPath(value: unknown): string | undefined {
  return findPath(
    value,
    (key, v) => (key !== undefined && !wellFormed(key)) || (typeof v === 'string' && !wellFormed(v)),
  );
}

/** Everything in the frames Genesys received that no input may ever put there. */
export function forbiddenInFrames(frames: ReceivedFrame[]): string[] {
  const out: string[] = [];
  for (const { raw } of frames) {
    let frame: unknown;
    try {
      frame = JSON.parse(raw);
    } catch {
      out.push(`a frame that is not JSON: ${raw.slice(0, 200)}`);
      continue;
    }
    const reserved = reservedKeyPath(frame);
    if (reserved) out.push(`reserved key at ${reserved} in ${raw.slice(0, 200)}`);
    const malformed = malformedTextPath(frame);
    if (malformed) out.push(`lone surrogate at ${malformed} in ${raw.slice(0, 200)}`);
    const message = (
      frame as { message?: { text?: unknown; channel?: { metadata?: { customAttributes?: Record<string, unknown> } } } }
    ).message;
    if (typeof message?.text === 'string' && Buffer.byteLength(message.text) > MAX_TEXT_BYTES)
      out.push(`a ${Buffer.byteLength(message.text)}-byte text`);
    const attributes = Object.entries(message?.channel?.metadata?.customAttributes ?? {});
    const bytes = attributes.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
    if (bytes > MAX_CUSTOM_DATA_BYTES) out.push(`custom attributes of ${bytes} bytes`);
    for (const [k, v] of attributes) if (typeof v !== 'string') out.push(`custom attribute ${k} is not a string`);
  }
  return out;
}
