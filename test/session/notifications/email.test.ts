import { sessionKeyOf } from '../../../src/store';
import { openStream, type SseStream } from '../../support/sse';
import { bearer, identityToken, PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';
import { linksIn, startSmtpReceiver, type ReceivedEmail, type SmtpReceiver } from '../../support/smtpReceiver';
import { waitFor } from '../../support/wait';

/**
 * E-mail to a customer who left (docs/api.md#put-notificationsemail), against the strict simulator and a real SMTP server on
 * loopback (test/support/smtpReceiver.ts): the deployment has e-mail and no Web Push, so every chat watched here is
 * watched for e-mail alone. What must not be e-mailed is judged after a later chat's e-mail arrived: the watch
 * serves chats in turn, and the same window applies to all, so an e-mail that was going to go would have gone first.
 */

const DAILY_MAX = 3;
let stack: Stack;
let smtp: SmtpReceiver;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  stack = await startStack({
    env: {
      SMTP_URL: smtp.url,
      EMAIL_FROM: '"Example Shop" <chat@shop.example.com>',
      EMAIL_AFTER_SECONDS: '1',
      EMAIL_PREVIEW: 'on',
      EMAIL_DAILY_MAX: String(DAILY_MAX),
      NOTIFY_AFTER_SECONDS: '1',
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await smtp?.close();
});

const store = () => stack.service.deployments.all[0]!.store;
const recordOf = async (gt: string) => store().get(`email:${sessionKeyOf(gt)}`);

const watchesStarted = () =>
  stack.log.lines().filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push').length;

const human = { originatingEntity: 'Human' as const };

async function pageStream(token: string): Promise<SseStream> {
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  return stream;
}

/** A chat whose verified identity (an identity token's `email`) is `address`, and its page stream. */
async function signedInChat(address: string) {
  const { token, gt } = await stack.newGuest({ identityToken: await identityToken({ sub: address, email: address }) });
  return { token, gt, stream: await pageStream(token) };
}

function optIn(token: string, body: object) {
  return stack.http.put('/notifications/email').set(bearer(token)).send(body);
}

/** Closes the page's stream and waits until a watch of some chat has started since `before`. */
async function leave(stream: SseStream, before: number): Promise<void> {
  stream.close();
  await waitFor(() => expect(watchesStarted()).toBeGreaterThan(before));
}

/** A link of an e-mail, followed as a mail reader would: no session, no Origin. */
async function follow(link: string, method: 'GET' | 'POST' = 'GET') {
  const res = await fetch(link, { method, redirect: 'error', signal: AbortSignal.timeout(30_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

const linkTo = (email: ReceivedEmail, act: 'confirm' | 'stop') =>
  linksIn(email).find((l) => l.includes(`/notifications/email/${act}?t=`))!;

/** An e-mail arriving to a new signed-in chat's address: what was due before it has been sent by then. */
async function barrier(address: string): Promise<void> {
  const chat = await signedInChat(address);
  expect((await optIn(chat.token, { address })).body).toEqual({ confirmed: true });
  await leave(chat.stream, watchesStarted());
  stack.sim.agent.say(chat.gt, `barrier for ${address}`, human);
  await smtp.nth(address, 1);
}

describe('capabilities', () => {
  it('say e-mail is offered, and no push', async () => {
    const { token } = await stack.newSession();
    const res = await stack.http.get('/capabilities').set(bearer(token));
    expect(res.body.notifications).toEqual({ push: null, email: true });
  });
});

describe("a human agent's reply to a customer who left", () => {
  it('is e-mailed once, with its text, a link back and a stop link that works without a session', async () => {
    const address = 'ada@example.com';
    const { token, gt, stream } = await signedInChat(address);
    const res = await optIn(token, { address, url: `${PAGE_ORIGIN}/shop/chat?x=1` });
    // Vouched for by the verified identity: no confirmation.
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ confirmed: true });
    await leave(stream, watchesStarted());

    stack.sim.agent.say(gt, 'Your parcel has shipped', human);
    const email = await smtp.nth(address, 1);
    expect(email.headers.from).toBe('Example Shop <chat@shop.example.com>');
    expect(email.headers.subject).toMatch(/replied in your chat on localhost:3000$/);
    expect(email.text).toContain('> Your parcel has shipped');
    expect(linksIn(email)).toContain(`${PAGE_ORIGIN}/shop/chat?x=1`);
    const stop = linkTo(email, 'stop');
    expect(stop.startsWith(`${stack.service.url}/notifications/email/stop?t=`)).toBe(true);
    // RFC 8058: the same link, for a mail client's one-click unsubscribe.
    expect(email.headers['list-unsubscribe']).toBe(`<${stop}>`);
    expect(email.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    // The address and the guest token are sealed in the store.
    expect(await recordOf(gt)).not.toContain(address);
    expect(await recordOf(gt)).not.toContain(gt);

    const stopped = await follow(stop);
    expect(stopped.status).toBe(200);
    expect(stopped.type).toMatch(/^text\/html/);
    expect(stopped.text).toContain('E-mails stopped');
    expect(await recordOf(gt)).toBeUndefined();
    // Followed again (or by a mail client's one-click POST), it has nothing left to stop.
    expect((await follow(stop, 'POST')).text).toContain('Nothing to stop');

    stack.sim.agent.say(gt, 'Anything else?', human);
    await barrier('ada-barrier@example.com');
    expect(smtp.to(address)).toHaveLength(1);
  });

  it('is not e-mailed from a bot', async () => {
    const address = 'bea@example.com';
    const { token, gt, stream } = await signedInChat(address);
    expect((await optIn(token, { address })).status).toBe(202);
    await leave(stream, watchesStarted());
    stack.sim.agent.say(gt, 'I am the bot');
    stack.sim.agent.say(gt, 'I am a person', human);
    const email = await smtp.nth(address, 1);
    expect(email.text).toContain('> I am a person');
    expect(email.text).not.toContain('I am the bot');
    // The bot's reply started no window of its own: one e-mail, the human's.
    await barrier('bea-barrier@example.com');
    expect(smtp.to(address)).toHaveLength(1);
  });

  it('is only a notice when the deployment keeps replies out of e-mail', async () => {
    const quiet = await startStack({
      env: {
        SMTP_URL: smtp.url,
        EMAIL_FROM: 'chat@shop.example.com',
        EMAIL_AFTER_SECONDS: '1',
        NOTIFY_AFTER_SECONDS: '1',
      },
    });
    try {
      const address = 'cy@example.com';
      const { token, gt } = await quiet.newGuest({
        identityToken: await identityToken({ sub: address, email: address }),
      });
      const stream = await openStream(`${quiet.service.url}/messages/stream`, bearer(token));
      await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
      const res = await quiet.http.put('/notifications/email').set(bearer(token)).send({ address });
      expect(res.body).toEqual({ confirmed: true });
      stream.close();
      await waitFor(() =>
        expect(
          quiet.log.lines().some((l) => l.msg === 'watching a chat nobody is looking at, for replies to push'),
        ).toBe(true),
      );
      quiet.sim.agent.say(gt, 'The secret order number is 42', human);
      const email = await smtp.nth(address, 1);
      expect(email.text).toContain('A reply is waiting for you in the chat.');
      expect(email.text).not.toContain('order number');
      expect(linksIn(email)).toContain(`${PAGE_ORIGIN}/`);
    } finally {
      await quiet.close();
    }
  });
});

describe('an anonymous opt-in', () => {
  it('is confirmed by its link; until then no reply is e-mailed', async () => {
    const address = 'dora@example.com';
    const { token, gt } = await stack.newGuest();
    const stream = await pageStream(token);
    const res = await optIn(token, { address });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ confirmed: false });
    const confirmation = await smtp.nth(address, 1);
    expect(confirmation.headers.subject).toBe('Confirm e-mail replies for your chat on localhost:3000');
    const confirm = linkTo(confirmation, 'confirm');
    expect(linkTo(confirmation, 'stop')).toBeDefined();

    stream.close();
    stack.sim.agent.say(gt, 'Before you confirmed', human);
    await barrier('dora-barrier@example.com');
    expect(smtp.to(address)).toHaveLength(1);

    const before = watchesStarted();
    const confirmed = await follow(confirm);
    expect(confirmed.status).toBe(200);
    expect(confirmed.text).toContain('E-mail confirmed');
    await waitFor(() => expect(watchesStarted()).toBeGreaterThan(before));
    stack.sim.agent.say(gt, 'After you confirmed', human);
    // The first e-mail of the confirmed opt-in: the replies still unread, the one before confirming among them.
    const email = await smtp.nth(address, 2);
    expect(email.text).toContain('> After you confirmed');
  });

  it('has a link that opens nothing once the chat ended, and the opt-in goes with the chat', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await optIn(token, { address: 'eve@example.com' })).status).toBe(202);
    const confirmation = await smtp.nth('eve@example.com', 1);
    expect(await recordOf(gt)).toBeDefined();
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    expect(await recordOf(gt)).toBeUndefined();
    expect((await follow(linkTo(confirmation, 'confirm'))).text).toContain('Nothing to confirm');
  });
});

describe("an address's e-mails a day", () => {
  it(`stop at EMAIL_DAILY_MAX (${DAILY_MAX}) across 100 chats naming it`, async () => {
    const address = 'many@example.com';
    const outcomes = () =>
      stack.log
        .lines()
        .filter((l) => (l.msg === 'e-mail sent' || l.msg.startsWith('e-mail not sent')) && l.kind === 'confirmation')
        .length;
    const before = outcomes();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const { token } = await stack.newSession();
          expect((await optIn(token, { address })).status).toBe(202);
        }),
      );
    }
    await waitFor(() => expect(outcomes() - before).toBe(100));
    expect(smtp.to(address)).toHaveLength(DAILY_MAX);
  });
});

describe('PUT /notifications/email', () => {
  const bad: Array<[string, object]> = [
    ['no address', {}],
    ['a text that is no address', { address: 'not an address' }],
    ['two addresses', { address: 'a@example.com, b@example.com' }],
    ['an address with a display name', { address: 'Ada <ada@example.com>' }],
    ['a header injection', { address: 'a@example.com\r\nBcc: b@example.com' }],
    [
      'an address longer than 254 characters',
      { address: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(130)}.com` },
    ],
    ['an unknown field', { address: 'a@example.com', extra: 1 }],
    ['a url of another origin', { address: 'a@example.com', url: 'https://evil.example.com/' }],
  ];

  it.each(bad)('refuses %s with 400 problem+json and stores nothing', async (_what, body) => {
    const { token, gt } = await stack.newGuest();
    const res = await optIn(token, body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(await recordOf(gt)).toBeUndefined();
  });

  it('needs the session token', async () => {
    const res = await stack.http
      .put('/notifications/email')
      .set('Origin', PAGE_ORIGIN)
      .send({ address: 'nosession@example.com' });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(smtp.to('nosession@example.com')).toHaveLength(0);
  });

  it('refuses a fourth confirmation asked by one chat in a day', async () => {
    const { token, gt } = await stack.newGuest();
    for (let i = 1; i <= 3; i++) expect((await optIn(token, { address: `ask${i}@example.com` })).status).toBe(202);
    const res = await optIn(token, { address: 'ask4@example.com' });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // The third opt-in stands.
    const record = JSON.parse((await recordOf(gt))!);
    await smtp.nth('ask3@example.com', 1);
    expect(record.confirmed).toBe(false);
  });

  it('DELETE removes the opt-in', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await optIn(token, { address: 'gone@example.com' })).status).toBe(202);
    expect(await recordOf(gt)).toBeDefined();
    expect((await stack.http.delete('/notifications/email').set(bearer(token))).status).toBe(204);
    expect(await recordOf(gt)).toBeUndefined();
  });
});

describe('the links', () => {
  it.each([
    ['not sealed by this service', 'abc'],
    ['tampered', 'eyJhbGciOiJkaXIifQ..AAAA.AAAA.AAAA'],
  ])('refuse a link %s with 400 problem+json', async (_what, t) => {
    const res = await stack.http.get(`/notifications/email/stop?t=${t}`);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuse a stop link used to confirm', async () => {
    const { token } = await stack.newGuest();
    expect((await optIn(token, { address: 'fay@example.com' })).status).toBe(202);
    const stop = linkTo(await smtp.nth('fay@example.com', 1), 'stop');
    const res = await follow(stop.replace('/stop?', '/confirm?'));
    expect(res.status).toBe(400);
  });
});
