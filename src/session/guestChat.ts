import { randomUUID } from 'node:crypto';
import type { ProcessConfig } from '../config/schema';
import {
  type GenesysSignIn,
  GuestApiError,
  type SessionResponse,
  type GuestSession,
  type HistoryPage,
  type SessionHub,
  type WholeConversation,
} from '../genesys/guest';
import type { MessengerFeatures } from '../genesys/platform';
import type { Capabilities, SendInput, SessionView, SignInBody, StartInput } from '../domain/api';
import type { NormalizedMessage } from '../domain/message';
import { positionAt } from '../domain/streamPosition';
import { AppError } from '../domain/errors';
import {
  type IdentityVerifier,
  applyBrowserChange,
  checkBudget,
  identityReservedKeys,
  lockIdentity,
  parseAttributeInput,
  refuseOtherCustomer,
  refuseReservedKeys,
} from './attributes';
import type { Logger } from '../observability/logger';
import { autoStart } from './autoStart';
import { ChatEnd, type Ended } from './chatEnd';
import { capabilitiesOf } from './capabilities';
import { type CustomerSignIn, grantDigest, SignInLedger } from './signIn';
import { MAX_TEXT_BYTES } from './sending';
import { GuestMessages } from './guestMessages';
import { GuestInputMask, type Masked } from './masking';
import type { ChatWebhooks } from './chatWebhooks';
import { sessionOf, stateOf } from './sessionState';
import { givenAttributes } from './startInput';
import { sessionKeyOf, type SharedStore } from '../store';
import { type Revocations, ROUTING_KEY, type SessionClaims, type SessionState, type SessionTokens } from './tokens';

/**
 * The guest's chat as the public API sees it: sessions, attributes and
 * messages, on top of the Guest API session hub. All state a later request
 * needs travels in the sealed session token, so any instance can serve it.
 * Sending a message is guestMessages.ts's; ending the chat is chatEnd.ts's;
 * what a re-issued token carries over is sessionState.ts's.
 */

type MessengerFeatureSource = { get(): Promise<MessengerFeatures> };

interface GuestChatDeps {
  /** The process's settings it reads: the attribute names, and how to pace and time Genesys. */
  config: Pick<ProcessConfig, 'attributeKeys' | 'genesys'>;
  hub: SessionHub;
  /** Sensitive data in the guest's text and attribute values, hidden (or refused) before anything else sees it. */
  mask?: GuestInputMask;
  tokens: SessionTokens;
  revocations: Revocations;
  /** Idempotency records and, when shared, the cross-instance message rate. */
  store: SharedStore;
  identity?: IdentityVerifier;
  /** Genesys authenticated messaging: exchange and revoke (customerSignIn.ts); without it, sign-in is off. */
  signIns?: CustomerSignIn;
  messengerFeatures: MessengerFeatureSource;
  /** Tell Genesys when the customer's page shows an agent's or bot's message (READ_RECEIPTS). */
  readReceipts?: boolean;
  /** The deployment's webhook events (chatWebhooks.ts); without it, none. */
  webhooks?: ChatWebhooks;
  /** The customer signed in (`claims`: the signed-in session's): what reaches a customer who left carries it. */
  signedIn?: (claims: SessionClaims) => Promise<void>;
  logger: Logger;
  now?: () => number;
}

/**
 * What the shared store says of a sign-in before this one: whether it cut the request's token off (a sign-in replaced
 * it), and what it got from Genesys, sealed (Revocations' standing).
 */
export interface EarlierSignIn {
  replaced: boolean;
  recorded?: string;
}

/** A token a sign-in replaced opens nothing: said alike by the authentication and by a sign-in it may not retry. */
export const REPLACED_TOKEN =
  'The customer signed in since this token was issued: it opens nothing now; use the token the sign-in answered with.';

/** How long the newest message a session was told read is remembered: Genesys's longest session lifetime. */
const READ_RECEIPT_TTL_MS = 72 * 3600_000;

export class GuestChat {
  /** Sending messages, once each under an Idempotency-Key (guestMessages.ts). */
  private readonly messages: GuestMessages;
  /** What each sign-in got from Genesys, for its retry (signIn/signInLedger.ts). */
  private readonly signInLedger: SignInLedger;
  /** Ending the chat, and what a read that meets an end may answer (chatEnd.ts). */
  private readonly ends: ChatEnd;

  /** Attribute keys the browser may never set (attributes.ts). */
  private readonly reserved: ReadonlySet<string>;
  private readonly mask: GuestInputMask;
  private readonly now: () => number;

  constructor(private readonly deps: GuestChatDeps) {
    this.reserved = identityReservedKeys(deps.config.attributeKeys, deps.identity !== undefined);
    this.mask = deps.mask ?? GuestInputMask.off;
    this.now = deps.now ?? Date.now;
    this.messages = new GuestMessages({ ...deps, now: this.now });
    this.ends = new ChatEnd({ ...deps, now: this.now });
    this.signInLedger = new SignInLedger({
      tokens: deps.tokens,
      revocations: deps.revocations,
      patienceMs: deps.config.genesys.timeoutMs,
      logger: deps.logger,
    });
  }

  // ------------------------------------------------------------------ sessions

  /**
   * `proposedRoutingKey`: a well-formed `X-Chat-Session` from the client,
   * adopted so the creating request lands where the session lives.
   */
  async start(input: StartInput, origin: string | undefined, proposedRoutingKey?: string): Promise<SessionView> {
    const since = this.now();
    const given = await givenAttributes(input, this.deps.config.attributeKeys, this.reserved, this.deps.identity);
    // What the browser set is the guest's input; what a verified identity token says is the site's own.
    const browser = this.mask.attributes(given.browser).value;
    const state = lockIdentity({ attributes: browser, locked: [] }, given.identity);
    checkBudget(state.attributes, -1);
    const signIn = input.auth ? await this.signIns().exchange(input.auth) : undefined;
    const guestToken = randomUUID();
    // First: a store that cannot record the session refuses its start.
    const anchor = await this.deps.revocations.markLive(guestToken);
    const session = this.deps.hub.session(guestToken, signIn);
    const info = await session.ready();
    checkBudget(state.attributes, info.maxCustomDataBytes);
    const deliveredFingerprint = info.newSession ? await autoStart(session, state.attributes, this.deps) : '';
    const routingKey =
      proposedRoutingKey !== undefined && ROUTING_KEY.test(proposedRoutingKey)
        ? proposedRoutingKey
        : this.deps.tokens.routingKeyFor(guestToken);
    const claims = {
      guestToken,
      origin: origin ?? '',
      ...state,
      deliveredFingerprint,
      maxCustomDataBytes: info.maxCustomDataBytes,
      routingKey,
      anchor,
      signIn,
    };
    this.deps.webhooks?.started(guestToken, signIn !== undefined, state.attributes);
    return this.view(claims, info, info.newSession, since);
  }

  /** With a valid session token: resume it, apply any changes, or start anew after a read-only end. */
  async resume(claims: SessionClaims, input: StartInput): Promise<SessionView> {
    const since = this.now();
    if (input.auth)
      throw new AppError(
        'validation_failed',
        'To sign in during a chat, use POST /guest-session/sign-in; `auth` here starts a new, ' +
          'signed-in session (send it without the session token).',
      );
    const session = this.sessionOf(claims);
    let info = await session.ready();
    const given = await givenAttributes(input, this.deps.config.attributeKeys, this.reserved, this.deps.identity);
    refuseOtherCustomer(claims, given.identity, this.deps.config.attributeKeys);
    const browser = this.mask.attributes(given.browser).value;
    const merged = applyBrowserChange(claims, browser, 'merge', info.maxCustomDataBytes);
    const state = lockIdentity({ attributes: merged, locked: claims.locked }, given.identity);
    checkBudget(state.attributes, info.maxCustomDataBytes);
    let current: SessionState = { ...stateOf(claims), ...state, maxCustomDataBytes: info.maxCustomDataBytes };
    let newSession = false;
    if (input.startNew) {
      if (!info.readOnly) {
        throw new AppError(
          'conflict',
          'The conversation is still open; `startNew` only replaces a conversation that has ended (readOnly).',
        );
      }
      info = await session.startNew();
      // A new conversation has none of the old one's attributes.
      current = { ...current, deliveredFingerprint: '' };
      newSession = info.newSession;
      if (newSession) current.deliveredFingerprint = await autoStart(session, current.attributes, this.deps);
    }
    return this.view(current, info, newSession, since);
  }

  async state(claims: SessionClaims): Promise<SessionView> {
    const since = this.now();
    const info = await this.sessionOf(claims).ready();
    return this.view(claims, info, false, since);
  }

  /**
   * Signs the customer in mid-chat (authenticated messaging step-up): the same conversation goes on, signed in.
   * A retry of a sign-in Genesys already took (the same grant: its answer lost, or refused for a store that would
   * not record it) is answered with what Genesys gave it, even with a token that sign-in has replaced (`earlier`).
   */
  async signIn(
    claims: SessionClaims,
    input: SignInBody,
    earlier: EarlierSignIn = { replaced: false },
  ): Promise<SessionView> {
    const since = this.now();
    const grant = grantDigest(input.auth);
    const done = await this.signInLedger.earlier(claims.guestToken, grant, earlier.recorded);
    // Only the grant that replaced a token opens anything with it: nobody else's sign-in takes the conversation.
    if (earlier.replaced && !done) throw new AppError('unauthorized', REPLACED_TOKEN);
    if (claims.signIn && !done)
      throw new AppError('conflict', 'The customer is signed in already; sign out first to sign in as someone else.');
    const signIn = done?.signIn ?? (await this.signIns().exchange(input.auth));
    this.signInLedger.remember(claims.guestToken, grant, signIn);
    // Kept where any instance's retry finds it before Genesys signs the session in: once it has, this instance may
    // die before the cut-off is written, and the code cannot be exchanged again.
    if (done === undefined || done.source === 'memory') await this.signInLedger.keep(claims.guestToken, grant, signIn);
    const info = await this.upgraded(claims, signIn, done !== undefined);
    // The conversation is the signed-in customer's now: no token
    // issued before this one opens it again (session fixation).
    if (done?.source === 'cut_off') this.signInLedger.retriedFromRecord();
    else await this.signInLedger.record(claims.guestToken, grant, signIn, done !== undefined);
    this.deps.webhooks?.signedIn(claims.guestToken);
    // The sign-in stands at Genesys whatever happens here: a failure is logged, not answered.
    await this.deps
      .signedIn?.({ ...claims, signIn })
      .catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, 'could not carry the sign-in to the chat’s push and e-mail opt-ins'),
      );
    return this.view({ ...claims, signIn }, info, false, since);
  }

  /**
   * The session signed in with `signIn`. Genesys refusing to configure the conversation anonymously (4017) says it
   * has it signed in already, by an earlier sign-in whose answer never came back: configured with this one then,
   * Genesys judges whether it is the same customer's.
   */
  private async upgraded(claims: SessionClaims, signIn: GenesysSignIn, again: boolean): Promise<SessionResponse> {
    try {
      return await this.sessionOf(claims).upgrade(signIn, again);
    } catch (error) {
      if (again || !(error instanceof GuestApiError) || error.failure !== 'cannot_downgrade') throw error;
      return this.sessionOf(claims).upgrade(signIn, true);
    }
  }

  /**
   * Signs the customer out at Genesys (which tells the customer's other
   * devices) and ends this session: its token opens nothing afterwards, and
   * its live streams hear `signed_out`.
   */
  async signOut(claims: SessionClaims): Promise<void> {
    if (!claims.signIn)
      throw new AppError(
        'conflict',
        'The customer is not signed in; end an anonymous chat with DELETE /guest-session.',
      );
    const session = this.sessionOf(claims);
    await this.signIns().revoke(session.signIn.value ?? claims.signIn);
    try {
      await this.deps.revocations.markEnded(claims.guestToken, this.now() + this.deps.tokens.lifetimeMs);
      this.deps.webhooks?.ended(claims.guestToken, 'guest');
    } finally {
      session.signedOut();
    }
  }

  /** Ends the chat (chatEnd.ts). */
  end(claims: SessionClaims): Promise<Ended> {
    return this.ends.end(claims);
  }

  // ---------------------------------------------------------------- attributes

  async changeAttributes(claims: SessionClaims, input: unknown, mode: 'replace' | 'merge') {
    const since = this.now();
    const change = this.mask.attributes(parseAttributeInput(input, mode === 'merge')).value;
    refuseReservedKeys(change, this.reserved);
    const attributes = applyBrowserChange(claims, change, mode, claims.maxCustomDataBytes);
    const issued = await this.deps.tokens.issue({ ...stateOf(claims), attributes });
    return {
      attributes,
      locked: claims.locked,
      sessionToken: issued.token,
      routingKey: claims.routingKey,
      streamPosition: positionAt(since),
    };
  }

  // ------------------------------------------------------------------ messages

  /**
   * `whileSending`: the caller's own work to do once the message is on its way to Genesys, before the echo. The text
   * is masked first: Genesys, the send ledger and the answer have only the masked form, and the guest's streams hear
   * a `masked` notice once it is sent.
   */
  async send(
    claims: SessionClaims,
    input: SendInput,
    idempotencyKey?: string,
    whileSending?: () => void,
  ): Promise<{ message: NormalizedMessage; sessionToken: string; routingKey: string; streamPosition: string }> {
    const { value: masked, detectors } = this.maskedInput(input);
    const sent = await this.messages.send(claims, masked, idempotencyKey, whileSending);
    if (detectors.length > 0)
      sessionOf(this.deps.hub, claims).notice({
        type: 'notice',
        code: 'masked',
        detectors,
        messageId: sent.message.id,
      });
    // A replayed Idempotency-Key answers the same message: its event was queued once, under the message's id.
    this.deps.webhooks?.sent(claims.guestToken, sent.message);
    return sent;
  }

  /** The message with its text (or its answer's text) masked; an answer's payload is the bot's, sent as it was. */
  private maskedInput(input: SendInput): Masked<SendInput> {
    const answer = input.quickReply ? 'quickReply' : input.button ? 'button' : input.datePicker ? 'datePicker' : '';
    const text = answer ? input[answer]?.text : input.text;
    if (text === undefined) return { value: input, detectors: [] };
    const masked = this.mask.text(text);
    if (masked.detectors.length === 0) return { value: input, detectors: [] };
    const value = answer
      ? { ...input, [answer]: { ...input[answer], text: masked.value } }
      : { ...input, text: masked.value };
    return { value, detectors: masked.detectors };
  }

  async history(
    claims: SessionClaims,
    page: number,
    pageSize: number,
  ): Promise<Omit<HistoryPage, 'pageCount' | 'receipts'>> {
    const result = await this.deps.hub.history.page(this.sessionOf(claims), page, pageSize);
    if (result.messages.length === 0) await this.ends.refuseEmptyWhileEnding(claims);
    return {
      messages: result.messages.filter((m) => m.type !== 'event'),
      page: result.page,
      pageSize: result.pageSize,
      total: result.total,
    };
  }

  /**
   * The whole conversation the session may read, oldest first, for a transcript: every history page, within the
   * reads a session may spare beside its delivery proofs (GuestHistory.wholeConversation). Events are left out.
   */
  async transcript(claims: SessionClaims): Promise<WholeConversation> {
    const whole = await this.deps.hub.history.wholeConversation(this.sessionOf(claims));
    if (whole.messages.length === 0) await this.ends.refuseEmptyWhileEnding(claims);
    return { ...whole, messages: whole.messages.filter((m) => m.type !== 'event') };
  }

  /** What the deployment allows a custom UI, from its config.json and this session's SessionResponse. */
  async capabilities(claims: SessionClaims): Promise<Capabilities> {
    const session = this.sessionOf(claims);
    const [features, info] = await Promise.all([this.deps.messengerFeatures.get(), session.ready()]);
    return capabilitiesOf(features, info, this.now(), await session.expiry.current(), this.deps.readReceipts === true);
  }

  /**
   * The customer's page showed the message `messageId` (the newest agent or bot message it shows): Genesys hears it
   * was read, once per message (desk/readReceipts.ts). Refused when the deployment does not send read receipts.
   */
  async markRead(claims: SessionClaims, messageId: string): Promise<void> {
    if (this.deps.readReceipts !== true)
      throw new AppError(
        'conflict',
        'This deployment does not send read receipts (READ_RECEIPTS is off); GET /capabilities says so.',
      );
    const session = this.sessionOf(claims);
    if ((await session.ready()).readOnly) return;
    // Once per message across reloads, tabs and instances: the newest message Genesys was told of, per session.
    const key = `read-receipt:${sessionKeyOf(claims.guestToken)}`;
    const told = await this.deps.store.get(key);
    if (told === messageId) return;
    if (!(await session.markRead(messageId))) {
      throw new AppError('rate_limited', "The session's Genesys request budget is spent for now; retry shortly.", {
        retryAfterSeconds: 2,
      });
    }
    await (told === undefined
      ? this.deps.store.claim(key, messageId, READ_RECEIPT_TTL_MS)
      : this.deps.store.swap(key, told, messageId, READ_RECEIPT_TTL_MS));
  }

  /** Forwards guest typing when the deployment accepts it (Genesys refuses it with 403 otherwise). */
  async typing(claims: SessionClaims): Promise<void> {
    const features = await this.deps.messengerFeatures.get();
    if (!features.userTypingIndicator) return;
    const session = this.sessionOf(claims);
    // An ended conversation takes no typing, as it takes no messages: refused here, nothing sent.
    if ((await session.ready()).readOnly) {
      throw new AppError(
        'conflict',
        'The conversation has ended; start a new one with POST /guest-session and { "startNew": true }.',
      );
    }
    await session.sendTyping();
  }

  // ------------------------------------------------------------------ internal

  private signIns(): CustomerSignIn {
    if (!this.deps.signIns) throw new AppError('authentication_disabled', 'Sign-in is not set up on this service.');
    return this.deps.signIns;
  }

  private sessionOf(claims: SessionState): GuestSession {
    return sessionOf(this.deps.hub, claims);
  }

  /**
   * `newSession`: only for the answer that created the conversation; `since`:
   * when the request began, on the chat's clock (its streamPosition).
   */
  private async view(
    claims: SessionState,
    info: SessionResponse,
    newSession: boolean,
    since: number,
  ): Promise<SessionView> {
    const session = this.sessionOf(claims);
    const state = stateOf(claims, session);
    const issued = await this.deps.tokens.issue({ ...state, maxCustomDataBytes: info.maxCustomDataBytes });
    const sessionExpiresAt = session.expiry.at;
    return {
      sessionToken: issued.token,
      routingKey: claims.routingKey,
      streamPosition: positionAt(since),
      expiresAt: issued.expiresAt,
      sessionExpiresAt: sessionExpiresAt === undefined ? null : new Date(sessionExpiresAt).toISOString(),
      newSession,
      readOnly: info.readOnly,
      limits: {
        maxCustomDataBytes: info.maxCustomDataBytes > 0 ? info.maxCustomDataBytes : 2048,
        maxTextBytes: MAX_TEXT_BYTES,
        messagesPerSecond: this.deps.config.genesys.messagesPerSecond,
      },
      attributes: claims.attributes,
      authenticated: state.signIn !== undefined,
    };
  }
}
