import { AppError } from '../../../src/domain/errors';
import type { GenesysSignIn } from '../../../src/genesys/guest';
import { createLogger } from '../../../src/observability/logger';
import { signIns } from '../../../src/observability/metrics';
import { grantDigest, SignInLedger } from '../../../src/session/signIn/signInLedger';
import { deriveKeys, Sealer } from '../../../src/session/tokens/sealing';
import { SessionTokens } from '../../../src/session/tokens/sessionToken';

/**
 * src/session/signIn/signInLedger.ts: what a sign-in Genesys took leaves for its retry (on this instance, and sealed
 * with the cut-off in the store), and how a store that refuses to record it is asked again before the sign-in gives up.
 */
const signIn: GenesysSignIn = { jwt: 'genesys-jwt', refreshToken: 'genesys-refresh' };
const storeAway = () => new AppError('store_unavailable', 'Redis did not answer.');

function ledger(
  cutOff: (guestToken: string, atMs: number, lifetimeMs: number, sealed?: string) => Promise<void>,
  keepExchanged: (guestToken: string, sealed: string) => Promise<void> = async () => undefined,
) {
  const tokens = new SessionTokens(new Sealer(deriveKeys(['sign-in-ledger-test-secret-0123456789abcdef'])), 3600);
  /** What keepExchanged kept, by guest token: the store any instance reads. */
  const kept = new Map<string, string>();
  return {
    tokens,
    kept,
    ledger: new SignInLedger({
      tokens,
      revocations: {
        cutOff,
        keepExchanged: async (guestToken, sealed) => {
          await keepExchanged(guestToken, sealed);
          kept.set(guestToken, sealed);
        },
        exchanged: async (guestToken) => kept.get(guestToken),
      },
      patienceMs: 800,
      logger: createLogger({ level: 'silent' }),
    }),
  };
}

const counted = async (result: string) =>
  (await signIns.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

describe('the grant', () => {
  test('is known by a digest of everything in it, whatever the order of its fields', () => {
    const code = { code: 'the-code', redirectUri: 'https://shop.example.com/in', codeVerifier: 'v' };
    expect(grantDigest(code)).toBe(grantDigest({ codeVerifier: 'v', redirectUri: code.redirectUri, code: 'the-code' }));
    expect(grantDigest(code)).not.toBe(grantDigest({ ...code, codeVerifier: 'w' }));
    expect(grantDigest(code)).not.toContain('the-code');
  });
});

describe('what an earlier attempt left', () => {
  test('the record sealed with the cut-off, for the same session and grant; else what this instance remembers', async () => {
    const { tokens, ledger: l } = ledger(async () => undefined);
    const sealed = await tokens.sealSignIn('guest', 'grant', signIn);
    await expect(l.earlier('guest', 'grant', sealed)).resolves.toEqual({ signIn, source: 'cut_off' });
    await expect(l.earlier('guest', 'other-grant', sealed)).resolves.toBeUndefined();
    await expect(l.earlier('guest', 'grant', undefined)).resolves.toBeUndefined();
    l.remember('guest', 'grant', signIn);
    await expect(l.earlier('guest', 'grant', undefined)).resolves.toEqual({ signIn, source: 'memory' });
    await expect(l.earlier('guest', 'other-grant', undefined)).resolves.toBeUndefined();
    await expect(l.earlier('other-guest', 'grant', undefined)).resolves.toBeUndefined();
  });

  test('else what an attempt kept before Genesys was asked, read by another instance (one that never remembered it)', async () => {
    const { tokens, kept, ledger: first } = ledger(async () => undefined);
    await first.keep('guest', 'grant', signIn);
    // Another instance: the same store, nothing remembered.
    const other = new SignInLedger({
      tokens,
      revocations: {
        cutOff: async () => undefined,
        keepExchanged: async () => undefined,
        exchanged: async (g) => kept.get(g),
      },
      patienceMs: 800,
      logger: createLogger({ level: 'silent' }),
    });
    await expect(other.earlier('guest', 'grant', undefined)).resolves.toEqual({ signIn, source: 'kept' });
    // Only for the same session and grant: another grant (someone else's sign-in) opens nothing there.
    await expect(other.earlier('guest', 'other-grant', undefined)).resolves.toBeUndefined();
    await expect(other.earlier('other-guest', 'grant', undefined)).resolves.toBeUndefined();
    // What it keeps is sealed: no credential in the store.
    expect(kept.get('guest')).not.toContain(signIn.jwt);
  });
});

describe('keeping what the exchange gave, before Genesys is asked', () => {
  test('a store that refuses is asked again until it takes it', async () => {
    let tries = 0;
    const { kept, ledger: l } = ledger(
      async () => undefined,
      async () => {
        if (++tries < 3) throw storeAway();
      },
    );
    await l.keep('guest', 'grant', signIn);
    expect(tries).toBe(3);
    expect(kept.has('guest')).toBe(true);
  });

  test('past its patience it gives up with 503, saying Genesys was not asked and the chat goes on as it was', async () => {
    let tries = 0;
    const { ledger: l } = ledger(
      async () => undefined,
      async () => {
        tries++;
        throw storeAway();
      },
    );
    await expect(l.keep('guest', 'grant', signIn)).rejects.toMatchObject({
      code: 'store_unavailable',
      status: 503,
      message: expect.stringContaining('Genesys was not asked'),
    });
    expect(tries).toBeGreaterThan(1);
  });
});

describe('recording a sign-in with its cut-off', () => {
  test('writes the cut-off with the sealed sign-in its retry opens', async () => {
    const written: { atMs: number; sealed?: string }[] = [];
    const { tokens, ledger: l } = ledger(
      async (_guest, atMs, _lifetime, sealed) => void written.push({ atMs, sealed }),
    );
    const before = await counted('signed_in');
    await l.record('guest', 'grant', signIn, false);
    expect(written).toHaveLength(1);
    await expect(tokens.openSignIn(written[0]!.sealed!, 'guest', 'grant')).resolves.toEqual(signIn);
    expect(await counted('signed_in')).toBe(before + 1);
  });

  test('a store that refuses is asked again, each time with the cut-off at that moment, until it takes it', async () => {
    const tries: number[] = [];
    const { ledger: l } = ledger(async (_guest, atMs) => {
      tries.push(atMs);
      if (tries.length < 3) throw storeAway();
    });
    const before = await counted('retried');
    await l.record('guest', 'grant', signIn, true);
    expect(tries).toHaveLength(3);
    expect(tries[2]).toBeGreaterThan(tries[0]!);
    expect(await counted('retried')).toBe(before + 1);
  });

  test('past its patience it gives up with 503, saying Genesys has it and the same sign-in again gets the token', async () => {
    let tries = 0;
    const { ledger: l } = ledger(async () => {
      tries++;
      throw storeAway();
    });
    const before = await counted('unrecorded');
    await expect(l.record('guest', 'grant', signIn, false)).rejects.toMatchObject({
      code: 'store_unavailable',
      status: 503,
      message: expect.stringContaining('send the same sign-in again'),
    });
    expect(tries).toBeGreaterThan(1);
    expect(await counted('unrecorded')).toBe(before + 1);
  });

  test('any other failure is not waited out', async () => {
    let tries = 0;
    const { ledger: l } = ledger(async () => {
      tries++;
      throw new Error('a bug');
    });
    await expect(l.record('guest', 'grant', signIn, false)).rejects.toThrow('a bug');
    expect(tries).toBe(1);
  });
});
