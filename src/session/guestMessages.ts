import { randomUUID } from 'node:crypto';
import type { ProcessConfig } from '../config/schema';
import type { GuestSession, SessionHub } from '../genesys/guest';
import type { SendInput } from '../domain/api';
import type { NormalizedMessage } from '../domain/message';
import { positionAt } from '../domain/streamPosition';
import { AppError } from '../domain/errors';
import {
  messageIdFor,
  requestFingerprint,
  answerOf,
  checkText,
  SEND_LEASE_MS,
  SEND_LEASE_RENEW_MS,
  SendLedger,
  type KeyedSend,
  takeSharedSendTurn,
} from './sending';
import { sessionOf, stateOf } from './sessionState';
import { sessionKeyOf, type SharedStore } from '../store';
import {
  bornAtOf,
  fingerprint,
  undeliveredAttributes,
  type SessionClaims,
  type SessionState,
  type SessionTokens,
} from './tokens';

/**
 * The guest's messages (POST /messages): each sent at most once under an
 * Idempotency-Key, across retries and instances (sendLedger.ts), carrying
 * the attributes Genesys has not had yet, and answered with a token sealed
 * while Genesys echoes the message.
 */

/** How long an Idempotency-Key is remembered: a retry within this window never sends twice. */
const IDEMPOTENCY_TTL_MS = 24 * 3600_000;

interface GuestMessagesDeps {
  /** The process's settings it reads: the attribute names, and how to pace and time Genesys. */
  config: Pick<ProcessConfig, 'attributeKeys' | 'genesys'>;
  hub: SessionHub;
  tokens: SessionTokens;
  /** Idempotency records and, when shared, the cross-instance message rate. */
  store: SharedStore;
  now: () => number;
}

interface Sent {
  message: NormalizedMessage;
  /** Fingerprint of the attributes this send delivered, if it carried any. */
  delivered?: string;
}

export class GuestMessages {
  /** Keyed sends: claimed, proven and remembered in the store (sendLedger.ts). */
  private readonly ledger: SendLedger;
  private readonly now: () => number;

  constructor(private readonly deps: GuestMessagesDeps) {
    this.now = deps.now;
    const timeoutMs = deps.config.genesys.timeoutMs;
    this.ledger = new SendLedger({
      store: deps.store,
      ttlMs: IDEMPOTENCY_TTL_MS,
      // A live sender renews a short lease (a dead one lets go in seconds), for at most three request deadlines.
      ...{ leaseMs: SEND_LEASE_MS, renewMs: SEND_LEASE_RENEW_MS, maxHoldMs: 3 * timeoutMs },
      waitMs: timeoutMs,
      // Genesys was too slow to confirm: for about another timeout,
      // history may not show the message even if it arrived.
      visibilityGraceMs: timeoutMs,
      now: this.now,
    });
  }

  /** `whileSending`: the caller's own work to do once the message is on its way to Genesys, before the echo. */
  async send(
    claims: SessionClaims,
    input: SendInput,
    idempotencyKey?: string,
    whileSending?: () => void,
  ): Promise<{ message: NormalizedMessage; sessionToken: string; routingKey: string; streamPosition: string }> {
    const since = this.now();
    if (input.text !== undefined) checkText(input.text);
    const session = sessionOf(this.deps.hub, claims);
    const next = (delivered: string | undefined): SessionState => ({
      ...stateOf(claims, session),
      deliveredFingerprint: delivered ?? claims.deliveredFingerprint,
    });
    // The answer's token is sealed while Genesys echoes the message (it needs nothing from the echo), off the
    // request's critical path; sealed again only if the sign-in was renewed meanwhile (bench/README.md).
    const early: { state?: SessionState; issued?: ReturnType<SessionTokens['issue']> } = {};
    const sent = idempotencyKey
      ? await this.ledger.run(
          sessionKeyOf(claims.guestToken),
          this.keyedSend(session, claims, input, messageIdFor(claims.guestToken, idempotencyKey)),
        )
      : await this.sendNow(session, claims, input, randomUUID(), (delivered) => {
          early.state = next(delivered);
          early.issued = this.deps.tokens.refreshed(claims, early.state);
          early.issued.catch(() => undefined);
          whileSending?.();
        });
    const state = next(sent.delivered);
    // The early state came from the same `delivered`: only a sign-in renewed meanwhile makes it stale.
    const reuse = early.issued && early.state!.signIn === state.signIn;
    const issued = await (reuse ? early.issued! : this.deps.tokens.refreshed(claims, state));
    return {
      message: sent.message,
      sessionToken: issued.token,
      routingKey: claims.routingKey,
      streamPosition: positionAt(since),
    };
  }

  /** One message under an Idempotency-Key: sent at most once across retries and instances (sendLedger.ts). */
  private keyedSend(
    session: GuestSession,
    claims: SessionClaims,
    input: SendInput,
    messageId: string,
  ): KeyedSend<Sent> {
    const answer = answerOf(input);
    return {
      messageId,
      bornAt: bornAtOf(claims.anchor),
      fingerprint: requestFingerprint(input),
      describe: (sentAt) => ({ messageId, text: answer ? answer.text : input.text, payload: answer?.payload, sentAt }),
      prove: (earlier) => session.proveDelivery(earlier),
      send: () => this.sendNow(session, claims, input, messageId),
      fromHistory: (proof) => ({ message: { ...proof.message, clientMessageId: messageId } }),
    };
  }

  /**
   * `whileSending` runs once the frame is handed to the socket,
   * before the echo: work that can overlap Genesys's round trip.
   */
  private async sendNow(
    session: GuestSession,
    claims: SessionClaims,
    input: SendInput,
    messageId: string,
    whileSending?: (delivered: string | undefined) => void,
  ): Promise<Sent> {
    // An ended conversation refuses messages; that is the guest's state, not Genesys failing.
    if ((await session.ready()).readOnly) {
      throw new AppError(
        'conflict',
        'The conversation has ended; start a new one with POST /guest-session and { "startNew": true }.',
      );
    }
    // Counted only for a send that goes out: a retry answered from the ledger sends nothing.
    await takeSharedSendTurn(this.deps.store, claims.guestToken, this.deps.config.genesys, this.now);
    const customAttributes = undeliveredAttributes(claims);
    const delivered = customAttributes ? fingerprint(customAttributes) : undefined;
    const answer = answerOf(input);
    const echo = answer
      ? session.sendAnswer({ ...answer, messageId, customAttributes })
      : session.sendText({ text: input.text, attachmentIds: input.attachmentIds, messageId, customAttributes });
    whileSending?.(delivered);
    // Our own id for the message, whether or not Genesys echoes it as channel.messageId (unverified).
    return { message: { ...(await echo), clientMessageId: messageId }, delivered };
  }
}
