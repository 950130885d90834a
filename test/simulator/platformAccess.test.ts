import { startSimulator, type Simulator } from '../../simulator';
import { manualClock } from '../support/platform';

/**
 * How often the strict simulator's Platform API may be read (simulator/platformAccess.ts): each OAuth token's request
 * budget, with the `inin-ratelimit-*` headers on every answer (docs/genesys-protocol.md#errors-and-retries).
 */
let sim: Simulator;
const clock = manualClock(Date.parse('2027-03-12T12:00:00Z'));

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false }, clock: clock.now });
});
afterAll(() => sim.stop());
afterEach(() => {
  sim.reset();
  sim.setOptions({ platformRequestsPerMinute: 300 });
});

async function accessToken(): Promise<string> {
  const basic = Buffer.from(`${sim.credentials.clientId}:${sim.credentials.clientSecret}`).toString('base64');
  const res = await fetch(`${sim.urls.loginUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const api = (token: string, path: string, body?: object) =>
  fetch(`${sim.urls.apiUrl}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const groupPath = () => `/api/v2/architect/schedulegroups/${sim.availability.ids.scheduleGroupId}`;
const waitPath = () => `/api/v2/routing/queues/${sim.availability.ids.queueId}/mediatypes/message/estimatedwaittime`;
const observationQuery = () => ({
  filter: {
    type: 'or',
    predicates: [{ type: 'dimension', dimension: 'queueId', operator: 'matches', value: sim.availability.ids.queueId }],
  },
  metrics: ['oOnQueueUsers', 'oWaiting'],
});
const rateHeaders = (res: Response) => ({
  count: res.headers.get('inin-ratelimit-count'),
  allowed: res.headers.get('inin-ratelimit-allowed'),
  reset: res.headers.get('inin-ratelimit-reset'),
});

describe('the request budget of an OAuth token', () => {
  test('every answer carries inin-ratelimit-count, -allowed and -reset; 300 a minute by default', async () => {
    const token = await accessToken();
    const first = await api(token, waitPath());
    expect(first.status).toBe(200);
    expect(rateHeaders(first)).toEqual({ count: '1', allowed: '300', reset: '60' });
    clock.advance(20_000);
    const deployment = await api(token, `/api/v2/webdeployments/deployments/${sim.deploymentId}`);
    expect(rateHeaders(deployment)).toEqual({ count: '2', allowed: '300', reset: '40' });
    // An error answer carries them too.
    const missing = await api(token, '/api/v2/architect/schedulegroups/no-such-group');
    expect(missing.status).toBe(404);
    expect(rateHeaders(missing)).toEqual({ count: '3', allowed: '300', reset: '40' });
  });

  test('past the budget, 429 too.many.requests.retry.after with Retry-After until the window ends', async () => {
    sim.setOptions({ platformRequestsPerMinute: 3 });
    const token = await accessToken();
    for (let i = 0; i < 3; i++) expect((await api(token, groupPath())).status).toBe(200);
    clock.advance(15_000);
    const refused = await api(token, waitPath());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('45');
    expect(rateHeaders(refused)).toEqual({ count: '4', allowed: '3', reset: '45' });
    expect(await refused.json()).toEqual({
      message: 'Rate limit exceeded the maximum. Retry the request in [45] seconds',
      code: 'too.many.requests.retry.after',
      status: 429,
      contextId: refused.headers.get('inin-correlation-id'),
      details: [],
      errors: [],
    });
    // The query is refused before it is read.
    expect((await api(token, '/api/v2/analytics/queues/observations/query', observationQuery())).status).toBe(429);

    // Another token has its own budget; the first one's returns when its minute is over.
    expect((await api(await accessToken(), groupPath())).status).toBe(200);
    clock.advance(45_000);
    const again = await api(token, groupPath());
    expect(again.status).toBe(200);
    expect(rateHeaders(again)).toEqual({ count: '1', allowed: '3', reset: '60' });
  });

  test('a request without a valid token is the 401 it always was, uncounted', async () => {
    const res = await fetch(`${sim.urls.apiUrl}${groupPath()}`, { headers: { authorization: 'Bearer not-issued' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('inin-ratelimit-count')).toBeNull();
  });

  test('the kind profile sets no budget', async () => {
    sim.setOptions({ profile: 'default', platformRequestsPerMinute: 1 });
    try {
      const token = await accessToken();
      for (let i = 0; i < 3; i++) expect((await api(token, groupPath())).status).toBe(200);
    } finally {
      sim.setOptions({ profile: 'strict' });
    }
  });
});
