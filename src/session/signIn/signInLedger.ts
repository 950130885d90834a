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

/** Where an earlier attempt's credentials were found: the record written with the cut-off, the one kept before
 * Genesys was asked (keep), or this instance's memory. */
export type EarlierSource = 'cut_off' | 'kept' | 'memory';

interface SignInLedgerDeps {
  tokens: Pick<SessionTokens, 'sealSignIn' | 'openSignIn' | 'currentTime' | 'lifetimeMs'>;
  revocations: Pick<Revocations, 'cutOff' | 'keepExchanged' | 'exchanged'>;
  /** How long a sign-in waits for the store to record it before answering 503 (GENESYS_TIMEOUT_MS). */
  patienceMs: number;
  logger: Logger;
}

/**
 * What a sign-in Genesys took leaves for a retry of it. Once Genesys has signed the session in, the customer's
 * token is the signed-in one: a sign-in whose answer is lost, or refused because the shared store would not record it,
 * must hand that token to its retry, and the grant cannot be exchanged again (a code is good once). So:
 * - what the exchange gave is remembered on this instance at once, under the session and a digest of the grant;
 * - and kept, sealed, in a record any instance reads (keep), before Genesys is asked to sign the session in: an
 *   instance killed after Genesys signed the session in, before the cut-off, leaves its retry the token there. A
 *   store that will not keep it is asked again for up to `patienceMs`, then the sign-in answers 503 with Genesys
 *   not asked: the conversation is still anonymous, and the same sign-in again (or a new one) carries on;
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
   * with the session's cut-off (`sealed`, from its standing), else from this instance's memory of it, else from the
   * record kept before Genesys was asked; undefined when no earlier attempt got anything.
   */
  async earlier(
    guestToken: string,
    grant: string,
    sealed: string | undefined,
  ): Promise<{ signIn: GenesysSignIn; source: EarlierSource } | undefined> {
    const recorded = sealed === undefined ? undefined : await this.deps.tokens.openSignIn(sealed, guestToken, grant);
    if (recorded) return { signIn: recorded, source: 'cut_off' };
    const mine = this.remembered.get(guestToken);
    if (mine && mine.grant === grant && mine.until > Date.now()) return { signIn: mine.signIn, source: 'memory' };
    const kept = await this.deps.revocations.exchanged(guestToken);
    const signIn = kept === undefined ? undefined : await this.deps.tokens.openSignIn(kept, guestToken, grant);
    return signIn ? { signIn, source: 'kept' } : undefined;
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
   * Keeps what the exchange gave in the store, for any instance's retry, before Genesys is asked to sign the session
   * in with it; a store that refuses is asked again for up to `patienceMs`, then 503 with Genesys not asked.
   */
  async keep(guestToken: string, grant: string, signIn: GenesysSignIn): Promise<void> {
    const sealed = await this.deps.tokens.sealSignIn(guestToken, grant, signIn);
    await this.persist(
      () => this.deps.revocations.keepExchanged(guestToken, sealed, REMEMBERED_MS),
      'Genesys exchanged the sign-in and the shared store refused to keep it: asking it again',
      (error) =>
        new AppError(
          'store_unavailable',
          'The shared store (Redis) did not answer in time to keep the sign-in, so Genesys was not asked to sign ' +
            'the customer in and the chat goes on as it was: send the same sign-in again shortly.',
          { cause: error, logDetail: { signedInAtGenesys: false } },
        ),
    );
  }

  /**
   * Refuses every token of the conversation issued until now, recording the sign-in with the cut-off; a store that
   * refuses is asked again for up to `patienceMs`. `retried`: the credentials came from an earlier attempt.
   */
  async record(guestToken: string, grant: string, signIn: GenesysSignIn, retried: boolean): Promise<void> {
    const sealed = await this.deps.tokens.sealSignIn(guestToken, grant, signIn);
    await this.persist(
      // The cut-off is when it is written: a token the old one was exchanged for meanwhile is older still.
      () =>
        this.deps.revocations.cutOff(guestToken, this.deps.tokens.currentTime(), this.deps.tokens.lifetimeMs, sealed),
      'Genesys signed the session in and the shared store refused to record it: asking it again',
      (error) => {
        signIns.inc({ result: 'unrecorded' });
        return new AppError(
          'store_unavailable',
          'Genesys signed the customer in, and the shared store (Redis) did not answer in time to record it, ' +
            'so the session token is not handed over yet: send the same sign-in again shortly to receive it.',
          { cause: error, logDetail: { signedInAtGenesys: true } },
        );
      },
    );
    signIns.inc({ result: retried ? 'retried' : 'signed_in' });
  }

  /** Writes with `write`, asking a store that refuses again until `patienceMs` is spent; then `givenUp`. */
  private async persist(
    write: () => Promise<void>,
    refusedOnce: string,
    givenUp: (error: AppError) => AppError,
  ): Promise<void> {
    const giveUpAt = performance.now() + this.deps.patienceMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return;
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'store_unavailable') throw error;
        const wait = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        if (attempt === 0) this.deps.logger.warn({ err: error }, refusedOnce);
        if (performance.now() + wait > giveUpAt) throw givenUp(error);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
