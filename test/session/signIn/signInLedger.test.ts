import { AppError } from '../../../src/domain/errors';
import type { GenesysSignIn } from '../../../src/genesys/guest';
import { createLogger, type Logger } from '../../../src/observability/logger';
import { signIns } from '../../../src/observability/metrics';
import { grantDigest, SignInLedger } from '../../../src/session/signIn/signInLedger';
import { deriveKeys, Sealer } from '../../../src/session/tokens/sealing';
import { SessionTokens } from '../../../src/session/tokens/sessionToken';
import { captureLogger } from '../../support/app';

/**
 * src/session/signIn/signInLedger.ts: what a sign-in Genesys took leaves for its retry (on this instance, and sealed
 * with the cut-off in the store), and how a store that refuses to record it is asked again before the sign-in gives up.
 */
const signIn: GenesysSignIn = { jwt: 'genesys-jwt', refreshToken: 'genesys-refresh' };
const storeAway = () => new AppError('store_unavailable', 'Redis did not answer.');

function ledger(
  cutOff: (guestToken: string, atMs: number, lifetimeMs: number, sealed?: string) => Promise<void>,
  keepExchanged: (guestToken: string, sealed: string) => Promise<void> = async () => undefined,
  options: { patienceMs?: number; logger?: Logger } = {},
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
      patienceMs: options.patienceMs ?? 800,
      logger: options.logger ?? createLogger({ level: 'silent' }),
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

describe('what this instance remembers', () => {
  afterEach(() => jest.useRealTimers());

  test('is forgotten ten minutes after it is remembered', async () => {
    jest.useFakeTimers({ now: Date.UTC(2026, 10, 30, 12) });
    const { ledger: l } = ledger(async () => undefined);
    l.remember('guest', 'grant', signIn);
    jest.setSystemTime(Date.UTC(2026, 10, 30, 12, 10) - 1);
    expect(await l.earlier('guest', 'grant', undefined)).toEqual({ signIn, source: 'memory' });
    jest.setSystemTime(Date.UTC(2026, 10, 30, 12, 10));
    expect(await l.earlier('guest', 'grant', undefined)).toBeUndefined();
  });

  test('holds at most 10,000 sessions, the oldest forgotten first', async () => {
    const { ledger: l } = ledger(async () => undefined);
    for (let n = 0; n <= 10_000; n++) l.remember(`guest-${n}`, 'grant', signIn);
    expect(await l.earlier('guest-0', 'grant', undefined)).toBeUndefined();
    expect(await l.earlier('guest-1', 'grant', undefined)).toEqual({ signIn, source: 'memory' });
    expect(await l.earlier('guest-10000', 'grant', undefined)).toEqual({ signIn, source: 'memory' });
  });
});

test('a retry answered from the record counts as retried', async () => {
  const { ledger: l } = ledger(async () => undefined);
  const before = await counted('retried');
  l.retriedFromRecord();
  expect(await counted('retried')).toBe(before + 1);
});

describe('a store that keeps refusing', () => {
  const alwaysAway = () => {
    const refusals: AppError[] = [];
    const refuse = async () => {
      const refusal = storeAway();
      refusals.push(refusal);
      throw refusal;
    };
    return { refusals, refuse };
  };

  test("keeping gives up with the store's last refusal as its cause, Genesys not asked, and says how to go on", async () => {
    const { refusals, refuse } = alwaysAway();
    const { ledger: l } = ledger(async () => undefined, refuse);
    const error = await l.keep('guest', 'grant', signIn).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_unavailable', logDetail: { signedInAtGenesys: false } });
    expect((error as AppError).cause).toBe(refusals.at(-1));
    expect((error as AppError).message).toBe(
      'The shared store (Redis) did not answer in time to keep the sign-in, so Genesys was not asked to sign ' +
        'the customer in and the chat goes on as it was: send the same sign-in again shortly.',
    );
  });

  test("recording gives up with the store's last refusal as its cause, Genesys signed in, and says how to go on", async () => {
    const { refusals, refuse } = alwaysAway();
    const { ledger: l } = ledger(refuse);
    const error = await l.record('guest', 'grant', signIn, false).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'store_unavailable', logDetail: { signedInAtGenesys: true } });
    expect((error as AppError).cause).toBe(refusals.at(-1));
    expect((error as AppError).message).toBe(
      'Genesys signed the customer in, and the shared store (Redis) did not answer in time to record it, ' +
        'so the session token is not handed over yet: send the same sign-in again shortly to receive it.',
    );
  });

  test.each([
    {
      step: 'keeping',
      said: 'Genesys exchanged the sign-in and the shared store refused to keep it: asking it again',
      run: (refuse: () => Promise<void>, logger: Logger) =>
        ledger(async () => undefined, refuse, { logger }).ledger.keep('guest', 'grant', signIn),
    },
    {
      step: 'recording',
      said: 'Genesys signed the session in and the shared store refused to record it: asking it again',
      run: (refuse: () => Promise<void>, logger: Logger) =>
        ledger(refuse, undefined, { logger }).ledger.record('guest', 'grant', signIn, false),
    },
  ])('$step is warned about once, with its error, however often it is asked again', async ({ said, run }) => {
    const { refusals, refuse } = alwaysAway();
    const log = captureLogger('debug');
    await run(refuse, log.logger).catch(() => undefined);
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(log.lines()).toEqual([
      expect.objectContaining({
        msg: said,
        level: 40,
        err: expect.objectContaining({ code: 'store_unavailable', message: 'Redis did not answer.' }),
      }),
    ]);
  });

  test("a failure of another kind than the store's refusal is not waited out", async () => {
    const conflict = new AppError('conflict', 'another sign-in is under way');
    let tries = 0;
    const { ledger: l } = ledger(async () => {
      tries++;
      throw conflict;
    });
    await expect(l.record('guest', 'grant', signIn, false)).rejects.toBe(conflict);
    expect(tries).toBe(1);
  });

  describe('on a clock the test moves', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    test.each([
      { patienceMs: 800, tries: [0, 100, 350] },
      // The third wait ends exactly as the patience does: the try is still made.
      { patienceMs: 850, tries: [0, 100, 350, 850] },
      { patienceMs: 2000, tries: [0, 100, 350, 850, 1850] },
      { patienceMs: 3900, tries: [0, 100, 350, 850, 1850, 2850, 3850] },
    ])(
      'it is asked at once, then after 100, 250 and 500 ms, then every second, while the wait ends within $patienceMs ms',
      async ({ patienceMs, tries }) => {
        const at: number[] = [];
        const start = performance.now();
        const { ledger: l } = ledger(
          async () => {
            at.push(performance.now() - start);
            throw storeAway();
          },
          undefined,
          { patienceMs },
        );
        const outcome = l.record('guest', 'grant', signIn, false).catch((e: unknown) => e);
        await jest.advanceTimersByTimeAsync(patienceMs + 1000);
        expect(at).toEqual(tries);
        expect(await outcome).toMatchObject({ code: 'store_unavailable' });
      },
    );
  });
});
