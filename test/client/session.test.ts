import { BffClient, memoryTokenStore } from '../../client/src';

/**
 * The guest session's requests as the client makes them (against the service: bffClient.test.ts): a start without a
 * token, a resume with it, a held token the service no longer knows replaced by a new session, the live stream's
 * starting place taken from each start, and an end that lets go of the token whatever the service answers.
 */

interface Call {
  method: string;
  path: string;
  routingKey: string | null;
  authorization: string | null;
  body: unknown;
}

const session = (token: string, streamPosition: string) => ({
  sessionToken: token,
  routingKey: 'rk-service',
  streamPosition,
  expiresAt: '2026-03-04T16:00:00Z',
  newSession: true,
});

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status < 300 ? 'application/json' : 'application/problem+json' },
  });
const problem = (status: number, code: string) => json(status, { status, code, title: code });

/** A client whose fetch answers with the next of `answers` and records each call; the store holds `held`. */
function clientAnswering(answers: Response[], held?: string) {
  const calls: Call[] = [];
  const store = memoryTokenStore();
  if (held) store.set(held);
  const client = new BffClient({
    baseUrl: 'http://bff.test',
    tokenStore: store,
    fetch: async (input, init = {}) => {
      const url = new URL(String(input));
      calls.push({
        method: init.method ?? 'GET',
        path: url.pathname,
        routingKey: url.searchParams.get('routingKey'),
        authorization: new Headers(init.headers).get('authorization'),
        body: init.body === undefined ? undefined : JSON.parse(String(init.body)),
      });
      const next = answers.shift();
      if (!next) throw new Error('no answer scripted');
      return next;
    },
    sleep: async () => undefined,
  });
  return { client, calls, store };
}

describe('startSession', () => {
  test('without a token: a new session, asked without one and with a routing key the client proposes', async () => {
    const { client, calls } = clientAnswering([json(201, session('t1', 't-1000'))]);
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
    const { client, calls } = clientAnswering([json(201, session('t1', 't-1000')), json(200, session('t1', 't-2000'))]);
    await client.startSession();
    const resumed = await client.startSession();
    expect(calls[1]).toMatchObject({ method: 'POST', path: '/guest-session', authorization: 'Bearer t1' });
    expect(resumed).toMatchObject({ resumed: true, replacedExpired: false });
    expect(client.streamPosition).toBe('t-2000');
  });

  test('a held token the service no longer knows: a new session without it, and replacedExpired says so', async () => {
    const { client, calls, store } = clientAnswering(
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
    const { client, calls } = clientAnswering([problem(400, 'bad_request')], 'held-token');
    await expect(client.startSession()).rejects.toMatchObject({ status: 400, code: 'bad_request' });
    expect(calls).toHaveLength(1);
    expect(client.sessionToken).toBe('held-token');
  });
});

describe('endSession', () => {
  test('DELETE /guest-session with the token, which is then forgotten', async () => {
    const { client, calls, store } = clientAnswering([new Response(null, { status: 204 })], 'held-token');
    await client.endSession();
    expect(calls.map((c) => [c.method, c.path, c.authorization])).toEqual([
      ['DELETE', '/guest-session', 'Bearer held-token'],
    ]);
    expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
  });

  test('refused for now, it still forgets the token, and says why', async () => {
    const { client, store } = clientAnswering([problem(503, 'upstream_unavailable')], 'held-token');
    await expect(client.endSession()).rejects.toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect([client.sessionToken, store.get()]).toEqual([undefined, undefined]);
  });
});

test('the session, its attributes and the capabilities: each its method and path, a change its body', async () => {
  const view = { attributes: { a: '1' }, sessionToken: 'held-token' };
  const { client, calls } = clientAnswering(
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
