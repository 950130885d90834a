import {
  ALL_AVAILABILITY_GRANTS,
  availabilityEnvFor,
  genesysEnvFor,
  HOME_DIVISION_ID,
  startSimulator,
  type Simulator,
} from '../../simulator';
import { availabilityTargetFromEnv, verifyAvailability } from '../../src/tools/verifyAvailability';
import { simProfile } from '../support/stack';

/**
 * `npm run verify:genesys` reads each availability endpoint with the configured ids and reports what the
 * OAuth client may not read, by permission.
 */
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

async function run(env: Record<string, string> = {}) {
  const findings: { point: string; observed: string; verdict: string }[] = [];
  const target = availabilityTargetFromEnv({ ...genesysEnvFor(sim), ...availabilityEnvFor(sim), ...env }, sim.urls);
  await verifyAvailability(target, {
    add: (point, _expected, observed, verdict) => findings.push({ point, observed, verdict }),
    timeoutMs: 3000,
    exchanges: [],
    secrets: [],
  });
  return findings;
}

const QUEUE_POINTS = (queueId: string) => [
  `availability: estimated wait (queue ${queueId})`,
  'availability: queue observations',
  'availability: schedule group',
  'availability: emergency group',
  `availability: predictions (queue ${queueId})`,
  'availability: observation grouping',
];

test('every endpoint read holds against the simulator', async () => {
  const findings = await run();
  expect(findings.map((f) => f.point)).toEqual([
    ...QUEUE_POINTS(sim.availability.ids.queueId),
    'availability: open schedule 1 of 1',
    'availability: schedule now',
    "availability: the service's answer now",
  ]);
  expect(findings.filter((f) => f.verdict !== 'holds')).toEqual([]);
});

/** A one-off schedule in UTC from `fromHours` to `toHours` hours after the start of this hour. */
function hoursFromNow(name: string, fromHours: number, toHours: number) {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const local = (h: number) => new Date(hour + h * 3_600_000).toISOString().slice(0, 23);
  return { name, start: local(fromHours), end: local(toHours), at: (h: number) => `${local(h).slice(0, 19)}+00:00` };
}

describe("every schedule of the group is read and evaluated by the service's own rules", () => {
  const daily = {
    name: 'Every day',
    start: '2024-01-01T00:00:00.000',
    end: '2024-01-02T00:00:00.000',
    rrule: 'FREQ=DAILY',
  };
  const observedOf = (findings: Awaited<ReturnType<typeof run>>, point: string) =>
    findings.find((f) => f.point === point)?.observed;

  test('a closed schedule over an open one closes the centre, and the report names it and when it opens', async () => {
    const stocktake = hoursFromNow('Stocktake', -1, 2);
    const later = hoursFromNow('Founders day', 24 * 30, 24 * 31);
    sim.availability.setSchedules({ timeZone: 'UTC', open: [daily], closed: [stocktake], holiday: [later] });
    const findings = await run();
    expect(sim.availability.reads('schedule')).toBe(3);
    expect(findings.filter((f) => / schedule \d of \d$/.test(f.point)).map((f) => [f.point, f.verdict])).toEqual([
      ['availability: open schedule 1 of 1', 'holds'],
      ['availability: closed schedule 1 of 1', 'holds'],
      ['availability: holiday schedule 1 of 1', 'holds'],
    ]);
    expect(observedOf(findings, 'availability: open schedule 1 of 1')).toBe(
      '"Every day": 2024-01-01T00:00:00.000 to 2024-01-02T00:00:00.000, rrule FREQ=DAILY',
    );
    expect(observedOf(findings, 'availability: closed schedule 1 of 1')).toContain('once (no rrule)');
    expect(observedOf(findings, 'availability: schedule now')).toBe(
      `closed in UTC: closed schedule 1 "Stocktake" holds now; opens ${stocktake.at(2)}; next change ${stocktake.at(2)}`,
    );
    expect(observedOf(findings, "availability: the service's answer now")).toMatch(
      new RegExp(`^open false \\(reason closed\\); closesAt null; nextOpenAt ${stocktake.at(2).replace('+', '\\+')};`),
    );
  });

  test('a holiday outranks a closed schedule, and an emergency outranks both', async () => {
    const stocktake = hoursFromNow('Stocktake', -1, 2);
    const holiday = hoursFromNow('Storm day', -2, 5);
    sim.availability.setSchedules({ timeZone: 'UTC', open: [daily], closed: [stocktake], holiday: [holiday] });
    const findings = await run();
    expect(observedOf(findings, 'availability: schedule now')).toBe(
      `holiday in UTC: holiday schedule 1 "Storm day" holds now; opens ${holiday.at(5)}; next change ${holiday.at(5)}`,
    );
    expect(observedOf(findings, "availability: the service's answer now")).toMatch(/^open false \(reason holiday\);/);
    sim.availability.setEmergency(true);
    const emergency = await run();
    expect(observedOf(emergency, "availability: the service's answer now")).toMatch(
      /^open false \(reason emergency\); closesAt null; nextOpenAt null;/,
    );
  });

  test('a schedule whose rule the service cannot evaluate differs, and the schedule is then unknown', async () => {
    sim.availability.setSchedules({ timeZone: 'UTC', open: [{ ...daily, rrule: 'FREQ=SOMETIMES' }] });
    const findings = await run();
    expect(findings.find((f) => f.point === 'availability: open schedule 1 of 1')).toMatchObject({
      verdict: 'differs',
      observed: expect.stringContaining('the service cannot evaluate it: '),
    });
    expect(findings.find((f) => f.point === 'availability: schedule now')).toEqual({
      point: 'availability: schedule now',
      observed: 'not evaluated (failed)',
      verdict: 'differs',
    });
    expect(observedOf(findings, "availability: the service's answer now")).toMatch(/; unknown schedule$/);
  });

  test('the open schedule decides while nothing outranks it, and the report says when it closes', async () => {
    const shift = hoursFromNow('Late shift', -1, 3);
    sim.availability.setSchedules({ timeZone: 'UTC', open: [shift] });
    const findings = await run();
    expect(observedOf(findings, 'availability: schedule now')).toBe(
      `open in UTC: open schedule 1 "Late shift" holds now; closes ${shift.at(3)}; next change ${shift.at(3)}`,
    );
    expect(observedOf(findings, "availability: the service's answer now")).toMatch(
      new RegExp(`^open true \\(reason open\\); closesAt ${shift.at(3).replace('+', '\\+')};`),
    );
  });
});

test("each prediction's formula and intent are listed, with the one the service shows; a formula off the list differs", async () => {
  sim.availability.setPredictions([
    { intent: 'CALL', formula: 'BEST', estimatedWaitTimeSeconds: 20 },
    { intent: 'MESSAGE', formula: 'AI-ADJUSTED-AHT', estimatedWaitTimeSeconds: 300 },
    { intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: 240 },
  ]);
  const point = `availability: predictions (queue ${sim.availability.ids.queueId})`;
  expect((await run()).find((f) => f.point === point)).toEqual({
    point,
    observed:
      'BEST CALL 20 s, AI-ADJUSTED-AHT MESSAGE 300 s (shown), BEST MESSAGE 240 s; the service shows AI-ADJUSTED-AHT',
    verdict: 'holds',
  });
  sim.availability.setPredictions([{ formula: 'AVERAGE', estimatedWaitTimeSeconds: 60 }]);
  expect((await run()).find((f) => f.point === point)).toEqual({
    point,
    observed: "AVERAGE (no intent) 60 s (shown); the service shows AVERAGE; not in the SDK's lists: formula AVERAGE",
    verdict: 'differs',
  });
});

test('the observation grouping says how the results come back and what the service counts of them', async () => {
  const findings = await run();
  const grouping = findings.find((f) => f.point === 'availability: observation grouping')!;
  const queue = sim.availability.ids.queueId;
  if (simProfile() === 'strict') {
    // One result per queue and media type; only media that count something, and oWaiting only where some wait.
    expect(grouping.observed).toContain(
      `{queueId ${queue}, mediaType voice}: oOnQueueUsers IDLE, INTERACTING; oWaiting`,
    );
    expect(grouping.observed).toContain(`{queueId ${queue}, mediaType message}: oOnQueueUsers IDLE, INTERACTING`);
  } else {
    expect(grouping.observed).toMatch(
      new RegExp(`^1 result: \\{queueId ${queue}\\}: oOnQueueUsers IDLE, INTERACTING; oWaiting;`),
    );
  }
  expect(grouping.observed).toMatch(/; the service counts 3 on queue, 2 idle, 0 waiting$/);
});

test('a missing permission is reported by name', async () => {
  // The observations query "Requires ANY permissions": its refusal is missing.any.permissions.
  sim.availability.refuse('queueObservations', 'permission');
  const findings = await run();
  expect(findings.find((f) => f.point === 'availability: queue observations')).toEqual({
    point: 'availability: queue observations',
    observed: 'HTTP 403 missing.any.permissions: the OAuth client lacks analytics:queueObservation:view',
    verdict: 'differs',
  });
});

test("a permission held only in another division than the object's is reported by name", async () => {
  sim.availability.setDivision('emergencyGroup', 'a9e1c3d5-7b2f-4e6a-8c0d-2f4b6d8e0a1c');
  sim.setOptions({ clientGrants: { ...ALL_AVAILABILITY_GRANTS, 'routing:emergencyGroup:view': [HOME_DIVISION_ID] } });
  try {
    const findings = await run();
    expect(findings.find((f) => f.point === 'availability: emergency group')).toEqual({
      point: 'availability: emergency group',
      observed: 'HTTP 403 missing.permissions: the OAuth client lacks routing:emergencyGroup:view',
      verdict: 'differs',
    });
  } finally {
    sim.setOptions({ clientGrants: ALL_AVAILABILITY_GRANTS });
  }
});

test('optional fields Genesys leaves out hold, and say how the service reads them', async () => {
  sim.availability.setSchedules({ timeZone: null, open: [] });
  const findings = await run();
  const observed = (point: string) => findings.find((f) => f.point === point);
  expect(observed('availability: schedule group')).toMatchObject({ verdict: 'holds' });
  expect(observed('availability: emergency group')).toMatchObject({ verdict: 'holds' });
  if (simProfile() === 'strict') {
    expect(observed('availability: schedule group')!.observed).toBe(
      'read; no timeZone (read in UTC); no openSchedules (never open)',
    );
    expect(observed('availability: emergency group')!.observed).toBe('read; no enabled flag (read as off)');
  }
});

test('without ids it checks nothing, and says so', async () => {
  const findings = await run({ GENESYS_QUEUE_ID: '', GENESYS_SCHEDULE_GROUP_ID: '', GENESYS_EMERGENCY_GROUP_ID: '' });
  expect(findings).toEqual([
    { point: 'availability (Platform API)', observed: 'no availability ids set', verdict: 'not checked' },
  ]);
});
