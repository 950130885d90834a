import { createHash, createHmac, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { GenesysSignIn } from '../../genesys/guest';
import type { Sealer } from './sealing';

/**
 * What a browser's session token carries (sealed, see sealing.ts): the
 * Genesys guest token, the origin that created it, the attributes and which
 * of them are locked, a fingerprint of what already reached Genesys, the
 * session's byte budget, a signed-in customer's Genesys credentials, and an
 * expiry. A stream ticket is a separate,
 * minute-long kind that cannot stand in for a session token.
 *
 * On the wire the claims have short names, since the token travels with
 * every request; nothing outside this module sees them.
 */
/** A signed-in customer's Genesys JWT and refresh token (authenticated messaging). */
const signInWire = z.strictObject({ j: z.string().min(1), r: z.string().min(1).optional() }).optional();

const signInToWire = (s: GenesysSignIn | undefined) =>
  s ? { au: { j: s.jwt, ...(s.refreshToken ? { r: s.refreshToken } : {}) } } : {};
const signInFromWire = (au: z.infer<typeof signInWire>) =>
  au ? { signIn: { jwt: au.j, ...(au.r ? { refreshToken: au.r } : {}) } } : {};

const sessionWireSchema = z.object({
  typ: z.literal('session'),
  gt: z.string().min(1),
  o: z.string(),
  attrs: z.record(z.string(), z.string()),
  locked: z.array(z.string()),
  sent: z.string(),
  mcb: z.number().int(),
  /** The routing key (absent in tokens sealed before it existed: derived then). */
  rk: z.string().optional(),
  /** The session's anchor in the shared store (revocations.ts); absent in tokens sealed before it existed. */
  an: z.string().optional(),
  au: signInWire,
  /** Issued at, epoch ms (absent in tokens sealed before it existed: 0 then, older than any sign-in's cut-off). */
  ia: z.number().int().optional(),
  exp: z.number().int(),
});

const ticketWireSchema = z.object({
  typ: z.literal('ticket'),
  /** The ticket's own id: a ticket opens one stream. */
  jti: z.string().min(1),
  gt: z.string().min(1),
  o: z.string(),
  an: z.string().optional(),
  au: signInWire,
  ia: z.number().int().optional(),
  exp: z.number().int(),
});

export interface SessionClaims {
  /** The Genesys guest session token. */
  guestToken: string;
  /** The origin that created the session ('' when created without one). */
  origin: string;
  attributes: Record<string, string>;
  /** Keys set by a verified identity. */
  locked: string[];
  /** Fingerprint of the attributes as last delivered to Genesys ('' = nothing yet). */
  deliveredFingerprint: string;
  /** maxCustomDataBytes from the SessionResponse. */
  maxCustomDataBytes: number;
  /** Stable for the Genesys session, non-secret: what a proxy hashes on to keep the session on one instance. */
  routingKey: string;
  /**
   * The session's anchor in the shared store: its standing record names it, so a token whose
   * record vanished is known to come from a store that lost its records (revocations.ts).
   */
  anchor?: string;
  /** Genesys authenticated messaging: the signed-in customer's credentials (sealed; never shown or logged). */
  signIn?: GenesysSignIn;
  /** When the token was sealed, epoch ms: a sign-in refuses every token of its conversation sealed before it. */
  issuedAt: number;
  /** Expiry, epoch seconds. */
  exp: number;
}

interface TicketClaims {
  id: string;
  guestToken: string;
  origin: string;
  anchor?: string;
  signIn?: GenesysSignIn;
  issuedAt: number;
  exp: number;
}

/** What a ticket or an attachment link names: the session, with its sign-in so an instance can configure it. */
type SessionRef = Pick<SessionClaims, 'guestToken' | 'origin' | 'signIn' | 'anchor'>;

export type SessionState = Omit<SessionClaims, 'exp' | 'issuedAt'>;

const toWire = (c: SessionClaims): z.infer<typeof sessionWireSchema> => ({
  typ: 'session',
  gt: c.guestToken,
  o: c.origin,
  attrs: c.attributes,
  locked: c.locked,
  sent: c.deliveredFingerprint,
  mcb: c.maxCustomDataBytes,
  rk: c.routingKey,
  ...(c.anchor !== undefined ? { an: c.anchor } : {}),
  ...signInToWire(c.signIn),
  ia: c.issuedAt,
  exp: c.exp,
});

const fromWire = (
  w: z.infer<typeof sessionWireSchema>,
  routingKeyFor: (guestToken: string) => string,
): SessionClaims => ({
  guestToken: w.gt,
  origin: w.o,
  attributes: w.attrs,
  locked: w.locked,
  deliveredFingerprint: w.sent,
  maxCustomDataBytes: w.mcb,
  routingKey: w.rk ?? routingKeyFor(w.gt),
  ...(w.an !== undefined ? { anchor: w.an } : {}),
  ...signInFromWire(w.au),
  issuedAt: w.ia ?? 0,
  exp: w.exp,
});

/** A routing key a client may propose: long enough to be unique, short and plain enough for any proxy. */
export const ROUTING_KEY = /^[A-Za-z0-9_-]{16,64}$/;

const TICKET_TTL_SECONDS = 60;

const linkWireSchema = z.strictObject({
  typ: z.literal('link'),
  gt: z.string(),
  a: z.string(),
  o: z.string(),
  au: signInWire,
  exp: z.number(),
});

/** A sign-in Genesys did, sealed for the shared store: whose session, which grant, and the credentials it gave. */
const signInRecordWireSchema = z.strictObject({
  typ: z.literal('signin'),
  gt: z.string().min(1),
  g: z.string().min(1),
  au: signInWire.unwrap(),
  exp: z.number().int(),
});

export function fingerprint(attrs: Record<string, string>): string {
  if (Object.keys(attrs).length === 0) return '';
  const sorted = Object.keys(attrs)
    .sort()
    .map((k) => [k, attrs[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 22);
}

/** Attributes that have not reached Genesys in their current form. */
export function undeliveredAttributes(claims: SessionState): Record<string, string> | undefined {
  const { attributes } = claims;
  return Object.keys(attributes).length > 0 && fingerprint(attributes) !== claims.deliveredFingerprint
    ? attributes
    : undefined;
}

type SessionWire = z.infer<typeof sessionWireSchema>;

/**
 * How many of the session tokens this instance sealed last it remembers:
 * the next request of a session carries the token its last answer gave it,
 * and opening it from memory spares the decryption and the schema check on
 * the request's critical path (bench/README.md). A token not remembered
 * (older, or sealed by another instance) is opened as always.
 */
export const REMEMBERED_TOKENS = 10_000;
/**
 * And at most this much sealed text in all: a token's size is the client's
 * to choose (2 KB of attributes that JSON escapes six-fold seal to 17 KB),
 * so a count alone let one client's attribute changes hold some 200 MB here.
 * What is kept beside each token is no larger than its text, but for a few
 * hundred bytes of objects.
 */
export const REMEMBERED_TOKEN_CHARS = 16 * 1024 * 1024;

/** How long a token whose claims did not change is answered back as it is, at most (`refreshed`). */
export const REISSUE_AFTER_MS = 60_000;

/** Whether `state` is what `claims` already hold: every field the same value (stateOf copies them by reference). */
function sameState(claims: SessionClaims, state: SessionState): boolean {
  const keys = Object.keys(state) as (keyof SessionState)[];
  if (keys.length !== Object.keys(claims).length - 2) return false;
  for (const key of keys) if (state[key] !== claims[key]) return false;
  return true;
}

export class SessionTokens {
  private readonly routingSecret: Buffer;
  /** Token → what it seals, frozen; oldest first (a Map keeps insertion order). */
  private readonly sealed = new Map<string, Readonly<SessionWire>>();
  /** The token each claims object was opened from (`refreshed` hands it back when nothing changed). */
  private readonly openedFrom = new WeakMap<SessionClaims, string>();
  /** A token younger than this whose claims did not change is answered as it is (`refreshed`). */
  private readonly reissueAfterMs: number;
  /** The length of every token in `sealed`, together. */
  private sealedChars = 0;

  /**
   * @param routingSecret keys the routing keys derived from guest tokens; every
   * instance needs the same one (the service passes its session secret).
   */
  constructor(
    private readonly sealer: Sealer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = () => Date.now(),
    routingSecret: string = randomUUID(),
  ) {
    this.routingSecret = createHash('sha256').update(`routing-key\n${routingSecret}`).digest();
    this.reissueAfterMs = Math.min(REISSUE_AFTER_MS, (ttlSeconds * 1000) / 10);
  }

  /** A keyed hash of the guest token: stable for the session, and it reveals nothing of it. */
  routingKeyFor(guestToken: string): string {
    return createHmac('sha256', this.routingSecret).update(guestToken).digest('base64url').slice(0, 22);
  }

  /** The clock tokens are sealed by (epoch ms): a cut-off in the same terms as their `issuedAt`. */
  currentTime(): number {
    return this.now();
  }

  /** How long a token issued now stays valid. */
  get lifetimeMs(): number {
    return this.ttlSeconds * 1000;
  }

  /** Seals the claims with a fresh expiry (sliding: every refreshed token lives a full TTL). */
  async issue(state: SessionState): Promise<{ token: string; claims: SessionClaims; expiresAt: string }> {
    const issuedAt = this.now();
    const exp = Math.floor(issuedAt / 1000) + this.ttlSeconds;
    const claims: SessionClaims = { ...state, issuedAt, exp };
    const wire = toWire(claims);
    const token = await this.sealer.seal(wire);
    this.remember(token, wire);
    return { token, claims, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * The answer's token for `state`, from a request that came with `claims`:
   * that same token when nothing in it would change and it was sealed less
   * than a minute ago (a tenth of the lifetime, when shorter), else a newly
   * sealed one. Sealing is a tenth of a message's CPU (bench/README.md); the
   * sliding expiry then moves in steps of at most that minute.
   */
  refreshed(
    claims: SessionClaims,
    state: SessionState,
  ): Promise<{ token: string; claims: SessionClaims; expiresAt: string }> {
    const token = this.openedFrom.get(claims);
    if (token === undefined || this.now() - claims.issuedAt >= this.reissueAfterMs || !sameState(claims, state))
      return this.issue(state);
    return Promise.resolve({ token, claims, expiresAt: new Date(claims.exp * 1000).toISOString() });
  }

  private remember(token: string, wire: SessionWire): void {
    if (token.length > REMEMBERED_TOKEN_CHARS) return;
    while (this.sealed.size >= REMEMBERED_TOKENS || this.sealedChars + token.length > REMEMBERED_TOKEN_CHARS) {
      const oldest = this.sealed.keys().next().value!;
      this.sealed.delete(oldest);
      this.sealedChars -= oldest.length;
    }
    this.sealedChars += token.length;
    const au = wire.au ? Object.freeze({ ...wire.au }) : undefined;
    this.sealed.set(
      token,
      Object.freeze({
        ...wire,
        attrs: Object.freeze({ ...wire.attrs }),
        locked: Object.freeze([...wire.locked]) as string[],
        au,
      }),
    );
  }

  async issueTicket(claims: SessionRef): Promise<{ ticket: string; expiresAt: string }> {
    const issuedAt = this.now();
    const exp = Math.floor(issuedAt / 1000) + TICKET_TTL_SECONDS;
    const ticket = {
      typ: 'ticket',
      jti: randomUUID(),
      gt: claims.guestToken,
      o: claims.origin,
      ...(claims.anchor !== undefined ? { an: claims.anchor } : {}),
      ...signInToWire(claims.signIn),
      ia: issuedAt,
      exp,
    } satisfies z.infer<typeof ticketWireSchema>;
    return { ticket: await this.sealer.seal(ticket), expiresAt: new Date(exp * 1000).toISOString() };
  }

  /**
   * A sealed link to one attachment of one session (no guest token in the
   * clear), valid as long as a session token.
   */
  attachmentLink(claims: SessionRef, attachmentId: string): string {
    const exp = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const wire = {
      typ: 'link',
      gt: claims.guestToken,
      a: attachmentId,
      o: claims.origin,
      ...signInToWire(claims.signIn),
      exp,
    } satisfies z.infer<typeof linkWireSchema>;
    return this.sealer.sealSync(wire);
  }

  /**
   * The credentials a sign-in got from Genesys, sealed for the record its retry reads (session/signIn/signInLedger.ts):
   * they open only for the same session and grant, and not after a token issued now would have expired.
   */
  sealSignIn(guestToken: string, grant: string, signIn: GenesysSignIn): Promise<string> {
    const exp = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const wire = { typ: 'signin', gt: guestToken, g: grant, ...signInToWire(signIn), exp };
    return this.sealer.seal(wire);
  }

  /** What `sealSignIn` sealed, for that session and grant; undefined for anything else. */
  async openSignIn(sealed: string, guestToken: string, grant: string): Promise<GenesysSignIn | undefined> {
    const parsed = signInRecordWireSchema.safeParse(await this.sealer.unseal(sealed).catch(() => undefined));
    if (!parsed.success) return undefined;
    const wire = parsed.data;
    if (wire.gt !== guestToken || wire.g !== grant || wire.exp * 1000 <= this.now()) return undefined;
    return signInFromWire(wire.au).signIn;
  }

  /** The session and attachment a link names; `unauthorized` for anything else. */
  openAttachmentLink(
    link: string,
    attachmentId: string,
    origin: string | undefined,
  ): Pick<SessionRef, 'guestToken' | 'signIn'> {
    const wire = this.check(linkWireSchema, this.sealer.unsealSync(link), origin);
    if (wire.a !== attachmentId) throw new AppError('unauthorized', 'This link is for another attachment.');
    return { guestToken: wire.gt, ...signInFromWire(wire.au) };
  }

  /** Opens a session token presented from `origin` (undefined when the request had no Origin header). */
  async open(token: string, origin: string | undefined): Promise<SessionClaims> {
    const remembered = this.sealed.get(token);
    let wire: SessionWire;
    if (remembered) wire = this.admit(remembered, origin);
    else {
      wire = this.check(sessionWireSchema, await this.sealer.unseal(token), origin);
      // It may be answered back unchanged for a while (`refreshed`): opened from memory meanwhile.
      this.remember(token, wire);
    }
    const claims = fromWire(wire, (gt) => this.routingKeyFor(gt));
    this.openedFrom.set(claims, token);
    return claims;
  }

  async openTicket(ticket: string, origin: string | undefined): Promise<TicketClaims> {
    const wire = this.check(ticketWireSchema, await this.sealer.unseal(ticket), origin);
    return {
      id: wire.jti,
      guestToken: wire.gt,
      origin: wire.o,
      ...(wire.an !== undefined ? { anchor: wire.an } : {}),
      ...signInFromWire(wire.au),
      issuedAt: wire.ia ?? 0,
      exp: wire.exp,
    };
  }

  private check<T extends { o: string; exp: number }>(
    schema: z.ZodType<T>,
    payload: unknown,
    origin: string | undefined,
  ): T {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) throw new AppError('unauthorized', 'The token is not valid here; start a new session.');
    return this.admit(parsed.data, origin);
  }

  /** Refuses an expired token, or one presented from another website than its own. */
  private admit<T extends { o: string; exp: number }>(claims: T, origin: string | undefined): T {
    if (claims.exp * 1000 <= this.now())
      throw new AppError('unauthorized', 'The session token has expired; start a new session.');
    // Browsers always send Origin cross-origin; a request without one is judged
    // by the token alone (docs/api.md#http-behaviour-common-to-every-endpoint).
    if (origin !== undefined && origin !== claims.o) {
      throw new AppError('unauthorized', 'This session token belongs to another website.', {
        logDetail: { origin, tokenOrigin: claims.o },
      });
    }
    return claims;
  }
}
