import { ALL_AVAILABILITY_GRANTS, HOME_DIVISION_ID, startSimulator, type Simulator } from '../../simulator';
import { manualClock } from '../support/platform';

/**
 * Who may read what on the strict simulator's Platform API, and how often (simulator/platformAccess.ts): each OAuth
 * token's request budget, with the `inin-ratelimit-*` headers on every answer, and the OAuth client's permissions by
 * division, refused as Genesys refuses them (docs/genesys-protocol.md#errors-and-retries).
 */
let sim: Simulator;
const clock = manualClock(Date.parse('2027-03-12T12:00:00Z'));
const OTHER_DIVISION = 'c4d6e8f0-1a3b-4c5d-8e7f-9a0b1c2d3e4f';

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false }, clock: clock.now });
});
afterAll(() => sim.stop());
afterEach(() => {
  sim.reset();
  sim.setOptions({ platformRequestsPerMinute: 300, clientGrants: ALL_AVAILABILITY_GRANTS });
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

describe("the OAuth client's permissions, by division", () => {
  test('each object names its division; the default client holds every availability permission in all of them', async () => {
    sim.availability.setDivision('scheduleGroup', OTHER_DIVISION);
    const token = await accessToken();
    const group = await api(token, groupPath());
    expect(group.status).toBe(200);
    expect(await group.json()).toMatchObject({
      division: { id: OTHER_DIVISION, selfUri: `/api/v2/authorization/divisions/${OTHER_DIVISION}` },
    });
    const emergency = await api(token, `/api/v2/architect/emergencygroups/${sim.availability.ids.emergencyGroupId}`);
    expect(await emergency.json()).toMatchObject({ division: { id: HOME_DIVISION_ID, name: 'Home' } });
  });

  test('a permission held only in another division: 403 missing.permissions naming it', async () => {
    sim.setOptions({ clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'routing:scheduleGroup:view': [HOME_DIVISION_ID] } });
    const token = await accessToken();
    expect((await api(token, groupPath())).status).toBe(200);

    sim.availability.setDivision('scheduleGroup', OTHER_DIVISION);
    const refused = await api(token, groupPath());
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      message:
        'Unable to perform the requested action. You are missing the following permission(s): routing:scheduleGroup:view',
      code: 'missing.permissions',
      status: 403,
      contextId: refused.headers.get('inin-correlation-id'),
      details: [],
      errors: [],
      messageWithParams:
        'Unable to perform the requested action. You are missing the following permission(s): {permissions}',
      messageParams: { permissions: 'routing:scheduleGroup:view' },
    });
  });

  test('a schedule in a division the client may not read is refused, its group is not', async () => {
    sim.setOptions({ clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'routing:schedule:view': [HOME_DIVISION_ID] } });
    sim.availability.setSchedules({
      open: [{ start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000', divisionId: OTHER_DIVISION }],
    });
    const token = await accessToken();
    const group = (await (await api(token, groupPath())).json()) as { openSchedules: { id: string }[] };
    const schedule = await api(token, `/api/v2/architect/schedules/${group.openSchedules[0]!.id}`);
    expect(schedule.status).toBe(403);
    expect(await schedule.json()).toMatchObject({
      code: 'missing.permissions',
      messageParams: { permissions: 'routing:schedule:view' },
    });
  });

  test('the queue observations, which require ANY of their permissions: 403 missing.any.permissions', async () => {
    sim.availability.setDivision('queue', OTHER_DIVISION);
    sim.setOptions({
      clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'analytics:queueObservation:view': [HOME_DIVISION_ID] },
    });
    const token = await accessToken();
    const refused = await api(token, '/api/v2/analytics/queues/observations/query', observationQuery());
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      message:
        'Unable to perform the requested action. You must have at least one of the following permissions assigned: ' +
        'analytics:queueObservation:view',
      code: 'missing.any.permissions',
      status: 403,
      messageParams: { permissions: 'analytics:queueObservation:view' },
    });
    // The estimated wait of the same queue needs another permission, held everywhere.
    expect((await api(token, waitPath())).status).toBe(200);
  });

  test('no grant of the permission at all is refused in every division', async () => {
    const grants = Object.entries(ALL_AVAILABILITY_GRANTS).filter(
      ([permission]) => permission !== 'routing:queue:view',
    );
    sim.setOptions({ clientGrants: Object.fromEntries(grants) });
    const refused = await api(await accessToken(), waitPath());
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      code: 'missing.permissions',
      messageParams: { permissions: 'routing:queue:view' },
    });
  });
});
