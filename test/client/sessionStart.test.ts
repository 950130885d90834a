import { BffClient, memoryTokenStore } from '../../client/src';

/**
 * What a start sends when a session is held (session.test.ts has the plain start, resume and end): the options
 * travel with the resume (`startNew` replaces an ended conversation only there), and a new session started after
 * the held token was refused is asked without it, even when a sign-in in doubt kept that token.
 */

interface Call {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

const session = (token: string) => ({
  sessionToken: token,
  routingKey: 'rk-service',
  streamPosition: 't-1',
  expiresAt: '2026-03-04T16:00:00Z',
  newSession: true,
});
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' },
  });

function clientAnswering(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  const store = memoryTokenStore();
  store.set('guest-token');
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
  return { client, calls };
}

test('a resume carries the options: startNew asks the service to replace the ended conversation', async () => {
  const { client, calls } = clientAnswering(() => json(200, session('guest-token')));
  await client.startSession({ startNew: true });
  expect(calls).toEqual([
    { method: 'POST', path: '/guest-session', authorization: 'Bearer guest-token', body: { startNew: true } },
  ]);
});

test('a sign-in in doubt keeps the token, but the new session started after it was refused is asked without it', async () => {
  const { client, calls } = clientAnswering((call) => {
    if (call.path === '/guest-session/sign-in' || call.path === '/healthz') throw new TypeError('Failed to fetch');
    if (call.authorization) return json(401, { status: 401, code: 'unauthorized', title: 'Unauthorized' });
    return json(201, session('new-token'));
  });
  await expect(
    client.signIn({ code: 'c', redirectUri: 'http://localhost:3000/signed-in', codeVerifier: 'v'.repeat(43) }),
  ).rejects.toMatchObject({ code: 'network_error' });
  const started = await client.startSession();
  const starts = calls.filter((c) => c.path === '/guest-session');
  expect(starts.map((c) => c.authorization)).toEqual(['Bearer guest-token', null]);
  expect(started).toMatchObject({ sessionToken: 'new-token', replacedExpired: true });
});
