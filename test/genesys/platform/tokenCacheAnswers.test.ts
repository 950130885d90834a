import nock from 'nock';
import { captureLogger, type CapturedLogger } from '../../support/app';
import { manualClock, recordingSleep } from '../../support/platform';
import { waitFor } from '../../support/wait';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { TokenCache, TokenUnavailableError, type TokenCacheOptions } from '../../../src/genesys/platform/tokenCache';

/**
 * Every kind of answer the login host can give the client-credentials
 * request (docs/genesys-protocol.md#oauth-client-credentials), scripted with
 * nock on a manual clock: what the cache serves, what a cold caller is told,
 * and what the readiness check and the log say.
 */

const LOGIN_URL = 'https://login.example.test';
const HOUR_S = 3_600;
const HOUR_MARGIN_MS = 360_000; // refreshMarginMs(1 h)

describe('TokenCache against a scripted login host', () => {
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
    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 503, retryInMs: 1_500, retryAfterSeconds: 2 });
    expect(error.logDetail).toMatchObject({ reason: 'oauth_credentials_rejected', loginUrl: LOGIN_URL, status });
    expect(tokens.state()).toEqual({
      ok: false,
      detail: expect.stringContaining(`Genesys rejected the OAuth client credentials ${named} at ${LOGIN_URL}.`),
    });
    // The operator is told the likeliest cause of a refusal that looks like bad credentials.
    expect(tokens.state().detail).toMatch(
      /GENESYS_REGION is the region the OAuth client was created in: credentials sent to the wrong region answer invalid_client\.$/,
    );
    expect(log.lines().filter((l) => l.level === 50)).toEqual([expect.objectContaining({ status })]);

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
