import { startSimulator, type Simulator } from '../../simulator';

/**
 * The availability endpoints as the strict simulator answers them (simulator/availability.ts, observations.ts): only
 * what the SDK models promise, queue observations grouped by media type, queries off the SDK's enums refused, and the
 * estimated wait as several predictions (docs/genesys-protocol.md#availability).
 */
let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  sim.setOptions({ profile: 'strict' });
  const basic = Buffer.from(`${sim.credentials.clientId}:${sim.credentials.clientSecret}`).toString('base64');
  const res = await fetch(`${sim.urls.loginUrl}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  token = ((await res.json()) as { access_token: string }).access_token;
});

async function read(path: string, body?: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim.urls.apiUrl}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const group = () => read(`/api/v2/architect/schedulegroups/${sim.availability.ids.scheduleGroupId}`);
const emergency = () => read(`/api/v2/architect/emergencygroups/${sim.availability.ids.emergencyGroupId}`);
const estimatedWait = () =>
  read(`/api/v2/routing/queues/${sim.availability.ids.queueId}/mediatypes/message/estimatedwaittime`);
const queuePredicate = () => ({
  type: 'dimension',
  dimension: 'queueId',
  operator: 'matches',
  value: sim.availability.ids.queueId,
});
const observations = (query: object = { filter: { type: 'or', predicates: [queuePredicate()] } }) =>
  read('/api/v2/analytics/queues/observations/query', { metrics: ['oOnQueueUsers', 'oWaiting'], ...query });

describe('optional fields the SDK models do not promise are left out', () => {
  test('a schedule group without a time zone and with only open schedules has no timeZone and no empty lists', async () => {
    sim.availability.setSchedules({
      timeZone: null,
      open: [{ start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000', rrule: 'FREQ=DAILY' }],
    });
    const { status, body } = await group();
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('timeZone');
    expect(body).not.toHaveProperty('closedSchedules');
    expect(body).not.toHaveProperty('holidaySchedules');
    expect(body.openSchedules).toHaveLength(1);
  });

  test('a schedule group with no schedules at all has none of the three lists', async () => {
    sim.availability.setSchedules({ timeZone: 'Europe/Dublin' });
    const { body } = await group();
    expect(body).toMatchObject({ timeZone: 'Europe/Dublin' });
    for (const list of ['openSchedules', 'closedSchedules', 'holidaySchedules']) expect(body).not.toHaveProperty(list);
  });

  test('an emergency group that is off has no enabled flag and no call flows; on, it says enabled: true', async () => {
    const off = (await emergency()).body;
    expect(off).not.toHaveProperty('enabled');
    expect(off).not.toHaveProperty('emergencyCallFlows');
    sim.availability.setEmergency(true);
    expect((await emergency()).body).toMatchObject({ enabled: true });
  });

  test('observations that count nothing have no results at all', async () => {
    sim.availability.setAgents({});
    sim.availability.setWaiting(0, 'voice');
    sim.availability.setWaiting(0, 'email');
    const { status, body } = await observations();
    expect(status).toBe(200);
    expect(body).toEqual({});
  });

  test('the kind profile sends every field, empty or not', async () => {
    sim.setOptions({ profile: 'default' });
    sim.availability.setAgents({});
    expect((await group()).body).toMatchObject({ closedSchedules: [], holidaySchedules: [] });
    expect((await emergency()).body).toMatchObject({ enabled: false, emergencyCallFlows: [] });
    expect((await observations()).body).toEqual({
      results: [
        { group: { queueId: sim.availability.ids.queueId }, data: [{ metric: 'oWaiting', stats: { count: 0 } }] },
      ],
    });
  });
});

describe('queue observations come one result per queue and media type', () => {
  test('each media group has the agents on queue and its own interactions waiting', async () => {
    sim.availability.setAgents({ IDLE: 2, INTERACTING: 1 });
    sim.availability.setWaiting(4);
    sim.availability.setWaiting(6, 'voice');
    sim.availability.setWaiting(0, 'email');
    const { body } = await observations();
    const queueId = sim.availability.ids.queueId;
    const agents = [
      { metric: 'oOnQueueUsers', qualifier: 'IDLE', stats: { count: 2 } },
      { metric: 'oOnQueueUsers', qualifier: 'INTERACTING', stats: { count: 1 } },
    ];
    expect(body.results).toEqual([
      { group: { queueId, mediaType: 'voice' }, data: [...agents, { metric: 'oWaiting', stats: { count: 6 } }] },
      { group: { queueId, mediaType: 'chat' }, data: agents },
      { group: { queueId, mediaType: 'email' }, data: agents },
      { group: { queueId, mediaType: 'callback' }, data: agents },
      { group: { queueId, mediaType: 'message' }, data: [...agents, { metric: 'oWaiting', stats: { count: 4 } }] },
    ]);
  });

  test('a mediaType predicate keeps that group only', async () => {
    sim.availability.setWaiting(3);
    const { body } = await observations({
      filter: {
        type: 'and',
        clauses: [{ type: 'or', predicates: [queuePredicate()] }],
        predicates: [{ dimension: 'mediaType', value: 'message' }],
      },
    });
    expect((body.results as { group: { mediaType: string } }[]).map((r) => r.group.mediaType)).toEqual(['message']);
  });
});

describe('a query off the SDK enums is refused with 400 bad.request', () => {
  test.each([
    ['a filter type xor', { filter: { type: 'xor', predicates: [] } }],
    ['a clause type not', { filter: { type: 'and', clauses: [{ type: 'not', predicates: [] }] } }],
    ['a userId dimension', { filter: { type: 'or', predicates: [{ dimension: 'userId', value: 'u-1' }] } }],
    ['a predicate type range', { filter: { type: 'or', predicates: [{ type: 'range', dimension: 'queueId' }] } }],
    ['an operator equals', { filter: { type: 'or', predicates: [{ dimension: 'queueId', operator: 'equals' }] } }],
    ['a metric oBogus', { metrics: ['oOnQueueUsers', 'oBogus'] }],
    ['a detail metric tAnswered', { detailMetrics: ['tAnswered'] }],
    ['a filter type in capitals', { filter: { type: 'OR', predicates: [] } }],
  ])('%s', async (_what, change) => {
    const { status, body } = await observations({
      filter: { type: 'or', predicates: [queuePredicate()] },
      ...change,
    });
    expect(status).toBe(400);
    expect(body).toMatchObject({
      message: 'The request could not be understood by the server due to malformed syntax.',
      code: 'bad.request',
      status: 400,
    });
  });

  test("the service's own query is within them", async () => {
    expect((await observations()).status).toBe(200);
  });
});

describe('the estimated wait is a list of predictions', () => {
  test('BEST first, then the other formulas, each scoped to messages and each with its own wait', async () => {
    sim.availability.setEstimatedWait(240);
    const { body } = await estimatedWait();
    expect(body).toEqual({
      results: [
        { intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: 240 },
        { intent: 'MESSAGE', formula: 'SIMPLE', estimatedWaitTimeSeconds: 540 },
        { intent: 'MESSAGE', formula: 'PATIENCE_ABANDON', estimatedWaitTimeSeconds: 120 },
        { intent: 'MESSAGE', formula: 'POSITION-IN-QUEUE', estimatedWaitTimeSeconds: 270 },
      ],
    });
  });

  test('no prediction is an empty list; a list set by hand comes as it was set', async () => {
    sim.availability.setEstimatedWait(null);
    expect((await estimatedWait()).body).toEqual({ results: [] });
    const list = [
      { intent: 'CALL', formula: 'AI-ADJUSTED-AHT', estimatedWaitTimeSeconds: 30 },
      { intent: 'MESSAGE', formula: 'ABANDON', estimatedWaitTimeSeconds: 300 },
    ];
    sim.availability.setPredictions(list);
    expect((await estimatedWait()).body).toEqual({ results: list });
  });

  test('the kind profile gives the BEST prediction alone', async () => {
    sim.setOptions({ profile: 'default' });
    expect((await estimatedWait()).body).toEqual({
      results: [{ intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: 45 }],
    });
  });
});
