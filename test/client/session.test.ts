import { json, problem, recordingClient, scripted } from '../support/recordingClient';

/**
 * The guest session's requests as the client makes them (against the service: bffClient.test.ts): a start without a
 * token, a resume with it, a held token the service no longer knows replaced by a new session, the live stream's
 * starting place taken from each start, and an end that lets go of the token whatever the service answers.
 */

const session = (token: string, streamPosition: string) => ({
  sessionToken: token,
  routingKey: 'rk-service',
  streamPosition,
  expiresAt: '2026-03-04T16:00:00Z',
  newSession: true,
});

const recordingClientOf = (answers: Response[], held?: string) => recordingClient(scripted(answers), held);

describe('startSession', () => {
  test('without a token: a new session, asked without one and with a routing key the client proposes', async () => {
    const { client, calls } = recordingClientOf([json(201, session('t1', 't-1000'))]);
    const started = await client.startSession({ attributes: { page: '/pricing' } });
    expect(calls).toEqual([
      {
        method: 'POST',
        path: '/guest-session',
        routingKey: expect.stringMatching(/.+/),
        authorization: null,
        body: { attributes: { page: '/pricing' } },
      },
    ]);
    expect(started).toMatchObject({ sessionToken: 't1', resumed: false, replacedExpired: false });
    expect(client.streamPosition).toBe('t-1000');
  });

  test('with a token held: resumed with it, and the live stream starts where the resumed answer says', async () => {
    const { client, calls } = recordingClientOf([
      json(201, session('t1', 't-1000')),
      json(200, session('t1', 't-2000')),
    ]);
    await client.startSession();
    const resumed = await client.startSession();
    expect(calls[1]).toMatchObject({ method: 'POST', path: '/guest-session', authorization: 'Bearer t1' });
    expect(resumed).toMatchObject({ resumed: true, replacedExpired: false });
    expect(client.streamPosition).toBe('t-2000');
  });

  test('a held token the service no longer knows: a new session without it, and replacedExpired says so', async () => {
    const { client, calls, store } = recordingClientOf(
      [problem(401, 'unauthorized'), json(201, session('t2', 't-3000'))],
      'old-token',
    );
    const started = await client.startSession();
    expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
      ['POST', '/guest-session', 'Bearer old-token'],
      ['POST', '/guest-session', null],
    ]);
    expect(started).toMatchObject({ sessionToken: 't2', resumed: false, replacedExpired: true });
    expect(store.get()).toBe('t2');
  });

  test('a resume refused for another reason is that refusal: no new session is started', async () => {
    const { client, calls } = recordingClientOf([problem(400, 'bad_request')], 'held-token');
    await expect(client.startSession()).rejects.toMatchObject({ status: 400, code: 'bad_request' });
    expect(calls).toHaveLength(1);
    expect(client.sessionToken).toBe('held-token');
  });
});

describe('endSession', () => {
  test('DELETE /guest-session with the token, which is then forgotten', async () => {
    const { client, calls, store } = recordingClientOf([new Response(null, { status: 204 })], 'held-token');
    await client.endSession();
    expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
      ['DELETE', '/guest-session', 'Bearer held-token'],
    ]);
    expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
  });

  test('refused for now, it still forgets the token, and says why', async () => {
    const { client, store } = recordingClientOf([problem(503, 'upstream_unavailable')], 'held-token');
    await expect(client.endSession()).rejects.toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
  });
});

test('the session, its attributes and the capabilities: each its method and path, a change its body', async () => {
  const view = { attributes: { a: '1' }, sessionToken: 'held-token' };
  const { client, calls } = recordingClientOf(
    [
      json(200, session('held-token', 't-1')),
      json(200, view),
      json(200, view),
      json(200, view),
      json(200, { markdown: true }),
    ],
    'held-token',
  );
  expect(await client.getSession()).toMatchObject({ sessionToken: 'held-token' });
  expect(await client.getAttributes()).toEqual(view);
  expect(await client.setAttributes({ a: '1' })).toEqual(view);
  expect(await client.updateAttributes({ b: null })).toEqual(view);
  expect(await client.capabilities()).toEqual({ markdown: true });
  expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
    ['GET', '/guest-session', undefined],
    ['GET', '/guest-attributes', undefined],
    ['PUT', '/guest-attributes', { a: '1' }],
    ['PATCH', '/guest-attributes', { b: null }],
    ['GET', '/capabilities', undefined],
  ]);
});

/**
 * What a start sends when a session is held: the options travel with the resume (`startNew` replaces an ended
 * conversation only there), and a new session started after the held token was refused is asked without it, even
 * when a sign-in in doubt kept that token.
 */
describe('a start with a session held', () => {
  test('a resume carries the options: startNew asks the service to replace the ended conversation', async () => {
    const { client, calls } = recordingClient(() => json(200, session('guest-token', 't-1')), 'guest-token');
    await client.startSession({ startNew: true });
    expect(calls).toEqual([
      {
        method: 'POST',
        path: '/guest-session',
        routingKey: null,
        authorization: 'Bearer guest-token',
        body: { startNew: true },
      },
    ]);
  });

  test('a sign-in in doubt keeps the token, but the new session started after it was refused is asked without it', async () => {
    const { client, calls } = recordingClient((call) => {
      if (call.path === '/guest-session/sign-in' || call.path === '/healthz') throw new TypeError('Failed to fetch');
      if (call.authorization) return problem(401, 'unauthorized', 'Unauthorized');
      return json(201, session('new-token', 't-1'));
    }, 'guest-token');
    await expect(
      client.signIn({ code: 'c', redirectUri: 'http://localhost:3000/signed-in', codeVerifier: 'v'.repeat(43) }),
    ).rejects.toMatchObject({ code: 'network_error' });
    const started = await client.startSession();
    const starts = calls.filter((c) => c.path === '/guest-session');
    expect(starts.map((c) => c.authorization)).toEqual(['Bearer guest-token', null]);
    expect(started).toMatchObject({ sessionToken: 'new-token', replacedExpired: true });
  });
});
