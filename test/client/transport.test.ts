import { BffError, type TokenStore } from '../../client/src';
import { Transport } from '../../client/src/transport';
import { deferred } from '../support/deferred';
import { json, problem } from '../support/recordingClient';

/**
 * The client's HTTP side alone (client/src/transport.ts), against a scripted fetch: which token and routing key each
 * request carries, which refusals forget the token or send the request again, what an answer leaves behind, and what
 * an unreachable service reads as. The suites beside it run the same paths against the real service; these are the
 * orders of events a real service rarely gives on cue (another tab's token mid-request, two sign-ins at once).
 */

const BASE = 'https://chat.example';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** What the fake service does with the n-th call (from 1). */
type Answer = (call: Call, n: number) => Response | Promise<Response>;

/** A store other tabs share: `otherTab` is another tab storing a token (or ending the session with `undefined`). */
function sharedStore(initial?: string) {
  let token = initial;
  const listeners = new Set<(token: string | undefined) => void>();
  let clears = 0;
  const store: TokenStore = {
    get: () => token,
    set: (t) => void (token = t),
    clear: () => {
      clears++;
      token = undefined;
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const otherTab = (next: string | undefined) => {
    token = next;
    for (const listener of listeners) listener(next);
  };
  return { store, otherTab, clears: () => clears };
}

/**
 * A transport over a scripted fetch. `/healthz` (the CORS probe) throws as an unreachable service does unless
 * `healthz` says otherwise; every other call is recorded and answered by `answer`.
 */
function scripted(answer: Answer, options: { token?: string; healthz?: () => Response; pageOrigin?: string } = {}) {
  const calls: Call[] = [];
  const tabs = sharedStore(options.token);
  const fetchImpl: typeof fetch = async (input, init = {}) => {
    const url = String(input);
    if (url.endsWith('/healthz')) {
      if (options.healthz) return options.healthz();
      throw new TypeError('Failed to fetch');
    }
    const call: Call = {
      url,
      method: String(init.method),
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body as string | undefined,
    };
    calls.push(call);
    return answer(call, calls.length);
  };
  const transport = new Transport({
    baseUrl: BASE,
    fetch: fetchImpl,
    tokenStore: tabs.store,
    pageOrigin: options.pageOrigin,
  });
  return { transport, calls, ...tabs };
}

const pathOf = (call: Call) => new URL(call.url).pathname;
const routingKeyOf = (url: string) => new URL(url).searchParams.get('routingKey');
const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'answered',
    (error: unknown) => (error instanceof BffError ? error.code : String(error)),
  );

/** A sign-in as client/src/signIn.ts runs it: within `replacingToken`, its answer replacing the held token. */
const signIn = (transport: Transport) =>
  transport.replacingToken(() =>
    transport.request('POST', '/guest-session/sign-in', { body: { auth: { code: 'c' } }, replacesToken: true }),
  );

describe('what a request carries', () => {
  test('its own headers even without a body (and then no Content-Type); the held token and routing key', async () => {
    const { transport, calls } = scripted(() => json(200, {}), { token: 'tok-1' });
    transport.proposeRoutingKey();
    await transport.request('GET', '/guest-session', { headers: { 'X-Trace': 't-1' } });
    const [call] = calls;
    expect(call!.headers).toEqual({
      Accept: 'application/json',
      'X-Trace': 't-1',
      Authorization: 'Bearer tok-1',
      'X-Chat-Session': routingKeyOf(call!.url),
    });
    expect(call!.body).toBeUndefined();
  });

  test("a base URL's trailing slashes are dropped", async () => {
    const calls: string[] = [];
    const transport = new Transport({
      baseUrl: `${BASE}//`,
      fetch: async (input) => {
        calls.push(String(input));
        return json(200, {});
      },
    });
    await transport.request('GET', '/guest-session');
    expect(calls).toEqual([`${BASE}/guest-session`]);
  });

  test('a request sent without the token (auth: false) leaves the held token alone when refused 401', async () => {
    const { transport, calls, clears } = scripted(() => problem(401, 'unauthorized'), { token: 'tok-1' });
    await expect(codeOf(transport.request('POST', '/guest-session', { auth: false }))).resolves.toBe('unauthorized');
    expect(calls[0]!.headers.Authorization).toBeUndefined();
    expect(transport.token).toBe('tok-1');
    expect(clears()).toBe(0);
  });

  test('with no token held, a 401 clears nothing: the proposed routing key stays', async () => {
    const { transport, calls, clears } = scripted(() => problem(401, 'unauthorized'));
    transport.proposeRoutingKey();
    const proposed = routingKeyOf(transport.url('/guest-session'));
    await expect(codeOf(transport.request('GET', '/guest-session'))).resolves.toBe('unauthorized');
    expect(calls).toHaveLength(1);
    expect(clears()).toBe(0);
    expect(routingKeyOf(transport.url('/guest-session'))).toBe(proposed);
  });
});

describe('a refusal of a token replaced meanwhile', () => {
  test('a 401 for a token another tab replaced during the request goes again once, with the new token', async () => {
    const shared: { otherTab?: (token: string) => void } = {};
    const { transport, calls, otherTab } = scripted(
      (_call, n) => {
        if (n > 1) return json(200, { ok: true });
        shared.otherTab!('tok-2');
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(transport.request('GET', '/guest-session')).resolves.toMatchObject({ status: 200 });
    expect(calls.map((c) => c.headers.Authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  test('refused again while the token keeps changing, it is not sent a third time; the newest token is kept', async () => {
    const shared: { otherTab?: (token: string) => void } = {};
    const { transport, calls, otherTab } = scripted(
      (_call, n) => {
        // A fake that would answer a third try, so a client that sends one is seen doing it.
        if (n > 2) return json(200, { ok: true });
        shared.otherTab!(`tok-${n + 1}`);
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(codeOf(transport.request('GET', '/guest-session'))).resolves.toBe('unauthorized');
    expect(calls).toHaveLength(2);
    expect(transport.token).toBe('tok-3');
  });

  test.each([
    ['a 500', () => problem(500, 'internal'), 'internal', {}],
    ['a 401 to a request sent without the token', () => problem(401, 'unauthorized'), 'unauthorized', { auth: false }],
  ])('%s is not sent again, even for a token replaced meanwhile', async (_name, answer, code, options) => {
    const shared: { otherTab?: (token: string) => void } = {};
    const { transport, calls, otherTab } = scripted(
      (_call, n) => {
        if (n > 1) return json(200, { ok: true });
        shared.otherTab!('tok-2');
        return answer();
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(codeOf(transport.request('GET', '/guest-session', options))).resolves.toBe(code);
    expect(calls).toHaveLength(1);
    expect(transport.token).toBe('tok-2');
  });

  test('a refusal for a token already replaced goes again at once, without waiting for a sign-in under way', async () => {
    const signInAnswer = deferred<Response>();
    const shared: { otherTab?: (token: string) => void } = {};
    let refusedOnce = false;
    const { transport, calls, otherTab } = scripted(
      (call) => {
        if (pathOf(call) === '/guest-session/sign-in') return signInAnswer.promise;
        if (refusedOnce) return json(200, { ok: true });
        refusedOnce = true;
        shared.otherTab!('tok-2');
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    const signingIn = signIn(transport);
    await expect(transport.request('GET', '/guest-session')).resolves.toMatchObject({ status: 200 });
    expect(calls.filter((c) => pathOf(c) === '/guest-session').map((c) => c.headers.Authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
    signInAnswer.resolve(json(200, { sessionToken: 'tok-3' }));
    await signingIn;
  });

  test.each([
    [
      'waits for it and goes again with the token it brings',
      json(200, { sessionToken: 'tok-2' }),
      'answered',
      2,
      'tok-2',
    ],
    ['that is then refused itself is not sent again', problem(401, 'unauthorized'), 'unauthorized', 1, undefined],
  ])('a refusal during a sign-in %s', async (_name, signInAnswered, outcome, reads, token) => {
    const signInAnswer = deferred<Response>();
    const refusedOnce = deferred<void>();
    const { transport, calls } = scripted(
      (call) => {
        if (pathOf(call) === '/guest-session/sign-in') return signInAnswer.promise;
        if (call.headers.Authorization === 'Bearer tok-2') return json(200, { ok: true });
        refusedOnce.resolve();
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    const signingIn = codeOf(signIn(transport));
    const reading = codeOf(transport.request('GET', '/guest-session'));
    await refusedOnce.promise;
    signInAnswer.resolve(signInAnswered);
    await expect(reading).resolves.toBe(outcome);
    await expect(signingIn).resolves.toBe(outcome);
    expect(calls.filter((c) => pathOf(c) === '/guest-session')).toHaveLength(reads);
    expect(transport.token).toBe(token);
  });
});

describe('a sign-in', () => {
  test('refused for the token it replaces, it is not sent again and the token is forgotten', async () => {
    const { transport, calls, clears } = scripted(() => problem(401, 'unauthorized'), { token: 'tok-1' });
    await expect(codeOf(signIn(transport))).resolves.toBe('unauthorized');
    expect(calls).toHaveLength(1);
    expect(transport.token).toBeUndefined();
    expect(clears()).toBe(1);
  });

  test.each([
    ['the network', true, undefined],
    ['a 502', true, 502],
    ['a 503', true, 503],
    ['a 504', true, 504],
    ['a 400', false, 400],
    ['a 429', false, 429],
    ['a 500', false, 500],
  ])('that ends in %s is in doubt: %p', async (_name, inDoubt, status) => {
    const { transport } = scripted(
      () => {
        if (status === undefined) throw new TypeError('Failed to fetch');
        return problem(status, `http_${status}`);
      },
      { token: 'tok-1' },
    );
    await expect(signIn(transport)).rejects.toBeInstanceOf(BffError);
    expect(transport.replacementPending).toBe(inDoubt);
    expect(transport.token).toBe('tok-1');
  });

  test('under way, it is pending until the last of two overlapping sign-ins ends', async () => {
    const answers = [deferred<Response>(), deferred<Response>()];
    const { transport } = scripted((_call, n) => answers[n - 1]!.promise, { token: 'tok-1' });
    const first = signIn(transport);
    const second = signIn(transport);
    expect(transport.replacementPending).toBe(true);
    answers[0]!.resolve(json(200, { sessionToken: 'tok-2' }));
    await first;
    expect(transport.replacementPending).toBe(true);
    answers[1]!.resolve(json(200, { sessionToken: 'tok-3' }));
    await second;
    expect(transport.replacementPending).toBe(false);
    expect(transport.token).toBe('tok-3');
  });

  test('refused while an overlapping one is in doubt, it keeps the token the other may have replaced', async () => {
    const earlier = deferred<Response>();
    const { transport } = scripted((_call, n) => (n === 1 ? earlier.promise : problem(503, 'upstream_unavailable')), {
      token: 'tok-1',
    });
    const first = codeOf(signIn(transport));
    await expect(codeOf(signIn(transport))).resolves.toBe('upstream_unavailable');
    earlier.resolve(problem(401, 'unauthorized'));
    await expect(first).resolves.toBe('unauthorized');
    expect(transport.token).toBe('tok-1');
  });

  test('in doubt, it is sent again for a refused token, and the request goes again with the token it brings', async () => {
    let signIns = 0;
    const { transport, calls } = scripted(
      (call) => {
        if (pathOf(call) === '/guest-session/sign-in') {
          signIns++;
          return signIns === 1 ? problem(503, 'upstream_unavailable') : json(200, { sessionToken: 'tok-2' });
        }
        return call.headers.Authorization === 'Bearer tok-2' ? json(200, { ok: true }) : problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    await expect(signIn(transport)).rejects.toBeInstanceOf(BffError);
    await expect(transport.request('GET', '/guest-session')).resolves.toMatchObject({ status: 200 });
    expect(calls.map(pathOf)).toEqual([
      '/guest-session/sign-in',
      '/guest-session',
      '/guest-session/sign-in',
      '/guest-session',
    ]);
    expect(transport.replacementPending).toBe(false);
  });

  test('in doubt and sent again, the request goes once more at most, even if the token changes again', async () => {
    const shared: { otherTab?: (token: string) => void } = {};
    let signIns = 0;
    const { transport, calls, otherTab } = scripted(
      (call) => {
        if (pathOf(call) === '/guest-session/sign-in') {
          signIns++;
          return signIns === 1 ? problem(503, 'upstream_unavailable') : json(200, { sessionToken: 'tok-2' });
        }
        // The fake would answer a third try with another token, so a client that sends one is seen doing it.
        if (call.headers.Authorization === 'Bearer tok-3') return json(200, { ok: true });
        if (call.headers.Authorization === 'Bearer tok-2') shared.otherTab!('tok-3');
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(signIn(transport)).rejects.toBeInstanceOf(BffError);
    await expect(codeOf(transport.request('GET', '/guest-session'))).resolves.toBe('unauthorized');
    expect(calls.map((c) => c.headers.Authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
    expect(transport.token).toBe('tok-3');
  });

  test('in doubt and sent again but refused, the request it was sent for is not repeated', async () => {
    let signIns = 0;
    const { transport, calls } = scripted(
      (call) => {
        if (pathOf(call) !== '/guest-session/sign-in') return problem(401, 'unauthorized');
        signIns++;
        return signIns === 1 ? problem(503, 'upstream_unavailable') : problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    await expect(signIn(transport)).rejects.toBeInstanceOf(BffError);
    await expect(codeOf(transport.request('GET', '/guest-session'))).resolves.toBe('unauthorized');
    expect(calls.map(pathOf)).toEqual(['/guest-session/sign-in', '/guest-session', '/guest-session/sign-in']);
    expect(transport.token).toBeUndefined();
  });

  test('in doubt, it is not sent again once another tab ended the session', async () => {
    const shared: { otherTab?: (token: string | undefined) => void } = {};
    const { transport, calls, otherTab } = scripted(
      (call) => {
        if (pathOf(call) === '/guest-session/sign-in') return problem(503, 'upstream_unavailable');
        shared.otherTab!(undefined);
        return problem(401, 'unauthorized');
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(signIn(transport)).rejects.toBeInstanceOf(BffError);
    await expect(codeOf(transport.request('GET', '/guest-session'))).resolves.toBe('unauthorized');
    expect(calls.map(pathOf)).toEqual(['/guest-session/sign-in', '/guest-session']);
  });
});

describe('what an answer leaves behind', () => {
  test('its routing key is sent on every later request; an empty token, routing key or position is not kept', async () => {
    const bodies = [
      { sessionToken: 'tok-2', routingKey: 'rk-service', streamPosition: '' },
      { sessionToken: '', routingKey: '', streamPosition: 't-5' },
      {},
    ];
    const { transport, calls } = scripted((_call, n) => json(200, bodies[n - 1]), { token: 'tok-1' });
    transport.proposeRoutingKey();
    await transport.request('POST', '/guest-session', { body: {} });
    await transport.request('GET', '/guest-session');
    await transport.request('GET', '/guest-session');
    expect(routingKeyOf(calls[2]!.url)).toBe('rk-service');
    expect(calls[2]!.headers['X-Chat-Session']).toBe('rk-service');
    expect(calls[2]!.headers.Authorization).toBe('Bearer tok-2');
    expect(transport.token).toBe('tok-2');
    expect(transport.streamPosition).toBe('t-5');
  });

  test('of two requests under way, the token of the later answer is kept', async () => {
    const answers = [deferred<Response>(), deferred<Response>()];
    const { transport } = scripted((_call, n) => answers[n - 1]!.promise, { token: 'tok-1' });
    const first = transport.request('GET', '/guest-session');
    const second = transport.request('GET', '/guest-session');
    answers[0]!.resolve(json(200, { sessionToken: 'tok-2' }));
    await first;
    answers[1]!.resolve(json(200, { sessionToken: 'tok-3' }));
    await second;
    expect(transport.token).toBe('tok-3');
  });

  test.each([
    [
      "another tab's token, then a sign-in's",
      (t: Transport, otherTab: (token: string | undefined) => void) => {
        otherTab('tok-2');
        return signIn(t).then(() => 'tok-3');
      },
    ],
    [
      "forgetting the token, then another tab's",
      (t: Transport, otherTab: (token: string | undefined) => void) => {
        t.forget();
        otherTab('tok-2');
        return Promise.resolve('tok-2');
      },
    ],
  ])('the token of an answer to a request sent before %s is not kept', async (_name, replace) => {
    const stale = deferred<Response>();
    const { transport, otherTab } = scripted(
      (call) => (pathOf(call) === '/guest-session/sign-in' ? json(200, { sessionToken: 'tok-3' }) : stale.promise),
      { token: 'tok-1' },
    );
    const reading = transport.request('GET', '/guest-session');
    const newest = await replace(transport, otherTab);
    stale.resolve(json(200, { sessionToken: 'tok-stale' }));
    await reading;
    expect(transport.token).toBe(newest);
  });

  test("another tab's newer token is used from the next request on; the routing key and position stay", async () => {
    const { transport, calls, otherTab } = scripted(() => json(200, { routingKey: 'rk-1', streamPosition: 't-1' }), {
      token: 'tok-1',
    });
    await transport.request('GET', '/guest-session');
    otherTab('tok-2');
    await transport.request('GET', '/guest-session');
    expect(calls[1]!.headers.Authorization).toBe('Bearer tok-2');
    expect(routingKeyOf(calls[1]!.url)).toBe('rk-1');
    expect(transport.streamPosition).toBe('t-1');
  });

  test('another tab storing the token already held changes nothing: an answer under way is still kept', async () => {
    const answer = deferred<Response>();
    const { transport, otherTab } = scripted(() => answer.promise, { token: 'tok-1' });
    const reading = transport.request('GET', '/guest-session');
    otherTab('tok-1');
    answer.resolve(json(200, { sessionToken: 'tok-2' }));
    await reading;
    expect(transport.token).toBe('tok-2');
  });

  test('reload takes the token the store holds now, for a store that tells no one', async () => {
    const { transport, store } = scripted(() => json(200, {}), { token: 'tok-1' });
    store.set('tok-2');
    expect(transport.token).toBe('tok-1');
    transport.reload();
    expect(transport.token).toBe('tok-2');
  });

  test('another tab ending the session drops the routing key and the stream position', async () => {
    const { transport, otherTab } = scripted(() => json(200, { routingKey: 'rk-1', streamPosition: 't-1' }), {
      token: 'tok-1',
    });
    await transport.request('GET', '/guest-session');
    expect(routingKeyOf(transport.url('/guest-session'))).toBe('rk-1');
    otherTab(undefined);
    expect(transport.url('/guest-session')).toBe(`${BASE}/guest-session`);
    expect(transport.streamPosition).toBeUndefined();
    expect(transport.token).toBeUndefined();
  });
});

describe('a document (requestText)', () => {
  test('is a GET with its Accept and the held token; a 401 forgets the token', async () => {
    const { transport, calls, clears } = scripted(() => problem(401, 'unauthorized'), { token: 'tok-1' });
    await expect(codeOf(transport.requestText('/transcript', 'text/html'))).resolves.toBe('unauthorized');
    expect(calls[0]).toMatchObject({
      method: 'GET',
      headers: { Accept: 'text/html', Authorization: 'Bearer tok-1' },
    });
    expect(transport.token).toBeUndefined();
    expect(clears()).toBe(1);
  });

  test.each([
    ['a 500', 'tok-1', () => problem(500, 'internal')],
    ['a 401 after another tab stored a newer token', 'tok-2', () => problem(401, 'unauthorized')],
  ])('%s keeps the held token', async (_name, kept, answer) => {
    const shared: { otherTab?: (token: string) => void } = {};
    const { transport, otherTab, clears } = scripted(
      () => {
        if (kept !== 'tok-1') shared.otherTab!(kept);
        return answer();
      },
      { token: 'tok-1' },
    );
    shared.otherTab = otherTab;
    await expect(transport.requestText('/transcript', 'text/html')).rejects.toBeInstanceOf(BffError);
    expect(transport.token).toBe(kept);
    expect(clears()).toBe(0);
  });

  test('with no token held, a 401 clears nothing: the routing key stays', async () => {
    const { transport, calls, clears } = scripted(() => problem(401, 'unauthorized'));
    transport.proposeRoutingKey();
    const proposed = routingKeyOf(transport.url('/transcript'));
    await expect(transport.requestText('/transcript', 'text/html')).rejects.toBeInstanceOf(BffError);
    expect(calls[0]!.headers.Authorization).toBeUndefined();
    expect(clears()).toBe(0);
    expect(routingKeyOf(transport.url('/transcript'))).toBe(proposed);
  });

  test('a body that cannot be read is an empty document', async () => {
    const unreadable = {
      ok: true,
      status: 200,
      headers: new Headers({ 'Content-Type': 'text/html' }),
      text: () => Promise.reject(new TypeError('body stream already read')),
    } as unknown as Response;
    const { transport } = scripted(() => unreadable, { token: 'tok-1' });
    const answer = await transport.requestText('/transcript', 'text/html');
    expect(answer.text).toBe('');
    expect(answer.header('Content-Type')).toBe('text/html');
  });
});

describe('an unreachable service', () => {
  test('down: a network error that names the service', async () => {
    const { transport } = scripted(() => {
      throw new TypeError('Failed to fetch');
    });
    const error = await transport.request('GET', '/guest-session').catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 0,
      code: 'network_error',
      message: `The chat service at ${BASE} could not be reached: it may be down, or the network is.`,
    });
  });

  test("up but refusing this page's origin: named as such, and the console told once, at the first", async () => {
    const told = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { transport } = scripted(
        () => {
          throw new TypeError('Failed to fetch');
        },
        { healthz: () => ({ type: 'opaque' }) as Response },
      );
      const expected = `The chat service at ${BASE} is up but does not allow calls from this page’s origin: add this page’s origin to its CORS_ALLOWED_ORIGINS.`;
      await expect(transport.request('GET', '/guest-session')).rejects.toMatchObject({
        code: 'cors_refused',
        message: expected,
      });
      expect(told.mock.calls).toEqual([[expected]]);
      await expect(transport.request('GET', '/guest-session')).rejects.toMatchObject({ code: 'cors_refused' });
      expect(told).toHaveBeenCalledTimes(1);
    } finally {
      told.mockRestore();
    }
  });
});
