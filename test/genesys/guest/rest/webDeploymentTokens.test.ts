import { startSimulator, type Simulator } from '../../../../simulator';
import { createGenesysHttp, type GenesysHttp } from '../../../../src/genesys/restClient';
import { WebDeploymentTokens } from '../../../../src/genesys/guest/rest/webDeploymentTokens';
import { captureLogger } from '../../../support/app';
import { signInAt } from '../../../support/signIn';

/** The token endpoints of authenticated messaging, against the simulator (docs/genesys-protocol.md#authenticated-messaging-token-endpoints). */
let sim: Simulator;
let http: GenesysHttp;
let tokens: WebDeploymentTokens;
const log = captureLogger('debug');

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  http = createGenesysHttp({ timeoutMs: 2000 });
  tokens = new WebDeploymentTokens(http.axios, sim.urls.apiUrl, sim.deploymentId, log.logger);
});
afterAll(async () => {
  http.close();
  await sim.stop();
});
beforeEach(() => sim.faults.clear());

test('exchange, refresh and revoke: credentials that work, then work no more', async () => {
  const signIn = await tokens.exchange(await signInAt(sim, 'customer-1'));
  expect(signIn).toEqual({ jwt: expect.stringMatching(/^eyJ/), refreshToken: expect.any(String) });
  const renewed = await tokens.refresh(signIn);
  expect(renewed.refreshToken).toBe(signIn.refreshToken);
  expect(renewed.jwt).not.toBe(signIn.jwt);

  expect(await tokens.revoke(renewed.jwt)).toBe(true);
  // Revoked everywhere: the JWT is unknown now, and the refresh token is refused.
  expect(await tokens.revoke(renewed.jwt)).toBe(false);
  await expect(tokens.refresh(signIn)).rejects.toMatchObject({ code: 'reauthentication_required' });
});

test('a sign-in without a refresh token (implicit flow) cannot be renewed, and Genesys is not asked', async () => {
  const before = sim.requests.length;
  await expect(tokens.refresh({ jwt: 'j' })).rejects.toMatchObject({
    code: 'reauthentication_required',
    message: expect.stringMatching(/sign in again/i),
  });
  expect(sim.requests.length).toBe(before);
});

test('Genesys failing is upstream_unavailable (retry), never a demand to sign in again', async () => {
  const grant = await signInAt(sim, 'customer-2');
  sim.faults.failRest('signInExchange', { status: 503 });
  await expect(tokens.exchange(grant)).rejects.toMatchObject({ code: 'upstream_unavailable', status: 502 });
  sim.faults.failRest('signInRefresh', { status: 429 });
  await expect(tokens.refresh({ jwt: 'j', refreshToken: 'r' })).rejects.toMatchObject({ code: 'upstream_unavailable' });
  sim.faults.failRest('signInRevoke', { status: 500 });
  await expect(tokens.revoke('j')).rejects.toMatchObject({ code: 'upstream_unavailable' });
  sim.faults.failRest('signInExchange', { status: 200, body: { unexpected: true } });
  await expect(tokens.exchange(await signInAt(sim, 'customer-2'))).rejects.toMatchObject({
    code: 'upstream_unavailable',
  });

  const unreachable = new WebDeploymentTokens(http.axios, 'http://127.0.0.1:9', sim.deploymentId, log.logger);
  await expect(unreachable.exchange(grant)).rejects.toMatchObject({ code: 'upstream_unavailable' });
});

test('the implicit flow: an ID token and its nonce give a JWT with no refresh token', async () => {
  const grant = await signInAt(sim, 'customer-3', { nonce: 'n-123' });
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: sim.signIn.clientId,
    code: grant.code,
    redirect_uri: grant.redirectUri,
    code_verifier: grant.codeVerifier,
  });
  const answer = (await (await fetch(`${sim.url}/oidc/token`, { method: 'POST', body: form })).json()) as {
    id_token: string;
  };
  await expect(tokens.exchange({ idToken: answer.id_token, nonce: 'another' })).rejects.toMatchObject({
    code: 'reauthentication_required',
  });
  const signIn = await tokens.exchange({ idToken: answer.id_token, nonce: 'n-123' });
  expect(signIn).toEqual({ jwt: expect.stringMatching(/^eyJ/) });
});

describe("Genesys's answer, status by status (docs/genesys-protocol.md#authenticated-messaging-token-endpoints)", () => {
  // Each answer carries credentials that would parse, so only the status decides.
  const CREDENTIALS = { jwt: 'eyJ.status', refreshToken: 'r-status' };
  const CORRELATION = { 'inin-correlation-id': 'corr-status' };
  const exchange = () => tokens.exchange({ code: 'c', redirectUri: 'https://shop.example/back' });
  const refresh = () => tokens.refresh({ jwt: 'j', refreshToken: 'r' });
  const refusalLogs = () => log.lines().filter((l) => l.signInOperation !== undefined);

  test.each([200, 299])('%i is success: the exchange and the refresh take the credentials', async (status) => {
    sim.faults.failRest('signInExchange', { status, body: CREDENTIALS });
    await expect(exchange()).resolves.toEqual(CREDENTIALS);
    sim.faults.failRest('signInRefresh', { status, body: CREDENTIALS });
    await expect(refresh()).resolves.toEqual({ jwt: CREDENTIALS.jwt, refreshToken: 'r' });
  });

  test.each([300, 429, 500, 503])(
    '%i is upstream_unavailable (retry), with the operation, status and correlation id for the log',
    async (status) => {
      sim.faults.failRest('signInExchange', { status, body: CREDENTIALS, headers: CORRELATION });
      const exchanged = await exchange().catch((e: unknown) => e);
      expect(exchanged).toMatchObject({
        code: 'upstream_unavailable',
        status: 502,
        message: expect.stringMatching(/retry/i),
      });
      expect(exchanged).toHaveProperty('logDetail', {
        signInOperation: 'exchange',
        genesysStatus: status,
        correlationId: 'corr-status',
      });

      sim.faults.failRest('signInRefresh', { status, body: CREDENTIALS, headers: CORRELATION });
      const refreshed = await refresh().catch((e: unknown) => e);
      expect(refreshed).toMatchObject({ code: 'upstream_unavailable', status: 502 });
      expect(refreshed).toHaveProperty('logDetail', {
        signInOperation: 'refresh',
        genesysStatus: status,
        correlationId: 'corr-status',
      });
    },
  );

  test.each([400, 401, 499])(
    '%i is Genesys refusing the credential: reauthentication_required, logged with its operation and status',
    async (status) => {
      const before = refusalLogs().length;
      sim.faults.failRest('signInExchange', { status, body: CREDENTIALS, headers: CORRELATION });
      const exchanged = await exchange().catch((e: unknown) => e);
      expect(exchanged).toMatchObject({
        code: 'reauthentication_required',
        status: 401,
        message: expect.stringMatching(/sign in again/i),
      });
      expect(exchanged).toHaveProperty('logDetail', { signInOperation: 'exchange', genesysStatus: status });

      sim.faults.failRest('signInRefresh', { status, body: CREDENTIALS, headers: CORRELATION });
      const refreshed = await refresh().catch((e: unknown) => e);
      expect(refreshed).toMatchObject({
        code: 'reauthentication_required',
        status: 401,
        message: expect.stringMatching(/sign in again/i),
      });
      expect(refreshed).toHaveProperty('logDetail', { signInOperation: 'refresh', genesysStatus: status });

      expect(refusalLogs().slice(before)).toEqual([
        expect.objectContaining({
          msg: 'Genesys refused a sign-in credential',
          level: 30,
          signInOperation: 'exchange',
          status,
          correlationId: 'corr-status',
        }),
        expect.objectContaining({
          msg: 'Genesys refused a sign-in credential',
          level: 30,
          signInOperation: 'refresh',
          status,
          correlationId: 'corr-status',
        }),
      ]);
    },
  );

  test.each([200, 204, 299])('a revoke answered %i signed the customer out', async (status) => {
    sim.faults.failRest('signInRevoke', { status, body: status === 204 ? undefined : {} });
    await expect(tokens.revoke('j')).resolves.toBe(true);
  });

  test.each([300, 400, 403, 429, 500])(
    'a revoke answered %i is upstream_unavailable, not a sign-out',
    async (status) => {
      sim.faults.failRest('signInRevoke', { status, headers: CORRELATION });
      const error = await tokens.revoke('j').catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'upstream_unavailable',
        status: 502,
        message: expect.stringMatching(/retry/i),
      });
      expect(error).toHaveProperty('logDetail', {
        signInOperation: 'revoke',
        genesysStatus: status,
        correlationId: 'corr-status',
      });
    },
  );
});

test('no answer is upstream_unavailable, 502 when unreachable and 504 when too slow, with the operation for the log', async () => {
  const unreachable = new WebDeploymentTokens(http.axios, 'http://127.0.0.1:9', sim.deploymentId, log.logger);
  const calls = {
    exchange: () => unreachable.exchange({ code: 'c', redirectUri: 'https://shop.example/back' }),
    refresh: () => unreachable.refresh({ jwt: 'j', refreshToken: 'r' }),
    revoke: () => unreachable.revoke('j'),
  };
  for (const [operation, call] of Object.entries(calls)) {
    const error = await call().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      status: 502,
      message: expect.stringMatching(/retry/i),
    });
    expect(error).toHaveProperty('logDetail', { signInOperation: operation, transport: expect.stringMatching(/\w/) });
  }

  const impatient = createGenesysHttp({ timeoutMs: 100 });
  const hold = sim.faults.holdRest('signInExchange');
  try {
    const slow = new WebDeploymentTokens(impatient.axios, sim.urls.apiUrl, sim.deploymentId, log.logger);
    const error = await slow.exchange({ code: 'c', redirectUri: 'https://shop.example/back' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 504 });
    expect(error).toHaveProperty('logDetail', { signInOperation: 'exchange', transport: expect.stringMatching(/\w/) });
  } finally {
    hold.release();
    impatient.close();
  }
});
