import { AvailabilityReads } from '../../../src/genesys/platform';
import { composeAnswer } from '../../../src/genesys/availability/answer';
import { refreshFacts } from '../../../src/genesys/availability/facts';
import { captureLogger } from '../../support/app';

/**
 * What one refresh takes from the Platform's answers (a stand-in Platform here), part by part, before the answer is composed: here the
 * estimated wait over several queues (docs/api.md#get-availability: "the longest over the queues"), and which of a
 * queue's predictions counts (docs/genesys-protocol.md#availability).
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
