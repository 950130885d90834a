import http from 'node:http';
import { streamsOpen } from '../../../src/observability/metrics';
import { sessionKeyOf } from '../../../src/store';
import { signInAt } from '../../support/signIn';
import { openStream, type SseStream } from '../../support/sse';
import { bearer, PAGE_ORIGIN, type Stack } from '../../support/stack';
import { closePushStack, startPushStack, type PushStack } from '../../support/pushStack';
import { waitFor } from '../../support/wait';
import { browserKeys, decryptPush, verifyVapid, type BrowserKeys, type PushReceiver } from '../../support/pushReceiver';

/**
 * Web Push for a customer who left (docs/api.md#notifications), against the strict simulator: a subscription whose
 * endpoint is a push service on loopback, judged by an RFC 8291 decryption and an RFC 8292 check written in the test
 * (test/support/pushReceiver.ts).
 */

let pushStack: PushStack;
let stack: Stack;
let receiver: PushReceiver;

beforeAll(async () => {
  pushStack = await startPushStack();
  ({ stack, receiver } = pushStack);
});

afterAll(async () => {
  await closePushStack(pushStack);
});

const store = () => stack.service.deployments.all[0]!.store;

/** How many times this instance has started watching a chat: a watch starting is an event to wait on. */
const watchesStarted = () =>
  stack.log.lines().filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push').length;

async function pageStream(token: string): Promise<SseStream> {
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  return stream;
}

function subscribe(token: string, path: string, keys: BrowserKeys, extra: object = {}) {
  return stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({
      endpoint: `${receiver.origin}${path}`,
      expirationTime: null,
      keys: { p256dh: keys.p256dh, auth: keys.auth },
      ...extra,
    });
}

/** Closes the page's stream and waits until a watch of the chat has started (the `n`th since the suite began). */
async function leave(stream: SseStream, startedBefore: number): Promise<void> {
  stream.close();
  await waitFor(() => expect(watchesStarted()).toBeGreaterThan(startedBefore));
}

describe('capabilities', () => {
  it('names the VAPID public key, and no e-mail', async () => {
    const { token } = await stack.newSession();
    const res = await stack.http.get('/capabilities').set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.body.notifications).toEqual({ push: { vapidPublicKey: pushStack.vapid.publicKey }, email: false });
  });
});

describe('a reply to a customer who left', () => {
  it('is pushed once, encrypted for the browser and signed with VAPID; a 410 removes the subscription', async () => {
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    const stream = await pageStream(token);
    expect((await subscribe(token, '/one', keys)).status).toBe(204);
    await leave(stream, watchesStarted());

    stack.sim.agent.say(gt, 'Your parcel has shipped');
    const push = await receiver.nth('/one', 1);
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    const claims = await verifyVapid(push.headers, pushStack.vapid.publicKey, receiver.origin);
    expect(claims.sub).toBe('mailto:ops@example.com');
    expect(JSON.parse(decryptPush(push.body, keys))).toEqual({
      type: 'reply',
      from: 'Simulator Bot',
      preview: 'Your parcel has shipped',
      url: `${PAGE_ORIGIN}/`,
    });

    // The push service says the subscription is gone: it is removed, and the watch ends.
    receiver.answerWith(410);
    stack.sim.agent.say(gt, 'Anything else?');
    await receiver.nth('/one', 2);
    const sk = sessionKeyOf(gt);
    await waitFor(async () => expect(await store().get(`notify:${sk}`)).toBeUndefined());
    receiver.answerWith(201);

    // A later reply goes nowhere: a new subscription (to /two) gets the reply after it, and /one nothing more.
    stack.sim.agent.say(gt, 'Hello?');
    const again = await pageStream(token);
    await again.next((e) => e.event === 'session');
    expect((await subscribe(token, '/two', keys)).status).toBe(204);
    await leave(again, watchesStarted());
    stack.sim.agent.say(gt, 'Still there?');
    // "Hello?" no page showed (the stream reopened without Last-Event-ID): it is pushed too, alone or coalesced
    // with the newer reply, whose preview the push then shows.
    const first = JSON.parse(decryptPush((await receiver.nth('/two', 1)).body, keys)).preview;
    if (first === 'Hello?') {
      expect(JSON.parse(decryptPush((await receiver.nth('/two', 2)).body, keys)).preview).toBe('Still there?');
    } else {
      expect(first).toBe('Still there?');
    }
    expect(receiver.received.filter((r) => r.path === '/one')).toHaveLength(2);
  });

  it('is not pushed while a page stream of the chat is open', async () => {
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    const stream = await pageStream(token);
    expect((await subscribe(token, '/open', keys, { url: `${PAGE_ORIGIN}/shop/chat?x=1` })).status).toBe(204);
    stack.sim.agent.say(gt, 'Seen on the page');
    const seen = await stream.next((e) => e.event === 'message' && JSON.parse(e.data).text === 'Seen on the page');
    // Recorded as shown, so no watch (here or on another instance) pushes it from history: a push coalesced with
    // the later reply would show only the later one's preview, so the record is what says so.
    const shownKey = `notify-msg:${sessionKeyOf(gt)}:${JSON.parse(seen.data).id as string}`;
    await waitFor(async () => expect(await store().get(shownKey)).toBe('shown'));
    await leave(stream, watchesStarted());
    stack.sim.agent.say(gt, 'After you left');
    const push = await receiver.nth('/open', 1);
    expect(JSON.parse(decryptPush(push.body, keys))).toEqual({
      type: 'reply',
      from: 'Simulator Bot',
      preview: 'After you left',
      url: `${PAGE_ORIGIN}/shop/chat?x=1`,
    });
    // The reply the page showed was never pushed: the first push is the later one.
    expect(receiver.received.filter((r) => r.path === '/open')).toHaveLength(1);
  });

  it('that came before the watch began is pushed while the page that left has spent the history reads', async () => {
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    const stream = await pageStream(token);
    expect((await subscribe(token, '/gap', keys)).status).toBe(204);
    // The page reads history as often as Genesys allows a session in a minute.
    for (let i = 0; i < 10; i++) expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
    expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(429);
    // The tab closes; once the service has seen its stream close, the agent writes, before any watch began.
    const open = async () => (await streamsOpen.get()).values.reduce((sum, v) => sum + v.value, 0);
    const openBefore = await open();
    const started = watchesStarted();
    stream.close();
    await waitFor(async () => expect(await open()).toBe(openBefore - 1));
    expect(watchesStarted()).toBe(started);
    stack.sim.agent.say(gt, 'Written as you left');
    const push = await receiver.nth('/gap', 1);
    expect(JSON.parse(decryptPush(push.body, keys)).preview).toBe('Written as you left');
    // Pushed without a history read: the session's reads are still spent.
    expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(429);
    const refusedReads = stack.log
      .lines()
      .filter((l) => l.chat === sessionKeyOf(gt) && l.msg === 'could not read what came while nobody watched yet');
    expect(refusedReads.length).toBeGreaterThan(0);
  });

  it('that no live socket heard is read at once though the page that left spent the spare half of the reads', async () => {
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    // Subscribed without a page stream (its notify-seen record stands for the page); the page reads history half as
    // often as Genesys allows a session in a minute: the half a socket's replay may not use.
    expect((await subscribe(token, '/half', keys)).status).toBe(204);
    for (let i = 0; i < 5; i++) expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
    stack.sim.agent.say(gt, 'Nobody heard this live');
    const sk = sessionKeyOf(gt);
    await waitFor(async () => expect(await store().get(`notify-heard:${sk}`)).toBeDefined());
    await store().remove(`notify-heard:${sk}`);
    await store().remove(`notify-seen:${sk}`);
    const push = await receiver.nth('/half', 1);
    expect(JSON.parse(decryptPush(push.body, keys)).preview).toBe('Nobody heard this live');
    // The watch's first read took the page's share: it was never refused, and the page has four reads left.
    const refused = stack.log
      .lines()
      .filter((l) => l.chat === sk && l.msg === 'could not read what came while nobody watched yet');
    expect(refused).toEqual([]);
    for (let i = 0; i < 4; i++) expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
    expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(429);
  });

  it('from before the watch began is pushed even when a later one, heard live, went first', async () => {
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    const preview = async (n: number) => JSON.parse(decryptPush((await receiver.nth('/race', n)).body, keys)).preview;
    // Subscribed without a page stream: the chat counts as looked at (its notify-seen record) until the test
    // removes that record, and a reply said meanwhile reaches no page and no watch. The live socket kept it for the
    // watch (notify-heard); the test removes that too, as when the live socket's instance died: history alone has it.
    expect((await subscribe(token, '/race', keys)).status).toBe(204);
    stack.sim.agent.say(gt, 'Said as you left');
    const sk = sessionKeyOf(gt);
    await waitFor(async () => expect(await store().get(`notify-heard:${sk}`)).toBeDefined());
    await store().remove(`notify-heard:${sk}`);
    // The history read of the watch, as it begins, waits until released.
    const hold = stack.sim.faults.holdRest('history');
    await store().remove(`notify-seen:${sk}`);
    await waitFor(() => expect(hold.held()).toBe(1));
    // Heard live while that read waits: pushed on its own once the coalescing window is over.
    stack.sim.agent.say(gt, 'Said while you were away');
    expect(await preview(1)).toBe('Said while you were away');
    hold.release();
    expect(await preview(2)).toBe('Said as you left');
  });
});

describe('a page that leaves while its stream is being opened', () => {
  /** Undone after the case, whether it passed, failed or timed out. */
  const undo: (() => void)[] = [];
  afterEach(() => undo.splice(0).forEach((step) => step()));

  it('is counted as gone: the chat is watched for replies to push', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await subscribe(token, '/opening', browserKeys())).status).toBe(204);
    const sk = sessionKeyOf(gt);
    const watchesOfThisChat = () =>
      stack.log
        .lines()
        .filter((l) => l.chat === sk && l.msg === 'watching a chat nobody is looking at, for replies to push').length;
    // The stream's first step, recording that a page looks at the chat, waits until the page has gone.
    let entered!: () => void;
    const putEntered = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    undo.push(() => release());
    const shared = store();
    const put = shared.put.bind(shared);
    const spy = jest.spyOn(shared, 'put').mockImplementation(async (key, ...rest) => {
      if (key === `notify-seen:${sk}`) {
        entered();
        await held;
      }
      return put(key, ...rest);
    });
    undo.push(() => spy.mockRestore());
    const serverSide = new Promise<http.ServerResponse>((resolve) => {
      const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
        if (req.url?.startsWith('/messages/stream')) resolve(res);
      };
      stack.service.server.on('request', onRequest);
      undo.push(() => stack.service.server.off('request', onRequest));
    });

    const started = watchesOfThisChat();
    const page = http.get(`${stack.service.url}/messages/stream`, { headers: bearer(token) });
    page.on('error', () => undefined);
    undo.push(() => page.destroy());
    // An answer before the put would mean the stream was refused: said at once, not after the case's timeout.
    const answered = new Promise<number>((resolve) => page.once('response', (res) => resolve(res.statusCode ?? 0)));
    expect(await Promise.race([putEntered.then(() => 'held'), answered])).toBe('held');
    const res = await serverSide;
    const gone = new Promise((resolve) => res.once('close', resolve));
    page.destroy();
    await gone;
    release();
    await waitFor(() => expect(watchesOfThisChat()).toBeGreaterThan(started));
  });
});

describe('a customer who signs in after subscribing', () => {
  afterEach(() => stack.sim.setOptions({ authEnabled: false, allowSessionUpgrade: false }));

  it('still gets the replies pushed: the watch opens the chat signed in', async () => {
    stack.sim.setOptions({ authEnabled: true, allowSessionUpgrade: true, authJwtLifetimeSeconds: 900 });
    const { token, gt } = await stack.newGuest();
    const keys = browserKeys();
    const stream = await pageStream(token);
    expect((await subscribe(token, '/signed-in', keys)).status).toBe(204);
    const signedIn = await stack.http
      .post('/guest-session/sign-in')
      .set(bearer(token))
      .send({ auth: await signInAt(stack.sim, 'customer-push') });
    expect(signedIn.status).toBe(200);
    stream.close();
    // The page carries on with the signed-in token, then leaves.
    await leave(await pageStream(signedIn.body.sessionToken), watchesStarted());
    stack.sim.agent.say(gt, 'Signed in and away');
    const push = await receiver.nth('/signed-in', 1);
    expect(JSON.parse(decryptPush(push.body, keys)).preview).toBe('Signed in and away');
  });
});

describe('PUT /notifications/push', () => {
  const good = () => {
    const keys = browserKeys();
    return { endpoint: 'https://push.example.com/send/abc', keys: { p256dh: keys.p256dh, auth: keys.auth } };
  };
  const bad: Array<[string, (b: ReturnType<typeof good>) => object]> = [
    ['a non-loopback http: endpoint', (b) => ({ ...b, endpoint: 'http://push.example.com/send/abc' })],
    ['an ftp: endpoint', (b) => ({ ...b, endpoint: 'ftp://push.example.com/x' })],
    ['an endpoint that is no URL', (b) => ({ ...b, endpoint: 'not a url' })],
    ['an endpoint with credentials', (b) => ({ ...b, endpoint: 'https://u:p@push.example.com/x' })],
    ['no keys', (b) => ({ endpoint: b.endpoint })],
    ['a short auth secret', (b) => ({ ...b, keys: { ...b.keys, auth: 'AAAA' } })],
    ['a p256dh of the wrong length', (b) => ({ ...b, keys: { ...b.keys, p256dh: b.keys.auth } })],
    ['a compressed p256dh', (b) => ({ ...b, keys: { ...b.keys, p256dh: compressed(b.keys.p256dh) } })],
    ['an unknown field', (b) => ({ ...b, extra: 1 })],
    ['a url of another origin', (b) => ({ ...b, url: 'https://evil.example.com/' })],
  ];

  it.each(bad)('refuses %s with 400 problem+json and stores nothing', async (_what, make) => {
    const { token, gt } = await stack.newGuest();
    const res = await stack.http.put('/notifications/push').set(bearer(token)).send(make(good()));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(await store().get(`notify:${sessionKeyOf(gt)}`)).toBeUndefined();
  });

  it('needs the session token', async () => {
    const res = await stack.http.put('/notifications/push').set('Origin', PAGE_ORIGIN).send(good());
    expect(res.status).toBe(401);
  });

  it('stores a good one with the chat, and DELETE removes it', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await stack.http.put('/notifications/push').set(bearer(token)).send(good())).status).toBe(204);
    const key = `notify:${sessionKeyOf(gt)}`;
    const record = JSON.parse((await store().get(key))!);
    expect(record).toMatchObject({ v: 1, endpoint: 'https://push.example.com/send/abc', url: `${PAGE_ORIGIN}/` });
    // The guest token is sealed, never stored as it is.
    expect(JSON.stringify(record)).not.toContain(gt);
    expect((await stack.http.delete('/notifications/push').set(bearer(token))).status).toBe(204);
    expect(await store().get(key)).toBeUndefined();
  });

  it('is removed when the chat ends', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await stack.http.put('/notifications/push').set(bearer(token)).send(good())).status).toBe(204);
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    expect(await store().get(`notify:${sessionKeyOf(gt)}`)).toBeUndefined();
  });
});

/** The same point, compressed (33 bytes): what a subscription's key is not. */
function compressed(p256dh: string): string {
  const point = Buffer.from(p256dh, 'base64url');
  return Buffer.concat([Buffer.from([2 + (point[64]! & 1)]), point.subarray(1, 33)]).toString('base64url');
}
