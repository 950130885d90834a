import { ConfigError, loadConfig } from '../../src/config/schema';
import { testEnv, type EnvOverrides } from '../support/app';

/** GET /availability's variables: the Genesys ids it reads, how often, and how long a stale answer stands. */
const QUEUE_A = '5b0d6a54-1f7e-4c3a-9a5e-2f6c8d1e0a71';
const QUEUE_B = '8a3c5e7f-1b2d-4c6e-9f0a-2b4c6d8e0f1a';
const GROUP = '7c1e2f3a-4b5d-4e6f-8a9b-0c1d2e3f4a5b';

const load = (overrides: EnvOverrides) => loadConfig(testEnv(overrides)).deployments[0]!;

function problemsOf(overrides: EnvOverrides): string[] {
  try {
    load(overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

test('unset: nothing is read, every 30 s, with a 300 s stale window', () => {
  expect(load({}).availability).toEqual({ queueIds: [], refreshMs: 30_000, staleMs: 300_000 });
});

test('one or more queues, comma-separated with spaces, one schedule group and one emergency group', () => {
  const { availability } = load({
    GENESYS_QUEUE_ID: ` ${QUEUE_A} , ${QUEUE_B},`,
    GENESYS_SCHEDULE_GROUP_ID: GROUP,
    GENESYS_EMERGENCY_GROUP_ID: QUEUE_B,
    AVAILABILITY_REFRESH_SECONDS: '1',
    AVAILABILITY_STALE_SECONDS: '0',
  });
  expect(availability).toEqual({
    queueIds: [QUEUE_A, QUEUE_B],
    scheduleGroupId: GROUP,
    emergencyGroupId: QUEUE_B,
    refreshMs: 1000,
    staleMs: 0,
  });
});

test('a value that is no Genesys id, two schedule groups, or a refresh under a second is refused, each named', () => {
  const problems = problemsOf({
    GENESYS_QUEUE_ID: `${QUEUE_A},support`,
    GENESYS_SCHEDULE_GROUP_ID: `${GROUP},${QUEUE_A}`,
    AVAILABILITY_REFRESH_SECONDS: '0',
  });
  expect(problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^GENESYS_QUEUE_ID must be one or more Genesys ids/),
      expect.stringMatching(/^GENESYS_SCHEDULE_GROUP_ID must be one Genesys id/),
      expect.stringMatching(/^AVAILABILITY_REFRESH_SECONDS must be a whole number from 1 to 3600/),
    ]),
  );
});

test('a list of commas alone is refused (blank is how to leave it unset), and each refusal quotes what it got', () => {
  expect(problemsOf({ GENESYS_QUEUE_ID: ' , ,' })).toEqual([
    'GENESYS_QUEUE_ID must be one or more Genesys ids (UUIDs), comma-separated (got ", ,")',
  ]);
  expect(problemsOf({ GENESYS_EMERGENCY_GROUP_ID: 'closed' })).toEqual([
    'GENESYS_EMERGENCY_GROUP_ID must be one Genesys id (a UUID) (got "closed")',
  ]);
});
