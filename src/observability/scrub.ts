/**
 * What may reach a log line from an error or from text the service does not
 * control (Genesys error texts, request paths): only what helps an operator,
 * with anything shaped like a credential or a personal detail replaced.
 * Errors are reduced to type, message, code, status, the Genesys correlation
 * id and the URL without its query; request configs and headers (where an
 * HTTP client keeps `Authorization`) never are.
 */

/** JWTs and JWEs (our sealed tokens are JWE compact: five dot-separated parts). */
export const JWT_SHAPED = /\beyJ[\w-]*(?:\.[\w-]*){1,4}/g;
/** A credential after an HTTP auth scheme. */
export const AUTH_VALUE = /\b(bearer|basic)\s+[^\s"',]+/gi;
export const EMAIL_SHAPED = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;

const PATTERNS: [RegExp, string][] = [
  [JWT_SHAPED, '[jwt]'],
  [AUTH_VALUE, '$1 [redacted]'],
  [EMAIL_SHAPED, '[email]'],
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '[uuid]'],
  // Long opaque strings: session tokens, secrets, base64 blobs.
  [/\b[A-Za-z0-9_-]{32,}\b/g, '[token]'],
];

/** The most of a text a log line keeps. */
const MAX_TEXT = 2000;
/**
 * How much of a long text is scrubbed before it is cut: scrubbing first means
 * a secret across the cut is replaced whole rather than cut into a piece too
 * short to be recognised; bounded because the patterns are costly on huge input.
 */
const SCRUB_WINDOW = 2 * MAX_TEXT;
/** What stands on either side of a secret in a text. */
const WORD_END = /[\s"',]/;

/** A text cut at the window without its last word: that may be a piece of a secret, too short to be recognised. */
function withoutLastWord(text: string): string {
  // A loop, not /[^\s"',]*$/: that regex tries every start in a long word, quadratic in its length.
  let end = text.length;
  while (end > 0 && !WORD_END.test(text[end - 1]!)) end -= 1;
  return text.slice(0, end);
}

export function scrubText(text: string): string {
  const cut = text.length > SCRUB_WINDOW;
  let out = cut ? withoutLastWord(text.slice(0, SCRUB_WINDOW)) : text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  // Scrubbing shortens a text full of secrets: one cut at the window may come out under MAX_TEXT, still marked as cut.
  return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}…` : cut ? `${out}…` : out;
}

/** A URL for the log: no query values, no credentials, no token-shaped path segments. */
export function loggableUrlOf(url: string | undefined, keepQuery: ReadonlySet<string> = new Set()): string | undefined {
  if (url === undefined) return undefined;
  const start = url.indexOf('?');
  // Credentials first: scrubbed before, `user:secret@api.example.com` reads as an email and the host is lost with them.
  const path = scrubText((start < 0 ? url : url.slice(0, start)).replace(/\/\/[^/@]*@/, '//[redacted]@'));
  if (start < 0) return path;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (eq < 0) return scrubText(name);
      return keepQuery.has(decodedName(name)) ? scrubText(pair) : `${scrubText(name)}=[redacted]`;
    });
  return `${path}?${query.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  failure?: unknown;
  cause?: unknown;
  config?: { url?: unknown; method?: unknown };
  response?: { status?: unknown; headers?: Record<string, unknown> };
  logDetail?: Record<string, unknown>;
}

interface LoggedError {
  type: string;
  message: string;
  code?: string | number;
  status?: number;
  failure?: string;
  method?: string;
  url?: string;
  correlationId?: string;
  detail?: Record<string, unknown>;
  cause?: LoggedError;
}

/** The pino serializer for `err`: the whitelist above, causes included (three deep). */
export function serializeError(error: unknown, depth = 0): LoggedError | undefined {
  // pino calls a serializer for no undefined value, and a cause is followed only when there is one.
  if (error === null) return undefined;
  if (typeof error !== 'object') return { type: typeof error, message: scrubText(String(error)) };
  const e = error as ErrorLike;
  const out: LoggedError = {
    type: typeof e.name === 'string' ? e.name : (error.constructor?.name ?? 'Error'),
    message: scrubText(typeof e.message === 'string' ? e.message : ''),
  };
  if (typeof e.code === 'string' || typeof e.code === 'number')
    out.code = typeof e.code === 'string' ? scrubText(e.code) : e.code;
  const status = e.response?.status ?? e.status;
  if (typeof status === 'number') out.status = status;
  if (typeof e.failure === 'string') out.failure = e.failure;
  if (e.config && typeof e.config.url === 'string') {
    out.url = loggableUrlOf(e.config.url);
    if (typeof e.config.method === 'string') out.method = e.config.method.toUpperCase();
  }
  const correlation = e.response?.headers?.['inin-correlation-id'];
  if (typeof correlation === 'string') out.correlationId = correlation;
  if (e.logDetail) out.detail = scrubDetail(e.logDetail);
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

/** Log detail with every string scrubbed (Genesys error texts can echo what they were sent). */
export function scrubDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) {
    if (v === undefined) continue;
    out[k] =
      typeof v === 'string'
        ? scrubText(v)
        : typeof v === 'number' || typeof v === 'boolean' || v === null
          ? v
          : '[object]';
  }
  return out;
}
