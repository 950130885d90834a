import type { Availability } from '../../../src/domain/availability';
import { AvailabilityService } from '../../../src/genesys/availability/availabilityService';
import { AvailabilityReads, PlatformApiError } from '../../../src/genesys/platform';
import { inDeployment } from '../../../src/observability/deploymentContext';
import { metricsText } from '../../../src/observability/metrics';
import { MemoryStore, type SharedStore } from '../../../src/store';
import { captureLogger } from '../../support/app';
import { steerableClock } from '../../support/clock';
import { parseScrape } from '../../support/metrics';
import { EVENT_WAIT_MS, waitFor } from '../../support/wait';

/**
 * The availability service itself, over a stand-in Platform and a memory store, the service's clock standing still
 * (the shared store's leases and the waits for another instance run in real time): what it warns an operator of
 * (once each), the first request's bounded wait, the answer at the instant the schedule changes, its listeners, the
 * age and refreshes it reports, what it does when nothing is configured, how long the shared answer is kept, and how
 * it refreshes when the shared store or the instance refreshing for all does not answer. GET /availability against
 * the simulator is test/api/availability.test.ts.
 */
const GROUP = '3c5e7a9b-1d2f-4a6b-8c0d-2e4f6a8b0c1d';
const EMERGENCY = '5e7a9b1c-3d4f-4b6c-8d0e-4f6a8b0c2d3e';
const REFRESH_MS = 60_000;
const STALE_MS = 2 * REFRESH_MS;
const CREDENTIALS = 'GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET';

/** A Platform whose schedule group opens 09:00-17:00 every day in `timeZone`, with an emergency flag to flip. */
function platform(options: { timeZone?: string; refuseEmergency?: boolean; gate?: Promise<void> } = {}) {
  const state = { emergency: false, groupReads: 0 };
  const reads = new AvailabilityReads({
    request: async <T>({ path }: { path: string }): Promise<T> => {
      await options.gate;
      if (path.includes('/schedulegroups/')) {
        state.groupReads++;
        return { id: GROUP, timeZone: options.timeZone, openSchedules: [{ id: 's-1' }] } as T;
      }
      if (path.includes('/architect/schedules/')) {
        return {
          id: 's-1',
          start: '2027-01-04T09:00:00.000',
          end: '2027-01-04T17:00:00.000',
          rrule: 'FREQ=DAILY',
        } as T;
      }
      if (options.refuseEmergency) {
        throw new PlatformApiError({ method: 'GET', path, status: 403 }, 'upstream_unavailable', 'refused', {
          status: 502,
        });
      }
      return { id: EMERGENCY, enabled: state.emergency } as T;
    },
  });
  return { reads, state };
}

const services: AvailabilityService[] = [];
afterEach(() => services.splice(0).forEach((s) => s.close()));

function service(
  options: {
    reads?: AvailabilityReads;
    store?: SharedStore;
    leaseMs?: number;
    firstAnswerWaitMs?: number;
    targets?: { queueIds: string[]; scheduleGroupId?: string; emergencyGroupId?: string };
    /** Where the clock stands at first. */
    at?: string;
  } = {},
) {
  const clock = steerableClock();
  clock.standStill();
  clock.advance(Date.parse(options.at ?? '2027-03-22T16:30:00Z') - clock.now());
  const log = captureLogger();
  const made = new AvailabilityService({
    targets: options.targets ?? { queueIds: [], scheduleGroupId: GROUP, emergencyGroupId: EMERGENCY },
    reads: options.reads,
    credentialsNamed: CREDENTIALS,
    store: options.store ?? new MemoryStore(),
    refreshMs: REFRESH_MS,
    staleMs: STALE_MS,
    firstAnswerWaitMs: options.firstAnswerWaitMs ?? 5000,
    leaseMs: options.leaseMs ?? 5000,
    logger: log.logger,
    now: clock.now,
  });
  services.push(made);
  return { service: made, clock, log };
}

/** Moves the clock past the refresh interval and waits for the refresh it makes due (its answer's asOf moves). */
async function refresh(s: AvailabilityService, clock: ReturnType<typeof steerableClock>): Promise<Availability> {
  const before = (await s.current()).answer.asOf;
  clock.advance(REFRESH_MS);
  let answer = (await s.current()).answer;
  await waitFor(async () => {
    answer = (await s.current()).answer;
    return Date.parse(answer.asOf) > Date.parse(before);
  });
  return answer;
}

test('without an OAuth client every configured part is unknown, and start says which settings to set', async () => {
  const { store, calls } = recordingStore();
  const { service: s, log } = service({ store });
  s.start();
  // The refresh has run (it shares its answer) before the answer is read: a stand-in would list every part too.
  await waitFor(() => calls.some((c) => c.startsWith('put availability:facts')));
  const warning = log.lines().find((l) => l.msg.includes(CREDENTIALS));
  expect(warning).toMatchObject({
    parts: ['schedule', 'emergency'],
    msg: `Availability is configured but ${CREDENTIALS} are not set: GET /availability reports every part unknown`,
  });
  expect((await s.current()).answer).toMatchObject({ open: true, unknown: ['schedule', 'emergency'] });
});

test('a schedule group without a time zone is warned of once, with what to do, however often it is read', async () => {
  const { reads, state } = platform();
  const { service: s, clock, log } = service({ reads });
  s.start();
  await refresh(s, clock);
  await refresh(s, clock);
  expect(state.groupReads).toBeGreaterThanOrEqual(2);
  const warnings = log.lines().filter((l) => l.scheduleGroupId === GROUP);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ timeZone: 'UTC' });
  expect(warnings[0]!.msg).toBe(
    `The schedule group ${GROUP} states no time zone: GET /availability reads its schedules in UTC. ` +
      'Set the time zone on the schedule group in Architect (docs/genesys-protocol.md#availability).',
  );
});

test('a missing permission is warned of once, naming the refused request and what to grant', async () => {
  const { reads } = platform({ timeZone: 'UTC', refuseEmergency: true });
  const { service: s, clock, log } = service({ reads });
  s.start();
  await refresh(s, clock);
  await refresh(s, clock);
  const warnings = log.lines().filter((l) => l.permission !== undefined);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({
    permission: 'routing:emergencyGroup:view',
    part: 'emergency',
    request: `GET /api/v2/architect/emergencygroups/${EMERGENCY}`,
    msg:
      'The OAuth client lacks the permission routing:emergencyGroup:view, or holds it in another division than the ' +
      `object's (GET /api/v2/architect/emergencygroups/${EMERGENCY}): GET /availability reports "emergency" unknown. ` +
      "Give the OAuth client a role with it, granted for the object's division (docs/genesys-setup.md).",
  });
});

test('at the very instant the open hours end the answer is closed, before any refresh', async () => {
  const { reads } = platform({ timeZone: 'UTC' });
  // Thirty seconds before closing: no refresh falls due on the way (the interval is a minute).
  const { service: s, clock } = service({ reads, at: '2027-03-22T16:59:30Z' });
  s.start();
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
  const open = await s.current();
  expect(open.answer).toMatchObject({ open: true, closesAt: '2027-03-22T17:00:00+00:00' });
  clock.advance(Date.parse('2027-03-22T17:00:00Z') - 1 - clock.now());
  expect((await s.current()).answer.open).toBe(true);
  clock.advance(1);
  expect((await s.current()).answer).toMatchObject({ open: false, reason: 'closed' });
});

test('a listener hears each flip until it unsubscribes; the others go on hearing', async () => {
  const { reads, state } = platform({ timeZone: 'UTC' });
  const { service: s, clock } = service({ reads });
  const kept: boolean[] = [];
  const dropped: boolean[] = [];
  s.subscribe((answer) => kept.push(answer.open));
  const unsubscribe = s.subscribe((answer) => dropped.push(answer.open));
  s.start();
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
  state.emergency = true;
  await refresh(s, clock);
  expect([kept, dropped]).toEqual([[false], [false]]);
  unsubscribe();
  state.emergency = false;
  await refresh(s, clock);
  expect([kept, dropped]).toEqual([[false, true], [false]]);
});

test("the age gauge reports how long ago Genesys was read for this deployment's answer, and leaves with it", async () => {
  const { reads } = platform({ timeZone: 'UTC' });
  const { service: s, clock } = inDeployment('avail-age', () => service({ reads }));
  const age = async () =>
    parseScrape(await metricsText()).value('genesys_bff_availability_answer_age_seconds', { deployment: 'avail-age' });
  s.start();
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
  expect(await age()).toBe(0);
  clock.advance(42_500);
  expect(await age()).toBe(42.5);
  s.close();
  expect(await age()).toBe(0);
});

test('while another instance holds the right to refresh and shares nothing, it is asked again, quietly', async () => {
  const store = new MemoryStore();
  await store.claim('availability:lease', 'another-instance', 60_000);
  const { reads, state } = platform({ timeZone: 'UTC' });
  const { service: s, log } = service({ reads, store, leaseMs: 100 });
  s.start();
  await waitFor(
    () => log.lines().filter((l) => l.msg === 'availability: no answer shared yet; asking again').length >= 2,
  );
  expect(log.lines().filter((l) => l.level >= 50)).toEqual([]);
  expect(state.groupReads).toBe(0);
});

test('a shared store that does not answer: the instance refreshes alone and says so', async () => {
  const store = new MemoryStore();
  const away = new Error('the store is away');
  store.claim = () => Promise.reject(away);
  const { reads, state } = platform({ timeZone: 'UTC' });
  const { service: s, log } = service({ reads, store });
  s.start();
  await waitFor(() => state.groupReads > 0);
  const line = log.lines().find((l) => l.msg === 'availability: the shared store is away; refreshing alone');
  expect(line).toMatchObject({ level: 40, err: expect.objectContaining({ message: 'the store is away' }) });
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
});

test('the first request waits for the first refresh, so its answer knows the parts', async () => {
  const { reads } = platform({ timeZone: 'UTC' });
  const { service: s } = service({ reads, firstAnswerWaitMs: EVENT_WAIT_MS });
  s.start();
  expect((await s.current()).answer).toMatchObject({ open: true, unknown: [] });
});

test('a first refresh Genesys holds up: the first request waits a bounded time, no later one waits', async () => {
  let release = () => undefined as void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { reads } = platform({ timeZone: 'UTC', gate });
  const { service: s } = service({ reads, firstAnswerWaitMs: 200 });
  try {
    s.start();
    expect((await s.current()).answer.unknown).toEqual(['schedule', 'emergency']);
    // Answered within the turn it was asked in: before anything a timer or I/O would bring.
    const next = await Promise.race([
      s.current().then(() => 'answered'),
      new Promise((resolve) => setImmediate(() => resolve('waited'))),
    ]);
    expect(next).toBe('answered');
  } finally {
    release();
  }
});

/** A memory store that records what is asked of it. */
function recordingStore() {
  const store = new MemoryStore();
  const calls: string[] = [];
  const get = store.get.bind(store);
  const put = store.put.bind(store);
  store.get = (key) => (calls.push(`get ${key}`), get(key));
  store.put = (key, value, ttlMs) => (calls.push(`put ${key} ${ttlMs}`), put(key, value, ttlMs));
  return { store, calls };
}

test('not configured: start reads nothing and says nothing, and the answer lives a refresh interval', async () => {
  const { store, calls } = recordingStore();
  // No OAuth client either: a start that went on would warn of it.
  const { service: s, log } = service({ store, targets: { queueIds: [] } });
  expect(s.configured).toBe(false);
  s.start();
  // A refresh asks the store for the shared answer as it starts: none did.
  expect(calls).toEqual([]);
  const { answer, maxAgeSeconds } = await s.current();
  expect(answer).toMatchObject({ configured: false, open: true });
  expect(maxAgeSeconds).toBe(REFRESH_MS / 1000);
  expect(log.lines()).toEqual([]);
});

test('the shared answer outlives the stale window by more than an interval, so no kept part goes with its record', async () => {
  // A part is served stale up to the window after its read, and the record is written again only an interval on.
  const { store, calls } = recordingStore();
  const { reads } = platform({ timeZone: 'UTC' });
  const { service: s } = service({ reads, store });
  s.start();
  await waitFor(() => calls.some((c) => c.startsWith('put availability:facts')));
  const kept = calls.filter((c) => c.startsWith('put availability:facts')).map((c) => Number(c.split(' ')[2]));
  expect(kept).toHaveLength(1);
  expect(kept[0]).toBeGreaterThanOrEqual(STALE_MS + REFRESH_MS);
});

test('with an OAuth client, start warns of nothing', async () => {
  const { reads } = platform({ timeZone: 'UTC' });
  const { service: s, log } = service({ reads });
  s.start();
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
  expect(log.lines().filter((l) => l.level >= 40)).toEqual([]);
});

test('a refresh from Genesys is counted under its result; without an OAuth client nothing is read, so none is', async () => {
  const refreshes = async (deployment: string, result: string) =>
    parseScrape(await metricsText()).value('genesys_bff_availability_refreshes_total', { deployment, result });
  const { reads } = platform({ timeZone: 'UTC' });
  const read = inDeployment('avail-counted', () => service({ reads }));
  inDeployment('avail-counted', () => read.service.start());
  await waitFor(async () => (await read.service.current()).answer.unknown.length === 0);
  expect(await refreshes('avail-counted', 'ok')).toBe(1);

  const { store, calls } = recordingStore();
  const unread = inDeployment('avail-no-client', () => service({ store }));
  inDeployment('avail-no-client', () => unread.service.start());
  // The refresh without a client still shares its answer (every part unknown): it has run once that is written.
  await waitFor(() => calls.some((c) => c.startsWith('put availability:facts')));
  for (const result of ['ok', 'partial', 'failed', 'rate_limited'])
    expect(await refreshes('avail-no-client', result)).toBe(0);
});

test('a listener that throws is logged; the others still hear, and the refreshes go on', async () => {
  const { reads, state } = platform({ timeZone: 'UTC' });
  const { service: s, clock, log } = service({ reads });
  s.subscribe(() => {
    throw new Error('this stream broke');
  });
  const heard: boolean[] = [];
  s.subscribe((answer) => heard.push(answer.open));
  s.start();
  await waitFor(async () => (await s.current()).answer.unknown.length === 0);
  state.emergency = true;
  await refresh(s, clock);
  expect(heard).toEqual([false]);
  expect(log.lines().find((l) => l.msg === 'availability: a listener failed to take a change')).toMatchObject({
    level: 40,
    err: expect.objectContaining({ message: 'this stream broke' }),
  });
  state.emergency = false;
  expect((await refresh(s, clock)).open).toBe(true);
  expect(heard).toEqual([false, true]);
});
