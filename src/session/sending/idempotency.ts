import { createHash } from 'node:crypto';

/**
 * The pieces of `Idempotency-Key` that need no state: the message id a key
 * names, and the fingerprint that tells a retry from a reuse. The records
 * themselves live in the send ledger (sendLedger.ts).
 */

/** A stable message id for (session, key): the same key always names the same message. */
export function messageIdFor(guestToken: string, idempotencyKey: string): string {
  const h = createHash('sha256').update(`${guestToken}\n${idempotencyKey}`).digest('hex');
  // RFC 9562 version 8 (custom) layout, variant 10.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What identifies a request's content for the reuse check: the same body in any key order is the same request. */
export function requestFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
