import { sessionKeyOf } from '../../src/store';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { SessionTokens } from '../../src/session/tokens/sessionToken';
import { browserKeys, vapidPair } from '../support/pushReceiver';
import { dataOf, openStream, type SseStream } from '../support/sse';
import { jwtPayload, REDIRECT_URI, signInAt } from '../support/signIn';
import { waitFor } from '../support/wait';
import { bearer, identityToken, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/** Genesys authenticated messaging through the service (docs/genesys-protocol.md#configureauthenticatedsession). */
let stack: Stack;
/** Every response body this file saw: no Genesys credential may be in one. */
const answers: string[] = [];

beforeAll(async () => {
  // Web Push on, so that signing out is seen to take the chat's subscription with it.
  const vapid = vapidPair();
  stack = await startStack({
    sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 } },
    env: {
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@example.com',
    },
  });
});
afterAll(() => stack.close());
/** Every stream this file opened: no Genesys credential may be in an event either. */
const streams: SseStream[] = [];

beforeEach(() => {
  stack.sim.faults.clear();
  stack.sim.setOptions({ authEnabled: true, allowSessionUpgrade: true, authJwtLifetimeSeconds: 900, clock: Date.now });
});

const post = async (path: string, body: object, token?: string, http = stack.http) => {
  const req = http.post(path).set(token ? bearer(token) : { Origin: PAGE_ORIGIN });
  const res = await req.send(body);
  answers.push(res.text);
  return res;
};

const get = async (path: string, token: string, http = stack.http) => {
  const res = await http.get(path).set(bearer(token));
  answers.push(res.text);
  return res;
};

async function stream(token: string): Promise<SseStream> {
  const opened = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  streams.push(opened);
  await opened.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  return opened;
}

/** Moves the simulator's clock on an hour: every sign-in JWT issued so far has run out; refresh tokens (a day) have not. */
const jwtsRunOut = () => stack.sim.setOptions({ clock: () => Date.now() + 3_600_000 });

const configures = (token?: string) =>
  stack.sim.received.filter(
    (f) => f.frame?.action === 'configureAuthenticatedSession' && (token === undefined || f.frame.token === token),
  );
const restCalls = (target: string) => stack.sim.requests.filter((r) => r.target === target);

async function signedInSession(customer: string) {
  const before = configures().length;
  const res = await post('/guest-session', { auth: await signInAt(stack.sim, customer) });
  expect([res.status, res.body.code]).toEqual([201, undefined]);
  const frame = configures().slice(before)[0]!.frame;
  return {
    token: res.body.sessionToken as string,
    body: res.body,
    gt: frame.token as string,
    jwt: frame.data.code as string,
  };
}

test('a sign-in starts an authenticated session: the exchange and the configure frame have the shapes Genesys takes', async () => {
  const exchangesBefore = restCalls('signInExchange').length;
  const grant = await signInAt(stack.sim, 'customer-a');
  const res = await post('/guest-session', { auth: grant, attributes: { plan: 'gold' } });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ authenticated: true, newSession: true, attributes: { plan: 'gold' } });

  const [exchange] = restCalls('signInExchange').slice(exchangesBefore);
  expect(exchange!.method).toBe('POST');
  expect(exchange!.headers.authorization).toBeUndefined();
  expect(JSON.parse(exchange!.body)).toEqual({ deploymentId: stack.sim.deploymentId, oauth: grant });

  const frame = configures().at(-1)!.frame;
  expect(frame).toMatchObject({
    action: 'configureAuthenticatedSession',
    deploymentId: stack.sim.deploymentId,
    startNew: false,
    data: { code: expect.any(String) },
  });
  expect(jwtPayload(frame.data.code)).toMatchObject({ sub: 'customer-a' });
  // Never an anonymous configure for this guest token.
  expect(
    stack.sim.received.filter((f) => f.frame?.action === 'configureSession' && f.frame.token === frame.token),
  ).toEqual([]);
  expect(res.text).not.toContain(frame.data.code);
});

test('an identity token and a sign-in combine: the identity attributes stay locked in the signed-in session', async () => {
  const res = await post('/guest-session', {
    auth: await signInAt(stack.sim, 'customer-i'),
    identityToken: await identityToken({ sub: 'shop-991', attributes: { tier: 'gold' } }),
  });
  expect([res.status, res.body.authenticated]).toEqual([201, true]);
  expect(res.body.attributes).toMatchObject({ customerId: 'shop-991', tier: 'gold', identityVerified: 'true' });
  const change = await stack.http
    .patch('/guest-attributes')
    .set(bearer(res.body.sessionToken))
    .send({ tier: 'platinum' });
  expect([change.status, change.body.code]).toEqual([403, 'attribute_locked']);
});

test('a bad or reused code is 401 reauthentication_required, and nothing reaches the Guest API', async () => {
  const grant = await signInAt(stack.sim, 'customer-b');
  expect((await post('/guest-session', { auth: grant })).status).toBe(201);
  const before = stack.sim.received.length;
  const reused = await post('/guest-session', { auth: grant });
  expect([reused.status, reused.body.code]).toEqual([401, 'reauthentication_required']);
  const forged = await post('/guest-session', { auth: { code: 'not-a-code', redirectUri: REDIRECT_URI } });
  expect([forged.status, forged.body.code]).toEqual([401, 'reauthentication_required']);
  const wrongVerifier = await post('/guest-session', {
    auth: { ...(await signInAt(stack.sim, 'customer-b')), codeVerifier: 'x'.repeat(43) },
  });
  expect(wrongVerifier.body.code).toBe('reauthentication_required');
  expect(stack.sim.received.slice(before)).toEqual([]);
});

test('without sign-in set up for the deployment: Genesys refuses the exchange, answered 422 authentication_disabled', async () => {
  stack.sim.setOptions({ authEnabled: false });
  // The deployment's configuration is cached for a second (DEPLOYMENT_CACHE_TTL_SECONDS in the test stack); only the
  // explanation of Genesys's refusal waits for it, never the decision.
  await waitFor(
    async () =>
      (await post('/guest-session', { auth: { code: 'c', redirectUri: REDIRECT_URI } })).body.code ===
      'authentication_disabled',
    15_000,
    100,
  );
  const exchanges = restCalls('signInExchange').length;
  const guestFrames = stack.sim.received.length;
  const res = await post('/guest-session', { auth: await signInAt(stack.sim, 'customer-c') });
  expect([res.status, res.body.code]).toEqual([422, 'authentication_disabled']);
  expect(res.body.detail).toMatch(/Genesys refused the sign-in/);
  // The SDK asks Genesys (MT `AuthHandlerImpl.authorize` checks no configuration): so does the service.
  expect(restCalls('signInExchange').length).toBe(exchanges + 1);
  expect(stack.sim.received.slice(guestFrames)).toEqual([]);
  stack.sim.setOptions({ authEnabled: true });
  // Later tests expect a refused code explained as one to renew: wait until the configuration is read anew.
  await waitFor(
    async () =>
      (await post('/guest-session', { auth: { code: 'c', redirectUri: REDIRECT_URI } })).body.code ===
      'reauthentication_required',
    15_000,
    100,
  );
  expect((await post('/guest-session', { auth: await signInAt(stack.sim, 'customer-c') })).status).toBe(201);
});

test('a JWT Genesys refuses (401) is refreshed and the session configured again; the renewed JWT goes into the next token', async () => {
  const { token, gt, jwt } = await signedInSession('customer-d');
  // The JWT runs out, and the upstream socket drops: the next request configures again.
  jwtsRunOut();
  stack.sim.faults.dropSocket(gt);
  const refreshes = restCalls('signInRefresh').length;
  const sent = await post('/messages', { text: 'still me' }, token);
  expect(sent.status).toBe(201);

  const [refresh] = restCalls('signInRefresh').slice(refreshes);
  expect(refresh!.headers.authorization).toBeUndefined();
  const refreshToken = JSON.parse(refresh!.body).refreshToken as string;
  expect(JSON.parse(refresh!.body)).toEqual({ refreshToken: expect.any(String), deploymentId: stack.sim.deploymentId });
  const frames = configures(gt).map((f) => f.frame.data.code as string);
  expect(frames.at(-2)).toBe(jwt);
  const renewed = frames.at(-1)!;
  expect(renewed).not.toBe(jwt);

  // The answer's session token carries the renewed JWT (sealed), for whichever instance serves it next.
  const tokens = new SessionTokens(
    new Sealer(deriveKeys(stack.config.process.session.secrets)),
    stack.config.process.session.ttlSeconds,
  );
  expect((await tokens.open(sent.body.sessionToken, PAGE_ORIGIN)).signIn).toEqual({ jwt: renewed, refreshToken });
  // Another socket drop: the renewed JWT is used with no second refresh.
  stack.sim.faults.dropSocket(gt);
  expect((await post('/messages', { text: 'and again' }, sent.body.sessionToken)).status).toBe(201);
  expect(configures(gt).at(-1)!.frame.data.code).toBe(renewed);
  expect(restCalls('signInRefresh').length).toBe(refreshes + 1);

  // Neither credential ever reached a browser or a log line.
  for (const secret of [jwt, renewed, refreshToken]) {
    for (const answer of answers) expect(answer).not.toContain(secret);
    expect(stack.log.text()).not.toContain(secret);
  }
});

test('sign-in mid-chat keeps the conversation, on the same socket and guest token', async () => {
  const anonymous = await stack.newSession();
  const gt = stack.sim.received.filter((f) => f.frame?.action === 'configureSession').at(-1)!;
  const live = await stream(anonymous.token);
  expect((await post('/messages', { text: 'before signing in' }, anonymous.token)).status).toBe(201);

  const res = await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-e') }, anonymous.token);
  expect([res.status, res.body.authenticated]).toEqual([200, true]);
  const upgrade = configures(gt.frame.token).at(-1)!;
  expect(upgrade.connectionId).toBe(gt.connectionId);
  await live.next((e) => e.event === 'session' && dataOf(e).state === 'signed_in');

  const history = await get('/messages', res.body.sessionToken);
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toContain('before signing in');
  // Signed in already: a second sign-in is a conflict.
  expect(
    (await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-e') }, res.body.sessionToken))
      .status,
  ).toBe(409);
  live.close();
});

test('a sign-in mid-chat refuses every token of the conversation issued before it (session fixation): reads, sends and tickets', async () => {
  const anonymous = await stack.newSession();
  const ticket = (await post('/messages/stream-ticket', {}, anonymous.token)).body.ticket as string;
  const res = await post(
    '/guest-session/sign-in',
    { auth: await signInAt(stack.sim, 'customer-fixed') },
    anonymous.token,
  );
  expect([res.status, res.body.authenticated]).toEqual([200, true]);

  const read = await get('/messages', anonymous.token);
  expect([read.status, read.body.code]).toEqual([401, 'unauthorized']);
  const sent = await post('/messages', { text: 'sent with the old anonymous token' }, anonymous.token);
  expect([sent.status, sent.body.code]).toEqual([401, 'unauthorized']);
  const streamed = await fetch(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    headers: { Origin: PAGE_ORIGIN },
  });
  expect(streamed.status).toBe(401);
  await streamed.body?.cancel();
  // The token the sign-in answered with, and every one after it, work.
  expect((await post('/messages', { text: 'signed in now' }, res.body.sessionToken)).status).toBe(201);
  expect((await get('/messages', res.body.sessionToken)).status).toBe(200);
});

describe('a sign-in sent again (its answer lost on the way)', () => {
  const exchanges = () => stack.sim.requests.filter((r) => r.path.endsWith('/oauthcodegrantjwtexchange')).length;

  test('with the same grant and the token it replaced: the signed-in token, the code exchanged once; with any other grant, 401 and nothing asked of Genesys', async () => {
    const anonymous = await stack.newSession();
    const auth = await signInAt(stack.sim, 'customer-lost-answer');
    const before = exchanges();
    const first = await post('/guest-session/sign-in', { auth }, anonymous.token);
    expect([first.status, first.body.authenticated]).toEqual([200, true]);
    // The page never read that answer: it holds the anonymous token, which opens nothing else now.
    expect((await get('/messages', anonymous.token)).status).toBe(401);

    const stepUps = configures().length;
    const again = await post('/guest-session/sign-in', { auth }, anonymous.token);
    expect([again.status, again.body.authenticated]).toEqual([200, true]);
    // Nothing asked of Genesys again: the code is not exchanged twice, the socket is signed in already.
    expect(exchanges()).toBe(before + 1);
    expect(configures()).toHaveLength(stepUps);
    expect((await post('/messages', { text: 'signed in after all' }, again.body.sessionToken)).status).toBe(201);
    // The token the lost answer carried still works too: the retry cut nothing more off.
    expect((await get('/messages', first.body.sessionToken)).status).toBe(200);

    // Someone else holding the replaced token, with a grant of their own: refused before Genesys is asked.
    const intruder = await signInAt(stack.sim, 'customer-intruder');
    const configuresBefore = configures().length;
    const refused = await post('/guest-session/sign-in', { auth: intruder }, anonymous.token);
    expect([refused.status, refused.body.code]).toEqual([401, 'unauthorized']);
    expect(exchanges()).toBe(before + 1);
    expect(configures()).toHaveLength(configuresBefore);
  });

  test('with a new grant through another instance, where Genesys refuses an anonymous configure (4017): signed in there, for the same customer only', async () => {
    // The sign-in went through this instance, whose answer was lost; the page, sent to another instance that never
    // heard of it (no shared store here), signs in again with a new code.
    const anonymous = await stack.newSession();
    const first = await post(
      '/guest-session/sign-in',
      { auth: await signInAt(stack.sim, 'customer-n') },
      anonymous.token,
    );
    expect([first.status, first.body.authenticated]).toEqual([200, true]);
    const other = await startStack({ simulator: stack.sim });
    try {
      const intruder = await post(
        '/guest-session/sign-in',
        { auth: await signInAt(stack.sim, 'customer-not-n') },
        anonymous.token,
        other.http,
      );
      expect(intruder.status).not.toBe(200);
      const again = await post(
        '/guest-session/sign-in',
        { auth: await signInAt(stack.sim, 'customer-n') },
        anonymous.token,
        other.http,
      );
      expect([again.status, again.body.authenticated]).toEqual([200, true]);
      expect((await post('/messages', { text: 'signed in again' }, again.body.sessionToken, other.http)).status).toBe(
        201,
      );
    } finally {
      await other.close();
    }
  });
});

test('sign-in and sign-out attempts are limited per session and per address (429 with Retry-After) before Genesys is asked; redirectUri must be a callback of the site', async () => {
  const limited = await startStack({
    simulator: stack.sim,
    env: {
      SIGN_INS_PER_SESSION_PER_MINUTE: '2',
      SIGN_INS_PER_IP_PER_MINUTE: '5',
      SIGN_IN_REDIRECT_URIS: `${REDIRECT_URI},https://shop.example.com/callback`,
    },
  });
  try {
    const bogus = { auth: { code: 'bogus-code', redirectUri: REDIRECT_URI } };
    const a = await limited.newSession();
    const exchanges = restCalls('signInExchange').length;
    for (let i = 0; i < 2; i++)
      expect((await post('/guest-session/sign-in', bogus, a.token, limited.http)).body.code).toBe(
        'reauthentication_required',
      );
    expect(restCalls('signInExchange').length).toBe(exchanges + 2);
    const perSession = await post('/guest-session/sign-in', bogus, a.token, limited.http);
    expect([perSession.status, perSession.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(perSession.headers['retry-after'])).toBeGreaterThan(0);
    // Sign-outs count in the same window.
    expect((await post('/guest-session/sign-out', {}, a.token, limited.http)).status).toBe(429);

    const b = await limited.newSession();
    expect((await post('/guest-session/sign-in', bogus, b.token, limited.http)).body.code).toBe(
      'reauthentication_required',
    );
    // The address has made its five attempts (the refused ones count too): a sixth, even one starting a new signed-in session, is refused.
    const perIp = await post('/guest-session', bogus, undefined, limited.http);
    expect([perIp.status, perIp.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(perIp.headers['retry-after'])).toBeGreaterThan(0);
    expect(restCalls('signInExchange').length).toBe(exchanges + 3);
  } finally {
    await limited.close();
  }

  // Only the configured callbacks exactly; with none configured, a page of an allowed origin.
  const exact = await startStack({ simulator: stack.sim, env: { SIGN_IN_REDIRECT_URIS: REDIRECT_URI } });
  try {
    const c = await exact.newSession();
    const exchanges = restCalls('signInExchange').length;
    for (const redirectUri of [
      `${REDIRECT_URI}/../elsewhere`,
      'http://localhost:3000/other',
      'https://evil.example.net/signed-in',
    ]) {
      const res = await post(
        '/guest-session/sign-in',
        { auth: { code: 'some-code', redirectUri } },
        c.token,
        exact.http,
      );
      expect({ redirectUri, status: res.status, code: res.body.code }).toEqual({
        redirectUri,
        status: 400,
        code: 'validation_failed',
      });
    }
    expect(restCalls('signInExchange').length).toBe(exchanges);
  } finally {
    await exact.close();
  }
  const anon = await stack.newSession();
  const exchanges = restCalls('signInExchange').length;
  const foreign = await post(
    '/guest-session/sign-in',
    { auth: { code: 'some-code', redirectUri: 'https://evil.example.net/signed-in' } },
    anon.token,
  );
  expect([foreign.status, foreign.body.code]).toEqual([400, 'validation_failed']);
  const foreignStart = await post('/guest-session', {
    auth: { code: 'some-code', redirectUri: 'https://shop.example.com.evil.example.net/cb' },
  });
  expect([foreignStart.status, foreignStart.body.code]).toEqual([400, 'validation_failed']);
  expect(restCalls('signInExchange').length).toBe(exchanges);
});

test('sign-in mid-chat where the deployment does not allow upgrades: Genesys refuses the step-up, 422, and the chat goes on anonymously', async () => {
  stack.sim.setOptions({ allowSessionUpgrade: false });
  const anonymous = await stack.newGuest();
  const steps = configures(anonymous.gt).length;
  const refused = await post(
    '/guest-session/sign-in',
    { auth: await signInAt(stack.sim, 'customer-f') },
    anonymous.token,
  );
  expect([refused.status, refused.body.code]).toEqual([422, 'authentication_disabled']);
  // Asked of Genesys on the session's socket, as the SDK's `stepUpToAuthenticatedSession` does, whatever config.json says.
  expect(configures(anonymous.gt).length).toBe(steps + 1);
  // The session stays anonymous: a reconnect configures it so, and sends go on.
  const anonymousConfigures = () =>
    stack.sim.received.filter((f) => f.frame?.action === 'configureSession' && f.frame.token === anonymous.gt);
  const before = anonymousConfigures().length;
  stack.sim.faults.dropSocket(anonymous.gt);
  expect((await post('/messages', { text: 'anonymous still' }, anonymous.token)).status).toBe(201);
  expect(anonymousConfigures().length).toBeGreaterThan(before);
  expect(configures(anonymous.gt).length).toBe(steps + 1);
  stack.sim.setOptions({ allowSessionUpgrade: true });
});

test('one conversation across devices; signing out revokes at Genesys and every device is told', async () => {
  const phone = await signedInSession('customer-g');
  expect((await post('/messages', { text: 'from my phone' }, phone.token)).status).toBe(201);
  const laptop = await signedInSession('customer-g');
  expect(laptop.body.newSession).toBe(false);
  const history = await get('/messages', laptop.token);
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toContain('from my phone');

  const phoneStream = await stream(phone.token);
  const laptopStream = await stream(laptop.token);
  await post('/messages', { text: 'now from the laptop' }, laptop.token);
  await phoneStream.next((e) => e.event === 'message' && dataOf(e).text === 'now from the laptop');

  const keys = browserKeys();
  const subscription = {
    endpoint: 'https://push.example.com/send/phone',
    keys: { p256dh: keys.p256dh, auth: keys.auth },
  };
  expect((await stack.http.put('/notifications/push').set(bearer(phone.token)).send(subscription)).status).toBe(204);
  const store = stack.service.deployments.all[0]!.store;
  const pushRecord = `notify:${sessionKeyOf(phone.gt)}`;
  expect(await store.get(pushRecord)).toBeDefined();

  const revokes = restCalls('signInRevoke').length;
  const out = await stack.http.post('/guest-session/sign-out').set(bearer(phone.token));
  expect(out.status).toBe(204);
  // The chat ended: its push subscription went with it, so no reply is pushed to a customer who signed out.
  expect(await store.get(pushRecord)).toBeUndefined();
  const [revoke] = restCalls('signInRevoke').slice(revokes);
  expect(revoke!.method).toBe('DELETE');
  expect(revoke!.headers.authorization).toBe(`bearer ${phone.jwt}`);

  for (const device of [phoneStream, laptopStream]) {
    const last = await device.next((e) => e.event === 'session' && dataOf(e).state === 'signed_out');
    expect(dataOf(last).reconnect).toBe(false);
  }
  // This device's token opens nothing; the other device must sign in again.
  expect((await get('/guest-session', phone.token)).status).toBe(410);
  const other = await get('/guest-session', laptop.token);
  expect([other.status, other.body.code]).toEqual([401, 'reauthentication_required']);
});

test('signing out an anonymous session is a conflict; resuming with `auth` points to sign-in', async () => {
  const { token } = await stack.newSession();
  expect((await stack.http.post('/guest-session/sign-out').set(bearer(token))).status).toBe(409);
  const resumed = await post('/guest-session', { auth: { code: 'c', redirectUri: REDIRECT_URI } }, token);
  expect([resumed.status, resumed.body.code]).toEqual([400, 'validation_failed']);
  expect(resumed.body.detail).toContain('/guest-session/sign-in');
});

test('the implicit flow: an ID token signs in, but cannot be renewed: once Genesys refuses its JWT, sign in again', async () => {
  const grant = await signInAt(stack.sim, 'customer-h', { nonce: 'nonce-h' });
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: stack.sim.signIn.clientId,
    code: grant.code,
    redirect_uri: grant.redirectUri,
    code_verifier: grant.codeVerifier,
  });
  const { id_token: idToken } = (await (
    await fetch(`${stack.sim.url}/oidc/token`, { method: 'POST', body: form })
  ).json()) as { id_token: string };
  const before = configures().length;
  const res = await post('/guest-session', { auth: { idToken, nonce: 'nonce-h' } });
  expect([res.status, res.body.authenticated]).toEqual([201, true]);
  const { token: gt } = configures().slice(before)[0]!.frame;
  jwtsRunOut();
  stack.sim.faults.dropSocket(gt);
  const refreshes = restCalls('signInRefresh').length;
  const sent = await post('/messages', { text: 'hello?' }, res.body.sessionToken);
  expect([sent.status, sent.body.code]).toEqual([401, 'reauthentication_required']);
  expect(restCalls('signInRefresh').length).toBe(refreshes);
});

test('a sign-in body that is neither a code nor an ID token is refused whole', async () => {
  for (const auth of [
    {},
    { code: 'c' },
    { idToken: 't' },
    { code: 'c', redirectUri: 'not a url' },
    { code: 'c', redirectUri: REDIRECT_URI, extra: 1 },
  ]) {
    const res = await post('/guest-session', { auth });
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
  }
});

test("a customer signs in mid-chat on another device: the older signed-in device's stream hears signed_in_elsewhere, and the new one keeps its conversation", async () => {
  const older = await signedInSession('customer-j');
  const olderStream = await stream(older.token);
  const anonymous = await stack.newSession();
  expect((await post('/messages', { text: 'written anonymously' }, anonymous.token)).status).toBe(201);

  const res = await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-j') }, anonymous.token);
  expect([res.status, res.body.authenticated]).toEqual([200, true]);
  const last = await olderStream.next((e) => e.event === 'session' && dataOf(e).state === 'signed_in_elsewhere');
  expect(dataOf(last).reconnect).toBe(false);
  const history = await get('/messages', res.body.sessionToken);
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toContain('written anonymously');
});

test('a sign-in through another instance (the stream stayed on the first) ends that stream with reconnect: true, and the chat goes on', async () => {
  // Around a restart a session's requests move while its stream stays; Genesys closes the stream's
  // connection with signedIn when the sign-in goes through the other instance: the same chat, not another.
  const anonymous = await stack.newSession();
  const live = await stream(anonymous.token);
  const other = await startStack({ simulator: stack.sim });
  try {
    const auth = await signInAt(stack.sim, 'customer-m');
    const res = await post('/guest-session/sign-in', { auth }, anonymous.token, other.http);
    expect([res.status, res.body.authenticated]).toEqual([200, true]);
    const last = await live.next((e) => e.event === 'session' && dataOf(e).reconnect !== undefined);
    expect(dataOf(last)).toMatchObject({ state: 'unavailable', reconnect: true });
    const again = await openStream(`${other.service.url}/messages/stream`, bearer(res.body.sessionToken));
    streams.push(again);
    await again.next((e) => e.event === 'session' && dataOf(e).state === 'open');
    expect((await post('/messages', { text: 'signed in now' }, res.body.sessionToken, other.http)).status).toBe(201);
    await again.next((e) => e.event === 'message' && dataOf(e).text === 'signed in now');
  } finally {
    await other.close();
  }
});

test('a signed-in session resumed on another instance configures with the JWT sealed in its token, and renews it once Genesys refuses it', async () => {
  const { token, gt, jwt } = await signedInSession('customer-k');
  const other = await startStack({ simulator: stack.sim });
  try {
    // Another instance, the same JWT: no refresh needed.
    const refreshes = restCalls('signInRefresh').length;
    let before = configures(gt).length;
    const resumed = await post('/guest-session', {}, token, other.http);
    expect([resumed.status, resumed.body.authenticated]).toEqual([200, true]);
    expect(
      configures(gt)
        .slice(before)
        .map((f) => f.frame.data.code),
    ).toEqual([jwt]);
    expect(restCalls('signInRefresh').length).toBe(refreshes);

    // Genesys no longer takes that JWT: the next configure (after a drop) renews it.
    jwtsRunOut();
    stack.sim.faults.dropSocket(gt);
    before = configures(gt).length;
    const sent = await post('/messages', { text: 'from the second instance' }, resumed.body.sessionToken, other.http);
    expect(sent.status).toBe(201);
    const codes = configures(gt)
      .slice(before)
      .map((f) => f.frame.data.code as string);
    expect(codes[0]).toBe(jwt);
    expect(codes.at(-1)).not.toBe(jwt);
    expect(restCalls('signInRefresh').length).toBe(refreshes + 1);
    expect(
      (await get('/messages', sent.body.sessionToken, other.http)).body.messages.map((m: { text?: string }) => m.text),
    ).toContain('from the second instance');
  } finally {
    await other.close();
  }
});

test('a first sign-in through an instance that had not opened the session opens it as it is (anonymous), then steps it up on that socket', async () => {
  const anonymous = await stack.newGuest();
  const other = await startStack({ simulator: stack.sim });
  try {
    const auth = await signInAt(stack.sim, 'customer-first-elsewhere');
    const before = stack.sim.received.length;
    const res = await post('/guest-session/sign-in', { auth }, anonymous.token, other.http);
    expect([res.status, res.body.authenticated]).toEqual([200, true]);
    const [opened, steppedUp] = stack.sim.received
      .slice(before)
      .filter((f) => f.frame?.token === anonymous.gt && String(f.frame?.action).startsWith('configure'));
    expect([opened?.frame.action, steppedUp?.frame.action]).toEqual([
      'configureSession',
      'configureAuthenticatedSession',
    ]);
    expect(steppedUp!.connectionId).toBe(opened!.connectionId);
  } finally {
    await other.close();
  }
});

test('no JWT or refresh token Genesys issued in this file ever reached a response body, a stream event or a log line', async () => {
  for (const s of streams) s.close();
  const tokens = new SessionTokens(
    new Sealer(deriveKeys(stack.config.process.session.secrets)),
    stack.config.process.session.ttlSeconds,
  );
  const secrets = new Set<string>();
  for (const f of configures()) secrets.add(f.frame.data.code as string);
  for (const r of restCalls('signInRefresh')) secrets.add(JSON.parse(r.body).refreshToken as string);
  for (const r of restCalls('signInRevoke')) secrets.add(String(r.headers.authorization).replace(/^bearer /i, ''));
  // Every sign-in sealed into a session token this file was handed, refresh tokens never used included.
  for (const answer of answers) {
    const sessionToken = (JSON.parse(answer || '{}') as { sessionToken?: string }).sessionToken;
    const signIn = sessionToken ? (await tokens.open(sessionToken, PAGE_ORIGIN)).signIn : undefined;
    if (signIn) for (const secret of [signIn.jwt, signIn.refreshToken]) if (secret) secrets.add(secret);
  }
  expect(secrets.size).toBeGreaterThan(20);
  const seen = [...answers, ...streams.flatMap((s) => s.events.map((e) => e.data))].join('\n');
  const logged = stack.log.text();
  // A JWT's payload alone (a truncated line) would give the customer away too.
  const parts = [...secrets].flatMap((secret) => [secret, ...secret.split('.').filter((part) => part.length > 40)]);
  expect(parts.filter((part) => seen.includes(part) || logged.includes(part))).toEqual([]);
});
