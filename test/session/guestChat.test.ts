import pino from 'pino';
import type { NormalizedMessage } from '../../src/domain/message';
import { DeliveryLedger, type SentMessage } from '../../src/genesys/guest/desk/deliveryProof';
import type { GuestSession } from '../../src/genesys/guest/guestSession';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { SessionResponse } from '../../src/genesys/guest/protocol/frames';
import type { WebDeploymentTokens } from '../../src/genesys/guest/rest/webDeploymentTokens';
import type { SessionHub } from '../../src/genesys/guest/sessionHub';
import type { MessengerFeatures } from '../../src/genesys/platform/messengerConfig';
import { signIns } from '../../src/observability/metrics';
import type { IdentityVerifier } from '../../src/session/attributes/identityVerifier';
import { GuestChat } from '../../src/session/guestChat';
import { GuestInputMask } from '../../src/session/masking/guestInputMask';
import { CustomerSignIn } from '../../src/session/signIn/customerSignIn';
import { StoreRevocations } from '../../src/session/tokens/revocations';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { SessionTokens, type SessionClaims, fingerprint } from '../../src/session/tokens/sessionToken';
import { MemoryStore } from '../../src/store';
import { testConfig } from '../support/app';

/**
 * The guest's chat (src/session/guestChat.ts) over a stand-in Genesys session, on a clock the test
 * moves: a retry after a timeout, the end Genesys makes, the answer's session token; and what each
 * of the guest's requests leads to: the refusals of an ended conversation and their remedies, how an
 * end and a sign-out are remembered, which attribute keys the browser may touch, what a new
 * conversation owes its attributes, and what the chat tells beside its answer: a signed-in start to
 * webhooks, a sign-in's count and its record kept for a retry, and a sign-in its opt-ins could not
 * follow.
 */

describe('retries, the end Genesys makes, and the session token', () => {
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
    const config = testConfig().process;
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
          throw new GuestApiError(
            'timeout',
            'Genesys did not confirm the message in time; it may have been delivered.',
          );
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
      config: testConfig().process,
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
        config: testConfig().process,
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
});

describe("what each of the guest's requests leads to", () => {
  const signedIn = { jwt: 'customer-jwt', refreshToken: 'customer-refresh' };

  interface Harness {
    chat: GuestChat;
    tokens: SessionTokens;
    revocations: StoreRevocations;
    /** What reached the stand-in Genesys session, in order. */
    sent: string[];
    warnings: Record<string, unknown>[];
    moveClock(ms: number): void;
  }

  type Features = Partial<Omit<MessengerFeatures, 'auth'>> & { auth?: Partial<MessengerFeatures['auth']> };

  /** A chat whose hub always answers `session`, with real sealed tokens and a memory store on a clock the test moves. */
  function chatOver(
    session: Partial<GuestSession> & Record<string, unknown>,
    options: {
      features?: Features;
      identity?: boolean;
      signIns?: boolean;
      /** What the session's history reads answer (by default, none is expected). */
      history?: Partial<SessionHub['history']>;
      /** More of what the chat is built with (a mask, read receipts, webhooks). */
      deps?: Partial<ConstructorParameters<typeof GuestChat>[0]>;
    } = {},
  ): Harness {
    let clock = Date.parse('2026-11-25T10:00:00Z');
    const now = () => clock;
    const sent: string[] = [];
    const warnings: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const store = new MemoryStore(1000, now);
    const tokens = new SessionTokens(new Sealer(deriveKeys(['guest-chat-outcomes-secret-0123456789'])), 3600, now);
    const revocations = new StoreRevocations(store, tokens.lifetimeMs, now);
    const features = {
      autoStart: false,
      conversationClear: false,
      userTypingIndicator: true,
      ...options.features,
      auth: { enabled: true, allowSessionUpgrade: false, ...options.features?.auth },
    } as MessengerFeatures;
    const messengerFeatures = { get: async () => features };
    const genesysTokens = {
      exchange: async () => signedIn,
      revoke: async () => true,
    } as unknown as WebDeploymentTokens;
    const full = {
      signIn: { value: undefined },
      expiry: { at: undefined, current: async () => undefined },
      ready: async (): Promise<SessionResponse> =>
        ({ connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 2048 }) as SessionResponse,
      sendText: async (p: { text: string; customAttributes?: Record<string, string> }): Promise<NormalizedMessage> => {
        sent.push(`text ${p.text}${p.customAttributes ? ` with ${JSON.stringify(p.customAttributes)}` : ''}`);
        return { id: 'g-1', direction: 'inbound', type: 'text', text: p.text, time: new Date(clock).toISOString() };
      },
      sendTyping: async () => void sent.push('typing'),
      sendJoin: async (attrs?: Record<string, string>) => void sent.push(`join ${JSON.stringify(attrs ?? {})}`),
      ...session,
    } as unknown as GuestSession;
    const chat = new GuestChat({
      config: testConfig().process,
      hub: { session: () => full, history: options.history } as unknown as SessionHub,
      tokens,
      revocations,
      store,
      ...(options.identity ? { identity: {} as IdentityVerifier } : {}),
      ...(options.signIns
        ? {
            signIns: new CustomerSignIn({
              tokens: genesysTokens,
              redirectUriAllowed: () => true,
              messengerFeatures,
              logger,
            }),
          }
        : {}),
      messengerFeatures,
      logger,
      now,
      ...options.deps,
    });
    return { chat, tokens, revocations, sent, warnings, moveClock: (ms) => void (clock += ms) };
  }

  async function claimsOf(h: Harness, overrides: Partial<SessionClaims> = {}): Promise<SessionClaims> {
    const issued = await h.tokens.issue({
      guestToken: 'guest-token',
      origin: '',
      attributes: {},
      locked: [],
      deliveredFingerprint: '',
      maxCustomDataBytes: 2048,
      routingKey: 'routing-key-0123456789',
      ...overrides,
    });
    return issued.claims;
  }

  const ended = async () =>
    ({ connected: true, newSession: false, readOnly: true, maxCustomDataBytes: 2048 }) as SessionResponse;

  describe('what a guest sends, masked', () => {
    const CARD = '4111 1111 1111 1111';
    const MASKED = '•••• •••• •••• 1111';
    function masking() {
      const notices: unknown[] = [];
      const answers: Array<{ kind: string; text: string; payload: string }> = [];
      const h = chatOver(
        {
          notice: (event: unknown) => void notices.push(event),
          sendAnswer: async (p: { kind: string; text: string; payload: string }) => {
            answers.push({ kind: p.kind, text: p.text, payload: p.payload });
            return { id: 'g-2', direction: 'inbound', type: 'text', text: p.text, time: '2026-11-25T10:00:00.000Z' };
          },
        },
        { deps: { mask: new GuestInputMask({ mode: 'mask', builtIn: ['card'], patterns: [] }) } },
      );
      return { h, notices, answers };
    }

    test('a text reaches Genesys masked, and the streams hear once which detector hid it; a text with none, no notice', async () => {
      const { h, notices } = masking();
      const claims = await claimsOf(h);
      await h.chat.send(claims, { text: `card ${CARD}` });
      await h.chat.send(claims, { text: 'plain' });
      // A file alone has no text to mask.
      await h.chat.send(claims, { attachmentIds: ['a1'] } as never);
      expect(h.sent).toEqual([`text card ${MASKED}`, 'text plain', 'text undefined']);
      expect(notices).toEqual([{ type: 'notice', code: 'masked', detectors: ['card'], messageId: 'g-1' }]);
    });

    test.each([
      ['quick reply', { quickReply: { text: `card ${CARD}`, payload: 'p' } }, 'QuickReply', 'p'],
      ['card button', { button: { text: `card ${CARD}`, payload: 'p' } }, 'Button', 'p'],
      [
        'date picker',
        { datePicker: { dateTime: '2026-11-25T10:00:00Z', originatingMessageId: 'm', text: `card ${CARD}` } },
        'DatePicker',
        '2026-11-25T10:00:00Z',
      ],
    ])(
      "a %s answer's text reaches Genesys masked, its payload as the bot sent it",
      async (_what, input, kind, payload) => {
        const { h, notices, answers } = masking();
        await h.chat.send(await claimsOf(h), input as never);
        expect(answers).toEqual([{ kind, text: `card ${MASKED}`, payload }]);
        expect(notices).toEqual([{ type: 'notice', code: 'masked', detectors: ['card'], messageId: 'g-2' }]);
      },
    );
  });

  describe('read receipts', () => {
    function reading(options: { readOnly?: boolean; readReceipts?: boolean } = {}) {
      const told: string[] = [];
      let budget = true;
      const h = chatOver(
        {
          ready: async () =>
            ({
              connected: true,
              newSession: false,
              readOnly: options.readOnly ?? false,
              maxCustomDataBytes: 2048,
            }) as SessionResponse,
          markRead: async (id: string) => {
            if (budget) told.push(id);
            return budget;
          },
        },
        {
          deps: { readReceipts: options.readReceipts ?? true },
          features: { fileUpload: { fromSession: false, mediaTypes: [], maxBytes: 0 } } as never,
        },
      );
      return { h, told, spend: (spent: boolean) => void (budget = !spent) };
    }

    test('off, a read is refused as a conflict that says so, and Genesys hears nothing', async () => {
      const { h, told } = reading({ readReceipts: false });
      await expect(h.chat.markRead(await claimsOf(h), 'm1')).rejects.toMatchObject({
        code: 'conflict',
        message: 'This deployment does not send read receipts (READ_RECEIPTS is off); GET /capabilities says so.',
      });
      expect(told).toEqual([]);
    });

    test('Genesys hears of each message once per session, however often it is marked', async () => {
      const { h, told } = reading();
      const [mine, theirs] = [await claimsOf(h), await claimsOf(h, { guestToken: 'other-guest-token' })];
      for (const id of ['m1', 'm1', 'm2', 'm2']) await h.chat.markRead(mine, id);
      // Another session's newest read is its own, whatever this one's.
      await h.chat.markRead(theirs, 'm2');
      expect(told).toEqual(['m1', 'm2', 'm2']);
      expect((await h.chat.capabilities(mine)).readReceipts).toBe(true);
    });

    test('an ended conversation is told nothing; a spent budget is refused with when to retry, and nothing is kept', async () => {
      const ended = reading({ readOnly: true });
      await ended.h.chat.markRead(await claimsOf(ended.h), 'm1');
      expect(ended.told).toEqual([]);

      const { h, told, spend } = reading();
      const claims = await claimsOf(h);
      spend(true);
      await expect(h.chat.markRead(claims, 'm1')).rejects.toMatchObject({
        code: 'rate_limited',
        retryAfterSeconds: 2,
        message: "The session's Genesys request budget is spent for now; retry shortly.",
      });
      spend(false);
      await h.chat.markRead(claims, 'm1');
      expect(told).toEqual(['m1']);
    });
  });

  describe('an ended (read-only) conversation', () => {
    test('takes no message: refused as a conflict that names the way to a new one, and nothing reaches Genesys', async () => {
      const h = chatOver({ ready: ended });
      const refusal = { code: 'conflict', message: expect.stringContaining('"startNew": true') };
      await expect(h.chat.send(await claimsOf(h), { text: 'anyone there?' })).rejects.toMatchObject(refusal);
      await expect(h.chat.send(await claimsOf(h), { text: 'anyone there?' }, 'key-1')).rejects.toMatchObject(refusal);
      expect(h.sent).toEqual([]);
    });

    test('takes no typing either, when the deployment forwards typing', async () => {
      const h = chatOver({ ready: ended });
      await expect(h.chat.typing(await claimsOf(h))).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('"startNew": true'),
      });
      expect(h.sent).toEqual([]);
    });

    test('is replaced on startNew, and the new conversation gets the attributes again with its Join', async () => {
      let replaced = false;
      const h = chatOver(
        {
          ready: async () =>
            ({ connected: true, newSession: false, readOnly: !replaced, maxCustomDataBytes: 2048 }) as SessionResponse,
          startNew: async () => {
            replaced = true;
            return { connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 2048 } as SessionResponse;
          },
        },
        { features: { autoStart: true } },
      );
      const attributes = { orderId: 'A-1' };
      const view = await h.chat.resume(
        await claimsOf(h, { attributes, deliveredFingerprint: fingerprint(attributes) }),
        {
          startNew: true,
        },
      );
      expect(view).toMatchObject({ newSession: true, readOnly: false });
      expect(h.sent).toEqual(['join {"orderId":"A-1"}']);
      expect((await h.tokens.open(view.sessionToken, undefined)).deliveredFingerprint).toBe(fingerprint(attributes));
    });

    test('replaced by a conversation Genesys does not call new sends no Join, and owes the new one its attributes', async () => {
      let replaced = false;
      const h = chatOver(
        {
          ready: async () =>
            ({ connected: true, newSession: false, readOnly: !replaced, maxCustomDataBytes: 2048 }) as SessionResponse,
          startNew: async () => {
            replaced = true;
            return { connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 } as SessionResponse;
          },
        },
        { features: { autoStart: true } },
      );
      const attributes = { orderId: 'A-1' };
      const view = await h.chat.resume(
        await claimsOf(h, { attributes, deliveredFingerprint: fingerprint(attributes) }),
        {
          startNew: true,
        },
      );
      expect(view.newSession).toBe(false);
      expect(h.sent).toEqual([]);
      const claims = await h.tokens.open(view.sessionToken, undefined);
      await h.chat.send(claims, { text: 'hello again' });
      expect(h.sent).toEqual(['text hello again with {"orderId":"A-1"}']);
    });
  });

  test('typing goes to Genesys only where the deployment takes it: elsewhere it is dropped, not refused', async () => {
    const off = chatOver({}, { features: { userTypingIndicator: false } });
    await expect(off.chat.typing(await claimsOf(off))).resolves.toBeUndefined();
    expect(off.sent).toEqual([]);
    const on = chatOver({});
    await on.chat.typing(await claimsOf(on));
    expect(on.sent).toEqual(['typing']);
  });

  test('a session started without an Origin (a server, not a browser) is bound to none', async () => {
    const h = chatOver({});
    const view = await h.chat.start({}, undefined);
    expect((await h.tokens.open(view.sessionToken, undefined)).origin).toBe('');
  });

  test('a session whose SessionResponse states no attribute budget (0) shows the documented default, 2048 bytes', async () => {
    const h = chatOver({
      ready: async () =>
        ({ connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 0 }) as SessionResponse,
    });
    expect((await h.chat.start({}, 'https://shop.example')).limits.maxCustomDataBytes).toBe(2048);
    const stated = chatOver({
      ready: async () =>
        ({ connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 4096 }) as SessionResponse,
    });
    expect((await stated.chat.start({}, 'https://shop.example')).limits.maxCustomDataBytes).toBe(4096);
  });

  test('startNew on a conversation still open is refused as a conflict that says why', async () => {
    const h = chatOver({});
    await expect(h.chat.resume(await claimsOf(h), { startNew: true })).rejects.toMatchObject({
      code: 'conflict',
      message: 'The conversation is still open; `startNew` only replaces a conversation that has ended (readOnly).',
    });
  });

  test('`auth` on a resume is refused with the way to sign in mid-chat, and Genesys hears nothing', async () => {
    const h = chatOver({});
    await expect(
      h.chat.resume(await claimsOf(h), { auth: { idToken: 'id-token', nonce: 'nonce' } }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message:
        'To sign in during a chat, use POST /guest-session/sign-in; `auth` here starts a new, signed-in session ' +
        '(send it without the session token).',
    });
    expect(h.sent).toEqual([]);
  });

  test("a transcript is the whole conversation without its events; a chat's start is told to its webhooks as anonymous", async () => {
    const at = '2026-11-25T10:00:00.000Z';
    const first = { id: 'm1', direction: 'inbound', type: 'text', text: 'hi', time: at } as NormalizedMessage;
    const joined = { id: 'e1', direction: 'outbound', type: 'event', time: at } as NormalizedMessage;
    const last = { id: 'm2', direction: 'outbound', type: 'text', text: 'hello', time: at } as NormalizedMessage;
    const started: unknown[][] = [];
    const h = chatOver(
      {},
      {
        history: { wholeConversation: async () => ({ messages: [first, joined, last], total: 3, complete: true }) },
        deps: { webhooks: { started: (...args: unknown[]) => void started.push(args) } as never },
      },
    );
    await expect(h.chat.transcript(await claimsOf(h))).resolves.toEqual({
      messages: [first, last],
      total: 3,
      complete: true,
    });
    await h.chat.start({}, undefined);
    expect(started).toEqual([[expect.any(String), false, {}]]);
  });

  describe('signing in and out', () => {
    test('config.json decides no sign-in here: both go to Genesys, and its refusal of a step-up is authentication_disabled', async () => {
      const upgrades: unknown[] = [];
      const h = chatOver(
        {
          upgrade: async (signIn: unknown) => {
            upgrades.push(signIn);
            throw new GuestApiError('sign_in_refused', 'Genesys refused the sign-in.');
          },
        },
        { signIns: true, features: { auth: { enabled: false, allowSessionUpgrade: false } } },
      );
      const view = await h.chat.start({ auth: { idToken: 'id-token', nonce: 'nonce' } }, 'https://shop.example');
      expect(view.authenticated).toBe(true);
      await expect(
        h.chat.signIn(await claimsOf(h), { auth: { idToken: 'id-token', nonce: 'nonce' } }),
      ).rejects.toMatchObject({ code: 'authentication_disabled', status: 422 });
      expect(upgrades).toEqual([signedIn]);
    });

    test('mid-chat, the same conversation goes on: the answer is no new session', async () => {
      const h = chatOver(
        {
          upgrade: async () =>
            ({ connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 }) as SessionResponse,
        },
        { signIns: true, features: { auth: { enabled: true, allowSessionUpgrade: true } } },
      );
      const view = await h.chat.signIn(await claimsOf(h), { auth: { idToken: 'id-token', nonce: 'nonce' } });
      expect(view).toMatchObject({ authenticated: true, newSession: false });
    });

    test('a second sign-in is refused as a conflict that says to sign out first', async () => {
      const h = chatOver({}, { signIns: true });
      await expect(
        h.chat.signIn(await claimsOf(h, { signIn: signedIn }), { auth: { idToken: 'id-token', nonce: 'nonce' } }),
      ).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('sign out first'),
      });
    });

    test('without sign-in set up, signing in is refused as such', async () => {
      const h = chatOver({});
      await expect(
        h.chat.signIn(await claimsOf(h), { auth: { idToken: 'id-token', nonce: 'nonce' } }),
      ).rejects.toMatchObject({
        code: 'authentication_disabled',
        message: expect.stringContaining('not set up'),
      });
    });

    test('signing out of an anonymous chat is refused, pointing at DELETE /guest-session', async () => {
      const h = chatOver({}, { signIns: true });
      await expect(h.chat.signOut(await claimsOf(h))).rejects.toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('DELETE /guest-session'),
      });
    });

    test('a sign-out ends the session for as long as any of its tokens lives, and its streams hear it even when the store fails', async () => {
      let signedOut = 0;
      const h = chatOver({ signIn: { value: signedIn }, signedOut: () => void signedOut++ } as never, {
        signIns: true,
      });
      await h.chat.signOut(await claimsOf(h, { signIn: signedIn }));
      expect(signedOut).toBe(1);
      h.moveClock(h.tokens.lifetimeMs - 1000);
      await expect(h.revocations.isEnded('guest-token')).resolves.toBe(true);

      h.revocations.markEnded = () => Promise.reject(new Error('store unavailable'));
      await expect(h.chat.signOut(await claimsOf(h, { guestToken: 'other-guest', signIn: signedIn }))).rejects.toThrow(
        'store unavailable',
      );
      expect(signedOut).toBe(2);
    });
  });

  describe('ending the chat', () => {
    test('is remembered for as long as any of its tokens lives, and a later DELETE finds it ended', async () => {
      let closed = 0;
      const h = chatOver({ close: async () => void closed++, end: () => undefined });
      const claims = await claimsOf(h);
      await expect(h.chat.end(claims)).resolves.toBe('closed');
      h.moveClock(h.tokens.lifetimeMs - 1000);
      await expect(h.chat.end(claims)).resolves.toBe('already');
      expect(closed).toBe(1);
    });

    test('a Presence Clear Genesys did not answer in time falls back to closeSession, with a warning', async () => {
      let closed = 0;
      const h = chatOver(
        {
          clear: () => Promise.reject(new GuestApiError('timeout', 'Genesys did not answer the Clear in time.')),
          close: async () => void closed++,
          end: () => undefined,
        },
        { features: { conversationClear: true } },
      );
      await expect(h.chat.end(await claimsOf(h))).resolves.toBe('closed');
      expect(closed).toBe(1);
      expect(h.warnings).toEqual([
        expect.objectContaining({
          guestFailure: 'timeout',
          msg: expect.stringContaining('closing the session instead'),
        }),
      ]);
    });

    test.each([
      ['history page', (h: Harness, c: SessionClaims) => h.chat.history(c, 1, 100)],
      ['transcript', (h: Harness, c: SessionClaims) => h.chat.transcript(c)],
    ])('a %s with messages in it, read while the end is under way, is answered as it is', async (_what, read) => {
      const said = {
        id: 'm1',
        direction: 'inbound',
        type: 'text',
        text: 'hi',
        time: '2026-11-25T10:00:00.000Z',
      } as NormalizedMessage;
      let clearAsked!: () => void;
      const asked = new Promise<void>((resolve) => (clearAsked = resolve));
      let clearAnswered!: () => void;
      const h = chatOver(
        {
          clear: () => {
            clearAsked();
            return new Promise<void>((resolve) => (clearAnswered = resolve));
          },
          end: () => undefined,
        },
        {
          features: { conversationClear: true },
          history: {
            page: async () => ({ messages: [said], receipts: [], page: 1, pageSize: 100, total: 1, pageCount: 1 }),
            wholeConversation: async () => ({ messages: [said], total: 1, complete: true }),
          },
        },
      );
      const claims = await claimsOf(h);
      const ending = h.chat.end(claims);
      await asked;
      await expect(read(h, claims)).resolves.toMatchObject({ messages: [said], total: 1 });
      clearAnswered();
      await expect(ending).resolves.toBe('cleared');
    });

    test.each([
      ['history page', (h: Harness, c: SessionClaims) => h.chat.history(c, 1, 100)],
      ['transcript', (h: Harness, c: SessionClaims) => h.chat.transcript(c)],
    ])(
      'an empty %s read while the end is under way is refused with Retry-After, and once the chat is ended as an ended chat',
      async (_what, read) => {
        // What the simulator answers once Genesys has taken the Clear: the conversation is forgotten, its history empty.
        const empty = { messages: [], receipts: [], page: 1, pageSize: 100, total: 0, pageCount: 0 };
        let clearAsked!: () => void;
        const asked = new Promise<void>((resolve) => (clearAsked = resolve));
        let clearAnswered!: () => void;
        const h = chatOver(
          {
            clear: () => {
              clearAsked();
              return new Promise<void>((resolve) => (clearAnswered = resolve));
            },
            end: () => undefined,
          },
          {
            features: { conversationClear: true },
            history: {
              page: async () => empty,
              wholeConversation: async () => ({ messages: [], total: 0, complete: true }),
            },
          },
        );
        const claims = await claimsOf(h);
        // No end begun: an empty history is the chat's own (a chat with nothing in it yet).
        await expect(read(h, claims)).resolves.toMatchObject({ messages: [], total: 0 });

        const ending = h.chat.end(claims);
        await asked;
        await expect(read(h, claims)).rejects.toMatchObject({
          code: 'upstream_unavailable',
          status: 503,
          retryAfterSeconds: 1,
        });
        clearAnswered();
        await expect(ending).resolves.toBe('cleared');
        await expect(read(h, claims)).rejects.toMatchObject({ code: 'session_expired', status: 410 });
      },
    );

    test('any other Clear failure is the answer, and the session is not closed behind it', async () => {
      let closed = 0;
      const h = chatOver(
        {
          clear: () => Promise.reject(new GuestApiError('unavailable', 'Genesys is unavailable.')),
          close: async () => void closed++,
          end: () => undefined,
        },
        { features: { conversationClear: true } },
      );
      await expect(h.chat.end(await claimsOf(h))).rejects.toMatchObject({ failure: 'unavailable' });
      expect(closed).toBe(0);
    });
  });

  describe('attributes the browser may touch', () => {
    test('with identity verification set up, the name and contact keys are reserved for it; without, they are the browser’s', async () => {
      const keys = testConfig().process.attributeKeys;
      const withIdentity = chatOver({}, { identity: true });
      await expect(
        withIdentity.chat.changeAttributes(await claimsOf(withIdentity), { [keys.email]: 'a@example.com' }, 'merge'),
      ).rejects.toMatchObject({ code: 'attribute_locked' });
      const without = chatOver({});
      await expect(
        without.chat.changeAttributes(await claimsOf(without), { [keys.email]: 'a@example.com' }, 'merge'),
      ).resolves.toMatchObject({ attributes: { [keys.email]: 'a@example.com' } });
    });

    test('a merge removes a key given as null; a replace takes strings only', async () => {
      const h = chatOver({});
      const claims = await claimsOf(h, { attributes: { orderId: 'A-1', page: 'cart' } });
      expect((await h.chat.changeAttributes(claims, { page: null }, 'merge')).attributes).toEqual({ orderId: 'A-1' });
      await expect(h.chat.changeAttributes(claims, { page: null }, 'replace')).rejects.toMatchObject({
        code: 'validation_failed',
      });
      expect((await h.chat.changeAttributes(claims, { page: 'checkout' }, 'replace')).attributes).toEqual({
        page: 'checkout',
      });
    });
  });

  test('a keyed send slower than its lease keeps its claim: a retry on another instance waits for it and sends nothing', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-25T10:00:00Z') });
    try {
      const config = testConfig().process;
      config.genesys.timeoutMs = 10_000;
      const store = new MemoryStore(1000, () => Date.now());
      const sent: string[] = [];
      const session = {
        signIn: { value: undefined },
        ready: async () => ({ connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 }),
        sendText: (p: { text: string }) => {
          sent.push(p.text);
          return new Promise<NormalizedMessage>((resolve) =>
            setTimeout(
              () =>
                resolve({
                  id: 'g-1',
                  direction: 'inbound',
                  type: 'text',
                  text: p.text,
                  time: new Date().toISOString(),
                }),
              6000,
            ),
          );
        },
        proveDelivery: async () => ({ verdict: 'not_delivered' }),
      } as unknown as GuestSession;
      const tokens = new SessionTokens(new Sealer(deriveKeys(['guest-chat-outcomes-secret-0123456789'])), 3600);
      const instance = () =>
        new GuestChat({
          config,
          hub: { session: () => session } as unknown as SessionHub,
          tokens,
          revocations: new StoreRevocations(store, tokens.lifetimeMs),
          store,
          messengerFeatures: { get: async () => ({}) as MessengerFeatures },
          logger: pino({ level: 'silent' }),
        });
      const claims = (
        await tokens.issue({
          guestToken: 'guest-token',
          origin: '',
          attributes: {},
          locked: [],
          deliveredFingerprint: '',
          maxCustomDataBytes: 2048,
          routingKey: 'routing-key-0123456789',
        })
      ).claims;

      const first = instance().send(claims, { text: 'slow to echo' }, 'key-1');
      await jest.advanceTimersByTimeAsync(4500); // past one lease (sendLedger.ts SEND_LEASE_MS), well within three timeouts
      const retry = instance().send(claims, { text: 'slow to echo' }, 'key-1');
      await jest.advanceTimersByTimeAsync(8000); // time enough for a second echo too, had one been sent
      await expect(first).resolves.toMatchObject({ message: { text: 'slow to echo' } });
      await expect(retry).resolves.toMatchObject({ message: { text: 'slow to echo' } });
      expect(sent).toEqual(['slow to echo']);
    } finally {
      jest.useRealTimers();
    }
  });

  describe('what the chat tells beside the answer', () => {
    const auth = { idToken: 'id-token', nonce: 'nonce' };
    const upgraded = async () =>
      ({ connected: true, newSession: false, readOnly: false, maxCustomDataBytes: 2048 }) as SessionResponse;
    const counted = async (result: string) =>
      (await signIns.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

    test("a signed-in chat's start is told to its webhooks as authenticated", async () => {
      const started: unknown[][] = [];
      const h = chatOver(
        {},
        { signIns: true, deps: { webhooks: { started: (...args: unknown[]) => void started.push(args) } as never } },
      );
      const view = await h.chat.start({ auth }, undefined);
      expect(view.authenticated).toBe(true);
      expect(started).toEqual([[expect.any(String), true, {}]]);
    });

    test('a sign-in whose carrying to the push and e-mail opt-ins fails is answered signed in all the same, and a warning says why', async () => {
      const h = chatOver(
        { upgrade: upgraded },
        { signIns: true, deps: { signedIn: () => Promise.reject(new Error('push records unavailable')) } },
      );
      await expect(h.chat.signIn(await claimsOf(h), { auth })).resolves.toMatchObject({ authenticated: true });
      expect(h.warnings).toContainEqual(
        expect.objectContaining({
          msg: 'could not carry the sign-in to the chat’s push and e-mail opt-ins',
          err: expect.objectContaining({ message: 'push records unavailable' }),
        }),
      );
    });

    test('a sign-in counts as signed in; sent again with the token it replaced, it is answered from the cut-off record and writes nothing', async () => {
      const h = chatOver({ upgrade: upgraded }, { signIns: true });
      const claims = await claimsOf(h);
      const [signedIn, retried] = [await counted('signed_in'), await counted('retried')];
      await expect(h.chat.signIn(claims, { auth })).resolves.toMatchObject({ authenticated: true });
      expect([(await counted('signed_in')) - signedIn, (await counted('retried')) - retried]).toEqual([1, 0]);
      // Its answer was lost; the store now refuses every write, and the retry needs none.
      const { signedIn: recorded } = await h.revocations.standing('guest-token', claims.anchor);
      expect(recorded).toEqual(expect.any(String));
      h.revocations.keepExchanged = () => Promise.reject(new Error('store refused'));
      h.revocations.cutOff = () => Promise.reject(new Error('store refused'));
      await expect(h.chat.signIn(claims, { auth }, { replaced: true, recorded })).resolves.toMatchObject({
        authenticated: true,
      });
      expect([(await counted('signed_in')) - signedIn, (await counted('retried')) - retried]).toEqual([1, 1]);
    });

    test('a sign-in sent again after the store would not keep its exchange keeps it this time, before Genesys is asked, and counts as retried', async () => {
      // Each step-up Genesys is asked for: whether it is a retry, and whether the exchange was kept by then.
      const upgrades: [boolean, boolean][] = [];
      const h = chatOver(
        {
          upgrade: async (_signIn: unknown, again = false) => {
            upgrades.push([again, (await h.revocations.exchanged('guest-token')) !== undefined]);
            return upgraded();
          },
        },
        { signIns: true },
      );
      const claims = await claimsOf(h);
      const keep = h.revocations.keepExchanged.bind(h.revocations);
      h.revocations.keepExchanged = () => Promise.reject(new Error('store refused'));
      await expect(h.chat.signIn(claims, { auth })).rejects.toThrow('store refused');
      expect(upgrades).toEqual([]);
      h.revocations.keepExchanged = keep;
      const [signedIn, retried] = [await counted('signed_in'), await counted('retried')];
      // The same grant again, on the instance that remembered what the exchange gave (a code is exchanged once).
      await expect(h.chat.signIn(claims, { auth })).resolves.toMatchObject({ authenticated: true });
      // Kept where any instance's retry finds it before Genesys signs the session in, had this one died then.
      expect(upgrades).toEqual([[true, true]]);
      expect([(await counted('signed_in')) - signedIn, (await counted('retried')) - retried]).toEqual([0, 1]);
    });
  });
});
