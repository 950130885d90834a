import { json, problem, recordingClient } from '../support/recordingClient';

/**
 * client.signIn and client.signOut as the requests they make (against the service: bffClient.test.ts, useChat.test.tsx):
 * without a session held, a sign-in starts a signed-in session; a sign-out lets go of the token whatever the
 * service answers.
 */

const grant = { code: 'c0de', redirectUri: 'http://localhost:3000/signed-in', codeVerifier: 'v'.repeat(43) };
const session = (token: string) => ({
  sessionToken: token,
  routingKey: 'rk-1',
  streamPosition: '0',
  expiresAt: '2026-03-04T16:00:00Z',
  newSession: true,
  authenticated: true,
});

test('without a session held, signIn starts a signed-in session: POST /guest-session with the grant, no token', async () => {
  const { client, calls, store } = recordingClient(() => json(201, session('signed-in-token')));
  const started = await client.signIn(grant);
  expect(calls).toEqual([
    {
      method: 'POST',
      path: '/guest-session',
      routingKey: expect.stringMatching(/.+/),
      authorization: null,
      body: { auth: grant },
    },
  ]);
  expect(started).toMatchObject({ authenticated: true, resumed: false });
  expect([client.sessionToken, store.get()]).toEqual(['signed-in-token', 'signed-in-token']);
});

test('with a session held, signIn goes on with it: POST /guest-session/sign-in with its token and the grant', async () => {
  const { client, calls } = recordingClient(() => json(200, session('signed-in-token')), 'guest-token');
  await client.signIn(grant);
  expect(calls).toEqual([
    {
      method: 'POST',
      path: '/guest-session/sign-in',
      routingKey: null,
      authorization: 'Bearer guest-token',
      body: { auth: grant },
    },
  ]);
  expect(client.sessionToken).toBe('signed-in-token');
});

test('signOut forgets the token once the service answers, with no stream open to hear signed_out', async () => {
  const { client, calls, store } = recordingClient(() => new Response(null, { status: 204 }), 'held-token');
  await client.signOut();
  expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
    ['POST', '/guest-session/sign-out', 'Bearer held-token'],
  ]);
  expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
});

test('signOut refused for now still forgets the token, and says why', async () => {
  const { client, store } = recordingClient(
    () => problem(503, 'upstream_unavailable', 'Genesys is unavailable'),
    'held-token',
  );
  await expect(client.signOut()).rejects.toMatchObject({ status: 503, code: 'upstream_unavailable' });
  expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
});
