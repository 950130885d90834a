import pino from 'pino';
import type { NormalizedMessage } from '../../src/domain/message';
import { DeliveryLedger, type SentMessage } from '../../src/genesys/guest/desk/deliveryProof';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { GuestSession } from '../../src/genesys/guest/guestSession';
import type { SessionHub } from '../../src/genesys/guest/sessionHub';
import { GuestChat } from '../../src/session/guestChat';
import { StoreRevocations } from '../../src/session/tokens/revocations';
import { MemoryStore } from '../../src/store';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { SessionTokens, type SessionClaims } from '../../src/session/tokens/sessionToken';
import { testConfig } from '../support/app';

/** The guest's chat over a stand-in session, on a clock the test moves. */
const logger = pino({ level: 'silent' });
const claims: SessionClaims = {
  guestToken: 'guest-token',
  origin: '',
  attributes: {},
  locked: [],
  deliveredFingerprint: '',
  maxCustomDataBytes: 2048,
  routingKey: 'routing-key-0123456789',
  issuedAt: 0,
  exp: 2_000_000_000,
} as SessionClaims;

test('a retry right after a timeout does not send again while history may not show the first attempt yet', async () => {
  const config = testConfig();
  let clock = Date.parse('2026-11-22T10:00:00Z');
  const ledger = new DeliveryLedger(
    async () => [],
    logger,
    () => clock,
  );
  const written: string[] = [];
  const session = {
    ready: async () => ({ connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 }),
    async sendText(p: { text: string; messageId: string }): Promise<NormalizedMessage> {
      written.push(p.text);
      if (written.length === 1)
        throw new GuestApiError('timeout', 'Genesys did not confirm the message in time; it may have been delivered.');
      return { id: 'g-1', direction: 'inbound', type: 'text', text: p.text, time: new Date(clock).toISOString() };
    },
    proveDelivery: (sent: SentMessage) => ledger.prove(sent),
  } as unknown as GuestSession;
  const chat = new GuestChat({
    config,
    hub: { session: () => session } as unknown as SessionHub,
    tokens: {
      refreshed: async () => ({ token: 'sealed', expiresAt: new Date(clock).toISOString() }),
    } as unknown as SessionTokens,
    revocations: new StoreRevocations(new MemoryStore(), 3600_000),
    store: new MemoryStore(1000, () => clock),
    messengerFeatures: { get: async () => ({}) as never },
    logger,
    now: () => clock,
  });

  await expect(chat.send(claims, { text: 'slow to confirm' }, 'key-1')).rejects.toMatchObject({ failure: 'timeout' });
  clock += 100;
  const early = await chat.send(claims, { text: 'slow to confirm' }, 'key-1').catch((e: unknown) => e);
  expect(early).toMatchObject({ code: 'upstream_unavailable', retryAfterSeconds: expect.any(Number) });
  expect(written).toHaveLength(1);
  // Once Genesys has had time to show it, its absence means it was not delivered: the retry sends it.
  clock += config.genesys.timeoutMs;
  await expect(chat.send(claims, { text: 'slow to confirm' }, 'key-1')).resolves.toMatchObject({
    message: { text: 'slow to confirm' },
  });
  expect(written).toHaveLength(2);
});

test('once Genesys has ended the chat, its session is ended too, even when remembering the end fails', async () => {
  let ended = 0;
  const session = { close: async () => undefined, end: () => void ended++ } as unknown as GuestSession;
  const revocations = new StoreRevocations(new MemoryStore(), 3600_000);
  revocations.markEnded = () => Promise.reject(new Error('store unavailable'));
  const chat = new GuestChat({
    config: testConfig(),
    hub: { session: () => session } as unknown as SessionHub,
    tokens: { lifetimeMs: 60_000 } as unknown as SessionTokens,
    revocations,
    store: new MemoryStore(),
    messengerFeatures: { get: async () => ({ conversationClear: false }) as never },
    logger,
  });
  await expect(chat.end(claims)).rejects.toThrow('store unavailable');
  expect(ended).toBe(1);
});

describe("the answer's session token", () => {
  const signedIn = { ...claims, signIn: { jwt: 'customer-jwt', refreshToken: 'customer-refresh' } } as SessionClaims;

  /** A session whose echo the test releases, and a chat over it with real sealed tokens. */
  function inFlight() {
    const events: string[] = [];
    let echo!: (m: NormalizedMessage) => void;
    const session = {
      signIn: { value: signedIn.signIn },
      ready: async () => ({ connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 }),
      sendText(p: { text: string }): Promise<NormalizedMessage> {
        events.push(`frame ${p.text}`);
        return new Promise((resolve) => (echo = resolve));
      },
    };
    const tokens = new SessionTokens(new Sealer(deriveKeys(['guest-chat-secret-0123456789abcdefghij'])), 3600);
    const issue = tokens.issue.bind(tokens);
    tokens.issue = (state) => {
      events.push('sealed');
      return issue(state);
    };
    const chat = new GuestChat({
      config: testConfig(),
      hub: { session: () => session } as unknown as SessionHub,
      tokens,
      revocations: new StoreRevocations(new MemoryStore(), 3600_000),
      store: new MemoryStore(),
      messengerFeatures: { get: async () => ({}) as never },
      logger,
    });
    const release = () =>
      echo({ id: 'g-1', direction: 'inbound', type: 'text', text: 'hi', time: new Date().toISOString() });
    return { chat, tokens, session, events, release };
  }

  test('is sealed while Genesys echoes the message, not after', async () => {
    const { chat, tokens, events, release } = inFlight();
    const sending = chat.send(signedIn, { text: 'hi' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['frame hi', 'sealed']);
    release();
    const sent = await sending;
    expect(events).toEqual(['frame hi', 'sealed']);
    expect((await tokens.open(sent.sessionToken, undefined)).signIn).toEqual(signedIn.signIn);
  });

  test('carries a sign-in renewed while the message was in flight', async () => {
    const { chat, tokens, session, events, release } = inFlight();
    const sending = chat.send(signedIn, { text: 'hi' });
    await new Promise((resolve) => setImmediate(resolve));
    const renewed = { jwt: 'renewed-jwt', refreshToken: 'renewed-refresh' };
    session.signIn.value = renewed;
    release();
    const sent = await sending;
    expect(events).toEqual(['frame hi', 'sealed', 'sealed']);
    expect((await tokens.open(sent.sessionToken, undefined)).signIn).toEqual(renewed);
  });
});
