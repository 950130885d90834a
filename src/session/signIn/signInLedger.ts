import { createHash } from 'node:crypto';
import { AppError } from '../../domain/errors';
import type { GenesysSignIn, SignInGrant } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';
import { signIns } from '../../observability/metrics';
import type { Revocations, SessionTokens } from '../tokens';

/** How long this instance remembers what Genesys gave a sign-in, for a retry the store could not serve. */
const REMEMBERED_MS = 10 * 60_000;
/** And for how many sessions at most (the oldest go first). */
const REMEMBERED_SESSIONS = 10_000;
/** Between tries of a record the store refused: soon at first, then every second. */
const RETRY_DELAYS_MS = [100, 250, 500, 1000];

/** A grant as the ledger knows it: a digest of everything in it (the code, its verifier), never the grant. */
export function grantDigest(grant: SignInGrant): string {
  const fields = Object.entries(grant).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(fields)).digest('base64url');
}

interface SignInLedgerDeps {
  tokens: Pick<SessionTokens, 'sealSignIn' | 'openSignIn' | 'currentTime' | 'lifetimeMs'>;
  revocations: Pick<Revocations, 'cutOff'>;
  /** How long a sign-in waits for the store to record it before answering 503 (GENESYS_TIMEOUT_MS). */
  patienceMs: number;
  logger: Logger;
}

/**
 * What a sign-in Genesys took leaves for a retry of it. Once Genesys has signed the session in, the customer's
 * token is the signed-in one: a sign-in whose answer is lost, or refused because the shared store would not record it,
 * must hand that token to its retry, and the grant cannot be exchanged again (a code is good once). So:
 * - what the exchange gave is remembered on this instance at once, under the session and a digest of the grant;
 * - the cut-off that refuses the conversation's older tokens (Revocations.cutOff) is written with it, sealed, in one
 *   record any instance reads: a retry whose token the cut-off already refuses is let through by the same grant;
 * - a store that refuses that write is asked again for up to `patienceMs`, then the sign-in answers 503 saying that
 *   Genesys has it and the same sign-in again gets the token. The token is never handed over before the cut-off is
 *   written: an older token of the conversation (one planted in the customer's browser) must open nothing after it.
 */
export class SignInLedger {
  /** By guest token: the last grant this instance exchanged for the session, and what it gave. */
  private readonly remembered = new Map<string, { grant: string; signIn: GenesysSignIn; until: number }>();

  constructor(private readonly deps: SignInLedgerDeps) {}

  /**
   * What an earlier attempt of this sign-in (the same session and grant) got from Genesys: from the record sealed
   * with the session's cut-off (`sealed`, from its standing; `recorded` then), else from this instance's memory of
   * it; undefined when no earlier attempt got anything.
   */
  async earlier(
    guestToken: string,
    grant: string,
    sealed: string | undefined,
  ): Promise<{ signIn: GenesysSignIn; recorded: boolean } | undefined> {
    const signIn = sealed === undefined ? undefined : await this.deps.tokens.openSignIn(sealed, guestToken, grant);
    if (signIn) return { signIn, recorded: true };
    const mine = this.remembered.get(guestToken);
    return mine && mine.grant === grant && mine.until > Date.now()
      ? { signIn: mine.signIn, recorded: false }
      : undefined;
  }

  /** Remembers on this instance what Genesys gave the sign-in, before anything after the exchange can fail. */
  remember(guestToken: string, grant: string, signIn: GenesysSignIn): void {
    this.remembered.delete(guestToken);
    this.remembered.set(guestToken, { grant, signIn, until: Date.now() + REMEMBERED_MS });
    while (this.remembered.size > REMEMBERED_SESSIONS) this.remembered.delete(this.remembered.keys().next().value!);
  }

  /** A retry answered from the record its earlier attempt left: nothing more to write. */
  retriedFromRecord(): void {
    signIns.inc({ result: 'retried' });
  }

  /**
   * Refuses every token of the conversation issued until now, recording the sign-in with the cut-off; a store that
   * refuses is asked again for up to `patienceMs`. `retried`: the credentials came from an earlier attempt.
   */
  async record(guestToken: string, grant: string, signIn: GenesysSignIn, retried: boolean): Promise<void> {
    const sealed = await this.deps.tokens.sealSignIn(guestToken, grant, signIn);
    const giveUpAt = performance.now() + this.deps.patienceMs;
    for (let attempt = 0; ; attempt++) {
      try {
        // The cut-off is when it is written: a token the old one was exchanged for meanwhile is older still.
        await this.deps.revocations.cutOff(
          guestToken,
          this.deps.tokens.currentTime(),
          this.deps.tokens.lifetimeMs,
          sealed,
        );
        signIns.inc({ result: retried ? 'retried' : 'signed_in' });
        return;
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'store_unavailable') throw error;
        const wait = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        if (attempt === 0)
          this.deps.logger.warn(
            { err: error },
            'Genesys signed the session in and the shared store refused to record it: asking it again',
          );
        if (performance.now() + wait > giveUpAt) {
          signIns.inc({ result: 'unrecorded' });
          throw new AppError(
            'store_unavailable',
            'Genesys signed the customer in, and the shared store (Redis) did not answer in time to record it, ' +
              'so the session token is not handed over yet: send the same sign-in again shortly to receive it.',
            { cause: error, logDetail: { signedInAtGenesys: true } },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
