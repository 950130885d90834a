import { AppError } from '../../../src/domain/errors';
import { AvailabilityReads, choosePrediction } from '../../../src/genesys/platform/availabilityReads';
import { PlatformApiError, PlatformClient } from '../../../src/genesys/platform/platformClient';
import { TokenCache } from '../../../src/genesys/platform/tokenCache';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { captureLogger } from '../../support/app';
import { useFixture, type Fixture } from '../../support/nockBack';
import { testConfig } from '../../support/platform';

/**
 * The Platform reads behind GET /availability against hand-written answers in the shapes of the Platform SDK models
 * (nock.back fixtures, not recorded from Genesys: docs/recording-fixtures.md): what each request sends, what is
 * taken from each answer, and the refusals (a 403 naming the missing permission, a 429 with Retry-After) surfaced at
 * once for the caller to act on, not retried.
 */
const QUEUE = '8a3c5e7f-1b2d-4c6e-9f0a-2b4c6d8e0f1a';
const GROUP = '4e6a8c0e-2f4b-4d6f-8a1c-3e5f7a9b1c3d';
const EMERGENCY = '2d4f6b8d-0a2c-4e6a-9c1e-5b7d9f1a3c5e';

let fixture: Fixture;
let genesysHttp: GenesysHttp;
let tokens: TokenCache;

beforeEach(() => {
  genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
});
afterEach(() => {
  tokens?.close();
  fixture?.done();
  genesysHttp.close();
});

function reads(): AvailabilityReads {
  const { genesys } = testConfig(fixture.env).deployments[0]!;
  const { logger } = captureLogger('debug');
  tokens = new TokenCache({
    loginUrl: genesys.loginUrl,
    clientId: genesys.credentials!.clientId,
    clientSecret: genesys.credentials!.clientSecret,
    named: genesys.named,
    http: genesysHttp.axios,
    logger,
  });
  const platform = new PlatformClient({
    apiUrl: genesys.apiUrl,
    tokens,
    http: genesysHttp.axios,
    logger,
    retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  return new AvailabilityReads(platform);
}

describe('reading availability', () => {
  test('the estimated wait, the queue observations, the schedule group, its schedules and the emergency group', async () => {
    fixture = await useFixture('availability-reads.json');
    const r = reads();
    // The first prediction in Genesys's order (BEST here), not the other formulas after it.
    await expect(r.estimatedWait(QUEUE)).resolves.toEqual({ seconds: 174, formula: 'BEST', intent: 'MESSAGE' });
    // oOnQueueUsers by routing status; oWaiting for message interactions only (the voice group is left out).
    await expect(r.observations([QUEUE])).resolves.toEqual({
      onQueueByStatus: { IDLE: 2, INTERACTING: 5, NOT_RESPONDING: 1 },
      waiting: 3,
    });
    const group = await r.scheduleGroup(GROUP);
    expect(group).toMatchObject({ timeZone: 'Europe/Dublin', closed: [] });
    expect(group.open.map((s) => s.name)).toEqual(['Weekdays']);
    await expect(r.schedule(group.open[0]!.id)).resolves.toMatchObject({
      start: '2026-01-05T08:30:00.000',
      end: '2026-01-05T18:00:00.000',
      rrule: 'FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR',
    });
    await expect(r.schedule(group.holiday[0]!.id)).resolves.toMatchObject({ rrule: 'FREQ=YEARLY;INTERVAL=1' });
    await expect(r.emergencyEnabled(EMERGENCY)).resolves.toBe(true);

    const [observation] = fixture.requests({ method: 'POST', path: '/api/v2/analytics/queues/observations/query' });
    expect(JSON.parse(observation!.body!)).toEqual({
      filter: {
        type: 'or',
        predicates: [{ type: 'dimension', dimension: 'queueId', operator: 'matches', value: QUEUE }],
      },
      metrics: ['oOnQueueUsers', 'oWaiting'],
    });
    expect(fixture.pending()).toEqual([]);
  });

  test('no prediction is no estimate', async () => {
    fixture = await useFixture('availability-no-prediction.json');
    await expect(reads().estimatedWait(QUEUE)).resolves.toEqual({
      seconds: undefined,
      formula: undefined,
      intent: undefined,
    });
  });

  test('a 403 missing.permissions is surfaced with its code, at once', async () => {
    fixture = await useFixture('availability-forbidden.json');
    const error = await reads()
      .observations([QUEUE])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformApiError);
    expect(error).toMatchObject({ upstream: { status: 403, code: 'missing.permissions' } });
    expect(fixture.requests({ path: '/api/v2/analytics/queues/observations/query' })).toHaveLength(1);
  });

  test("a 429 is surfaced with Genesys's Retry-After, not retried", async () => {
    fixture = await useFixture('availability-rate-limited.json');
    const error = await reads()
      .estimatedWait(QUEUE)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 7 });
    expect(
      fixture.requests({ path: `/api/v2/routing/queues/${QUEUE}/mediatypes/message/estimatedwaittime` }),
    ).toHaveLength(1);
  });
});

/** The reads over a Platform client that answers every request with `body`. */
const answering = (body: unknown) => new AvailabilityReads({ request: async <T>() => body as T });

describe('choosePrediction', () => {
  test('the first prediction that gives seconds, scoped to messages or to nothing; never another media type', () => {
    const results = [
      { formula: 'BEST', intent: 'MESSAGE' },
      { formula: 'SIMPLE', intent: 'CALL', estimatedWaitTimeSeconds: 20 },
      { formula: 'ABANDON', intent: 'Message', estimatedWaitTimeSeconds: 0 },
      { formula: 'PATIENCE_ABANDON', estimatedWaitTimeSeconds: 40 },
    ];
    expect(choosePrediction(results)?.formula).toBe('ABANDON');
    expect(choosePrediction(results.slice(3))?.formula).toBe('PATIENCE_ABANDON');
    expect(choosePrediction(results.slice(0, 2))).toBeUndefined();
  });
});

describe('what each read takes from an answer', () => {
  test('observations: message interactions and agents of the message group or of no group; a status as Genesys names it, upper-cased', async () => {
    const observed = await answering({
      results: [
        {
          group: { queueId: 'q', mediaType: 'message' },
          data: [
            { metric: 'oWaiting', stats: { count: 2 } },
            { metric: 'oOnQueueUsers', qualifier: 'idle', stats: { count: 3 } },
            { metric: 'oOnQueueUsers', stats: { count: 1 } },
          ],
        },
        {
          group: { queueId: 'q', mediaType: 'voice' },
          data: [
            { metric: 'oWaiting', stats: { count: 50 } },
            { metric: 'oOnQueueUsers', qualifier: 'IDLE', stats: { count: 50 } },
          ],
        },
        {
          group: { queueId: 'r' },
          data: [
            { metric: 'oWaiting', stats: { count: 1 } },
            { metric: 'oOnQueueUsers', qualifier: 'INTERACTING', stats: { count: 4 } },
            { metric: 'oOnQueueUsers', qualifier: 'IDLE' },
          ],
        },
      ],
    }).observations(['q', 'r']);
    expect(observed).toEqual({ onQueueByStatus: { IDLE: 3, UNKNOWN: 1, INTERACTING: 4 }, waiting: 3 });
  });

  test('the emergency is on only when Genesys says enabled', async () => {
    await expect(answering({ id: EMERGENCY, enabled: true }).emergencyEnabled(EMERGENCY)).resolves.toBe(true);
    await expect(answering({ id: EMERGENCY, enabled: false }).emergencyEnabled(EMERGENCY)).resolves.toBe(false);
    await expect(answering({ id: EMERGENCY }).emergencyEnabled(EMERGENCY)).resolves.toBe(false);
  });

  test.each([
    ['estimated wait', (r: AvailabilityReads) => r.estimatedWait(QUEUE), { results: 'none' }, 'results: '],
    [
      'queue observations',
      (r: AvailabilityReads) => r.observations([QUEUE]),
      { results: [{ data: 3 }] },
      'results.0.data: ',
    ],
    ['schedule group', (r: AvailabilityReads) => r.scheduleGroup(GROUP), { name: 'Hours' }, 'id: '],
    ['schedule', (r: AvailabilityReads) => r.schedule('s'), { id: 's', start: '2026-01-01T08:00:00' }, 'end: '],
    [
      'emergency group',
      (r: AvailabilityReads) => r.emergencyEnabled(EMERGENCY),
      { id: EMERGENCY, enabled: 'yes' },
      'enabled: ',
    ],
  ])(
    'an unexpected %s body is a 502 that names the read, with what was wrong for the log',
    async (what, read, body, issue) => {
      const error = await read(answering(body)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({
        code: 'upstream_unavailable',
        status: 502,
        message: `Genesys answered the ${what} request with an unexpected body.`,
      });
      expect(String((error as AppError).logDetail?.issues)).toContain(issue);
    },
  );
});
