import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { isClass, RawGuest, type Frame } from '../support/rawGuest';
import { REDIRECT_URI, signInAt } from '../support/signIn';

/**
 * @simulator kind it tests the default profile's sign-in, which the strict one only reshapes
 */
/** The simulator's authenticated messaging: its identity provider, token endpoints and signed-in sessions. */
let sim: Simulator;
const guests: RawGuest[] = [];

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
});
afterEach(async () => {
  await Promise.all(guests.splice(0).map((g) => g.close()));
  sim.reset();
  sim.setOptions({ authEnabled: true, allowSessionUpgrade: true });
});
afterAll(() => sim.stop());

async function connect(): Promise<RawGuest> {
  const guest = await RawGuest.connect(sim);
  guests.push(guest);
  return guest;
}

async function jwtFor(customer: string): Promise<string> {
  const res = await fetch(`${sim.urls.apiUrl}/api/v2/webdeployments/token/oauthcodegrantjwtexchange`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ deploymentId: sim.deploymentId, oauth: await signInAt(sim, customer) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { jwt: string }).jwt;
}

const configureSignedIn = (guest: RawGuest, token: string, jwt: string) =>
  guest.request({
    action: 'configureAuthenticatedSession',
    token,
    deploymentId: sim.deploymentId,
    startNew: false,
    data: { code: jwt },
  });
const isSignInPresence = (f: Frame) =>
  isClass('StructuredMessage')(f) && f.body.direction === 'Inbound' && f.body.events?.[0]?.presence?.type === 'SignIn';

describe('the demo identity provider', () => {
  const authorize = (params: Record<string, string>) =>
    fetch(`${sim.url}/oidc/authorize?${new URLSearchParams(params)}`);
  const valid = {
    response_type: 'code',
    client_id: 'demo-chat',
    redirect_uri: REDIRECT_URI,
    state: 's',
    code_challenge: 'c',
    code_challenge_method: 'S256',
  };

  test('the sign-in page carries the request along, escaped', async () => {
    const res = await authorize({ ...valid, state: '"><script>alert(1)</script>' });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Sign in as a demo customer');
    expect(page).not.toContain('<script>');
    expect(page).toContain('&quot;&gt;&lt;script&gt;');
  });

  test.each([
    ['response_type', { response_type: 'token' }],
    ['client_id', { client_id: 'someone-else' }],
    ['redirect_uri', { redirect_uri: 'javascript:alert(1)' }],
    ['code_challenge_method', { code_challenge_method: 'plain' }],
  ])('refuses a request with a bad %s', async (_name, change) => {
    expect((await authorize({ ...valid, ...change })).status).toBe(400);
  });

  test('a code is good once, for its redirect URI and PKCE verifier only', async () => {
    const grant = await signInAt(sim, 'c-1');
    const redeem = (g: Record<string, string>) =>
      fetch(`${sim.url}/oidc/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'demo-chat', ...g }),
      });
    const wrongVerifier = await signInAt(sim, 'c-1');
    expect(
      (await redeem({ code: wrongVerifier.code, redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) })).status,
    ).toBe(400);
    const wrongUri = await signInAt(sim, 'c-1');
    expect(
      (
        await redeem({
          code: wrongUri.code,
          redirect_uri: 'http://localhost:3000/elsewhere',
          code_verifier: wrongUri.codeVerifier,
        })
      ).status,
    ).toBe(400);
    const ok = await redeem({ code: grant.code, redirect_uri: REDIRECT_URI, code_verifier: grant.codeVerifier });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ id_token: expect.stringMatching(/^eyJ/), token_type: 'Bearer' });
    expect(
      (await redeem({ code: grant.code, redirect_uri: REDIRECT_URI, code_verifier: grant.codeVerifier })).status,
    ).toBe(400);
  });

  test('discovery names the endpoints', async () => {
    const doc = (await (await fetch(`${sim.url}/oidc/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc).toMatchObject({
      authorization_endpoint: sim.signIn.authorizeUrl,
      token_endpoint: `${sim.url}/oidc/token`,
      code_challenge_methods_supported: ['S256'],
    });
  });
});

describe('signed-in sessions', () => {
  test('a refused JWT is a 401 "User is unauthorized"; a sign-in cannot be dropped (4017)', async () => {
    const guest = await connect();
    const token = randomUUID();
    const refused = await configureSignedIn(guest, token, 'eyJub3QiOiJ2YWxpZCJ9.e30.x');
    expect(refused).toMatchObject({ class: 'string', code: 401, body: 'User is unauthorized' });
    expect(await configureSignedIn(guest, token, await jwtFor('c-2'))).toMatchObject({
      class: 'SessionResponse',
      body: { newSession: true },
    });
    await guest.next(isSignInPresence, 'the SignIn presence');
    const other = await connect();
    expect(await other.configure(sim, token)).toMatchObject({ class: 'string', code: 4017 });
  });

  test('one conversation per customer: a second device joins it and gets its messages', async () => {
    const phone = await connect();
    const phoneToken = randomUUID();
    await configureSignedIn(phone, phoneToken, await jwtFor('c-3'));
    await phone.say(phoneToken, 'hello from the phone');
    const laptop = await connect();
    const laptopToken = randomUUID();
    expect(await configureSignedIn(laptop, laptopToken, await jwtFor('c-3'))).toMatchObject({
      body: { newSession: false },
    });
    await laptop.say(laptopToken, 'and from the laptop');
    await phone.next(
      (f) => isClass('StructuredMessage')(f) && f.body.text === 'and from the laptop',
      'the laptop message on the phone',
    );
    expect(sim.conversationMessages(laptopToken).map((m) => (m as { text?: string }).text)).toContain(
      'hello from the phone',
    );
  });

  test("step-up keeps the conversation; the session's other connections close with signedIn; an older one of the customer is cleared", async () => {
    const older = await connect();
    await configureSignedIn(older, randomUUID(), await jwtFor('c-4'));
    const guest = await connect();
    const peer = await connect();
    const token = randomUUID();
    await guest.configure(sim, token);
    await peer.configure(sim, token);
    await guest.say(token, 'anonymous words');
    const reply = await configureSignedIn(guest, token, await jwtFor('c-4'));
    expect(reply).toMatchObject({ class: 'SessionResponse', body: { clearedExistingSession: true } });
    for (const closed of [peer, older]) {
      expect(await closed.next(isClass('ConnectionClosedEvent'), 'the close')).toMatchObject({
        body: { reason: 'signedIn' },
      });
    }
    await guest.next(isSignInPresence, 'the SignIn presence');
    expect(sim.conversationMessages(token).map((m) => (m as { text?: string }).text)).toContain('anonymous words');
  });

  test('no upgrades allowed, or no sign-in at all: refused', async () => {
    sim.setOptions({ allowSessionUpgrade: false });
    const guest = await connect();
    const token = randomUUID();
    await guest.configure(sim, token);
    expect(await configureSignedIn(guest, token, await jwtFor('c-5'))).toMatchObject({ class: 'string', code: 403 });
    sim.setOptions({ authEnabled: false });
    expect(await configureSignedIn(guest, randomUUID(), 'eyJ.e30.x')).toMatchObject({ class: 'string', code: 403 });
  });

  test('the revoke signs out every device: LogoutEvent, and the JWT works no more', async () => {
    const jwt = await jwtFor('c-6');
    const devices = [await connect(), await connect()];
    const tokens = [randomUUID(), randomUUID()];
    for (const [i, device] of devices.entries()) await configureSignedIn(device, tokens[i]!, jwt);
    const res = await fetch(`${sim.urls.apiUrl}/api/v2/webdeployments/token/revoke`, {
      method: 'DELETE',
      headers: { Authorization: `bearer ${jwt}` },
    });
    expect(res.status).toBe(204);
    for (const device of devices) await device.next(isClass('LogoutEvent'), 'the LogoutEvent');
    // The connection no longer serves the session, and the old JWT is refused.
    expect(await devices[0]!.say(tokens[0]!, 'still there?')).toMatchObject({ class: 'string', code: 4007 });
    expect(await configureSignedIn(devices[0]!, tokens[0]!, jwt)).toMatchObject({ class: 'string', code: 401 });
  });
});
