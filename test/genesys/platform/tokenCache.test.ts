import http from 'node:http';
import { captureLogger, type CapturedLogger } from '../../support/app';
import type { AddressInfo } from 'node:net';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { refreshMarginMs, TokenCache, type TokenCacheOptions } from '../../../src/genesys/platform/tokenCache';
import { AppError } from '../../../src/domain/errors';
import { FIXTURE_GENESYS, useFixture, type Fixture } from '../../support/nockBack';
import { manualClock, recordingSleep, testConfig } from '../../support/platform';

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
    const { genesys } = testConfig(fixture.env);
    cache = new TokenCache({
      loginUrl: genesys.loginUrl,
      clientId: genesys.credentials!.clientId,
      clientSecret: genesys.credentials!.clientSecret,
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
    expect(detail).toContain('GENESYS_CLIENT_ID/GENESYS_CLIENT_SECRET');
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
