import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { AppError } from '../../../src/domain/errors';
import {
  refreshMarginMs,
  TokenCache,
  type TokenCacheOptions,
  TokenUnavailableError,
} from '../../../src/genesys/platform/tokenCache';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { registry } from '../../../src/observability/metrics';
import { toProblem } from '../../../src/http/problem';
import { captureLogger, type CapturedLogger } from '../../support/app';
import { FIXTURE_GENESYS, useFixture, type Fixture } from '../../support/nockBack';
import { manualClock, recordingSleep, testConfig } from '../../support/platform';
import { waitFor } from '../../support/wait';
import { VARIABLE_NAMES } from '../../support/settingNames';

/**
 * The Platform token cache (src/genesys/platform/tokenCache.ts): its refresh margin; against the
 * recorded Genesys login host and a loopback one with short-lived tokens; every kind of answer the
 * login host can give the client-credentials request (docs/genesys-protocol.md#oauth-client-credentials),
 * scripted with nock on a manual clock: what the cache serves, what a cold caller is told, and what
 * the readiness check and the log say; and how each token request is counted by what Genesys answered.
 */

describe('refreshMarginMs', () => {
  it.each([
    [2_000, 1_000],
    [300_000, 60_000],
    [3_600_000, 360_000],
    [86_400_000, 8_640_000],
  ])('replaces a %i ms token %i ms before it expires', (lifetime, margin) => {
    expect(refreshMarginMs(lifetime)).toBe(margin);
  });
});

describe('TokenCache against the Genesys login host', () => {
  let fixture: Fixture;
  let genesysHttp: GenesysHttp;
  let log: CapturedLogger;
  let cache: TokenCache | undefined;

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
    log = captureLogger('debug');
  });

  afterEach(() => {
    cache?.close();
    cache = undefined;
    fixture?.done();
    genesysHttp.close();
  });

  function tokenCache(overrides: Partial<TokenCacheOptions> = {}): TokenCache {
    const { genesys } = testConfig(fixture.env).deployments[0]!;
    cache = new TokenCache({
      loginUrl: genesys.loginUrl,
      clientId: genesys.credentials!.clientId,
      clientSecret: genesys.credentials!.clientSecret,
      named: genesys.named,
      http: genesysHttp.axios,
      logger: log.logger,
      ...overrides,
    });
    return cache;
  }

  const tokenRequests = () => fixture.requests({ path: '/oauth/token' });

  it('sends one client-credentials request for 200 concurrent callers on a cold cache', async () => {
    fixture = await useFixture('token-success.json');
    const tokens = tokenCache();

    const results = await Promise.all(Array.from({ length: 200 }, () => tokens.getToken()));

    expect(new Set(results).size).toBe(1);
    expect(tokenRequests()).toHaveLength(1);
    await tokens.getToken();
    expect(tokenRequests()).toHaveLength(1);
    expect(tokens.state()).toMatchObject({ ok: true });
    if (!fixture.recording) {
      // The request exactly as docs/genesys-protocol.md#oauth-client-credentials describes it (the fixture also pins the body).
      const [request] = tokenRequests();
      expect(request!.url).toBe('login.mypurecloud.ie/oauth/token');
      const basic = Buffer.from(`${FIXTURE_GENESYS.clientId}:${FIXTURE_GENESYS.clientSecret}`).toString('base64');
      expect(request!.headers.authorization).toBe(`Basic ${basic}`);
      expect(request!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(request!.body).toBe('grant_type=client_credentials');
    }
  });

  it('does not retry a refused client, fails fast and names the credentials and the region', async () => {
    fixture = await useFixture('token-invalid-client.json', {
      GENESYS_CLIENT_SECRET: 'not-the-real-secret-for-this-client',
    });
    const clock = manualClock();
    const tokens = tokenCache({ now: clock.now });

    const first = await tokens.getToken().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(AppError);
    expect(first).toMatchObject({ code: 'upstream_unavailable', status: 503 });
    for (let i = 0; i < 50; i++) {
      await expect(tokens.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    }

    expect(tokenRequests()).toHaveLength(1);
    const { detail, ok } = tokens.state();
    expect(ok).toBe(false);
    expect(detail).toContain('(invalid_client, HTTP 401)');
    expect(detail).toContain('at https://login.mypurecloud.ie');
    expect(detail).toContain('GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET');
    expect(detail).toContain('GENESYS_REGION');
    // Logged once, not once per caller; the browser-facing message says nothing about the configuration.
    expect(log.messages('error')).toEqual([detail]);
    expect((first as AppError).message).not.toContain('GENESYS_');
  });

  it('asks Genesys again after the cool-down and recovers once the credentials are accepted', async () => {
    fixture = await useFixture('token-rejected-then-accepted.json');
    const clock = manualClock();
    const tokens = tokenCache({ now: clock.now, recheckAfterMs: 60_000 });

    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    clock.advance(59_000);
    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(tokenRequests()).toHaveLength(1);

    clock.advance(2_000);
    await expect(tokens.getToken()).resolves.toMatch(/^fixture-access-token-1/);
    expect(tokenRequests()).toHaveLength(2);
    expect(tokens.state().ok).toBe(true);
  });

  it('retries a 500 from the login host with backoff, then serves the token', async () => {
    fixture = await useFixture('token-500-then-200.json');
    const { sleep, delays } = recordingSleep();
    const tokens = tokenCache({ sleep, retry: { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 } });

    await expect(tokens.getToken()).resolves.toMatch(/^fixture-access-token-1/);

    expect(tokenRequests()).toHaveLength(2);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(250);
    expect(delays[0]).toBeLessThanOrEqual(500);
    expect(log.messages('warn')).toEqual(['OAuth token request failed; retrying']);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    fixture = await useFixture('token-429-then-200.json');
    const { sleep, delays } = recordingSleep();
    const tokens = tokenCache({ sleep });

    await expect(tokens.getToken()).resolves.toMatch(/^fixture-access-token-1/);

    expect(delays).toEqual([7_000]);
    expect(tokenRequests()).toHaveLength(2);
  });

  it('gives a cold caller upstream_unavailable once the bounded attempts are used up', async () => {
    fixture = await useFixture('token-500-then-200.json');
    const { sleep, delays } = recordingSleep();
    const tokens = tokenCache({ sleep, retry: { maxAttempts: 1, baseDelayMs: 500, maxDelayMs: 30_000 } });

    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable', retryAfterSeconds: 30 });

    expect(delays).toEqual([]);
    expect(tokenRequests()).toHaveLength(1);
    expect(tokens.state()).toMatchObject({ ok: false, detail: expect.stringContaining('HTTP 500') });
  });

  it('drops a refused token only while it is current, and replaces it with one request', async () => {
    fixture = await useFixture('token-issued-twice.json');
    const tokens = tokenCache();
    const first = await tokens.getToken();

    tokens.invalidate('some-older-token');
    await expect(tokens.getToken()).resolves.toBe(first);
    expect(tokenRequests()).toHaveLength(1);

    // Many requests see the same 401 at once: one new token for all of them.
    for (let i = 0; i < 10; i++) tokens.invalidate(first);
    const next = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));
    expect(new Set(next)).toEqual(new Set([expect.stringMatching(/^fixture-access-token-2/)]));
    expect(tokenRequests()).toHaveLength(2);
  });
});

describe('TokenCache with short-lived tokens (loopback login host, fake clock)', () => {
  const LIFETIME_S = 2;
  let server: http.Server;
  let loginUrl: string;
  let issued: Array<{ token: string; issuedAt: number; expiresAt: number }>;
  let genesysHttp: GenesysHttp;
  let cache: TokenCache | undefined;

  beforeEach(async () => {
    issued = [];
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const issuedAt = Date.now();
        const token = `loopback-token-${issued.length + 1}`;
        issued.push({ token, issuedAt, expiresAt: issuedAt + LIFETIME_S * 1000 });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: LIFETIME_S }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    loginUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
  });

  afterEach(async () => {
    jest.useRealTimers();
    cache?.close();
    cache = undefined;
    genesysHttp.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Whether the promise settled before the next event-loop turn, i.e. without waiting for any I/O. */
  async function settlesWithoutIo<T>(promise: Promise<T>): Promise<{ value: T; waited: boolean }> {
    const nextTurn = Symbol('next turn');
    const first = await Promise.race([
      promise,
      new Promise<typeof nextTurn>((resolve) => setImmediate(() => resolve(nextTurn))),
    ]);
    return first === nextTurn ? { value: await promise, waited: true } : { value: first as T, waited: false };
  }

  it('over 6 s of its clock, replaces a 2 s token every second, each at its refresh point, and callers never wait or get an expired one', async () => {
    // Only the clock and timers are fake: the login host is a real server on loopback. The clock stands
    // still while a token request is on the wire, so how long that takes on this machine decides nothing.
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'hrtime', 'performance'],
    });
    const start = Date.now();
    const loads: Array<() => void> = [];
    const log = captureLogger('debug');
    cache = new TokenCache({
      loginUrl,
      clientId: 'loopback-client',
      clientSecret: 'loopback-secret',
      named: VARIABLE_NAMES,
      http: genesysHttp.axios,
      logger: log.logger,
      onState: (state) => state.ok && loads.splice(0).forEach((loaded) => loaded()),
    });
    await cache.getToken();

    const waited: number[] = [];
    const servedExpired: string[] = [];
    for (let step = 1; step <= 120; step++) {
      const replacing = issued.at(-1)!.expiresAt - 1000 <= Date.now() + 50;
      const loaded = replacing ? new Promise<void>((resolve) => loads.push(resolve)) : undefined;
      jest.advanceTimersByTime(50);
      // The refresh the timer started lands before the clock moves on.
      await loaded;
      const { value, waited: hadToWait } = await settlesWithoutIo(cache.getToken());
      if (hadToWait) waited.push(step);
      const token = issued.find((t) => t.token === value);
      if (!token || Date.now() >= token.expiresAt) servedExpired.push(value);
    }

    expect(waited).toEqual([]);
    expect(servedExpired).toEqual([]);
    // One token at the start and one at each refresh point, 1 s before the last one expired: no more, no later.
    expect(issued.map((t) => t.issuedAt - start)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    expect(log.messages('warn')).toEqual([]);
  });
});

describe('TokenCache against a scripted login host', () => {
  const LOGIN_URL = 'https://login.example.test';
  const HOUR_S = 3_600;
  const HOUR_MARGIN_MS = 360_000; // refreshMarginMs(1 h)

  let genesysHttp: GenesysHttp;
  let log: CapturedLogger;
  let cache: TokenCache | undefined;
  let clock: ReturnType<typeof manualClock>;
  let states: unknown[];

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
    log = captureLogger('debug');
    clock = manualClock();
    states = [];
  });

  afterEach(() => {
    cache?.close();
    cache = undefined;
    nock.cleanAll();
    genesysHttp.close();
  });

  function tokenCache(overrides: Partial<TokenCacheOptions> = {}): TokenCache {
    cache = new TokenCache({
      loginUrl: LOGIN_URL,
      clientId: 'client',
      clientSecret: 'secret',
      named: VARIABLE_NAMES,
      http: genesysHttp.axios,
      logger: log.logger,
      now: clock.now,
      sleep: recordingSleep().sleep,
      retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 },
      onState: (state) => states.push(state),
      ...overrides,
    });
    return cache;
  }

  const login = () => nock(LOGIN_URL).post('/oauth/token', 'grant_type=client_credentials');
  const token = (name: string, expiresIn = HOUR_S) => ({
    access_token: name,
    token_type: 'bearer',
    expires_in: expiresIn,
  });
  const failure = (e: unknown) => e as TokenUnavailableError;
  const iso = (ms: number) => new Date(ms).toISOString();

  it('says it is fetching the first token before anything is asked', () => {
    const tokens = tokenCache();

    const fetching = { ok: false, detail: `Fetching the first OAuth token from ${LOGIN_URL}.` };
    expect(tokens.state()).toEqual(fetching);
    expect(states).toEqual([fetching]);
  });

  it("counts a token's lifetime from when its request left, and replaces it that far ahead of expiry", async () => {
    const startedAt = clock.now();
    login().reply(() => {
      clock.advance(10_000); // a slow answer: the token has lived 10 s when it arrives
      return [200, token('first')];
    });
    const tokens = tokenCache();

    await expect(tokens.getToken()).resolves.toBe('first');
    const expiresAt = startedAt + HOUR_S * 1000;
    expect(tokens.state()).toEqual({
      ok: true,
      detail: `OAuth token obtained from ${LOGIN_URL}; it is replaced before it expires.`,
      expiresAt: iso(expiresAt),
    });
    expect(log.lines().find((l) => l.msg === 'OAuth token obtained')).toMatchObject({
      loginUrl: LOGIN_URL,
      expiresAt: iso(expiresAt),
    });

    clock.advance(expiresAt - HOUR_MARGIN_MS - 1 - clock.now());
    await expect(tokens.getToken()).resolves.toBe('first');
    expect(nock.isDone()).toBe(true);

    const renewed = new Promise<void>((resolve) => login().reply(200, () => (resolve(), token('second'))));
    clock.advance(1);
    await expect(tokens.getToken()).resolves.toBe('first'); // served at once, renewed behind the caller
    await renewed;
    await waitFor(async () => expect(await tokens.getToken()).toBe('second'));
  });

  it('retries an answer that carries no usable token, and a 2xx other than 200', async () => {
    login().reply(200, { access_token: '', expires_in: 60 });
    login().reply(200, { access_token: 'x', expires_in: 0 });
    login().reply(201, token('created'));
    const tokens = tokenCache();

    await expect(tokens.getToken()).resolves.toBe('created');
    const warnings = log.lines().filter((l) => l.msg === 'OAuth token request failed; retrying');
    expect(warnings).toEqual([
      expect.objectContaining({
        loginUrl: LOGIN_URL,
        status: 200,
        reason: 'the answer has no usable access_token and expires_in',
        attempt: 1,
      }),
      expect.objectContaining({ status: 200, attempt: 2 }),
    ]);
  });

  it('answers a cold caller 503, not 504, when the last attempt brought no usable token', async () => {
    login().reply(200, { token_type: 'bearer' });
    const tokens = tokenCache({ retry: { maxAttempts: 1, baseDelayMs: 500, maxDelayMs: 30_000 } });

    await expect(tokens.getToken()).rejects.toMatchObject({ status: 503 });
  });

  it('does not take a token from a 3xx answer: it is refused like any 4xx, never followed', async () => {
    login().reply(300, token('redirected'), { Location: 'https://elsewhere.example.test/oauth/token' });
    const tokens = tokenCache();

    await expect(tokens.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable', status: 503 });
    expect(tokens.state().detail).toContain('(HTTP 300)');
  });

  it.each([
    [400, { error: 'invalid_grant' }, '(invalid_grant, HTTP 400)'],
    [403, { error: 'Not An OAuth Code!' }, '(HTTP 403)'],
    [499, 'plain text', '(HTTP 499)'],
  ])('gives up at once on a %i, names it for the operator and waits the re-check time', async (status, body, named) => {
    login().reply(status, body);
    const tokens = tokenCache({ recheckAfterMs: 1_500 });

    const error = failure(await tokens.getToken().catch((e: unknown) => e));
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect(error).toMatchObject({
      name: 'TokenUnavailableError',
      code: 'upstream_unavailable',
      status: 503,
      retryInMs: 1_500,
      retryAfterSeconds: 2,
    });
    expect(toProblem(error).detail).toBe(
      'Genesys Cloud is not available to this service right now; please retry shortly.',
    );
    expect(error.logDetail).toMatchObject({ reason: 'oauth_credentials_rejected', loginUrl: LOGIN_URL, status });
    expect(tokens.state()).toEqual({
      ok: false,
      detail: expect.stringContaining(`Genesys rejected the OAuth client credentials ${named} at ${LOGIN_URL}.`),
    });
    // The operator is told the likeliest cause of a refusal that looks like bad credentials.
    expect(tokens.state().detail).toMatch(
      /GENESYS_REGION is the region the OAuth client was created in: credentials sent to the wrong region answer invalid_client\.$/,
    );
    expect(log.lines().filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({ status, loginUrl: LOGIN_URL }),
    ]);

    clock.advance(1_499);
    await expect(tokens.getToken()).rejects.toBe(error);
    login().reply(200, token('accepted'));
    clock.advance(1);
    await expect(tokens.getToken()).resolves.toBe('accepted');
  });

  it('retries transport failures, then tells a cold caller how long the service waits before asking again', async () => {
    login()
      .times(3)
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const { sleep, delays } = recordingSleep();
    const tokens = tokenCache({ sleep });

    const error = failure(await tokens.getToken().catch((e: unknown) => e));
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      status: 503,
      retryInMs: 30_000,
      retryAfterSeconds: 30,
    });
    expect(error.logDetail).toEqual({
      reason: 'oauth_unreachable',
      loginUrl: LOGIN_URL,
      status: undefined,
      attempts: 3,
    });
    expect(delays).toHaveLength(2);
    expect(tokens.state()).toEqual({
      ok: false,
      detail: `Could not obtain an OAuth token from ${LOGIN_URL} (no answer (ECONNREFUSED), 3 attempts); retrying in the background.`,
    });
    const warning = log.lines().find((l) => l.msg === 'OAuth token request failed; retrying');
    expect(warning).toMatchObject({ reason: 'no answer (ECONNREFUSED)', attempt: 1, delayMs: Math.round(delays[0]!) });
    // The operator's error line says why and after how many attempts.
    expect(log.lines().filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({ loginUrl: LOGIN_URL, reason: 'no answer (ECONNREFUSED)', attempts: 3 }),
    ]);
  });

  it('fetches a token with new credentials at once when they are rotated, and serves that one', async () => {
    const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    nock(LOGIN_URL, { reqheaders: { authorization: basic('client', 'secret') } })
      .post('/oauth/token')
      .reply(200, token('old'));
    const tokens = tokenCache();
    await expect(tokens.getToken()).resolves.toBe('old');
    const rotated = nock(LOGIN_URL, { reqheaders: { authorization: basic('client-2', 'secret-2') } })
      .post('/oauth/token')
      .reply(200, token('new'));

    tokens.rotate({ clientId: 'client-2', clientSecret: 'secret-2' });

    // Asked for before any caller wants it: a secret Genesys refuses shows in readiness at once.
    await waitFor(() => rotated.isDone());
    await expect(tokens.getToken()).resolves.toBe('new');
    expect(log.lines().find((l) => l.msg === 'OAuth client credentials replaced; fetching a token')).toMatchObject({
      level: 30,
      loginUrl: LOGIN_URL,
    });
  });

  it('answers a timed-out login host with 504, after one attempt when only one is allowed', async () => {
    login().replyWithError(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    const tokens = tokenCache({ retry: { maxAttempts: 1, baseDelayMs: 500, maxDelayMs: 30_000 } });

    await expect(tokens.getToken()).rejects.toMatchObject({ status: 504 });
    expect(tokens.state().detail).toBe(
      `Could not obtain an OAuth token from ${LOGIN_URL} (timed out, 1 attempt); retrying in the background.`,
    );
  });

  it.each([
    [504, 504],
    [503, 503],
    [500, 503],
    [429, 503],
  ])('retries a %i and, once the attempts are used up, answers %i', async (status, answered) => {
    login().times(2).reply(status, {});
    const tokens = tokenCache({ retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 30_000 } });

    await expect(tokens.getToken()).rejects.toMatchObject({ status: answered });
    expect(nock.isDone()).toBe(true);
    expect(tokens.state().detail).toContain(`(HTTP ${status}, 2 attempts)`);
  });

  it('stops at a Retry-After longer than its longest wait and fails fast for that long', async () => {
    login().reply(503, {}, { 'Retry-After': '120' });
    const tokens = tokenCache();

    await expect(tokens.getToken()).rejects.toMatchObject({ retryInMs: 120_000, retryAfterSeconds: 120 });
    clock.advance(119_999);
    await expect(tokens.getToken()).rejects.toMatchObject({ retryInMs: 120_000 });
    login().reply(200, token('later'));
    clock.advance(1);
    await expect(tokens.getToken()).resolves.toBe('later');
  });

  it('stops retrying once closed', async () => {
    login().reply(500, {});
    const tokens = tokenCache();
    tokens.close();

    await expect(tokens.getToken()).rejects.toMatchObject({ status: 503 });
    expect(tokens.state().detail).toContain('1 attempt)');
  });

  it('keeps the check ok while the current token is valid and its renewal fails, and not a moment longer', async () => {
    const startedAt = clock.now();
    login().reply(200, token('current'));
    login().reply(401, { error: 'invalid_client' });
    const tokens = tokenCache({ recheckAfterMs: 60_000 });
    await tokens.getToken();
    const expiresAt = startedAt + HOUR_S * 1000;

    clock.advance(HOUR_S * 1000 - HOUR_MARGIN_MS);
    await expect(tokens.getToken()).resolves.toBe('current');
    await waitFor(() => expect(tokens.state().detail).toContain('renewing it failed'));
    expect(tokens.state()).toEqual({
      ok: true,
      detail: expect.stringMatching(
        new RegExp(
          `^Serving the current OAuth token until ${iso(expiresAt)}, but renewing it failed: Genesys rejected the OAuth client credentials \\(invalid_client, HTTP 401\\)`,
        ),
      ),
    });

    login().reply(401, { error: 'invalid_client' });
    clock.advance(expiresAt - clock.now());
    await expect(tokens.getToken()).rejects.toMatchObject({ status: 503 });
    expect(tokens.state()).toEqual({
      ok: false,
      detail: expect.stringMatching(/^Genesys rejected the OAuth client credentials/),
    });
  });

  it('says in the log when it drops a token Genesys refused', async () => {
    login().reply(200, token('refused-later'));
    const tokens = tokenCache();
    await tokens.getToken();

    tokens.invalidate('refused-later');

    expect(
      log.lines().find((l) => l.level === 30 && l.msg === 'Genesys refused the cached OAuth token; fetching a new one'),
    ).toMatchObject({ loginUrl: LOGIN_URL });
  });
});

describe('each token request counted by what Genesys answered', () => {
  /** genesys_bff_oauth_token_refreshes_total{result} and genesys_bff_genesys_errors_total count each token request by what Genesys answered. */
  async function count(name: string, labels: Record<string, string>): Promise<number> {
    const metric = await registry.getSingleMetric(name)!.get();
    return metric.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
  }

  test('a refused, a failed and a successful token request are each counted by result', async () => {
    // Two failures to one refusal: a refusal counted as a failure (or the other way round) shows.
    const answers = [
      { status: 401, body: { error: 'invalid_client' } },
      { status: 503, body: {} },
      { status: 503, body: {} },
      { status: 200, body: { access_token: 'a-token', expires_in: 3600 } },
    ];
    const server = http.createServer((req, res) => {
      req.resume();
      const answer = answers.shift()!;
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const genesysHttp = createGenesysHttp({ timeoutMs: 5000 });
    const before = {
      refused: await count('genesys_bff_oauth_token_refreshes_total', { result: 'refused' }),
      failed: await count('genesys_bff_oauth_token_refreshes_total', { result: 'failed' }),
      success: await count('genesys_bff_oauth_token_refreshes_total', { result: 'success' }),
      e401: await count('genesys_bff_genesys_errors_total', { code: '401' }),
      e503: await count('genesys_bff_genesys_errors_total', { code: '503' }),
    };
    const cache = new TokenCache({
      loginUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      clientId: 'id',
      clientSecret: 'secret',
      named: VARIABLE_NAMES,
      http: genesysHttp.axios,
      logger: captureLogger().logger,
      sleep: async () => undefined,
      recheckAfterMs: 0,
    });
    try {
      await expect(cache.getToken()).rejects.toMatchObject({ code: 'upstream_unavailable' });
      // The refusal's cool-down is 0: the next call asks again, meets two 503s, retries and gets the token.
      await expect(cache.getToken()).resolves.toBe('a-token');
      expect({
        refused: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'refused' })) - before.refused,
        failed: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'failed' })) - before.failed,
        success: (await count('genesys_bff_oauth_token_refreshes_total', { result: 'success' })) - before.success,
        e401: (await count('genesys_bff_genesys_errors_total', { code: '401' })) - before.e401,
        e503: (await count('genesys_bff_genesys_errors_total', { code: '503' })) - before.e503,
      }).toEqual({ refused: 1, failed: 2, success: 1, e401: 1, e503: 2 });
    } finally {
      cache.close();
      genesysHttp.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
