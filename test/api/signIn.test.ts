import { deriveKeys, Sealer } from '../../src/session/sealing';
import { SessionTokens } from '../../src/session/sessionToken';
import { dataOf, openStream } from '../support/sse';
import { jwtPayload, REDIRECT_URI, signInAt } from '../support/signIn';
import { waitFor } from '../support/wait';
import { bearer, identityToken, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/** Genesys authenticated messaging through the service (docs/genesys-protocol.md#configureauthenticatedsession). */
let stack: Stack;
/** Every response body this file saw: no Genesys credential may be in one. */
const answers: string[] = [];

beforeAll(async () => {
  stack = await startStack({ sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 } } });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.sim.faults.clear();
  stack.sim.setOptions({ authEnabled: true, allowSessionUpgrade: true, authJwtLifetimeSeconds: 900 });
});

const post = async (path: string, body: object, token?: string) => {
  const req = stack.http.post(path).set(token ? bearer(token) : { Origin: PAGE_ORIGIN });
  const res = await req.send(body);
  answers.push(res.text);
  return res;
};

const configures = (token?: string) =>
  stack.sim.received.filter((f) => f.frame?.action === 'configureAuthenticatedSession' && (token === undefined || f.frame.token === token));
const restCalls = (target: string) => stack.sim.requests.filter((r) => r.target === target);

async function signedInSession(customer: string) {
  const before = configures().length;
  const res = await post('/guest-session', { auth: await signInAt(stack.sim, customer) });
  expect([res.status, res.body.code]).toEqual([201, undefined]);
  const frame = configures().slice(before)[0]!.frame;
  return { token: res.body.sessionToken as string, body: res.body, gt: frame.token as string, jwt: frame.data.code as string };
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
  expect(frame).toMatchObject({ action: 'configureAuthenticatedSession', deploymentId: stack.sim.deploymentId, startNew: false, data: { code: expect.any(String) } });
  expect(jwtPayload(frame.data.code)).toMatchObject({ sub: 'customer-a' });
  // Never an anonymous configure for this guest token.
  expect(stack.sim.received.filter((f) => f.frame?.action === 'configureSession' && f.frame.token === frame.token)).toEqual([]);
  expect(res.text).not.toContain(frame.data.code);
});

test('an identity token and a sign-in combine: the identity attributes stay locked in the signed-in session', async () => {
  const res = await post('/guest-session', { auth: await signInAt(stack.sim, 'customer-i'), identityToken: await identityToken({ sub: 'shop-991', attributes: { tier: 'gold' } }) });
  expect([res.status, res.body.authenticated]).toEqual([201, true]);
  expect(res.body.attributes).toMatchObject({ customerId: 'shop-991', tier: 'gold', identityVerified: 'true' });
  const change = await stack.http.patch('/guest-attributes').set(bearer(res.body.sessionToken)).send({ tier: 'platinum' });
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
  const wrongVerifier = await post('/guest-session', { auth: { ...(await signInAt(stack.sim, 'customer-b')), codeVerifier: 'x'.repeat(43) } });
  expect(wrongVerifier.body.code).toBe('reauthentication_required');
  expect(stack.sim.received.slice(before)).toEqual([]);
});

test('without sign-in set up for the deployment: 422 authentication_disabled, before any exchange', async () => {
  stack.sim.setOptions({ authEnabled: false });
  // The deployment's configuration is cached for a second (DEPLOYMENT_CACHE_TTL_SECONDS in the test stack).
  await waitFor(async () => (await post('/guest-session', { auth: { code: 'c', redirectUri: REDIRECT_URI } })).body.code === 'authentication_disabled', 15_000, 100);
  const exchanges = restCalls('signInExchange').length;
  const res = await post('/guest-session', { auth: await signInAt(stack.sim, 'customer-c') });
  expect([res.status, res.body.code]).toEqual([422, 'authentication_disabled']);
  expect(restCalls('signInExchange').length).toBe(exchanges);
  stack.sim.setOptions({ authEnabled: true });
  await waitFor(async () => (await post('/guest-session', { auth: await signInAt(stack.sim, 'customer-c') })).status === 201, 15_000, 100);
});

test('a JWT Genesys refuses (401) is refreshed and the session configured again; the renewed JWT goes into the next token', async () => {
  stack.sim.setOptions({ authJwtLifetimeSeconds: 1 });
  const { token, gt, jwt } = await signedInSession('customer-d');
  // The JWT expires (it lives a second), and the upstream socket drops: the next request configures again.
  await waitFor(() => Date.now() / 1000 > (jwtPayload(jwt).exp as number), 15_000, 50);
  stack.sim.setOptions({ authJwtLifetimeSeconds: 900 });
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
  const tokens = new SessionTokens(new Sealer(deriveKeys(stack.config.session.secrets)), stack.config.session.ttlSeconds);
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
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(anonymous.token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect((await post('/messages', { text: 'before signing in' }, anonymous.token)).status).toBe(201);

  const res = await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-e') }, anonymous.token);
  expect([res.status, res.body.authenticated]).toEqual([200, true]);
  const upgrade = configures(gt.frame.token).at(-1)!;
  expect(upgrade.connectionId).toBe(gt.connectionId);
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'signed_in');

  const history = await stack.http.get('/messages').set(bearer(res.body.sessionToken));
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toContain('before signing in');
  // Signed in already: a second sign-in is a conflict.
  expect((await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-e') }, res.body.sessionToken)).status).toBe(409);
  stream.close();
});

test('sign-in mid-chat where the deployment does not allow upgrades: 422, and the chat goes on anonymously', async () => {
  stack.sim.setOptions({ allowSessionUpgrade: false });
  const anonymous = await stack.newSession();
  await waitFor(async () => (await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-f') }, anonymous.token)).status === 422, 15_000, 100);
  const refused = await post('/guest-session/sign-in', { auth: await signInAt(stack.sim, 'customer-f') }, anonymous.token);
  expect(refused.body.code).toBe('authentication_disabled');
  expect((await post('/messages', { text: 'anonymous still' }, anonymous.token)).status).toBe(201);
});

test('one conversation across devices; signing out revokes at Genesys and every device is told', async () => {
  const phone = await signedInSession('customer-g');
  expect((await post('/messages', { text: 'from my phone' }, phone.token)).status).toBe(201);
  const laptop = await signedInSession('customer-g');
  expect(laptop.body.newSession).toBe(false);
  const history = await stack.http.get('/messages').set(bearer(laptop.token));
  expect(history.body.messages.map((m: { text?: string }) => m.text)).toContain('from my phone');

  const phoneStream = await openStream(`${stack.service.url}/messages/stream`, bearer(phone.token));
  const laptopStream = await openStream(`${stack.service.url}/messages/stream`, bearer(laptop.token));
  await phoneStream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  await laptopStream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  await post('/messages', { text: 'now from the laptop' }, laptop.token);
  await phoneStream.next((e) => e.event === 'message' && dataOf(e).text === 'now from the laptop');

  const revokes = restCalls('signInRevoke').length;
  const out = await stack.http.post('/guest-session/sign-out').set(bearer(phone.token));
  expect(out.status).toBe(204);
  const [revoke] = restCalls('signInRevoke').slice(revokes);
  expect(revoke!.method).toBe('DELETE');
  expect(revoke!.headers.authorization).toBe(`bearer ${phone.jwt}`);

  for (const stream of [phoneStream, laptopStream]) {
    const last = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'signed_out');
    expect(dataOf(last).reconnect).toBe(false);
  }
  // This device's token opens nothing; the other device must sign in again.
  expect((await stack.http.get('/guest-session').set(bearer(phone.token))).status).toBe(410);
  const other = await stack.http.get('/guest-session').set(bearer(laptop.token));
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
  const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: stack.sim.signIn.clientId, code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.codeVerifier });
  const { id_token: idToken } = (await (await fetch(`${stack.sim.url}/oidc/token`, { method: 'POST', body: form })).json()) as { id_token: string };
  stack.sim.setOptions({ authJwtLifetimeSeconds: 1 });
  const before = configures().length;
  const res = await post('/guest-session', { auth: { idToken, nonce: 'nonce-h' } });
  expect([res.status, res.body.authenticated]).toEqual([201, true]);
  const { token: gt, data } = configures().slice(before)[0]!.frame;
  await waitFor(() => Date.now() / 1000 > (jwtPayload(data.code).exp as number), 15_000, 50);
  stack.sim.faults.dropSocket(gt);
  const refreshes = restCalls('signInRefresh').length;
  const sent = await post('/messages', { text: 'hello?' }, res.body.sessionToken);
  expect([sent.status, sent.body.code]).toEqual([401, 'reauthentication_required']);
  expect(restCalls('signInRefresh').length).toBe(refreshes);
});

test('a sign-in body that is neither a code nor an ID token is refused whole', async () => {
  for (const auth of [{}, { code: 'c' }, { idToken: 't' }, { code: 'c', redirectUri: 'not a url' }, { code: 'c', redirectUri: REDIRECT_URI, extra: 1 }]) {
    const res = await post('/guest-session', { auth });
    expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
  }
});
