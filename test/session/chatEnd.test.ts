import { AppError } from '../../src/domain/errors';
import { GuestApiError, type GuestSession, type SessionHub } from '../../src/genesys/guest';
import type { MessengerFeatures } from '../../src/genesys/platform';
import { ChatEnd } from '../../src/session/chatEnd';
import type { ChatWebhooks } from '../../src/session/chatWebhooks';
import { StoreRevocations } from '../../src/session/tokens/revocations';
import type { SessionClaims } from '../../src/session/tokens';
import { MemoryStore } from '../../src/store';
import { captureLogger } from '../support/app';
import { deferred } from '../support/deferred';
import { waitFor } from '../support/wait';

/**
 * Ending a chat (src/session/chatEnd.ts) on a session that records what was asked of it: Presence Clear where the
 * deployment allows it, else closeSession; what each failure of Genesys leaves; how long an end under way and an
 * ended chat are remembered; and what a read that found no message answers meanwhile. Revocations are the real
 * ones on the memory store, on the test's clock.
 */

const TIMEOUT_MS = 7000;
const LIFETIME_MS = 3600_000;
const START = Date.UTC(2026, 10, 30, 12);

function ending(
  options: {
    features?: Partial<MessengerFeatures> | Error;
    clear?: () => Promise<void>;
    close?: () => Promise<void>;
  } = {},
) {
  const clock = { at: START };
  const now = () => clock.at;
  const store = new MemoryStore(1000, now);
  const revocations = new StoreRevocations(store, LIFETIME_MS, now);
  const asked: string[] = [];
  const session = {
    clear: async () => {
      asked.push('clear');
      await options.clear?.();
    },
    close: async () => {
      asked.push('close');
      await options.close?.();
    },
    end: () => void asked.push('end'),
  } as unknown as GuestSession;
  const hub = {
    session: (guestToken: string, signIn?: unknown) => {
      asked.push(`session ${guestToken}${signIn ? ' signed in' : ''}`);
      return session;
    },
  } as unknown as SessionHub;
  const told: Array<[string, string]> = [];
  const webhooks = { ended: (token: string, by: string) => void told.push([token, by]) } as unknown as ChatWebhooks;
  const log = captureLogger('debug');
  const features = options.features ?? { conversationClear: true };
  const chatEnd = new ChatEnd({
    config: { genesys: { timeoutMs: TIMEOUT_MS } } as never,
    hub,
    revocations,
    tokens: { lifetimeMs: LIFETIME_MS },
    messengerFeatures: {
      get: async () => {
        if (features instanceof Error) throw features;
        return features as MessengerFeatures;
      },
    },
    webhooks,
    logger: log.logger,
    now,
  });
  return { clock, store, revocations, asked, told, log, chatEnd };
}

const claims = (guestToken = 'guest-1', signIn?: string) => ({ guestToken, signIn }) as unknown as SessionClaims;

test('where the deployment allows it, a chat ends by Presence Clear; it is then ended, told, and let go', async () => {
  const h = ending();
  expect(await h.chatEnd.end(claims())).toBe('cleared');
  expect(h.asked).toEqual(['session guest-1', 'clear', 'end']);
  expect(h.told).toEqual([['guest-1', 'guest']]);
  expect(await h.revocations.isEnded('guest-1')).toBe(true);
});

test('a signed-in chat is ended on its signed-in session', async () => {
  const h = ending();
  await h.chatEnd.end(claims('guest-1', 'sealed-sign-in'));
  expect(h.asked[0]).toBe('session guest-1 signed in');
});

test.each([
  { features: { conversationClear: false }, why: 'the deployment does not allow Clear' },
  { features: new Error('Platform API unreachable'), why: "the deployment's features cannot be read" },
])('where $why, the session is closed instead', async ({ features }) => {
  const h = ending({ features });
  expect(await h.chatEnd.end(claims())).toBe('closed');
  expect(h.asked).toEqual(['session guest-1', 'close', 'end']);
  expect(await h.revocations.isEnded('guest-1')).toBe(true);
});

test.each(['forbidden', 'timeout'] as const)(
  'a Clear refused as %s falls back to closing the session, and says so',
  async (failure) => {
    const h = ending({
      clear: async () => {
        throw new GuestApiError(failure, 'no clear');
      },
    });
    expect(await h.chatEnd.end(claims())).toBe('closed');
    expect(h.asked).toEqual(['session guest-1', 'clear', 'close', 'end']);
    expect(h.log.lines().find((l) => /Presence Clear did not end the chat/.test(l.msg))).toMatchObject({
      guestFailure: failure,
      level: 40,
    });
  },
);

test.each([
  ['another failure of Genesys', new GuestApiError('unavailable', 'socket could not be opened')],
  ['an error that is not Genesys', new Error('bug')],
])('a Clear failing with %s fails the end: nothing recorded, the chat can be ended again', async (_what, error) => {
  let fail = true;
  const h = ending({
    clear: async () => {
      if (fail) throw error;
    },
  });
  await expect(h.chatEnd.end(claims())).rejects.toBe(error);
  expect(h.asked).toEqual(['session guest-1', 'clear']);
  expect(await h.revocations.isEnded('guest-1')).toBe(false);
  expect(h.told).toEqual([]);
  // Its end had begun: a read meanwhile is asked to wait.
  expect(await h.revocations.endOf('guest-1')).toBe('ending');
  fail = false;
  expect(await h.chatEnd.end(claims())).toBe('cleared');
  expect(await h.revocations.isEnded('guest-1')).toBe(true);
});

test('a close failing fails the end too', async () => {
  const error = new GuestApiError('unavailable', 'no socket');
  const h = ending({
    features: { conversationClear: false },
    close: async () => {
      throw error;
    },
  });
  await expect(h.chatEnd.end(claims())).rejects.toBe(error);
  expect(await h.revocations.isEnded('guest-1')).toBe(false);
});

test('a session Genesys no longer knows was ended already: recorded, told and let go all the same', async () => {
  const h = ending({
    clear: async () => {
      throw new GuestApiError('session_expired', 'Session expired');
    },
  });
  expect(await h.chatEnd.end(claims())).toBe('already');
  expect(h.asked).toEqual(['session guest-1', 'clear', 'end']);
  expect(h.told).toEqual([['guest-1', 'guest']]);
  expect(await h.revocations.isEnded('guest-1')).toBe(true);
});

test('an ended chat is not ended again: no session, no Genesys, nothing told', async () => {
  const h = ending();
  await h.chatEnd.end(claims());
  h.asked.length = 0;
  expect(await h.chatEnd.end(claims())).toBe('already');
  expect(h.asked).toEqual([]);
  expect(h.told).toHaveLength(1);
});

test('two ends at once are one end: the second waits for the first, then a later one starts afresh', async () => {
  const cleared = deferred<void>();
  let clears = 0;
  const h = ending({
    clear: async () => {
      if (clears++ === 0) await cleared.promise;
    },
  });
  const first = h.chatEnd.end(claims());
  const second = h.chatEnd.end(claims());
  expect(second).toBe(first);
  cleared.resolve();
  expect(await second).toBe('cleared');
  expect(h.asked.filter((a) => a === 'clear')).toHaveLength(1);
  expect(await h.chatEnd.end(claims())).toBe('already');
  // Another chat's end is its own.
  expect(await h.chatEnd.end(claims('guest-2'))).toBe('cleared');
});

test('an end under way is remembered for four Genesys timeouts; an ended chat for a token lifetime and a minute more', async () => {
  const clear = deferred<void>();
  const h = ending({ clear: () => clear.promise });
  const ended = h.chatEnd.end(claims());
  // The mark is written before Genesys is asked.
  await waitFor(() => h.asked.includes('clear'));
  expect(await h.revocations.endOf('guest-1')).toBe('ending');
  h.clock.at = START + 4 * TIMEOUT_MS - 1;
  expect(await h.revocations.endOf('guest-1')).toBe('ending');
  h.clock.at = START + 4 * TIMEOUT_MS;
  expect(await h.revocations.endOf('guest-1')).toBeUndefined();

  // Ended now: remembered for a token's lifetime from now (and the revocations' own minute).
  h.clock.at = START;
  clear.resolve();
  await ended;
  h.clock.at = START + LIFETIME_MS + 60_000 - 1;
  expect(await h.revocations.isEnded('guest-1')).toBe(true);
  h.clock.at = START + LIFETIME_MS + 60_000;
  expect(await h.revocations.isEnded('guest-1')).toBe(false);
});

test('a read that found no message: fine before any end; asked to retry in a second while one is under way; gone after', async () => {
  const clear = deferred<void>();
  const h = ending({ clear: () => clear.promise });
  await expect(h.chatEnd.refuseEmptyWhileEnding(claims())).resolves.toBeUndefined();
  const ended = h.chatEnd.end(claims());
  // The mark is written before Genesys is asked.
  await waitFor(() => h.asked.includes('clear'));
  const during = await h.chatEnd.refuseEmptyWhileEnding(claims()).catch((e: unknown) => e);
  expect(during).toBeInstanceOf(AppError);
  expect(during).toMatchObject({ code: 'upstream_unavailable', retryAfterSeconds: 1 });
  expect((during as AppError).message).toMatch(/being ended/);
  clear.resolve();
  await ended;
  const after = await h.chatEnd.refuseEmptyWhileEnding(claims()).catch((e: unknown) => e);
  expect(after).toMatchObject({ code: 'session_expired' });
  expect((after as AppError).message).toMatch(/start a new session/);
});
