import nock from 'nock';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { captureLogger, type CapturedLogger } from '../../support/app';
import { TokenCache } from '../../../src/genesys/platform/tokenCache';
import { PlatformApiError, PlatformClient } from '../../../src/genesys/platform/platformClient';
import { toProblem } from '../../../src/http/problem';
import { FIXTURE_GENESYS, useFixture, type Fixture } from '../../support/nockBack';
import { recordingSleep, testConfig } from '../../support/platform';

const DEPLOYMENT_PATH = `/api/v2/webdeployments/deployments/${FIXTURE_GENESYS.deploymentId}`;

describe('PlatformClient', () => {
  let fixture: Fixture;
  let genesysHttp: GenesysHttp;
  let log: CapturedLogger;
  let tokens: TokenCache;
  let delays: number[];

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
    log = captureLogger('debug');
  });

  afterEach(() => {
    tokens?.close();
    fixture?.done();
    genesysHttp.close();
  });

  function platformClient(): PlatformClient {
    const { genesys } = testConfig(fixture.env).deployments[0]!;
    const recorded = recordingSleep();
    delays = recorded.delays;
    tokens = new TokenCache({
      loginUrl: genesys.loginUrl,
      clientId: genesys.credentials!.clientId,
      clientSecret: genesys.credentials!.clientSecret,
      named: genesys.named,
      http: genesysHttp.axios,
      logger: log.logger,
    });
    return new PlatformClient({
      apiUrl: genesys.apiUrl,
      tokens,
      http: genesysHttp.axios,
      logger: log.logger,
      sleep: recorded.sleep,
    });
  }

  const getDeployment = (client: PlatformClient) =>
    client.request<{ status: string }>({ method: 'GET', path: DEPLOYMENT_PATH });
  const deploymentRequests = () => fixture.requests({ path: DEPLOYMENT_PATH });
  const tokenRequests = () => fixture.requests({ path: '/oauth/token' });

  it('answers a 401 with exactly one new token and one replay', async () => {
    fixture = await useFixture('platform-401-then-200.json');
    const client = platformClient();

    await expect(getDeployment(client)).resolves.toMatchObject({ status: 'Active' });

    expect(tokenRequests()).toHaveLength(2);
    const [refused, replayed] = deploymentRequests();
    expect(deploymentRequests()).toHaveLength(2);
    expect(refused!.headers.authorization).toMatch(/^Bearer fixture-access-token-1/);
    expect(replayed!.headers.authorization).toMatch(/^Bearer fixture-access-token-2/);
    expect(delays).toEqual([]);
  });

  it('surfaces a second 401 as an upstream error instead of looping', async () => {
    fixture = await useFixture('platform-401-twice.json');
    const client = platformClient();

    const error = await getDeployment(client).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PlatformApiError);
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      status: 502,
      upstream: { status: 401, code: 'bad.credentials' },
    });
    expect(tokenRequests()).toHaveLength(2);
    expect(deploymentRequests()).toHaveLength(2);
    expect(fixture.pending()).toEqual([]);
  });

  it('retries a 429 after the Retry-After Genesys sent', async () => {
    fixture = await useFixture('platform-429-then-200.json');
    const client = platformClient();

    await expect(getDeployment(client)).resolves.toMatchObject({ status: 'Active' });

    expect(delays).toEqual([3_000]);
    expect(deploymentRequests()).toHaveLength(2);
  });

  it('gives up on a 503 after the bounded attempts, keeping Genesys details out of the client-facing problem', async () => {
    fixture = await useFixture('platform-503.json');
    const client = platformClient();

    const error = (await getDeployment(client).catch((e: unknown) => e)) as PlatformApiError;

    expect(error).toBeInstanceOf(PlatformApiError);
    expect(deploymentRequests()).toHaveLength(4);
    expect(delays).toHaveLength(3);
    expect(delays.every((d, i) => i === 0 || d <= 30_000)).toBe(true);
    expect(error.status).toBe(503);
    expect(error.code).toBe('upstream_unavailable');
    const problem = JSON.stringify(toProblem(error));
    expect(problem).not.toMatch(/service\.unavailable|contextId|correlation|webdeployments/i);
    expect(error.logDetail).toMatchObject({
      genesys: {
        status: 503,
        code: 'service.unavailable',
        contextId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
        correlationId: 'd4e2f3a4-5b6c-4d7e-8f9a-0b1c2d3e4f5a',
      },
    });
    // Every failed attempt is logged with its correlation id.
    const logged = log
      .lines()
      .flatMap((l) => (l.genesys as { correlationId?: string } | undefined)?.correlationId ?? []);
    expect(logged).toEqual([1, 2, 3, 4].map((i) => `d${i}e2f3a4-5b6c-4d7e-8f9a-0b1c2d3e4f5a`));
  });

  it('maps a 403 to a 502 whose upstream part keeps the Genesys code for the caller', async () => {
    fixture = await useFixture('deployment-forbidden.json');
    const client = platformClient();

    const error = await getDeployment(client).catch((e: unknown) => e);

    expect(error).toMatchObject({
      status: 502,
      code: 'upstream_unavailable',
      upstream: { status: 403, code: 'missing.permissions' },
    });
    expect((error as Error).message).not.toContain('webDeployments');
    expect(deploymentRequests()).toHaveLength(1);
  });

  it('only calls paths on the configured API host', async () => {
    fixture = await useFixture('token-success.json');
    const client = platformClient();

    await expect(client.request({ method: 'GET', path: 'https://attacker.example.com/api/v2/x' })).rejects.toThrow(
      /start with \/api\/v2\//,
    );
    await expect(client.request({ method: 'GET', path: '/api/v2/../../x' })).rejects.toThrow(/start with \/api\/v2\//);
    await expect(client.request({ method: 'GET', path: '//attacker.example.com/api/v2/x' })).rejects.toThrow(
      /stay on https:\/\/api.mypurecloud.ie/,
    );
    expect(fixture.requests()).toEqual([]);
  });
});

/**
 * Rate limits and refusals no recording holds, scripted with nock: what is retried, and what the caller is told once
 * the retries stop.
 */
describe('PlatformClient scripted', () => {
  const API_URL = 'https://api.example.test';
  const PATH = '/api/v2/webdeployments/deployments/d-1';
  const TOO_MANY = {
    message: 'Rate limit exceeded the maximum. Retry the request in [120] seconds',
    code: 'too.many.requests.retry.after',
    status: 429,
  };
  let genesysHttp: GenesysHttp;
  let delays: number[];
  let log: CapturedLogger;

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
  });

  afterEach(() => {
    nock.cleanAll();
    genesysHttp.close();
    jest.restoreAllMocks();
  });

  function platformClient(): PlatformClient {
    const recorded = recordingSleep();
    delays = recorded.delays;
    log = captureLogger('debug');
    return new PlatformClient({
      apiUrl: API_URL,
      tokens: { getToken: async () => 'token', invalidate: () => undefined },
      http: genesysHttp.axios,
      logger: log.logger,
      sleep: recorded.sleep,
      retry: { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 },
    });
  }

  it('answers 429 at once with the Retry-After Genesys asked for when it is longer than a retry may wait', async () => {
    const api = nock(API_URL).get(PATH).reply(429, TOO_MANY, { 'Retry-After': '120' });

    const error = await platformClient()
      .request({ method: 'GET', path: PATH })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(PlatformApiError);
    expect(error).toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryAfterSeconds: 120,
      upstream: { status: 429, code: 'too.many.requests.retry.after' },
    });
    expect(toProblem(error as PlatformApiError)).toMatchObject({
      status: 429,
      code: 'rate_limited',
      detail: expect.stringMatching(/rate limiting this service; retry later/),
    });
    expect(delays).toEqual([]);
    expect(api.isDone()).toBe(true);
  });

  it('answers 429 with Retry-After 1 s when Genesys kept refusing without saying how long to wait', async () => {
    nock(API_URL).get(PATH).times(3).reply(429, { code: 'too.many.requests', status: 429 });

    const error = await platformClient()
      .request({ method: 'GET', path: PATH })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 1 });
    expect(delays).toHaveLength(2);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('waits out the inin-ratelimit-reset of a 429 that sends no Retry-After', async () => {
    const window = { 'inin-ratelimit-allowed': '300', 'inin-ratelimit-count': '301' };
    nock(API_URL)
      .get(PATH)
      .reply(429, TOO_MANY, { ...window, 'inin-ratelimit-reset': '12' })
      .get(PATH)
      .reply(429, TOO_MANY, { ...window, 'inin-ratelimit-reset': '45' });

    const error = await platformClient()
      .request({ method: 'GET', path: PATH })
      .catch((e: unknown) => e);

    // 12 s fits a retry's wait; 45 s does not, so the caller is told to come back then.
    expect(delays).toEqual([12_000]);
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfterSeconds: 45 });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('waits out an inin-ratelimit-reset only when it is whole seconds, with or without spaces around', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    nock(API_URL)
      .get(PATH)
      .reply(429, TOO_MANY, { 'inin-ratelimit-reset': ' 7 ' })
      .get(PATH)
      .reply(429, TOO_MANY, { 'inin-ratelimit-reset': '12s' })
      .get(PATH)
      .reply(200, { id: 'd-1' });

    await expect(platformClient().request({ method: 'GET', path: PATH })).resolves.toEqual({ id: 'd-1' });
    // '12s' is no number of seconds: the policy's own backoff then (the upper half of 1 s, jitter at one half).
    expect(delays).toEqual([7_000, 750]);
  });

  it('takes a reset that is not only digits for none: x12 is retried on the backoff, not stopped as NaN', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    nock(API_URL).get(PATH).reply(429, TOO_MANY, { 'inin-ratelimit-reset': 'x12' }).get(PATH).reply(200, { id: 'd-1' });

    await expect(platformClient().request({ method: 'GET', path: PATH })).resolves.toEqual({ id: 'd-1' });
    expect(delays).toEqual([375]);
  });

  it('retries a 429 whatever the method (Genesys did not take the request), a 503 only where a replay is safe', async () => {
    nock(API_URL)
      .post(PATH)
      .reply(429, TOO_MANY, { 'Retry-After': '2' })
      .post(PATH)
      .reply(200, { ok: true })
      .post(PATH)
      .reply(503, { code: 'service.unavailable', status: 503 });
    const client = platformClient();

    await expect(client.request({ method: 'POST', path: PATH, body: {} })).resolves.toEqual({ ok: true });
    expect(delays).toEqual([2_000]);
    const error = await client.request({ method: 'POST', path: PATH, body: {} }).catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'PlatformApiError', code: 'upstream_unavailable', status: 503 });
    expect(toProblem(error as PlatformApiError).detail).toBe(
      'Genesys Cloud is unavailable or did not answer in time; please retry shortly.',
    );
    expect(delays).toEqual([2_000]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('answers a 504 Genesys kept giving as a 504, and says which retry it was waiting for in the log', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    nock(API_URL).get(PATH).times(3).reply(504, { code: 'gateway.timeout', status: 504 });

    const error = await platformClient()
      .request({ method: 'GET', path: PATH })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 504 });
    const failures = log
      .lines()
      .map((l) => ({ level: l.level, msg: l.msg, attempt: l.attempt, retryInMs: l.retryInMs }));
    expect(failures).toEqual([
      { level: 40, msg: 'Genesys Platform request failed; retrying', attempt: 1, retryInMs: 375 },
      { level: 40, msg: 'Genesys Platform request failed; retrying', attempt: 2, retryInMs: 750 },
      { level: 50, msg: 'Genesys Platform request failed', attempt: 3, retryInMs: undefined },
    ]);
  });

  it('takes a 3xx for a refusal, not for data, and says so in its own words', async () => {
    nock(API_URL).get(PATH).reply(300, { id: 'somewhere else' });

    const error = await platformClient()
      .request({ method: 'GET', path: PATH })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 502, upstream: { status: 300 } });
    expect(toProblem(error as PlatformApiError).detail).toBe(
      'Genesys Cloud refused a request this service made; the operator log has the details.',
    );
  });

  it('refuses a path without its leading slash, which would resolve under the API host', async () => {
    await expect(platformClient().request({ method: 'GET', path: 'api/v2/x' })).rejects.toThrow(
      /start with \/api\/v2\//,
    );
  });
});
