import type { ProcessConfig } from '../config/schema';
import { type GuestSession, GuestApiError, type SessionHub } from '../genesys/guest';
import type { MessengerFeatures } from '../genesys/platform';
import { AppError } from '../domain/errors';
import type { Logger } from '../observability/logger';
import type { ChatWebhooks } from './chatWebhooks';
import { sessionOf } from './sessionState';
import type { Revocations, SessionClaims, SessionTokens } from './tokens';

/**
 * Ending a chat (DELETE /guest-session), and what a read that meets an end may answer. Genesys may forget a
 * conversation as soon as it takes the Clear (the simulator does; what Genesys answers a history read then is
 * unknown), before the end is recorded: the end says it has begun first, so that an empty history read meanwhile is
 * never passed off as the chat's.
 */

interface ChatEndDeps {
  config: Pick<ProcessConfig, 'genesys'>;
  hub: SessionHub;
  revocations: Revocations;
  tokens: Pick<SessionTokens, 'lifetimeMs'>;
  messengerFeatures: { get(): Promise<MessengerFeatures> };
  webhooks?: ChatWebhooks;
  logger: Logger;
  now: () => number;
}

/**
 * How long an end under way is remembered, in Genesys call timeouts: the connect, the Clear and the closeSession
 * it may fall back to each take at most one, and one more is the margin.
 */
const ENDING_MARK_TIMEOUTS = 4;

export type Ended = 'cleared' | 'closed' | 'already';

export class ChatEnd {
  /** Ends under way, by guest token: a DELETE that arrives meanwhile waits for the same one. */
  private readonly ending = new Map<string, Promise<Ended>>();

  constructor(private readonly deps: ChatEndDeps) {}

  /**
   * Ends the chat: Presence Clear where the deployment allows it (the agent
   * sees the customer leave), else closeSession, which only closes the
   * connections and leaves the conversation to time out.
   */
  end(claims: SessionClaims): Promise<Ended> {
    const token = claims.guestToken;
    const ending = this.ending.get(token) ?? this.endOnce(claims).finally(() => this.ending.delete(token));
    this.ending.set(token, ending);
    return ending;
  }

  /**
   * For a read that found no message: an empty history is the chat's only when no end of it has begun. Once the
   * chat is ended, the read answers as any request of an ended chat does (410); while its end is under way, 503
   * with a short Retry-After, for the end to settle.
   */
  async refuseEmptyWhileEnding(claims: SessionClaims): Promise<void> {
    const end = await this.deps.revocations.endOf(claims.guestToken);
    if (end === 'ended')
      throw new AppError(
        'session_expired',
        'This chat was ended; start a new session (POST /guest-session without the old token).',
      );
    if (end === 'ending')
      throw new AppError(
        'upstream_unavailable',
        'This chat is being ended, and Genesys may no longer show its history; retry shortly.',
        { retryAfterSeconds: 1 },
      );
  }

  private async endOnce(claims: SessionClaims): Promise<Ended> {
    const { revocations } = this.deps;
    // A repeated DELETE opens no socket; once ended, no token for the session opens anything again.
    if (await revocations.isEnded(claims.guestToken)) return 'already';
    const session = sessionOf(this.deps.hub, claims);
    await revocations.markEnding(claims.guestToken, ENDING_MARK_TIMEOUTS * this.deps.config.genesys.timeoutMs);
    const ended = await this.endAtGenesys(session).catch((error: unknown) => {
      // Genesys knows the session no more (4006, 4007): over, as asked, perhaps by this very Clear, its answer
      // overtaken by another request's "no such session". Recorded all the same: a token left live would configure
      // the conversation anew.
      if (error instanceof GuestApiError && error.failure === 'session_expired') return 'already' as const;
      throw error;
    });
    try {
      // Remembered only once Genesys has it: a DELETE that failed can be retried and still end the chat.
      await revocations.markEnded(claims.guestToken, this.deps.now() + this.deps.tokens.lifetimeMs);
      this.deps.webhooks?.ended(claims.guestToken, 'guest');
    } finally {
      // Over at Genesys either way: live streams hear it (not to reconnect), and the hub lets the session go.
      session.end();
    }
    return ended;
  }

  private async endAtGenesys(session: GuestSession): Promise<'cleared' | 'closed'> {
    const features = await this.deps.messengerFeatures.get().catch(() => undefined);
    if (features?.conversationClear) {
      try {
        await session.clear();
        return 'cleared';
      } catch (error) {
        // Refused (conversation clear off after all) or unanswered: closeSession still ends the connections.
        if (!(error instanceof GuestApiError && (error.failure === 'forbidden' || error.failure === 'timeout')))
          throw error;
        this.deps.logger.warn(
          { guestFailure: error.failure },
          'Presence Clear did not end the chat; closing the session instead',
        );
      }
    }
    await session.close();
    return 'closed';
  }
}
