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

test('every endpoint read holds against the simulator', async () => {
  const findings = await run();
  expect(findings.map((f) => f.point)).toEqual([
    `availability: estimated wait (queue ${sim.availability.ids.queueId})`,
    'availability: queue observations',
    'availability: schedule group',
    'availability: emergency group',
    'availability: schedules (1)',
  ]);
  expect(findings.filter((f) => f.verdict !== 'holds')).toEqual([]);
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
