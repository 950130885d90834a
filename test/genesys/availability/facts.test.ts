import { AvailabilityReads, PlatformApiError } from '../../../src/genesys/platform';
import { composeAnswer } from '../../../src/genesys/availability/answer';
import { refreshFacts, type AvailabilityTargets, type Facts } from '../../../src/genesys/availability/facts';
import { captureLogger } from '../../support/app';

/**
 * What one refresh takes from the Platform's answers (a stand-in Platform here), part by part, before the answer is composed: here the
 * estimated wait over several queues (docs/api.md#get-availability: "the longest over the queues"), and which of a
 * queue's predictions counts (docs/genesys-protocol.md#availability), and what each refusal makes of a refresh: its
 * result, when the next may run, a part's last value standing in, and the permission a 403 names.
 */
const EWT_PATH = /^\/api\/v2\/routing\/queues\/([^/]+)\/mediatypes\/message\/estimatedwaittime$/;

/** AvailabilityReads over a Platform that answers each queue's estimated wait from `waits` (null: no prediction). */
function readsOf(waits: Record<string, number | null>) {
  const asked: string[] = [];
  const reads = new AvailabilityReads({
    request: async <T>({ path }: { path: string }): Promise<T> => {
      const queue = EWT_PATH.exec(path)?.[1];
      if (queue === undefined) return { results: [] } as T; // the queue observations
      asked.push(decodeURIComponent(queue));
      const seconds = waits[decodeURIComponent(queue)];
      const results =
        seconds === null ? [] : [{ intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: seconds }];
      return { results } as T;
    },
  });
  return { reads, asked };
}

async function waitShown(waits: Record<string, number | null>) {
  const { reads, asked } = readsOf(waits);
  const { facts } = await refreshFacts({
    reads,
    targets: { queueIds: Object.keys(waits) },
    now: 0,
    staleMs: 0,
    logger: captureLogger().logger,
    onMissingPermission: () => undefined,
    onNoTimeZone: () => undefined,
  });
  return { seconds: composeAnswer(facts, ['estimatedWait'], 0).answer.estimatedWaitSeconds, asked };
}

describe('the estimated wait over several queues', () => {
  test('with several queues, the longest estimated wait is shown (a guest may be routed to any)', async () => {
    for (const order of [
      ['queue-a', 'queue-b', 'queue-c'],
      ['queue-c', 'queue-b', 'queue-a'],
    ]) {
      const waits = { 'queue-a': 30, 'queue-b': 600, 'queue-c': 120 };
      const { seconds, asked } = await waitShown(
        Object.fromEntries(order.map((q) => [q, waits[q as keyof typeof waits]])),
      );
      expect(seconds).toBe(600);
      expect(asked.sort()).toEqual(['queue-a', 'queue-b', 'queue-c']);
    }
  });

  test('a queue with no prediction leaves the others: the longest of those given', async () => {
    expect((await waitShown({ 'queue-a': null, 'queue-b': 90, 'queue-c': 45 })).seconds).toBe(90);
    expect((await waitShown({ 'queue-a': null, 'queue-b': null })).seconds).toBeNull();
  });
});

describe("which of a queue's predictions is shown", () => {
  test('the first in Genesys order that is scoped to messages (or to nothing), whatever its formula', async () => {
    const shown = async (results: object[]) => {
      const reads = new AvailabilityReads({ request: async <T>() => ({ results }) as T });
      return (await reads.estimatedWait('queue-a')).seconds;
    };
    const message = (formula: string, seconds: number) => ({
      intent: 'MESSAGE',
      formula,
      estimatedWaitTimeSeconds: seconds,
    });
    expect(await shown([message('BEST', 120), message('SIMPLE', 300)])).toBe(120);
    expect(await shown([message('PATIENCE_ABANDON', 90), message('BEST', 120)])).toBe(90);
    expect(
      await shown([{ intent: 'CALL', formula: 'BEST', estimatedWaitTimeSeconds: 10 }, message('ABANDON', 60)]),
    ).toBe(60);
    expect(await shown([{ formula: 'POSITION-IN-QUEUE', estimatedWaitTimeSeconds: 75 }])).toBe(75);
    expect(await shown([{ intent: 'ALL', formula: 'BEST', estimatedWaitTimeSeconds: 10 }])).toBeUndefined();
  });
});

describe('a schedule group that states no time zone', () => {
  test('is read in UTC, and the listener hears of it', async () => {
    const group = '4e6a8c0e-2f4b-4d6f-8a1c-3e5f7a9b1c3d';
    const schedule = { id: 's-1', name: 'Days', start: '2027-01-04T09:00:00.000', end: '2027-01-04T17:00:00.000' };
    const reads = new AvailabilityReads({
      request: async <T>({ path }: { path: string }): Promise<T> =>
        (path.includes('/schedulegroups/')
          ? { id: group, name: 'Hours', openSchedules: [{ id: 's-1' }] }
          : { ...schedule, rrule: 'FREQ=DAILY' }) as T,
    });
    const told: [string, string][] = [];
    const { facts } = await refreshFacts({
      reads,
      targets: { queueIds: [], scheduleGroupId: group },
      now: Date.parse('2027-03-22T16:30:00Z'),
      staleMs: 0,
      logger: captureLogger().logger,
      onMissingPermission: () => undefined,
      onNoTimeZone: (id, zone) => told.push([id, zone]),
    });
    expect(facts.schedule?.value?.timeZone).toBe('UTC');
    expect(told).toEqual([[group, 'UTC']]);
    // 16:30 UTC is inside 09:00-17:00 read in UTC.
    const { answer } = composeAnswer(facts, ['schedule'], Date.parse('2027-03-22T16:30:00Z'));
    expect(answer).toMatchObject({ open: true, closesAt: '2027-03-22T17:00:00+00:00' });
  });
});

describe('a schedule group this service cannot evaluate', () => {
  const group = '7b1d2f4a-9c3e-4e8b-a6d0-1f2e3d4c5b6a';
  /** Refreshes the schedule part from a group in `timeZone` holding one open schedule; returns it and the log. */
  async function readGroup(timeZone: string, schedule: { start: string; end: string; rrule?: string }) {
    const reads = new AvailabilityReads({
      request: async <T>({ path }: { path: string }): Promise<T> =>
        (path.includes('/schedulegroups/')
          ? { id: group, name: 'Hours', timeZone, openSchedules: [{ id: 's-1' }] }
          : { id: 's-1', name: 'Days', ...schedule }) as T,
    });
    const log = captureLogger();
    const { facts } = await refreshFacts({
      reads,
      targets: { queueIds: [], scheduleGroupId: group },
      now: Date.parse('2027-03-22T16:30:00Z'),
      staleMs: 0,
      logger: log.logger,
      onMissingPermission: () => undefined,
      onNoTimeZone: () => undefined,
    });
    const { answer } = composeAnswer(facts, ['schedule'], Date.parse('2027-03-22T16:30:00Z'));
    const warned = log.lines().flatMap((l) => (l.part === 'schedule' ? [(l.err as { message: string }).message] : []));
    return { answer, warned };
  }

  test('a local time that is not one: the schedule is unknown, and the log names the value', async () => {
    const { answer, warned } = await readGroup('Europe/Berlin', { start: 'Monday 09:00', end: '2027-01-04T17:00' });
    expect(answer).toMatchObject({ open: true, reason: 'open', unknown: ['schedule'] });
    expect(warned).toEqual(['not a local date-time: "Monday 09:00"']);
  });

  test('a time zone this runtime does not know: the schedule is unknown, and the log names the zone', async () => {
    const start = '2027-01-04T09:00:00.000';
    const { answer, warned } = await readGroup('Mars/Olympus_Mons', { start, end: '2027-01-04T17:00:00.000' });
    expect(answer).toMatchObject({ open: true, reason: 'open', unknown: ['schedule'] });
    expect(warned).toEqual([`the schedule group's time zone "Mars/Olympus_Mons" is not known to this runtime`]);
  });

  test('read by an instance that could (a shared answer), it leaves the schedule unknown and the centre open', () => {
    // Another version of the service may share a schedule this one cannot evaluate (answer.ts).
    const now = Date.parse('2027-03-22T16:30:00Z');
    const schedule = {
      value: { timeZone: 'Europe/Berlin', open: [{ start: '2027-01-04T09:00', end: 'soon' }], closed: [], holiday: [] },
      readAt: now,
    };
    const { answer } = composeAnswer({ refreshedAt: now, notBefore: now, schedule }, ['schedule'], now);
    expect(answer).toMatchObject({
      open: true,
      reason: 'open',
      nextOpenAt: null,
      closesAt: null,
      unknown: ['schedule'],
    });
  });
});

/** A Platform error as the Platform client makes it from Genesys answering `status` to GET `path`. */
function refusal(path: string, status: number, retryAfterSeconds?: number): PlatformApiError {
  const code = status === 429 ? 'rate_limited' : 'upstream_unavailable';
  const served = status === 429 || status === 503 || status === 504 ? status : 502;
  return new PlatformApiError({ method: 'GET', path, status }, code, `Genesys answered ${status}`, {
    status: served,
    retryAfterSeconds,
  });
}

const QUEUE = 'queue-a';
const SCHEDULE_GROUP = '1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const EMERGENCY_GROUP = '2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const TARGETS = { queueIds: [QUEUE], scheduleGroupId: SCHEDULE_GROUP, emergencyGroupId: EMERGENCY_GROUP };

/** A stand-in Platform that answers each read with what `answer` gives for its path (throwing what it throws). */
function answering(answer: (path: string) => unknown): AvailabilityReads {
  return new AvailabilityReads({ request: async <T>({ path }: { path: string }): Promise<T> => answer(path) as T });
}

/** The answer each read gets: Genesys's body, or the error `refuse` gives for its path. */
function platform(refuse: (path: string) => PlatformApiError | undefined = () => undefined) {
  return answering((path) => {
    const error = refuse(path);
    if (error) throw error;
    if (path.includes('/schedulegroups/')) return { id: SCHEDULE_GROUP, timeZone: 'UTC', openSchedules: [] };
    if (path.includes('/emergencygroups/')) return { id: EMERGENCY_GROUP, enabled: false };
    if (path.includes('/estimatedwaittime')) return { results: [{ estimatedWaitTimeSeconds: 30 }] };
    return { results: [] };
  });
}

/** One refresh over `reads`; returns its outcome, its log, and what the listeners were told. */
async function refreshWith(
  reads: AvailabilityReads,
  options: { targets?: AvailabilityTargets; now?: number; staleMs?: number; previous?: Facts } = {},
) {
  const log = captureLogger();
  const missing: [string, string, string][] = [];
  const noZone: string[] = [];
  const outcome = await refreshFacts({
    reads,
    targets: options.targets ?? TARGETS,
    now: options.now ?? 1_000_000,
    staleMs: options.staleMs ?? 0,
    previous: options.previous,
    logger: log.logger,
    onMissingPermission: (permission, part, request) => missing.push([permission, part, request]),
    onNoTimeZone: (groupId) => noZone.push(groupId),
  });
  return { ...outcome, log, missing, noZone };
}

describe("what a refresh makes of Genesys's refusals", () => {
  test('a failure that is not a rate limit leaves the next refresh due at once; a 429 puts it after Retry-After', async () => {
    const down = await refreshWith(platform((path) => refusal(path, 503, 5)));
    expect(down.result).toBe('failed');
    expect(down.facts.notBefore).toBe(down.facts.refreshedAt);
    const refused = await refreshWith(platform((path) => refusal(path, 500)));
    expect(refused.result).toBe('failed');
    expect(refused.facts.notBefore).toBe(refused.facts.refreshedAt);

    const limited = await refreshWith(
      platform((path) => (path.includes('/emergencygroups/') ? refusal(path, 429, 7) : undefined)),
    );
    expect(limited.result).toBe('rate_limited');
    expect(limited.facts.notBefore).toBe(limited.facts.refreshedAt + 7000);
  });

  test('some parts read is partial, none is failed, all is ok; each failed read is logged by part', async () => {
    const some = await refreshWith(
      platform((path) => (path.includes('/emergencygroups/') ? refusal(path, 503) : undefined)),
    );
    expect(some.result).toBe('partial');
    expect(some.facts.emergency).toEqual({ missing: 'failed' });
    expect(some.facts.estimatedWait?.value).toEqual({ seconds: 30 });
    expect(some.log.lines().filter((l) => l.part !== undefined)).toEqual([
      expect.objectContaining({
        part: 'emergency',
        msg: 'availability: a Genesys read failed; keeping the last answer',
      }),
    ]);
    expect((await refreshWith(platform((path) => refusal(path, 503)))).result).toBe('failed');
    expect((await refreshWith(platform())).result).toBe('ok');
  });

  test("a part's last value stands in for a failed read up to the stale window, to the millisecond", async () => {
    const { facts: previous } = await refreshWith(platform(), { now: 1_000_000 });
    const down = platform((path) => refusal(path, 503));
    const atEdge = await refreshWith(down, { now: 1_060_000, staleMs: 60_000, previous });
    expect(atEdge.facts.estimatedWait).toEqual({ value: { seconds: 30 }, readAt: 1_000_000 });
    expect(atEdge.result).toBe('failed');
    const past = await refreshWith(down, { now: 1_060_001, staleMs: 60_000, previous });
    expect(past.facts.estimatedWait).toEqual({ missing: 'failed' });
  });

  test('a 403 on each read names the permission that read needs, and the request Genesys refused', async () => {
    const { facts, missing } = await refreshWith(platform((path) => refusal(path, 403)));
    expect(new Set(missing.map(([permission, part]) => `${part} ${permission}`))).toEqual(
      new Set([
        'schedule routing:scheduleGroup:view',
        'emergency routing:emergencyGroup:view',
        'estimatedWait routing:queue:view',
        'agents analytics:queueObservation:view',
      ]),
    );
    expect(missing.find(([, part]) => part === 'emergency')?.[2]).toBe(
      `GET /api/v2/architect/emergencygroups/${EMERGENCY_GROUP}`,
    );
    expect(facts.schedule).toEqual({ missing: 'permission' });

    // The group is read but its schedules are refused: the schedules' own permission is named.
    const schedules = answering((path) => {
      if (path.includes('/architect/schedules/')) throw refusal(path, 403);
      return { id: SCHEDULE_GROUP, timeZone: 'UTC', openSchedules: [{ id: 's-1' }] };
    });
    const read = await refreshWith(schedules, { targets: { queueIds: [], scheduleGroupId: SCHEDULE_GROUP } });
    expect(read.facts.schedule).toEqual({ missing: 'permission' });
    expect(read.missing).toEqual([['routing:schedule:view', 'schedule', 'GET /api/v2/architect/schedules/s-1']]);
  });
});

describe('what a refresh reads', () => {
  test('only the parts configured: without queues no queue is read, and no wait or agents part is made', async () => {
    const asked: string[] = [];
    const { facts, result, noZone } = await refreshWith(
      answering((path) => {
        asked.push(path);
        return path.includes('/schedulegroups/')
          ? { id: SCHEDULE_GROUP, timeZone: 'Europe/Paris', openSchedules: [] }
          : { id: EMERGENCY_GROUP, enabled: false };
      }),
      { targets: { queueIds: [], scheduleGroupId: SCHEDULE_GROUP, emergencyGroupId: EMERGENCY_GROUP } },
    );
    expect(asked.sort()).toEqual([
      `/api/v2/architect/emergencygroups/${EMERGENCY_GROUP}`,
      `/api/v2/architect/schedulegroups/${SCHEDULE_GROUP}`,
    ]);
    expect(facts.estimatedWait).toBeUndefined();
    expect(facts.agents).toBeUndefined();
    expect(result).toBe('ok');
    // The group states its zone: nothing to warn of.
    expect(noZone).toEqual([]);
    expect(facts.schedule?.value?.timeZone).toBe('Europe/Paris');
  });

  test('agents on queue are the sum over their routing statuses, idle those idle', async () => {
    const observed = (qualifier: string, count: number) => ({ metric: 'oOnQueueUsers', qualifier, stats: { count } });
    const reads = answering((path) =>
      path.includes('/observations/')
        ? {
            results: [
              {
                data: [
                  observed('IDLE', 2),
                  observed('INTERACTING', 3),
                  observed('NOT_RESPONDING', 1),
                  { metric: 'oWaiting', stats: { count: 4 } },
                ],
              },
            ],
          }
        : { results: [] },
    );
    const { facts } = await refreshWith(reads, { targets: { queueIds: [QUEUE] } });
    expect(facts.agents?.value).toEqual({ onQueue: 6, idle: 2, waiting: 4 });
  });

  test("each queue's chosen prediction is logged at debug, its formula and intent (null when Genesys gives none)", async () => {
    const reads = answering((path) => {
      if (!path.includes('/estimatedwaittime')) return { results: [] };
      return path.includes('queue-a')
        ? { results: [{ intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: 40 }] }
        : { results: [{ estimatedWaitTimeSeconds: 20 }] };
    });
    const { log } = await refreshWith(reads, { targets: { queueIds: ['queue-a', 'queue-b'] } });
    expect(log.lines().filter((l) => l.level === 20)).toEqual([
      expect.objectContaining({
        msg: 'availability: estimated wait read',
        predictions: [
          { formula: 'BEST', intent: 'MESSAGE' },
          { formula: null, intent: null },
        ],
      }),
    ]);
  });
});
