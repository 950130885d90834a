import { BffClient, memoryTokenStore } from '../../client/src';

/**
 * client.signIn and client.signOut as the requests they make (against the service: bffClient.test.ts, useChat.test.tsx):
 * without a session held, a sign-in starts a signed-in session; a sign-out lets go of the token whatever the
 * service answers.
 */

interface Call {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

const grant = { code: 'c0de', redirectUri: 'http://localhost:3000/signed-in', codeVerifier: 'v'.repeat(43) };
const session = (token: string) => ({
  sessionToken: token,
  routingKey: 'rk-1',
  streamPosition: '0',
  expiresAt: '2026-03-04T16:00:00Z',
  newSession: true,
  authenticated: true,
});

/** A client whose fetch answers `answer(call)` and records each call; the store holds `held` at the start. */
function clientAnswering(answer: (call: Call) => Response, held?: string) {
  const calls: Call[] = [];
  const store = memoryTokenStore();
  if (held) store.set(held);
  const client = new BffClient({
    baseUrl: 'http://bff.test',
    tokenStore: store,
    fetch: async (input, init = {}) => {
      const call = {
        method: init.method ?? 'GET',
        path: new URL(String(input)).pathname,
        authorization: new Headers(init.headers).get('authorization'),
        body: init.body === undefined ? undefined : JSON.parse(String(init.body)),
      };
      calls.push(call);
      return answer(call);
    },
    sleep: async () => undefined,
  });
  return { client, calls, store };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

test('without a session held, signIn starts a signed-in session: POST /guest-session with the grant, no token', async () => {
  const { client, calls, store } = clientAnswering(() => json(201, session('signed-in-token')));
  const started = await client.signIn(grant);
  expect(calls).toEqual([{ method: 'POST', path: '/guest-session', authorization: null, body: { auth: grant } }]);
  expect(started).toMatchObject({ authenticated: true, resumed: false });
  expect([client.sessionToken, store.get()]).toEqual(['signed-in-token', 'signed-in-token']);
});

test('with a session held, signIn goes on with it: POST /guest-session/sign-in with its token and the grant', async () => {
  const { client, calls } = clientAnswering(() => json(200, session('signed-in-token')), 'guest-token');
  await client.signIn(grant);
  expect(calls).toEqual([
    { method: 'POST', path: '/guest-session/sign-in', authorization: 'Bearer guest-token', body: { auth: grant } },
  ]);
  expect(client.sessionToken).toBe('signed-in-token');
});

test('signOut forgets the token once the service answers, with no stream open to hear signed_out', async () => {
  const { client, calls, store } = clientAnswering(() => new Response(null, { status: 204 }), 'held-token');
  await client.signOut();
  expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
    ['POST', '/guest-session/sign-out', 'Bearer held-token'],
  ]);
  expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
});

test('signOut refused for now still forgets the token, and says why', async () => {
  const { client, store } = clientAnswering(
    () => json(503, { status: 503, code: 'upstream_unavailable', title: 'Genesys is unavailable' }),
    'held-token',
  );
  await expect(client.signOut()).rejects.toMatchObject({ status: 503, code: 'upstream_unavailable' });
  expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
});
