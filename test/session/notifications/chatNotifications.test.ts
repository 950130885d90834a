import { createECDH, randomBytes } from 'node:crypto';
import webpush from 'web-push';
import type { NormalizedMessage } from '../../../src/domain/message';
import type { GuestEvent, SessionHub } from '../../../src/genesys/guest';
import { notifyHeardReplies } from '../../../src/observability/metrics';
import { ChatNotifications, endpointProblem, pageUrl } from '../../../src/session/notifications/chatNotifications';
import { emailKeys } from '../../../src/session/notifications/emailRecords';
import { HeardReplies } from '../../../src/session/notifications/heardReplies';
import { bucketOf, listed, recordKeys } from '../../../src/session/notifications/pushRecords';
import { ReadPacer } from '../../../src/session/notifications/readPacer';
import { Sealer, deriveKeys, type SessionClaims } from '../../../src/session/tokens';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { type SteerableClock, steerableClock } from '../../support/clock';
import { advanceFakeTimersUntil, waitFor } from '../../support/wait';

/**
 * What the routes and the live streams ask of reaching a customer who left (src/session/notifications/
 * chatNotifications.ts), on the service's own in-memory store and sealing: who may subscribe or opt in and with which
 * page, which chats stay listed for a watch, how long a page counts as looked at, what a page stream records of the
 * replies it shows and the live socket of those it hears, how long a page waits for another instance's watch to let
 * its socket go, and the log line of each thing the store did not take. The Guest API is a stand-in that is never
 * reached: no chat here goes unlooked-at long enough for a watch.
 */

const PAGE = 'https://shop.example.com';
const RECORD_MS = 3_600_000;
/** NOTIFY_AFTER_SECONDS of 5 s: a watch's lease is 5 s, renewed every 1666 ms. */
const AFTER_MS = 5000;
const RENEW_MS = Math.floor(AFTER_MS / 3);
const sealer = new Sealer(deriveKeys(['chat-notifications-secret-0123456789abcdef']));

const VAPID = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@shop.example.com' };
/** A relay nobody answers at: each confirmation e-mail is deferred (the test waits for that, so no try outlives it). */
const EMAIL = {
  smtpUrl: 'smtp://127.0.0.1:1',
  from: 'Shop <chat@shop.example.com>',
  afterMs: 60_000,
  preview: false,
  dailyMax: 5,
};
const SUBSCRIPTION = {
  endpoint: 'https://push.example.com/send/abc',
  keys: {
    p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
    auth: randomBytes(16).toString('base64url'),
  },
};

type Method = 'get' | 'put' | 'claim' | 'remove' | 'swap';

/**
 * A hook on one of the store's methods: it sees the key, and may throw (the store did not answer) or answer in the
 * store's place (anything but undefined).
 */
type Hook = (key: string) => unknown;

/** The memory store, each call of a method `hooks` names first passed to its hook. */
function hooked(store: MemoryStore, hooks: Partial<Record<Method, Hook>>): SharedStore {
  return new Proxy(store, {
    get(target, prop: string) {
      const value = Reflect.get(target, prop) as unknown;
      const hook = hooks[prop as Method];
      if (typeof value !== 'function') return value;
      if (!hook) return (value as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const answer = hook(args[0] as string);
        if (answer !== undefined) return answer;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as SharedStore;
}

const made: ChatNotifications[] = [];
/** Sockets asked of the Guest API stand-in: none, as no chat here goes unlooked-at while a watch could scan it. */
let socketsAsked = 0;
beforeEach(() => (socketsAsked = 0));
afterEach(() => {
  for (const n of made.splice(0)) n.close();
  jest.useRealTimers();
  expect(socketsAsked).toBe(0);
});

interface Setup {
  push?: boolean;
  email?: boolean;
  production?: boolean;
  /** The store's clock (its records' expiry) and the service's. */
  now?: () => number;
  /** Hooks on the store's calls; `memory` is the store beneath them. */
  hooks?: Partial<Record<Method, Hook>>;
}

function notifications(setup: Setup = {}) {
  const memory = new MemoryStore(200_000, setup.now ?? Date.now);
  const store = setup.hooks ? hooked(memory, setup.hooks) : memory;
  const log = captureLogger('debug');
  const hub = {
    session: () => {
      socketsAsked += 1;
      throw new Error('no watch opens a chat in these cases');
    },
  } as unknown as SessionHub;
  const n = new ChatNotifications({
    config: {
      ...((setup.push ?? true) ? { push: VAPID } : {}),
      ...(setup.email ? { email: EMAIL } : {}),
      afterMs: AFTER_MS,
      preview: false,
    },
    store,
    watchHub: hub,
    room: () => true,
    history: { hub, room: () => true, pacer: new ReadPacer(1), pollMs: 1000, pollMaxMs: 2000 },
    sealer,
    revocations: { isEnded: async () => false },
    recordMs: RECORD_MS,
    instanceId: 'here',
    production: setup.production ?? false,
    timeoutMs: 1000,
    logger: log.logger,
    now: setup.now,
    emailAttribute: 'email',
  });
  made.push(n);
  return { n, store: memory, log };
}

const claims = (gt: string, extra: Partial<SessionClaims> = {}): SessionClaims => ({
  guestToken: gt,
  origin: PAGE,
  attributes: {},
  locked: [],
  deliveredFingerprint: '',
  maxCustomDataBytes: 2048,
  routingKey: `rk-${gt}`,
  issuedAt: 0,
  exp: 0,
  ...extra,
});

const isListed = async (store: SharedStore, gt: string) =>
  (await listed(store, bucketOf(sessionKeyOf(gt)))).includes(sessionKeyOf(gt));
const keysOf = (gt: string) => recordKeys(sessionKeyOf(gt));

/** That the chat's `notify-seen` record lives `ms` from the clock's now, to the millisecond. */
async function expectSeenFor(store: SharedStore, clock: SteerableClock, gt: string, ms: number): Promise<void> {
  clock.advance(ms - 1);
  expect(await store.get(keysOf(gt).seen)).toBeDefined();
  clock.advance(2);
  expect(await store.get(keysOf(gt).seen)).toBeUndefined();
}

const reply = (id: string, extra: Partial<NormalizedMessage> = {}): NormalizedMessage =>
  ({
    id,
    direction: 'outbound',
    type: 'text',
    text: `reply ${id}`,
    time: '2026-11-29T10:00:00.000Z',
    originatingEntity: 'human',
    ...extra,
  }) as NormalizedMessage;

/** Waits until the relay was tried for `count` confirmation e-mails in all (each deferred: nobody answers there). */
const relayTried = (log: ReturnType<typeof captureLogger>, count: number) =>
  waitFor(
    () =>
      log.messages('warn').filter((m) => m === 'e-mail deferred: the relay failed for now; it is tried again')
        .length === count,
  );

/** The memory store and the sealing answer within microtasks: at the next macrotask, all begun on them is done. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

const heardCount = async (outcome: 'kept' | 'not_kept') =>
  (await notifyHeardReplies.get()).values
    .filter((v) => v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);

describe('a push endpoint', () => {
  const problem = (url: string, production = false) => endpointProblem(new URL(url), production);

  it('is an https: URL, or http: on loopback outside production', () => {
    expect(problem('https://push.example.com/send')).toBeUndefined();
    expect(problem('https://push.example.com/send', true)).toBeUndefined();
    for (const host of ['localhost', '127.0.0.1', '[::1]']) expect(problem(`http://${host}:8080/push`)).toBeUndefined();
  });

  it('says what is wrong, in production without the loopback exception', () => {
    const outside = 'must be an https: URL (a push service gave it), or http: on loopback outside production';
    expect(problem('http://push.example.com/send')).toBe(outside);
    expect(problem('ftp://localhost/push')).toBe(outside);
    expect(problem('http://localhost:8080/push', true)).toBe('must be an https: URL (a push service gave it)');
    expect(problem('http://push.example.com/send', true)).toBe('must be an https: URL (a push service gave it)');
  });

  it('carries no credentials, a user name alone or a password alone', () => {
    expect(problem('https://user@push.example.com/send')).toBe('may not carry credentials');
    expect(problem('https://:secret@push.example.com/send')).toBe('may not carry credentials');
  });
});

describe('the page a notification opens', () => {
  it('is the session origin’s root when none is given', () => {
    expect(pageUrl(undefined, PAGE)).toBe(`${PAGE}/`);
  });

  it('is required of a session created without an Origin', () => {
    expect(() => pageUrl(undefined, '')).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        message: 'url is required for a session created without an Origin',
      }),
    );
  });

  it('must be of the session’s own origin', () => {
    expect(pageUrl(`${PAGE}/chat?x=1`, PAGE)).toBe(`${PAGE}/chat?x=1`);
    expect(() => pageUrl('https://elsewhere.example.com/chat', PAGE)).toThrow(
      expect.objectContaining({
        code: 'validation_failed',
        message: `url must be a page of the session's own origin (${PAGE})`,
      }),
    );
  });

  it('of a session created without an Origin is any http(s) page, and nothing else', () => {
    expect(pageUrl('https://anywhere.example.com/chat', '')).toBe('https://anywhere.example.com/chat');
    expect(pageUrl('http://anywhere.example.com/chat', '')).toBe('http://anywhere.example.com/chat');
    for (const url of ['ftp://anywhere.example.com/chat', 'javascript:alert(1)']) {
      expect(() => pageUrl(url, '')).toThrow(
        expect.objectContaining({
          code: 'validation_failed',
          message: "url must be a page of the session's own origin (http(s))",
        }),
      );
    }
  });
});

describe('a deployment without one of the ways', () => {
  it('refuses a push subscription when only e-mail is set up, and changes nothing', async () => {
    const { n, store } = notifications({ push: false, email: true });
    await expect(n.subscribe(claims('gt-1'), SUBSCRIPTION)).rejects.toMatchObject({
      code: 'conflict',
      message: 'Web Push is not set up for this deployment; GET /capabilities says so.',
    });
    expect(await store.get(keysOf('gt-1').record)).toBeUndefined();
    expect(await isListed(store, 'gt-1')).toBe(false);
  });

  it('refuses an e-mail opt-in and its links when only Web Push is set up', async () => {
    const { n } = notifications({ push: true });
    await expect(n.optInEmail(claims('gt-1'), { address: 'a@example.com' }, 'https://bff')).rejects.toMatchObject({
      code: 'conflict',
      message: 'E-mail is not set up for this deployment; GET /capabilities says so.',
    });
    await expect(n.followEmailLink('anything', 'confirm')).rejects.toMatchObject({
      code: 'not_found',
      message: 'E-mail is not set up for this deployment.',
    });
  });
});

describe('a push subscription', () => {
  it('is refused for an endpoint that is not https:, saying what is wrong', async () => {
    const { n, store } = notifications();
    await expect(
      n.subscribe(claims('gt-1'), { ...SUBSCRIPTION, endpoint: 'http://push.example.com/send' }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: 'endpoint must be an https: URL (a push service gave it), or http: on loopback outside production',
    });
    expect(await store.get(keysOf('gt-1').record)).toBeUndefined();
  });

  it('is stored and listed, its page counted as looked at for at least a minute, and logged', async () => {
    const clock = steerableClock();
    clock.standStill();
    const { n, store, log } = notifications({ now: clock.now });
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    expect(JSON.parse((await store.get(keysOf('gt-1').record))!)).toMatchObject({
      endpoint: SUBSCRIPTION.endpoint,
      url: `${PAGE}/`,
      since: clock.now(),
    });
    expect(await isListed(store, 'gt-1')).toBe(true);
    expect(log.messages('info')).toContain('push subscription stored for the chat');
    await expectSeenFor(store, clock, 'gt-1', 60_000);
  });

  it('removed, takes the chat off the lists unless it has an e-mail opt-in', async () => {
    const { n, store } = notifications({ email: true });
    await n.subscribe(claims('gt-alone'), SUBSCRIPTION);
    await n.unsubscribe(claims('gt-alone'));
    expect(await store.get(keysOf('gt-alone').record)).toBeUndefined();
    expect(await isListed(store, 'gt-alone')).toBe(false);

    const vouched = claims('gt-both', { attributes: { email: 'a@example.com' }, locked: ['email'] });
    await n.subscribe(vouched, SUBSCRIPTION);
    expect(await n.optInEmail(vouched, { address: 'a@example.com' }, 'https://bff')).toEqual({ confirmed: true });
    await n.unsubscribe(vouched);
    expect(await isListed(store, 'gt-both')).toBe(true);
  });
});

describe('an e-mail opt-in', () => {
  const address = 'Ana@Example.com';

  it('is confirmed at once only for the address the session’s verified identity holds', async () => {
    const { n, store, log } = notifications({ email: true });
    const verified = claims('gt-v', { attributes: { email: 'ana@example.com' }, locked: ['email'] });
    expect(await n.optInEmail(verified, { address }, 'https://bff')).toEqual({ confirmed: true });
    expect(await isListed(store, 'gt-v')).toBe(true);

    const unverified = claims('gt-u', { attributes: { email: 'ana@example.com' } });
    expect(await n.optInEmail(unverified, { address }, 'https://bff')).toEqual({ confirmed: false });
    const other = claims('gt-o', { attributes: { email: 'bob@example.com' }, locked: ['email'] });
    expect(await n.optInEmail(other, { address }, 'https://bff')).toEqual({ confirmed: false });
    expect(await isListed(store, 'gt-u')).toBe(false);
    expect(await isListed(store, 'gt-o')).toBe(false);
    await relayTried(log, 2);
  });

  it('counts the page that opts in as looked at for at least a minute', async () => {
    const clock = steerableClock();
    clock.standStill();
    const { n, store, log } = notifications({ email: true, now: clock.now });
    await n.optInEmail(claims('gt-1'), { address }, 'https://bff');
    await expectSeenFor(store, clock, 'gt-1', 60_000);
    await relayTried(log, 1);
  });

  /** The sealed `t` of the chat's confirm or stop link, as its e-mail carries it. */
  async function link(store: SharedStore, gt: string, act: 'confirm' | 'stop'): Promise<string> {
    const sk = sessionKeyOf(gt);
    const record = JSON.parse((await store.get(emailKeys(sk).record))!) as { nonce: string };
    return sealer.seal({ typ: 'email-link', act, sk, n: record.nonce });
  }

  it('confirmed by its link, lists the chat; stopped by its link, takes it off', async () => {
    const { n, store, log } = notifications({ push: false, email: true });
    await n.optInEmail(claims('gt-1'), { address }, 'https://bff');
    const stop = await link(store, 'gt-1', 'stop');
    expect(await n.followEmailLink(await link(store, 'gt-1', 'confirm'), 'confirm')).toBe('confirmed');
    expect(await isListed(store, 'gt-1')).toBe(true);
    expect(await n.followEmailLink(stop, 'stop')).toBe('stopped');
    expect(await isListed(store, 'gt-1')).toBe(false);
    await relayTried(log, 1);
  });

  it('stopped by its link, leaves a chat with a push subscription listed', async () => {
    const { n, store, log } = notifications({ email: true });
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    await n.optInEmail(claims('gt-1'), { address }, 'https://bff');
    expect(await n.followEmailLink(await link(store, 'gt-1', 'stop'), 'stop')).toBe('stopped');
    expect(await isListed(store, 'gt-1')).toBe(true);
    await relayTried(log, 1);
  });

  it('whose link was replaced by a newer opt-in, changes nothing', async () => {
    const { n, store, log } = notifications({ push: false, email: true });
    await n.optInEmail(claims('gt-1'), { address }, 'https://bff');
    const old = await link(store, 'gt-1', 'confirm');
    await n.optInEmail(claims('gt-1'), { address: 'other@example.com' }, 'https://bff');
    expect(await n.followEmailLink(old, 'confirm')).toBe('nothing');
    expect(await isListed(store, 'gt-1')).toBe(false);
    await relayTried(log, 2);
  });

  it('withdrawn, takes the chat off the lists unless it has a push subscription', async () => {
    const { n, store } = notifications({ email: true });
    const vouched = claims('gt-1', { attributes: { email: address }, locked: ['email'] });
    await n.optInEmail(vouched, { address }, 'https://bff');
    expect(await isListed(store, 'gt-1')).toBe(true);
    await n.optOutEmail(vouched);
    expect(await isListed(store, 'gt-1')).toBe(false);

    await n.subscribe(vouched, SUBSCRIPTION);
    await n.optInEmail(vouched, { address }, 'https://bff');
    await n.optOutEmail(vouched);
    expect(await isListed(store, 'gt-1')).toBe(true);
  });

  it('withdrawn where Web Push is not set up, takes the chat off despite a subscription left from before', async () => {
    const { n, store } = notifications({ push: false, email: true });
    const vouched = claims('gt-1', { attributes: { email: address }, locked: ['email'] });
    await n.optInEmail(vouched, { address }, 'https://bff');
    await store.put(keysOf('gt-1').record, JSON.stringify({ v: 1, chat: 'x', endpoint: 'https://p' }), RECORD_MS);
    await n.optOutEmail(vouched);
    expect(await isListed(store, 'gt-1')).toBe(false);
  });
});

describe('the chat ended', () => {
  it('logs what the store did not take', async () => {
    const { n, log } = notifications({
      hooks: {
        remove: () => {
          throw new Error('the store is away');
        },
      },
    });
    await n.chatEnded('gt-1');
    const line = log.lines().find((l) => l.msg === 'could not remove the ended chat’s notifications now');
    expect(line).toMatchObject({ err: { message: 'the store is away' } });
  });
});

describe('a reply a page stream showed', () => {
  it('is recorded as shown', async () => {
    const { n, store } = notifications();
    n.shown('gt-1', reply('r1'));
    await waitFor(async () => (await store.get(keysOf('gt-1').message('r1'))) === 'shown');
  });

  it('is not recorded for the guest’s own message, an event, or a deployment that reaches nobody', async () => {
    const { n, store } = notifications();
    const none = notifications({ push: false, email: false });
    n.shown('gt-1', reply('own', { direction: 'inbound' }));
    n.shown('gt-1', reply('ev', { type: 'event' }));
    none.n.shown('gt-1', reply('r1'));
    n.shown('gt-1', reply('marker'));
    await waitFor(async () => (await store.get(keysOf('gt-1').message('marker'))) === 'shown');
    expect(await store.get(keysOf('gt-1').message('own'))).toBeUndefined();
    expect(await store.get(keysOf('gt-1').message('ev'))).toBeUndefined();
    expect(await none.store.get(keysOf('gt-1').message('r1'))).toBeUndefined();
  });

  it('that the store did not take is logged', async () => {
    const { n, log } = notifications({
      hooks: {
        claim: () => {
          throw new Error('the store is away');
        },
      },
    });
    n.shown('gt-1', reply('r1'));
    await waitFor(() => log.messages('info').includes('could not record a reply as shown'));
    expect(log.lines().find((l) => l.msg === 'could not record a reply as shown')).toMatchObject({
      err: { message: 'the store is away' },
    });
  });
});

describe('a reply the live socket heard after the page left', () => {
  const heard = (message: NormalizedMessage): GuestEvent => ({ type: 'message', message });
  const NOT_KEPT = 'could not keep a message heard after the page left; the watch reads history for it';

  it('is kept for the watch and counted, for a chat with a subscription', async () => {
    const { n, store, log } = notifications();
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    const before = await heardCount('kept');
    n.heard('gt-1', heard(reply('r1')));
    await waitFor(async () => (await heardCount('kept')) === before + 1);
    const held = await new HeardReplies(store, sealer, RECORD_MS).read(sessionKeyOf('gt-1'));
    expect(held.map((m) => m.id)).toEqual(['r1']);
    await settled();
    expect(log.messages('info')).not.toContain(NOT_KEPT);
  });

  it('is not counted for the guest’s own message, nor for a chat nobody subscribed', async () => {
    const { n, store } = notifications();
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    const kept = await heardCount('kept');
    const notKept = await heardCount('not_kept');
    n.heard('gt-1', heard(reply('own', { direction: 'inbound' })));
    n.heard('gt-other', heard(reply('r1')));
    await waitFor(async () => (await store.get(keysOf('gt-1').heard)) !== undefined);
    await settled();
    expect(await heardCount('kept')).toBe(kept);
    expect(await heardCount('not_kept')).toBe(notKept);
    expect(await store.get(keysOf('gt-other').heard)).toBeUndefined();
  });

  it('is not kept while a page stream of the chat is open here, nor when it is no message', async () => {
    const { n, store } = notifications();
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    const close = await n.pageOpened('gt-1');
    n.heard('gt-1', heard(reply('while-open')));
    close();
    expect(() => n.heard('gt-1', { type: 'typing' })).not.toThrow();
    n.heard('gt-1', heard(reply('ev', { type: 'event' })));
    n.heard('gt-1', heard(reply('after')));
    await waitFor(async () => (await store.get(keysOf('gt-1').heard)) !== undefined);
    await settled();
    const held = await new HeardReplies(store, sealer, RECORD_MS).read(sessionKeyOf('gt-1'));
    expect(held.map((m) => m.id)).toEqual(['after']);
  });

  it('that the record stayed too busy to take is counted not kept, and logged with the chat', async () => {
    // The store refuses every claim of the record.
    const { n, log } = notifications({
      hooks: { claim: (key) => (key.startsWith('notify-heard:') ? false : undefined) },
    });
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    const before = await heardCount('not_kept');
    n.heard('gt-1', heard(reply('r1')));

    await waitFor(() => log.messages('info').includes(NOT_KEPT));
    expect(await heardCount('not_kept')).toBe(before + 1);
    expect(log.lines().find((l) => l.msg === NOT_KEPT)).toMatchObject({
      chat: sessionKeyOf('gt-1'),
      err: { message: 'the record of heard replies stayed busy' },
    });
  });

  it('that the store did not answer for is counted not kept, and logged; the guest’s own only logged', async () => {
    let away = false;
    const { n, log } = notifications({
      hooks: {
        get: (key) => {
          if (away && key.startsWith('notify:')) throw new Error('the store is away');
        },
      },
    });
    await n.subscribe(claims('gt-1'), SUBSCRIPTION);
    away = true;

    const before = await heardCount('not_kept');
    n.heard('gt-1', heard(reply('own', { direction: 'inbound' })));
    await waitFor(() => log.messages('info').filter((m) => m === NOT_KEPT).length === 1);
    expect(await heardCount('not_kept')).toBe(before);
    n.heard('gt-1', heard(reply('r1')));
    await waitFor(() => log.messages('info').filter((m) => m === NOT_KEPT).length === 2);
    expect(await heardCount('not_kept')).toBe(before + 1);
    expect(log.lines().find((l) => l.msg === NOT_KEPT)).toMatchObject({
      chat: sessionKeyOf('gt-1'),
      err: { message: 'the store is away' },
    });
  });
});

describe('a page looking at the chat', () => {
  it('counts as looked at for at least a minute while a stream is open, and NOTIFY_AFTER_SECONDS after it closed', async () => {
    const clock = steerableClock();
    clock.standStill();
    const { n, store } = notifications({ now: clock.now });
    const close = await n.pageOpened('gt-1');
    clock.advance(59_000);
    expect(await store.get(keysOf('gt-1').seen)).toBeDefined();
    close();
    await settled();
    await expectSeenFor(store, clock, 'gt-1', AFTER_MS);
  });

  it('of two streams, still counts while one is open, however often the other’s close is called', async () => {
    const clock = steerableClock();
    clock.standStill();
    const { n, store } = notifications({ now: clock.now });
    const first = await n.pageOpened('gt-1');
    const second = await n.pageOpened('gt-1');
    first();
    first();
    await settled();
    clock.advance(AFTER_MS + 1);
    expect(await store.get(keysOf('gt-1').seen)).toBeDefined();
    second();
    await settled();
    await expectSeenFor(store, clock, 'gt-1', AFTER_MS);
  });

  it('renews its record every 20 s while a stream is open, and no more once the service closes', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const { n, store } = notifications();
    await n.pageOpened('gt-1');
    // Renewed at 20 s and 40 s: closed at 41 s, the record lives to 100 s.
    await jest.advanceTimersByTimeAsync(41_000);
    n.close();
    await jest.advanceTimersByTimeAsync(58_900);
    expect(await store.get(keysOf('gt-1').seen)).toBeDefined();
    await jest.advanceTimersByTimeAsync(200);
    expect(await store.get(keysOf('gt-1').seen)).toBeUndefined();
  });

  it('that the store did not record is logged, and the page is not held up', async () => {
    const { n, log } = notifications({
      hooks: {
        put: () => {
          throw new Error('the store is away');
        },
      },
    });
    const said = 'could not record whether a page is looking at the chat';
    const close = await n.pageOpened('gt-1');
    expect(log.messages('info').filter((m) => m === said)).toHaveLength(1);
    await n.pageResumed('gt-1');
    expect(log.messages('info').filter((m) => m === said)).toHaveLength(2);
    close();
    await waitFor(() => log.messages('info').filter((m) => m === said).length === 3);
    for (const line of log.lines().filter((l) => l.msg === said)) {
      expect(line).toMatchObject({ err: { message: 'the store is away' } });
    }
  });

  it('resumed, counts as looked at for at least a minute', async () => {
    const clock = steerableClock();
    clock.standStill();
    const { n, store } = notifications({ now: clock.now });
    await n.pageResumed('gt-1');
    await expectSeenFor(store, clock, 'gt-1', 60_000);
  });
});

describe('a page opening while another instance watches the chat', () => {
  const said = 'a page stream opens while another instance still watches the chat; it ends shortly';

  /**
   * The chat's lease held by `holder`, read on a clock that moves `stepMs` with each read; the lease goes after
   * `releasedAfter` reads. Answers the lease reads `open` made, and the log.
   */
  async function opening(
    open: 'pageOpened' | 'pageResumed',
    lease: { holder: string; stepMs: number; releasedAfter?: number },
  ) {
    jest.useFakeTimers({ now: 1_000_000 });
    const clock = steerableClock();
    clock.standStill();
    let reads = 0;
    const setup = notifications({
      now: clock.now,
      hooks: {
        get: (key) => {
          if (!key.startsWith('notify-lease:')) return undefined;
          reads += 1;
          clock.advance(lease.stepMs);
          return lease.releasedAfter !== undefined && reads > lease.releasedAfter ? undefined : lease.holder;
        },
      },
    });
    let done = false;
    const opened = (setup.n[open] as (gt: string) => Promise<unknown>)('gt-1').then(() => (done = true));
    expect(await advanceFakeTimersUntil(() => done, 60_000, 200)).toBe(true);
    await opened;
    return { reads, log: setup.log };
  }

  it.each(['pageOpened', 'pageResumed'] as const)(
    '%s: waits until the lease is let go, and no longer',
    async (open) => {
      const { reads, log } = await opening(open, { holder: 'elsewhere', stepMs: 200, releasedAfter: 8 });
      expect(reads).toBe(9);
      expect(log.messages('info')).not.toContain(said);
    },
  );

  it('does not wait for a lease of its own instance', async () => {
    const { reads, log } = await opening('pageOpened', { holder: 'here', stepMs: 200 });
    expect(reads).toBe(1);
    expect(log.messages('info')).not.toContain(said);
  });

  it('gives up once a renewal and a second have passed, and says so', async () => {
    // The clock reaches a renewal and a second at the second read exactly.
    const { reads, log } = await opening('pageOpened', { holder: 'elsewhere', stepMs: (RENEW_MS + 1000) / 2 });
    expect(reads).toBe(2);
    expect(log.messages('info')).toContain(said);
  });

  it('reads the lease at most 50 times, whatever the clock does', async () => {
    const { reads, log } = await opening('pageResumed', { holder: 'elsewhere', stepMs: 0 });
    expect(reads).toBe(50);
    expect(log.messages('info')).toContain(said);
  });
});
