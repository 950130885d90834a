import { ALL_AVAILABILITY_GRANTS, availabilityEnvFor, HOME_DIVISION_ID } from '../../simulator';
import { steerableClock } from '../support/clock';
import { PAGE_ORIGIN, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor, sleep } from '../support/wait';

/**
 * GET /availability against the strict simulator: open hours from a schedule group in its own time zone, an
 * emergency, agents and the estimated wait, and what Genesys refusing or going away does to the answer. The
 * service's clock stands still; a refresh happens only when the test moves it past the refresh interval.
 */
const REFRESH_SECONDS = 60;
const STALE_SECONDS = 120;

let stack: Stack;
const clock = steerableClock();

const get = () => stack.http.get('/availability').set('Origin', PAGE_ORIGIN);

/** Moves the clock to `iso` (never back) and waits for the answer Genesys gives then. */
async function answerAt(iso: string) {
  const target = Date.parse(iso);
  if (target < clock.now()) throw new Error(`the clock is already past ${iso}`);
  clock.advance(target - clock.now());
  return refreshed();
}

/** The answer after one more refresh (the clock moved past the interval, or just now). */
async function refreshed() {
  const before = (await get()).body.asOf as string;
  if (clock.now() - Date.parse(before) < REFRESH_SECONDS * 1000) clock.advance(REFRESH_SECONDS * 1000);
  let res = await get();
  await waitFor(async () => {
    res = await get();
    return res.body.asOf !== before;
  });
  return res;
}

beforeAll(async () => {
  clock.standStill();
  // 2027-03-12 is the Friday before the United States move to daylight-saving time (Sunday 2027-03-14).
  clock.advance(Date.parse('2027-03-12T12:00:00Z') - clock.now());
  stack = await startStack({
    now: clock.now,
    env: {
      GENESYS_QUEUE_ID: '5b0d6a54-1f7e-4c3a-9a5e-2f6c8d1e0a71',
      GENESYS_SCHEDULE_GROUP_ID: '7c1e2f3a-4b5d-4e6f-8a9b-0c1d2e3f4a5b',
      GENESYS_EMERGENCY_GROUP_ID: '9d2f3a4b-5c6e-4f7a-8b9c-1d2e3f4a5b6c',
      AVAILABILITY_REFRESH_SECONDS: String(REFRESH_SECONDS),
      AVAILABILITY_STALE_SECONDS: String(STALE_SECONDS),
      // Each refresh is awaited by polling the answer; the per-address limit has its own tests.
      AVAILABILITY_READS_PER_IP_PER_MINUTE: '100000',
    },
  });
  expect(availabilityEnvFor(stack.sim)).toMatchObject({
    GENESYS_QUEUE_ID: stack.config.deployments[0]!.availability.queueIds[0],
  });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.sim.availability.reset();
  stack.sim.faults.clear();
  stack.sim.setOptions({ clientGrants: ALL_AVAILABILITY_GRANTS, platformRequestsPerMinute: 300 });
});

/** What needs the strict profile's behaviour to mean anything (the kind one has no request budget). */
const strictOnly = simProfile() === 'strict' ? test : test.skip;
const OTHER_DIVISION = 'c4d6e8f0-1a3b-4c5d-8e7f-9a0b1c2d3e4f';

const WEEKDAYS_NEW_YORK = {
  timeZone: 'America/New_York',
  open: [
    {
      name: 'Weekdays',
      start: '2027-01-04T09:00:00.000',
      end: '2027-01-04T17:00:00.000',
      rrule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR',
    },
  ],
};

describe('open hours', () => {
  test('a weekly schedule in New York holds 09:00 to 17:00 local on both sides of the daylight-saving change', async () => {
    stack.sim.availability.setSchedules(WEEKDAYS_NEW_YORK);

    const friday = await answerAt('2027-03-12T21:00:00Z'); // 16:00 EST
    expect(friday.status).toBe(200);
    expect(friday.body).toMatchObject({
      configured: true,
      open: true,
      reason: 'open',
      closesAt: '2027-03-12T17:00:00-05:00',
      nextOpenAt: null,
      unknown: [],
      stale: false,
    });

    const evening = await answerAt('2027-03-12T23:00:00Z'); // 18:00 EST
    expect(evening.body).toMatchObject({
      open: false,
      reason: 'closed',
      nextOpenAt: '2027-03-15T09:00:00-04:00',
      closesAt: null,
    });
    // Closed until Monday: the answer may be cached until the next refresh, never past it.
    expect(evening.headers['cache-control']).toBe(`public, max-age=${REFRESH_SECONDS}`);

    // Monday 08:30 EDT is 12:30 UTC: an hour earlier in UTC than before the change, and still closed.
    const early = await answerAt('2027-03-15T12:30:00Z');
    expect(early.body).toMatchObject({ open: false, reason: 'closed', nextOpenAt: '2027-03-15T09:00:00-04:00' });

    const monday = await answerAt('2027-03-15T13:00:00Z'); // 09:00 EDT
    expect(monday.body).toMatchObject({ open: true, reason: 'open', closesAt: '2027-03-15T17:00:00-04:00' });
  });

  test('a holiday outranks the open hours, and says when the centre opens again', async () => {
    stack.sim.availability.setSchedules({
      ...WEEKDAYS_NEW_YORK,
      holiday: [{ name: 'Spring holiday', start: '2027-03-16T00:00:00.000', end: '2027-03-17T00:00:00.000' }],
    });
    const res = await answerAt('2027-03-16T15:00:00Z');
    expect(res.body).toMatchObject({ open: false, reason: 'holiday', nextOpenAt: '2027-03-17T09:00:00-04:00' });
  });

  // Every other emergency test runs under the simulator's around-the-clock schedule.
  test('an emergency outside the open hours is an emergency, not "closed, opens at …"', async () => {
    stack.sim.availability.setSchedules(WEEKDAYS_NEW_YORK);
    stack.sim.availability.setEmergency(true);
    const res = await answerAt('2027-03-17T02:00:00Z'); // Tuesday 22:00 EDT
    expect(res.body).toMatchObject({ open: false, reason: 'emergency', nextOpenAt: null, closesAt: null });
  });

  test('an answer is not served as open past its closesAt, nor as closed past its nextOpenAt, until a refresh', async () => {
    stack.sim.availability.setSchedules(WEEKDAYS_NEW_YORK);
    const open = await answerAt('2027-03-17T20:59:30Z'); // Wednesday 16:59:30 EDT
    expect(open.body).toMatchObject({ open: true, closesAt: '2027-03-17T17:00:00-04:00' });
    expect(open.headers['cache-control']).toBe('public, max-age=30');

    clock.advance(31_000); // past 17:00, not past the refresh interval
    const closed = await get();
    expect(closed.body).toMatchObject({
      open: false,
      reason: 'closed',
      closesAt: null,
      nextOpenAt: '2027-03-18T09:00:00-04:00',
      asOf: open.body.asOf,
    });

    const before = await answerAt('2027-03-18T12:59:30Z'); // Thursday 08:59:30 EDT
    expect(before.body).toMatchObject({ open: false, nextOpenAt: '2027-03-18T09:00:00-04:00' });
    expect(before.headers['cache-control']).toBe('public, max-age=30');
    clock.advance(31_000);
    const opened = await get();
    expect(opened.body).toMatchObject({
      open: true,
      reason: 'open',
      nextOpenAt: null,
      closesAt: '2027-03-18T17:00:00-04:00',
      asOf: before.body.asOf,
    });
  });

  test('an emergency closes the centre whatever the schedule says', async () => {
    stack.sim.availability.setEmergency(true);
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: false, reason: 'emergency', nextOpenAt: null, closesAt: null });
  });

  test("the simulator's default, open around the clock (an all-day daily schedule), has no closesAt", async () => {
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, reason: 'open', closesAt: null, nextOpenAt: null });
  });

  test('open schedules that touch (09:00-12:00 and 12:00-17:00) close at 17:00, not at noon', async () => {
    stack.sim.availability.setSchedules({
      timeZone: 'Europe/Berlin',
      open: [
        { name: 'Mornings', start: '2027-01-04T09:00:00.000', end: '2027-01-04T12:00:00.000', rrule: 'FREQ=DAILY' },
        { name: 'Afternoons', start: '2027-01-04T12:00:00.000', end: '2027-01-04T17:00:00.000', rrule: 'FREQ=DAILY' },
      ],
    });
    const res = await answerAt('2027-03-19T09:00:00Z'); // Friday 10:00 CET
    expect(res.body).toMatchObject({ open: true, reason: 'open', closesAt: '2027-03-19T17:00:00+01:00' });
  });

  test('a schedule group that states no time zone is read in UTC, and the log says so', async () => {
    stack.sim.availability.setSchedules({
      timeZone: null,
      open: [{ name: 'Days', start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000', rrule: 'FREQ=DAILY' }],
    });
    // 16:30 UTC is 17:30 in Berlin, the simulator's zone until now: open only if read in UTC.
    const res = await answerAt('2027-03-22T16:30:00Z');
    expect(res.body).toMatchObject({ open: true, reason: 'open', unknown: [] });
    expect(Date.parse(res.body.closesAt)).toBe(Date.parse('2027-03-22T17:00:00Z'));
    const warning = stack.log.lines().find((l) => l.scheduleGroupId === stack.sim.availability.ids.scheduleGroupId);
    expect(warning).toMatchObject({ timeZone: 'UTC' });
    expect(warning!.msg).toContain('states no time zone');
  });

  test('a group without schedules is never open, and an emergency group without its flag is no emergency', async () => {
    stack.sim.availability.setSchedules({ timeZone: 'Europe/Berlin' });
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: false, reason: 'closed', nextOpenAt: null, unknown: [] });
  });
});

describe('agents and the wait', () => {
  test('agents idle and waiting, and the estimated wait, come from the queue', async () => {
    stack.sim.availability.setAgents({ IDLE: 3, INTERACTING: 2 });
    stack.sim.availability.setWaiting(4);
    stack.sim.availability.setEstimatedWait(240);
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, agentsAvailable: 3, waiting: 4, estimatedWaitSeconds: 240 });
    const observation = stack.sim.requests.filter((r) => r.target === 'queueObservations').at(-1);
    expect(JSON.parse(observation!.body)).toMatchObject({
      filter: { type: 'or', predicates: [{ dimension: 'queueId', value: stack.sim.availability.ids.queueId }] },
      metrics: ['oOnQueueUsers', 'oWaiting'],
    });
  });

  test('no agent on queue is no_agents', async () => {
    stack.sim.availability.setAgents({});
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: false, reason: 'no_agents', agentsAvailable: 0 });
  });

  test('observations grouped by media type: only messages waiting count, and each agent once', async () => {
    stack.sim.availability.setAgents({ IDLE: 1, INTERACTING: 4 });
    stack.sim.availability.setWaiting(2);
    stack.sim.availability.setWaiting(7, 'voice');
    stack.sim.availability.setWaiting(3, 'chat');
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, agentsAvailable: 1, waiting: 2, unknown: [] });
  });

  test('observations with no results at all: nobody on queue, nobody waiting', async () => {
    stack.sim.availability.setAgents({});
    for (const media of ['message', 'voice', 'email']) stack.sim.availability.setWaiting(0, media);
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: false, reason: 'no_agents', agentsAvailable: 0, waiting: 0, unknown: [] });
  });

  test("the estimate is Genesys's first prediction for messages, whatever formulas follow it", async () => {
    stack.sim.availability.setEstimatedWait(240); // BEST 240, then SIMPLE 540, PATIENCE_ABANDON 120, ...
    expect((await refreshed()).body.estimatedWaitSeconds).toBe(240);
    stack.sim.availability.setPredictions([
      { intent: 'CALL', formula: 'BEST', estimatedWaitTimeSeconds: 30 },
      { intent: 'MESSAGE', formula: 'AI-ADJUSTED-AHT', estimatedWaitTimeSeconds: 360 },
      { intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: 200 },
    ]);
    expect((await refreshed()).body.estimatedWaitSeconds).toBe(360);
    stack.sim.availability.setPredictions([
      { intent: 'ALL', formula: 'SIMPLE', estimatedWaitTimeSeconds: 30 },
      { formula: 'POSITION-IN-QUEUE', estimatedWaitTimeSeconds: 90 },
    ]);
    expect((await refreshed()).body.estimatedWaitSeconds).toBe(90);
  });

  test('no prediction from Genesys is a null estimate, not an unknown part', async () => {
    stack.sim.availability.setEstimatedWait(null);
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, estimatedWaitSeconds: null, unknown: [] });
  });
});

describe('when Genesys refuses or goes away', () => {
  test('a missing permission makes that part unknown and is logged by name', async () => {
    stack.sim.availability.refuse('queueObservations', 'permission');
    const res = await refreshed();
    expect(res.body).toMatchObject({
      open: true,
      reason: 'open',
      agentsAvailable: null,
      waiting: null,
      unknown: ['agents'],
    });
    expect(res.body.estimatedWaitSeconds).toBe(45);
    expect(stack.log.messages('warn').join('\n')).toContain('analytics:queueObservation:view');
    expect(stack.log.lines().find((l) => l.permission === 'analytics:queueObservation:view')).toMatchObject({
      part: 'agents',
      request: 'POST /api/v2/analytics/queues/observations/query',
    });
  });

  test('a schedule in a division the OAuth client may not read: the schedule unknown, the permission logged', async () => {
    stack.sim.setOptions({
      clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'routing:schedule:view': [HOME_DIVISION_ID] },
    });
    stack.sim.availability.setSchedules({
      timeZone: 'Europe/Berlin',
      open: [{ start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000', divisionId: OTHER_DIVISION }],
    });
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, reason: 'open', unknown: ['schedule'], estimatedWaitSeconds: 45 });
    const warning = stack.log.lines().find((l) => l.permission === 'routing:schedule:view');
    expect(warning).toMatchObject({
      part: 'schedule',
      request: expect.stringMatching(/^GET \/api\/v2\/architect\/schedules\//),
    });
    expect(warning!.msg).toContain("another division than the object's");
  });

  test('queues in a division the client may not observe (missing.any.permissions): agents unknown', async () => {
    stack.sim.availability.setDivision('queue', OTHER_DIVISION);
    stack.sim.setOptions({
      clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'analytics:queueObservation:view': [HOME_DIVISION_ID] },
    });
    const res = await refreshed();
    expect(res.body).toMatchObject({ open: true, agentsAvailable: null, waiting: null, unknown: ['agents'] });
    expect(res.body.estimatedWaitSeconds).toBe(45);
  });

  strictOnly(
    "the OAuth token's request budget spent: the parts kept stale, read again in the next window",
    async () => {
      stack.sim.availability.setEstimatedWait(100);
      expect((await refreshed()).body).toMatchObject({ estimatedWaitSeconds: 100, stale: false });
      stack.sim.availability.setEstimatedWait(200);
      stack.sim.setOptions({ platformRequestsPerMinute: 20 });
      // The service's own token, spent by the test as the client's other reads would spend it.
      const authorization = String(
        stack.sim.requests.filter((r) => r.target === 'estimatedWait').at(-1)!.headers.authorization,
      );
      clock.advance(REFRESH_SECONDS * 1000);
      const spend = () =>
        fetch(`${stack.sim.urls.apiUrl}/api/v2/architect/emergencygroups/none`, {
          headers: { authorization },
        });
      let spent = await spend();
      for (let i = 0; i < 25 && spent.status !== 429; i++) spent = await spend();
      expect(spent.status).toBe(429);
      expect(spent.headers.get('retry-after')).toBe('60');

      clock.advance(20_000); // 40 s left in Genesys's window
      const reads = stack.sim.availability.reads('estimatedWait');
      const limited = await refreshed();
      expect(limited.body).toMatchObject({ estimatedWaitSeconds: 100, stale: true, unknown: [] });
      // Refused once, not retried in place; the next refresh, an interval later, falls in Genesys's next window.
      expect(stack.sim.availability.reads('estimatedWait')).toBe(reads + 1);
      expect(limited.headers['cache-control']).toBe(`public, max-age=${REFRESH_SECONDS}`);
      const after = await refreshed();
      expect(after.body).toMatchObject({ estimatedWaitSeconds: 200, stale: false });
    },
  );

  test('a 429 keeps the last estimate (stale) and the next read waits for its Retry-After', async () => {
    stack.sim.availability.setEstimatedWait(100);
    await refreshed();
    stack.sim.availability.setEstimatedWait(200);
    stack.sim.availability.refuse('estimatedWait', 'rateLimit', { retryAfterSeconds: 150, times: 1 });
    const limited = await refreshed();
    expect(limited.body).toMatchObject({ estimatedWaitSeconds: 100, stale: true, unknown: [] });
    expect(limited.headers['cache-control']).toBe('public, max-age=150');

    const reads = stack.sim.availability.reads('estimatedWait');
    clock.advance(REFRESH_SECONDS * 1000); // past the interval, not past the Retry-After
    await get();
    await sleep(200);
    expect((await get()).body.estimatedWaitSeconds).toBe(100);
    expect(stack.sim.availability.reads('estimatedWait')).toBe(reads);

    clock.advance(90_000);
    const after = await refreshed();
    expect(after.body).toMatchObject({ estimatedWaitSeconds: 200, stale: false });
  });

  test('a schedule whose RRULE cannot be read fails that part: kept stale a while, then unknown, never a 500', async () => {
    await refreshed();
    stack.sim.availability.setSchedules({
      timeZone: 'Europe/Berlin',
      open: [{ start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000', rrule: 'FREQ=WEEKLY;BYDAY=XX' }],
    });
    const kept = await refreshed();
    expect(kept.body).toMatchObject({ open: true, stale: true, unknown: [] });
    clock.advance(STALE_SECONDS * 1000);
    const unknown = await refreshed();
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ open: true, stale: false, unknown: ['schedule'], estimatedWaitSeconds: 45 });
  });

  test('Genesys down: the last answer is served stale, then the parts are unknown, and the centre stays open', async () => {
    stack.sim.availability.setEmergency(true);
    const good = await refreshed();
    expect(good.body.reason).toBe('emergency');
    for (const target of [
      'estimatedWait',
      'queueObservations',
      'scheduleGroup',
      'schedule',
      'emergencyGroup',
    ] as const) {
      stack.sim.availability.refuse(target, 'down');
    }
    const stale = await refreshed();
    expect(stale.body).toMatchObject({ open: false, reason: 'emergency', stale: true, unknown: [] });

    clock.advance(STALE_SECONDS * 1000);
    const unknown = await refreshed();
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({
      configured: true,
      open: true,
      reason: 'open',
      estimatedWaitSeconds: null,
      agentsAvailable: null,
      stale: false,
    });
    expect([...unknown.body.unknown].sort()).toEqual(['agents', 'emergency', 'estimatedWait', 'schedule']);
  });
});

test('not configured: open, nothing known, and /capabilities says so', async () => {
  const bare = await startStack();
  try {
    const res = await bare.http.get('/availability').set('Origin', PAGE_ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
    expect(res.body).toEqual({
      configured: false,
      open: true,
      reason: 'open',
      nextOpenAt: null,
      closesAt: null,
      estimatedWaitSeconds: null,
      agentsAvailable: null,
      waiting: null,
      unknown: [],
      stale: false,
      asOf: expect.any(String),
    });
    const { token } = await bare.newSession();
    const caps = await bare.http.get('/capabilities').set({ Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN });
    expect(caps.body.availability).toEqual({ configured: false });
    expect(bare.sim.availability.reads('estimatedWait') + bare.sim.availability.reads('scheduleGroup')).toBe(0);
  } finally {
    await bare.close();
  }
});
