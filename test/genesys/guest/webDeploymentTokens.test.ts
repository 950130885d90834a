import { startSimulator, type Simulator } from '../../../simulator';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { WebDeploymentTokens } from '../../../src/genesys/guest/webDeploymentTokens';
import { captureLogger } from '../../support/app';
import { signInAt } from '../../support/signIn';

/** The token endpoints of authenticated messaging, against the simulator (docs/genesys-protocol.md#authenticated-messaging-token-endpoints). */
let sim: Simulator;
let http: GenesysHttp;
let tokens: WebDeploymentTokens;
const log = captureLogger('debug');

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
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
  await expect(tokens.refresh({ jwt: 'j' })).rejects.toMatchObject({ code: 'reauthentication_required' });
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
  await expect(tokens.exchange(await signInAt(sim, 'customer-2'))).rejects.toMatchObject({ code: 'upstream_unavailable' });

  const unreachable = new WebDeploymentTokens(http.axios, 'http://127.0.0.1:9', sim.deploymentId, log.logger);
  await expect(unreachable.exchange(grant)).rejects.toMatchObject({ code: 'upstream_unavailable' });
});

test('the implicit flow: an ID token and its nonce give a JWT with no refresh token', async () => {
  const grant = await signInAt(sim, 'customer-3', { nonce: 'n-123' });
  const form = new URLSearchParams({ grant_type: 'authorization_code', client_id: sim.signIn.clientId, code: grant.code, redirect_uri: grant.redirectUri, code_verifier: grant.codeVerifier });
  const answer = (await (await fetch(`${sim.url}/oidc/token`, { method: 'POST', body: form })).json()) as { id_token: string };
  await expect(tokens.exchange({ idToken: answer.id_token, nonce: 'another' })).rejects.toMatchObject({ code: 'reauthentication_required' });
  const signIn = await tokens.exchange({ idToken: answer.id_token, nonce: 'n-123' });
  expect(signIn).toEqual({ jwt: expect.stringMatching(/^eyJ/) });
});
