import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../http/problem';
import type { Sealer } from './sealing';

/**
 * What a browser's session token carries (sealed, see sealing.ts): the
 * Genesys guest token, the origin that created it, the attributes and which
 * of them are locked, a fingerprint of what already reached Genesys, the
 * session's byte budget, and an expiry. A stream ticket is a separate,
 * minute-long kind that cannot stand in for a session token.
 */
const attributesSchema = z.record(z.string(), z.string());

const sessionClaimsSchema = z.object({
  typ: z.literal('session'),
  /** Genesys guest session token. */
  gt: z.string().min(1),
  /** Origin that created the session ('' when created without one). */
  o: z.string(),
  attrs: attributesSchema,
  locked: z.array(z.string()),
  /** Fingerprint of the attributes as last delivered to Genesys ('' = nothing yet). */
  sent: z.string(),
  /** maxCustomDataBytes from the SessionResponse. */
  mcb: z.number().int(),
  /** Expiry, epoch seconds. */
  exp: z.number().int(),
});

const ticketClaimsSchema = z.object({
  typ: z.literal('ticket'),
  gt: z.string().min(1),
  o: z.string(),
  exp: z.number().int(),
});

export type SessionClaims = z.infer<typeof sessionClaimsSchema>;
export type TicketClaims = z.infer<typeof ticketClaimsSchema>;

export const TICKET_TTL_SECONDS = 60;

export function fingerprint(attrs: Record<string, string>): string {
  if (Object.keys(attrs).length === 0) return '';
  const sorted = Object.keys(attrs)
    .sort()
    .map((k) => [k, attrs[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 22);
}

/** Attributes that have not reached Genesys in their current form. */
export function undeliveredAttributes(claims: SessionClaims): Record<string, string> | undefined {
  return Object.keys(claims.attrs).length > 0 && fingerprint(claims.attrs) !== claims.sent ? claims.attrs : undefined;
}

export class SessionTokens {
  constructor(
    private readonly sealer: Sealer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Seals the claims with a fresh expiry (sliding: every refreshed token lives a full TTL). */
  async issue(claims: Omit<SessionClaims, 'typ' | 'exp'>): Promise<{ token: string; claims: SessionClaims; expiresAt: string }> {
    const exp = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const full: SessionClaims = { typ: 'session', ...claims, exp };
    return { token: await this.sealer.seal(full), claims: full, expiresAt: new Date(exp * 1000).toISOString() };
  }

  async issueTicket(claims: Pick<SessionClaims, 'gt' | 'o'>): Promise<{ ticket: string; expiresAt: string }> {
    const exp = Math.floor(this.now() / 1000) + TICKET_TTL_SECONDS;
    const ticket: TicketClaims = { typ: 'ticket', gt: claims.gt, o: claims.o, exp };
    return { ticket: await this.sealer.seal(ticket), expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Opens a session token presented from `origin` (undefined when the request had no Origin header). */
  async open(token: string, origin: string | undefined): Promise<SessionClaims> {
    return this.check(sessionClaimsSchema, await this.sealer.unseal(token), origin);
  }

  async openTicket(ticket: string, origin: string | undefined): Promise<TicketClaims> {
    return this.check(ticketClaimsSchema, await this.sealer.unseal(ticket), origin);
  }

  private check<T extends { o: string; exp: number }>(schema: z.ZodType<T>, payload: unknown, origin: string | undefined): T {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new AppError('unauthorized', 'The token is not valid here; start a new session.');
    const claims = parsed.data;
    if (claims.exp * 1000 <= this.now()) throw new AppError('unauthorized', 'The session token has expired; start a new session.');
    // Browsers always send Origin cross-origin; a request without one is judged by the token alone (CONTRACT §6).
    if (origin !== undefined && origin !== claims.o) {
      throw new AppError('unauthorized', 'This session token belongs to another website.', { logDetail: { origin, tokenOrigin: claims.o } });
    }
    return claims;
  }
}
