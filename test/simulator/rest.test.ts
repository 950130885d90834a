import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { waitFor } from '../support/wait';

/**
 * @simulator kind it tests the default profile's REST; profile.test.ts tests what strict changes
 */
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator();
});
afterEach(() => {
  sim.reset();
  sim.setOptions({ tokenExpiresIn: 86_400, autoStart: false, allowAllDomains: true, allowedDomains: [] });
});
afterAll(() => sim.stop());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function requestToken(auth: string, body = 'grant_type=client_credentials'): Promise<Response> {
  return fetch(`${sim.urls.loginUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
}

async function accessToken(): Promise<string> {
  const res = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
  return ((await res.json()) as { access_token: string }).access_token;
}

const getDeployment = (token: string | undefined, id = sim.deploymentId) =>
  fetch(`${sim.urls.apiUrl}/api/v2/webdeployments/deployments/${id}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe('revokeClient', () => {
  it('makes the tokens given out answer 401 and refuses the client a new one, until reset', async () => {
    const token = await accessToken();
    expect((await getDeployment(token)).status).toBe(200);
    sim.revokeClient();
    expect((await getDeployment(token)).status).toBe(401);
    const refused = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    sim.reset();
    expect((await getDeployment(await accessToken())).status).toBe(200);
  });
});

describe('POST /oauth/token', () => {
  it('issues a bearer token for the right client credentials', async () => {
    const res = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 86_400 });
    expect(sim.stats.tokenRequests).toBe(1);
    expect(sim.requests[0]).toMatchObject({
      method: 'POST',
      path: '/oauth/token',
      body: 'grant_type=client_credentials',
      target: 'token',
    });
  });

  it('uses the configured expires_in', async () => {
    sim.setOptions({ tokenExpiresIn: 300 });
    const res = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
    expect(((await res.json()) as { expires_in: number }).expires_in).toBe(300);
  });

  it('answers wrong or missing credentials with 401 invalid_client', async () => {
    for (const auth of [basic(sim.credentials.clientId, 'wrong'), basic('someone', sim.credentials.clientSecret), '']) {
      const res = await requestToken(auth);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'invalid_client',
        description: 'authentication failed',
        error_description: 'authentication failed',
      });
    }
    expect(sim.stats.tokenRequests).toBe(3);
  });

  it('answers another grant type with 400 unsupported_grant_type', async () => {
    const res = await requestToken(
      basic(sim.credentials.clientId, sim.credentials.clientSecret),
      'grant_type=password',
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unsupported_grant_type', error_description: expect.any(String) });
  });
});

describe('GET /api/v2/webdeployments/deployments/{id}', () => {
  it('returns the WebDeployment for a valid token, with a correlation id', async () => {
    sim.setOptions({ allowAllDomains: false, allowedDomains: ['shop.example.com'] });
    const res = await getDeployment(await accessToken());
    expect(res.status).toBe(200);
    expect(res.headers.get('inin-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = await res.json();
    expect(body).toMatchObject({
      id: sim.deploymentId,
      name: expect.any(String),
      description: expect.any(String),
      allowAllDomains: false,
      allowedDomains: ['shop.example.com'],
      status: 'Active',
      configuration: { id: expect.any(String), version: expect.any(String) },
      flow: { id: expect.any(String) },
      selfUri: `/api/v2/webdeployments/deployments/${sim.deploymentId}`,
    });
    expect(new Date(body.dateCreated).toISOString()).toBe(body.dateCreated);
    expect(sim.stats.deploymentRequests).toBe(1);
  });

  it('answers another id with 404 not.found ErrorBody', async () => {
    const res = await getDeployment(await accessToken(), randomUUID());
    expect(res.status).toBe(404);
    const correlationId = res.headers.get('inin-correlation-id');
    expect(await res.json()).toEqual({
      message: 'The requested resource was not found.',
      code: 'not.found',
      status: 404,
      contextId: correlationId,
      details: [],
      errors: [],
    });
  });

  it('answers an unknown or expired token with 401 bad.credentials, a missing one with authentication.required', async () => {
    const unknown = await getDeployment('not-a-token');
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({
      message: 'Invalid login credentials.',
      code: 'bad.credentials',
      status: 401,
      contextId: expect.any(String),
      details: [],
      errors: [],
    });

    sim.setOptions({ tokenExpiresIn: 0 });
    const expired = await getDeployment(await accessToken());
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ code: 'bad.credentials' });

    const missing = await getDeployment(undefined);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ code: 'authentication.required' });
  });
});

describe('GET /webdeployments/v1/deployments/{id}/config.json', () => {
  it('serves the public config without auth', async () => {
    sim.setOptions({ autoStart: true });
    const res = await fetch(`${sim.urls.cdnUrl}/webdeployments/v1/deployments/${sim.deploymentId}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toMatchObject({
      id: sim.deploymentId,
      version: expect.any(String),
      languages: expect.any(Array),
      defaultLanguage: expect.any(String),
      apiEndpoint: sim.urls.apiUrl,
      messenger: {
        enabled: true,
        apps: {
          conversations: {
            messagingEndpoint: sim.urls.webMessagingUrl,
            showAgentTypingIndicator: true,
            showUserTypingIndicator: true,
            autoStart: { enabled: true },
            conversationDisconnect: { enabled: true, type: 'ReadOnly' },
            conversationClear: { enabled: true },
          },
        },
      },
      journeyEvents: { enabled: false },
      status: 'Active',
      auth: { enabled: true, allowSessionUpgrade: true },
    });
    expect(sim.stats.configRequests).toBe(1);
  });

  it('answers an unknown deployment with 403, as api-cdn does', async () => {
    const res = await fetch(`${sim.urls.cdnUrl}/webdeployments/v1/deployments/${randomUUID()}/config.json`);
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('failRest and delayRest', () => {
  it('fails the token endpoint with a given status and the real ErrorBody, a given number of times', async () => {
    sim.faults.failRest('token', { status: 500, times: 1 });
    const failed = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({
      code: 'internal.server.error',
      status: 500,
      contextId: expect.any(String),
    });
    const ok = await requestToken(basic(sim.credentials.clientId, sim.credentials.clientSecret));
    expect(ok.status).toBe(200);
    expect(sim.stats.tokenRequests).toBe(2);
  });

  it('fails the deployment endpoint until cleared, with custom body and headers', async () => {
    const token = await accessToken();
    sim.faults.failRest('deployment', {
      status: 503,
      body: { message: 'down', code: 'service.unavailable', status: 503 },
      headers: { 'retry-after': '7' },
    });
    for (let i = 0; i < 2; i++) {
      const res = await getDeployment(token);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toEqual({ message: 'down', code: 'service.unavailable', status: 503 });
    }
    sim.faults.clear();
    expect((await getDeployment(token)).status).toBe(200);
  });

  it('fails config.json and history, adding Retry-After to a 429', async () => {
    sim.faults.failRest('config', { status: 429 });
    const config = await fetch(`${sim.urls.cdnUrl}/webdeployments/v1/deployments/${sim.deploymentId}/config.json`);
    expect(config.status).toBe(429);
    expect(config.headers.get('retry-after')).toBe('3');
    expect(await config.json()).toMatchObject({ code: 'too.many.requests.retry.after' });

    sim.faults.failRest('history', { status: 500, delayMs: 20 });
    const history = await fetch(`${sim.urls.apiUrl}/api/v2/webmessaging/messages`, {
      headers: { authorization: 'bearer x' },
    });
    expect(history.status).toBe(500);
    expect(sim.stats.historyRequests).toBe(1);
  });

  it('delays answers without changing them', async () => {
    sim.faults.delayRest('config', 50, { times: 1 });
    const res = await fetch(`${sim.urls.cdnUrl}/webdeployments/v1/deployments/${sim.deploymentId}/config.json`);
    expect(res.status).toBe(200);
  });

  it('holds answers until released, counting those held', async () => {
    const hold = sim.faults.holdRest('config', { times: 2 });
    const url = `${sim.urls.cdnUrl}/webdeployments/v1/deployments/${sim.deploymentId}/config.json`;
    let answered = 0;
    const held = [fetch(url), fetch(url)].map((p) => p.then((res) => (answered++, res.status)));
    await waitFor(() => hold.held() === 2);
    // A third request is past the hold's count: answered at once, while the two wait.
    expect((await fetch(url)).status).toBe(200);
    expect(answered).toBe(0);
    hold.release();
    await expect(Promise.all(held)).resolves.toEqual([200, 200]);
    expect(hold.held()).toBe(0);
  });

  it('lets a client time out on a delayed answer', async () => {
    sim.faults.delayRest('token', 2000, { times: 1 });
    await expect(
      fetch(`${sim.urls.loginUrl}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic(sim.credentials.clientId, sim.credentials.clientSecret) },
        body: 'grant_type=client_credentials',
        signal: AbortSignal.timeout(50),
      }),
    ).rejects.toThrow();
  });
});

it('answers unknown paths with 404', async () => {
  const res = await fetch(`${sim.url}/api/v2/guests/messages`);
  expect(res.status).toBe(404);
});
