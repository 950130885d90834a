import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * What the shared store holds for e-mail, per chat (`{sk}`: sessionKeyOf of its guest token), every key with an
 * expiry:
 *
 * - `email:{sk}`: the opt-in, JSON `{ v: 1, chat, to, nonce, confirmed, url, base, since }`: `chat` is the guest
 *   token (and a signed-in customer's credentials) sealed as a push subscription's is, `to` the address sealed with
 *   the same keys (a reader of the store learns neither); `nonce` is what the opt-in's confirm and stop links name,
 *   so a link of an earlier opt-in does nothing to a later one; `url` the chat page an e-mail links back to; `base`
 *   the service's address the links are made on. It lives as long as a token of the chat could. The chat is also
 *   listed in the push lists (`notify-index:*`, pushRecords.ts): one watch serves both.
 * - `email-msg:{sk}:<message id>`: `queued:<e-mail id>` while the e-mail carrying the reply is in the outbox, then
 *   `sent`, `capped` or `failed`: no reply is e-mailed twice.
 * - `email-window:{sk}`: present while an e-mail of the chat is in the outbox, and for EMAIL_AFTER_SECONDS after its
 *   outcome: one e-mail per window.
 * - the queue `email:outbox` (emailCourier.ts): each e-mail waiting for the relay, sealed, with its tries so far;
 *   `email-once:<e-mail id>` keeps it from being queued twice.
 * - `email-day:<hash of the address>:<UTC date>`: how many e-mails the address got that day (EMAIL_DAILY_MAX).
 * - `email-confirmations:{sk}`: the confirmations the chat asked for in the last day (a sliding window of 3).
 */

export interface EmailRecord {
  v: 1;
  chat: string;
  to: string;
  nonce: string;
  confirmed: boolean;
  url: string;
  base: string;
  since: number;
}

const recordSchema = z.object({
  v: z.literal(1),
  chat: z.string().min(1),
  to: z.string().min(1),
  nonce: z.string().min(1),
  confirmed: z.boolean(),
  url: z.string(),
  base: z.string(),
  since: z.number(),
});

export const emailKeys = (sk: string) => ({
  record: `email:${sk}`,
  window: `email-window:${sk}`,
  message: (id: string) => `email-msg:${sk}:${id}`,
});

/** The key counting an address's e-mails on the UTC day of `now`. */
export function dayKey(address: string, now: number): string {
  const hash = createHash('sha256').update(`email-address\n${address.toLowerCase()}`).digest('base64url');
  return `email-day:${hash.slice(0, 32)}:${new Date(now).toISOString().slice(0, 10)}`;
}

export function parseEmailRecord(value: string | undefined): EmailRecord | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = recordSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What a confirm or stop link carries, sealed: the chat's session key and the opt-in's nonce. */
export const emailLinkSchema = z.object({
  typ: z.literal('email-link'),
  act: z.enum(['confirm', 'stop']),
  sk: z.string().min(1),
  n: z.string().min(1),
});

export type EmailLink = z.infer<typeof emailLinkSchema>;

/** What an opt-in's `to` holds, sealed. */
export const sealedAddressSchema = z.object({ typ: z.literal('email-to'), a: z.string().min(3) });
