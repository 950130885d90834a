import type { AppError } from '../../../src/domain/errors';
import type { NormalizedMessage } from '../../../src/domain/message';
import { emails } from '../../../src/observability/metrics';
import { deriveKeys, Sealer } from '../../../src/session';
import { EmailNotifier, type EmailNotifierOptions, type OutgoingEmail } from '../../../src/session/notifications';
import { CONFIRMATIONS_PER_CHAT } from '../../../src/session/notifications/emailNotifier';
import { dayKey, emailKeys } from '../../../src/session/notifications/emailRecords';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { type DurableQueue, MemoryStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { waitFor } from '../../support/wait';

/**
 * The e-mail side's decisions, on a memory store with a sender that records what it is given: which replies one
 * window's e-mail carries, and what a page having shown them changes.
 */

const sealer = new Sealer(deriveKeys(['a-session-secret-for-tests-0123456789']));
const sent: OutgoingEmail[] = [];
const log = captureLogger('info');
let store: MemoryStore;
let notifier: EmailNotifier;

/** A notifier on `on`, with the suite's configuration and `sender` as its relay. */
const notifierOn = (on: MemoryStore, sender: EmailNotifierOptions['sender'], instanceId = 'test') =>
  new EmailNotifier({
    config: { smtpUrl: 'smtp://unused', from: 'chat@shop.example.com', afterMs: 50, preview: true, dailyMax: 10 },
    store: on,
    sealer,
    recordMs: 3600_000,
    instanceId,
    timeoutMs: 1000,
    logger: log.logger,
    sender,
  });

beforeEach(() => {
  sent.length = 0;
  store = new MemoryStore();
  notifier = notifierOn(store, { send: async (email) => void sent.push(email), close: () => undefined });
});

afterEach(() => notifier.close());

const human = (i: number): NormalizedMessage => ({
  id: `m${i}`,
  direction: 'outbound',
  type: 'text',
  text: `reply number ${i}.`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  originatingEntity: 'human',
  from: { name: 'Alex' },
});

async function optedIn(sk: string): Promise<void> {
  await notifier.optIn(sk, {
    address: 'ada@example.com',
    url: 'https://shop.example.com/chat',
    base: 'https://bff.example.com',
    chat: 'sealed',
    vouched: true,
  });
}

test('a window of many replies is one e-mail quoting the newest 20', async () => {
  await optedIn('{sk1}');
  for (let i = 0; i < 60; i++) notifier.reply('{sk1}', human(i));
  await waitFor(() => expect(sent).toHaveLength(1));
  const quoted = [...sent[0]!.text.matchAll(/^> reply number (\d+)\.$/gm)].map((m) => Number(m[1]));
  expect(quoted).toEqual(Array.from({ length: 20 }, (_, i) => 40 + i));
  // No more than the window held were claimed: the oldest went past the ceiling.
  expect(await store.get('email-msg:{sk1}:m0')).toBeUndefined();
  await waitFor(async () => expect(await store.get('email-msg:{sk1}:m59')).toBe('sent'));
});

test('replies a page showed are not e-mailed; when all were shown, nothing is', async () => {
  await optedIn('{sk2}');
  await store.put('notify-msg:{sk2}:m1', 'shown', 60_000);
  notifier.reply('{sk2}', human(1));
  notifier.reply('{sk2}', human(2));
  await waitFor(() => expect(sent).toHaveLength(1));
  expect(sent[0]!.text).toContain('> reply number 2.');
  expect(sent[0]!.text).not.toContain('reply number 1.');

  await optedIn('{sk3}');
  await store.put('notify-msg:{sk3}:m5', 'shown', 60_000);
  const before = log.lines().filter((l) => l.msg === 'replies not e-mailed: the customer saw them').length;
  notifier.reply('{sk3}', human(5));
  await waitFor(() =>
    expect(log.lines().filter((l) => l.msg === 'replies not e-mailed: the customer saw them')).toHaveLength(before + 1),
  );
  expect(sent).toHaveLength(1);
});

const notOptedIn = (sk: string, vouched = false) =>
  notifier.optIn(sk, {
    address: 'ada@example.com',
    url: 'https://shop.example.com/chat',
    base: 'https://bff.example.com',
    chat: 'sealed',
    vouched,
  });
/** A link as the chat's e-mails carry it: `n` the opt-in's nonce unless given. */
async function linkOf(sk: string, act: 'confirm' | 'stop', n?: string): Promise<string> {
  const record = JSON.parse((await store.get(emailKeys(sk).record))!) as { nonce: string };
  return sealer.seal({ typ: 'email-link', act, sk, n: n ?? record.nonce });
}
const said = (msg: string) => log.lines().filter((l) => l.msg === msg).length;
const counted = async (outcome: string, kind = 'replies') =>
  (await emails.get()).values.find((v) => v.labels.outcome === outcome && v.labels.kind === kind)?.value ?? 0;

describe('an opt-in', () => {
  it(`asks for at most ${CONFIRMATIONS_PER_CHAT} confirmations a day per chat, then says when to ask again`, async () => {
    for (let i = 0; i < CONFIRMATIONS_PER_CHAT; i++) await notOptedIn('{c1}');
    const refused = await notOptedIn('{c1}').catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'rate_limited',
      message: `This chat has asked for ${CONFIRMATIONS_PER_CHAT} e-mail confirmations today; retry later.`,
    });
    const { retryAfterSeconds } = refused as AppError;
    expect(retryAfterSeconds).toBeGreaterThan(3600);
    expect(retryAfterSeconds).toBeLessThanOrEqual(86_400);
    // One vouched for by sign-in asks for none, so it is not held back.
    await expect(notOptedIn('{c1}', true)).resolves.toEqual({ confirmed: true });
  });

  it('is logged when stored, saying whether it waits for its confirmation', async () => {
    const stored = () => log.lines().filter((l) => l.msg === 'e-mail opt-in stored for the chat');
    const before = stored().length;
    await notOptedIn('{c6}');
    await notOptedIn('{c7}', true);
    expect(stored().slice(before)).toEqual([
      expect.objectContaining({ confirmed: false }),
      expect.objectContaining({ confirmed: true }),
    ]);
  });

  it('is there until it is removed, or the chat is over', async () => {
    expect(await notifier.has('{c2}')).toBe(false);
    await optedIn('{c2}');
    expect(await notifier.has('{c2}')).toBe(true);
    await notifier.optOut('{c2}');
    expect(await notifier.has('{c2}')).toBe(false);
    await optedIn('{c2}');
    await notifier.chatOver('{c2}');
    expect(await notifier.has('{c2}')).toBe(false);
  });

  it('keeps the chat sealed anew when the customer signs in, and there is none to keep without an opt-in', async () => {
    await optedIn('{c3}');
    await notifier.resealed('{c3}', 'sealed-after-sign-in');
    expect(await notifier.sealedChat('{c3}')).toBe('sealed-after-sign-in');
    await notifier.resealed('{c4}', 'sealed-after-sign-in');
    expect(await store.get(emailKeys('{c4}').record)).toBeUndefined();
  });

  it('answers 503 with a retry when its record stays busy', async () => {
    await optedIn('{c5}');
    const link = await linkOf('{c5}', 'stop');
    jest.spyOn(store, 'swap').mockResolvedValue(false);
    try {
      for (const busy of [notifier.resealed('{c5}', 'x'), notifier.follow(link, 'stop')])
        await expect(busy).rejects.toMatchObject({
          code: 'store_unavailable',
          message: 'The e-mail opt-in is busy; retry shortly.',
          retryAfterSeconds: 1,
        });
    } finally {
      jest.restoreAllMocks();
    }
    expect(await notifier.has('{c5}')).toBe(true);
  });
});

describe('a link followed', () => {
  it('confirms once, logged once; followed again it is still confirmed', async () => {
    await notOptedIn('{l1}');
    expect(await notifier.sealedChat('{l1}')).toBeUndefined();
    const confirm = await linkOf('{l1}', 'confirm');
    const before = said('e-mail opt-in confirmed by its link');
    expect(await notifier.follow(confirm, 'confirm')).toEqual({ outcome: 'confirmed', sk: '{l1}' });
    expect(await notifier.follow(confirm, 'confirm')).toEqual({ outcome: 'confirmed', sk: '{l1}' });
    expect(said('e-mail opt-in confirmed by its link')).toBe(before + 1);
    expect(await notifier.sealedChat('{l1}')).toBe('sealed');
  });

  it('stops the opt-in, logged; a link of an opt-in since replaced does nothing', async () => {
    await optedIn('{l2}');
    const old = await linkOf('{l2}', 'stop');
    await optedIn('{l2}');
    expect(await notifier.follow(old, 'stop')).toEqual({ outcome: 'nothing' });
    expect(await notifier.has('{l2}')).toBe(true);
    const before = said('e-mail opt-in stopped by its link');
    expect(await notifier.follow(await linkOf('{l2}', 'stop'), 'stop')).toEqual({ outcome: 'stopped', sk: '{l2}' });
    expect(said('e-mail opt-in stopped by its link')).toBe(before + 1);
    expect(await notifier.has('{l2}')).toBe(false);
  });

  it('that this service did not make, or made for the other act, is refused', async () => {
    await optedIn('{l3}');
    for (const [t, act] of [
      ['not-a-sealed-link', 'stop'],
      [await linkOf('{l3}', 'confirm'), 'stop'],
    ] as const)
      await expect(notifier.follow(t, act)).rejects.toMatchObject({
        code: 'validation_failed',
        message: 'This link is not one this service made, or it was cut short.',
      });
    expect(await notifier.has('{l3}')).toBe(true);
  });
});

describe("a window's e-mail", () => {
  it('holds the newest 50 replies of the window', async () => {
    await optedIn('{w1}');
    for (let i = 0; i < 60; i++) notifier.reply('{w1}', human(i));
    await waitFor(async () => expect(await store.get('email-msg:{w1}:m10')).toBe('sent'));
    expect(await store.get('email-msg:{w1}:m9')).toBeUndefined();
  });

  it('quotes its replies in the order they were written, whatever order they were heard in', async () => {
    await optedIn('{w2}');
    notifier.reply('{w2}', human(2));
    notifier.reply('{w2}', human(1));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.text.indexOf('reply number 1.')).toBeLessThan(sent[0]!.text.indexOf('reply number 2.'));
  });

  it('counts replies a page showed as read', async () => {
    await optedIn('{w3}');
    await store.put('notify-msg:{w3}:m1', 'shown', 60_000);
    const read = await counted('read');
    notifier.reply('{w3}', human(1));
    await waitFor(async () => expect(await counted('read')).toBe(read + 1));
    expect(sent).toHaveLength(0);
  });

  it('leaves out replies another e-mail claimed', async () => {
    await optedIn('{w4}');
    await store.put('email-msg:{w4}:m1', 'queued:another', 60_000);
    notifier.reply('{w4}', human(1));
    notifier.reply('{w4}', human(2));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.text).not.toContain('reply number 1.');
    expect(await store.get('email-msg:{w4}:m1')).toBe('queued:another');
  });

  it('with every reply claimed by another is not sent, and gives its window back', async () => {
    await optedIn('{w8}');
    await store.put('email-msg:{w8}:m1', 'queued:another', 60_000);
    const swap = jest.spyOn(store, 'swap');
    try {
      notifier.reply('{w8}', human(1));
      await waitFor(() => expect(swap).toHaveBeenCalledWith(emailKeys('{w8}').window, 'test', undefined, 1));
      expect(sent).toHaveLength(0);
      expect(await store.get(emailKeys('{w8}').window)).toBeUndefined();
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('waits while another e-mail of the chat holds the window, and goes once it is over', async () => {
    await optedIn('{w9}');
    await store.put(emailKeys('{w9}').window, 'another', 60_000);
    const claim = jest.spyOn(store, 'claim');
    const triedWindow = () => claim.mock.calls.filter(([key]) => key === emailKeys('{w9}').window).length;
    try {
      notifier.reply('{w9}', human(1));
      await waitFor(() => expect(triedWindow()).toBeGreaterThanOrEqual(2));
      expect(sent).toHaveLength(0);
      await store.remove(emailKeys('{w9}').window);
      await waitFor(() => expect(sent).toHaveLength(1));
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('past the address’s e-mails of the day is capped: counted, and its replies say so', async () => {
    await optedIn('{w5}');
    // dailyMax is 10: the address has had them all today.
    for (let i = 0; i < 10; i++) await store.increment(dayKey('ada@example.com', Date.now()), 86_400_000);
    const capped = await counted('capped');
    notifier.reply('{w5}', human(1));
    await waitFor(async () => expect(await store.get('email-msg:{w5}:m1')).toBe('capped'));
    expect(await counted('capped')).toBe(capped + 1);
    expect(sent).toHaveLength(0);
  });

  it('is not sent when the store does not answer: counted failed and logged', async () => {
    await optedIn('{w6}');
    const failed = await counted('failed');
    jest.spyOn(store, 'claim').mockRejectedValue(new Error('store down'));
    try {
      notifier.reply('{w6}', human(1));
      const msg = 'e-mail of unread replies not sent: the shared store did not answer';
      await waitFor(() => expect(said(msg)).toBeGreaterThan(0));
      expect(log.lines().find((l) => l.msg === msg)).toMatchObject({
        requestId: expect.stringMatching(/^email-/),
        err: expect.objectContaining({ message: 'store down' }),
      });
      expect(await counted('failed')).toBe(failed + 1);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('of an opt-in that went meanwhile is not sent, and says why', async () => {
    await optedIn('{w7}');
    notifier.reply('{w7}', human(1));
    await store.remove(emailKeys('{w7}').record);
    const before = said('unread replies not e-mailed: the opt-in went');
    await waitFor(() => expect(said('unread replies not e-mailed: the opt-in went')).toBe(before + 1));
    expect(sent).toHaveLength(0);
  });

  it.each([
    ['the opt-in is removed', () => notifier.optOut('{w10}')],
    ['the notifier closes', async () => notifier.close()],
  ])('waiting when %s is given up', async (what, end) => {
    await optedIn('{w10}');
    const before = said('unread replies not e-mailed: the opt-in went');
    jest.useFakeTimers();
    try {
      notifier.reply('{w10}', human(1));
      await end();
      // A closed notifier starts nothing for a reply heard after.
      if (what === 'the notifier closes') notifier.reply('{w10}', human(2));
      await jest.advanceTimersByTimeAsync(1000);
      expect(said('unread replies not e-mailed: the opt-in went')).toBe(before);
      expect(await store.get(emailKeys('{w10}').window)).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  it('joins the replies it waited with to those heard while it was decided', async () => {
    await optedIn('{w11}');
    await store.put(emailKeys('{w11}').window, 'another', 60_000);
    const claim = store.claim.bind(store);
    let decided!: () => void;
    const deciding = new Promise<void>((resolve) => (decided = resolve));
    let windowTries = 0;
    jest.spyOn(store, 'claim').mockImplementation(async (key, value, ttlMs) => {
      if (key === emailKeys('{w11}').window && ++windowTries === 1) await deciding;
      return claim(key, value, ttlMs);
    });
    try {
      notifier.reply('{w11}', human(1));
      await waitFor(() => expect(windowTries).toBe(1));
      // Heard while the first window's e-mail is decided: the next window begins with it.
      notifier.reply('{w11}', human(2));
      decided();
      await waitFor(() => expect(windowTries).toBeGreaterThanOrEqual(2));
      await store.remove(emailKeys('{w11}').window);
      await waitFor(() => expect(sent).toHaveLength(1));
      expect(sent[0]!.text).toContain('> reply number 1.');
      expect(sent[0]!.text).toContain('> reply number 2.');
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('is not sent while a page of the chat is open, and counts as read', async () => {
    await optedIn('{w12}');
    await store.put(recordKeys('{w12}').seen, 'open', 60_000);
    const read = await counted('read');
    notifier.reply('{w12}', human(1));
    await waitFor(async () => expect(await counted('read')).toBe(read + 1));
    expect(sent).toHaveLength(0);
  });
});

describe('an e-mail queued', () => {
  /** A notifier on `on` whose relay holds every send until the test ends. */
  function heldNotifier(on: MemoryStore) {
    const held = { sends: 0 };
    const n = notifierOn(
      on,
      { send: () => (held.sends++, new Promise<void>(() => undefined)), close: () => undefined },
      'held',
    );
    return { n, held };
  }
  const optIn = (n: EmailNotifier, sk: string) =>
    n.optIn(sk, {
      address: 'ada@example.com',
      url: 'https://s.example/c',
      base: 'https://b.example',
      chat: 'c',
      vouched: true,
    });

  it('keeps its replies claimed for it, and its window, while the relay has it', async () => {
    const { n, held } = heldNotifier(store);
    try {
      await optIn(n, '{q1}');
      n.reply('{q1}', human(1));
      await waitFor(() => expect(held.sends).toBe(1));
      expect(await store.get('email-msg:{q1}:m1')).toMatch(/^queued:/);
      expect(await store.get(emailKeys('{q1}').window)).toBe('held');
    } finally {
      n.close();
    }
  });

  it('that the store does not take is not sent: counted, logged, and its replies marked failed', async () => {
    await optedIn('{q2}');
    const failed = await counted('failed');
    jest.spyOn(store, 'increment').mockRejectedValue(new Error('store down'));
    try {
      notifier.reply('{q2}', human(1));
      await waitFor(async () => expect(await store.get('email-msg:{q2}:m1')).toBe('failed'));
    } finally {
      jest.restoreAllMocks();
    }
    expect(await counted('failed')).toBe(failed + 1);
    expect(log.lines().find((l) => l.msg === 'e-mail not sent: the shared store did not take it')).toMatchObject({
      kind: 'replies',
      err: expect.objectContaining({ message: 'store down' }),
    });
  });

  it('past a full outbox is not sent: counted, and logged as an error', async () => {
    const full = new MemoryStore();
    const queue = full.queue.bind(full);
    full.queue = (name) => Object.assign(Object.create(queue(name)) as DurableQueue, { add: async () => 'full' });
    const { n, held } = heldNotifier(full);
    const failed = await counted('failed', 'confirmation');
    try {
      await n.optIn('{q3}', {
        address: 'ada@example.com',
        url: 'https://s.example/c',
        base: 'https://b.example',
        chat: 'c',
        vouched: false,
      });
      await waitFor(async () => expect(await counted('failed', 'confirmation')).toBe(failed + 1));
      expect(held.sends).toBe(0);
      expect(
        log.lines().find((l) => l.msg === 'e-mail not sent: the deployment’s e-mail outbox is full'),
      ).toMatchObject({
        kind: 'confirmation',
        level: 50,
      });
    } finally {
      n.close();
    }
  });
});
