import { errorBody, missingPermissionBody, rateLimitedBody } from './platformErrors';
import type { Faults } from './faults';
import { observe, readQuery, type ObservationQuery } from './observations';
import type { ResolvedOptions } from './options';
import { AVAILABILITY_PERMISSIONS, divisionRef, HOME_DIVISION_ID, holds } from './platformAccess';

/**
 * The Platform API endpoints behind availability, with the shapes of Genesys's Platform SDK models
 * (docs/genesys-protocol.md#availability): a queue's estimated wait (`EstimatedWaitTimePredictions`), queue
 * observations (`QueueObservationQueryResponse`, observations.ts), an Architect schedule group (`ScheduleGroup`), its
 * schedules (`Schedule`) and an emergency group (`EmergencyGroup`). Each object belongs to a division, and a read the
 * OAuth client's grants do not cover there answers 403 (platformAccess.ts). Tests and the demo set the state through
 * the controls.
 */

export const DEFAULT_QUEUE_ID = '5b0d6a54-1f7e-4c3a-9a5e-2f6c8d1e0a71';
export const DEFAULT_SCHEDULE_GROUP_ID = '7c1e2f3a-4b5d-4e6f-8a9b-0c1d2e3f4a5b';
export const DEFAULT_EMERGENCY_GROUP_ID = '9d2f3a4b-5c6e-4f7a-8b9c-1d2e3f4a5b6c';

export type AvailabilityTarget = keyof typeof AVAILABILITY_PERMISSIONS;

export interface SimSchedule {
  name?: string;
  /** Local date-time without an offset, e.g. `2026-03-02T09:00:00.000`. */
  start: string;
  end: string;
  /** iCal RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`. */
  rrule?: string;
  /** The schedule's division (default the Home division). */
  divisionId?: string;
}

/** One of `EstimatedWaitTimePredictions.results` (the SDK's `PredictionResults`). */
export interface SimPrediction {
  /** The media type scope: ALL, CALL, CALLBACK, CHAT, EMAIL, SOCIALEXPRESSION, VIDEOCOMM, MESSAGE. */
  intent?: string;
  /** BEST, SIMPLE, ABANDON, PATIENCE_ABANDON, AI-ADJUSTED-AHT, POSITION-IN-QUEUE. */
  formula: string;
  estimatedWaitTimeSeconds: number;
}

/** The objects that belong to a division, besides the schedules (which name theirs in `SimSchedule`). */
export type DivisionHolder = 'queue' | 'scheduleGroup' | 'emergencyGroup';

export interface AvailabilityControls {
  /** The ids the simulator knows: its one queue, schedule group and emergency group. */
  readonly ids: { queueId: string; scheduleGroupId: string; emergencyGroupId: string };
  /**
   * Replaces the schedule group's schedules (each kind left out becomes empty) and, when given, its time zone;
   * `timeZone: null` is a group that states none (the field is then absent).
   */
  setSchedules(group: {
    timeZone?: string | null;
    open?: SimSchedule[];
    closed?: SimSchedule[];
    holiday?: SimSchedule[];
  }): void;
  setEmergency(enabled: boolean): void;
  /** Agents on queue by routing status (IDLE, INTERACTING, ...), for every media type; `{}` means nobody on queue. */
  setAgents(byStatus: Record<string, number>): void;
  /** Interactions waiting in the queue (oWaiting) of one analytics media type, `message` by default. */
  setWaiting(count: number, mediaType?: string): void;
  /**
   * The estimated wait in seconds, Genesys's `BEST` prediction for messages; null: Genesys gives no prediction (an
   * empty `results`). The strict profile lists other formulas' predictions after it.
   */
  setEstimatedWait(seconds: number | null): void;
  /** Exactly these predictions, in this order, until the next `setEstimatedWait` or reset. */
  setPredictions(results: SimPrediction[]): void;
  /** Moves the queue, the schedule group or the emergency group to a division. */
  setDivision(object: DivisionHolder, divisionId: string): void;
  /**
   * Refuses an endpoint: `permission` (403 naming the permission, `missing.permissions` or, for the queue
   * observations, `missing.any.permissions`), `rateLimit` (429 with Retry-After, default 3 s) or `down` (503);
   * `times` requests, or until `reset()` / `faults.clear()`.
   */
  refuse(
    target: AvailabilityTarget,
    how: 'permission' | 'rateLimit' | 'down',
    opts?: { times?: number; retryAfterSeconds?: number },
  ): void;
  /** Requests each endpoint answered or refused since the last reset. */
  reads(target: AvailabilityTarget): number;
  /**
   * Back to the default: open around the clock in Europe/Berlin, 2 agents idle and 1 busy, no message waiting (2
   * calls and an email do, which only the strict profile's media groups show), 45 s, everything in the Home division.
   */
  reset(): void;
}

const ALWAYS_OPEN: SimSchedule = {
  name: 'Around the clock',
  start: '2024-01-01T00:00:00.000',
  end: '2024-01-02T00:00:00.000',
  rrule: 'FREQ=DAILY;INTERVAL=1',
};

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const EWT_PATH = /^\/api\/v2\/routing\/queues\/([^/]+)\/mediatypes\/([^/]+)\/estimatedwaittime$/;
const GROUP_PATH = /^\/api\/v2\/architect\/schedulegroups\/([^/]+)$/;
const SCHEDULE_PATH = /^\/api\/v2\/architect\/schedules\/([^/]+)$/;
const EMERGENCY_PATH = /^\/api\/v2\/architect\/emergencygroups\/([^/]+)$/;
const MEDIA_TYPES = new Set(['all', 'call', 'chat', 'callback', 'email', 'videoComm', 'message']);

type Options = Pick<ResolvedOptions, 'profile' | 'clientGrants' | 'observationMediaTypes'>;

/**
 * The predictions for a wait: the kind profile gives Genesys's `BEST` alone; the strict one lists other formulas'
 * after it, each with another value, so a client that takes any but the first shows the wrong wait. Which formulas
 * Genesys lists, in which order, is not published (docs/genesys-protocol.md#availability).
 */
function predictionsFor(seconds: number, strict: boolean): SimPrediction[] {
  const best = { intent: 'MESSAGE', formula: 'BEST', estimatedWaitTimeSeconds: seconds };
  if (!strict) return [best];
  return [
    best,
    { intent: 'MESSAGE', formula: 'SIMPLE', estimatedWaitTimeSeconds: seconds * 2 + 60 },
    { intent: 'MESSAGE', formula: 'PATIENCE_ABANDON', estimatedWaitTimeSeconds: Math.round(seconds / 2) },
    { intent: 'MESSAGE', formula: 'POSITION-IN-QUEUE', estimatedWaitTimeSeconds: seconds + 30 },
  ];
}

export class SimulatedAvailability implements AvailabilityControls {
  readonly ids = {
    queueId: DEFAULT_QUEUE_ID,
    scheduleGroupId: DEFAULT_SCHEDULE_GROUP_ID,
    emergencyGroupId: DEFAULT_EMERGENCY_GROUP_ID,
  };
  private timeZone: string | undefined = 'Europe/Berlin';
  private schedules = new Map<string, SimSchedule & { kind: 'open' | 'closed' | 'holiday' }>();
  private emergency = false;
  private agents: Record<string, number> = {};
  private waiting: Record<string, number> = {};
  private estimatedWait: number | null = 45;
  private predictions: SimPrediction[] | undefined;
  private divisions: Record<DivisionHolder, string> = {
    queue: HOME_DIVISION_ID,
    scheduleGroup: HOME_DIVISION_ID,
    emergencyGroup: HOME_DIVISION_ID,
  };
  private counts = new Map<AvailabilityTarget, number>();
  private nextScheduleId = 1;

  constructor(
    private readonly faults: Faults,
    private readonly options: Options,
  ) {
    this.reset();
  }

  /** Which endpoint a request is for, if any. */
  static route(method: string, path: string): AvailabilityTarget | undefined {
    if (method === 'POST')
      return path === '/api/v2/analytics/queues/observations/query' ? 'queueObservations' : undefined;
    if (method !== 'GET') return undefined;
    if (EWT_PATH.test(path)) return 'estimatedWait';
    if (GROUP_PATH.test(path)) return 'scheduleGroup';
    if (SCHEDULE_PATH.test(path)) return 'schedule';
    if (EMERGENCY_PATH.test(path)) return 'emergencyGroup';
    return undefined;
  }

  count(target: AvailabilityTarget): void {
    this.counts.set(target, (this.counts.get(target) ?? 0) + 1);
  }

  setSchedules(group: {
    timeZone?: string | null;
    open?: SimSchedule[];
    closed?: SimSchedule[];
    holiday?: SimSchedule[];
  }) {
    if (group.timeZone !== undefined) this.timeZone = group.timeZone ?? undefined;
    this.schedules.clear();
    for (const kind of ['open', 'closed', 'holiday'] as const) {
      for (const schedule of group[kind] ?? []) this.schedules.set(this.scheduleId(), { ...schedule, kind });
    }
  }

  setEmergency(enabled: boolean): void {
    this.emergency = enabled;
  }

  setAgents(byStatus: Record<string, number>): void {
    this.agents = { ...byStatus };
  }

  setWaiting(count: number, mediaType = 'message'): void {
    this.waiting[mediaType] = count;
  }

  setEstimatedWait(seconds: number | null): void {
    this.estimatedWait = seconds;
    this.predictions = undefined;
  }

  setPredictions(results: SimPrediction[]): void {
    this.predictions = results.map((r) => ({ ...r }));
  }

  setDivision(object: DivisionHolder, divisionId: string): void {
    this.divisions[object] = divisionId;
  }

  refuse(
    target: AvailabilityTarget,
    how: 'permission' | 'rateLimit' | 'down',
    opts: { times?: number; retryAfterSeconds?: number } = {},
  ) {
    const { times } = opts;
    if (how === 'permission') {
      const { permission, any } = AVAILABILITY_PERMISSIONS[target];
      this.faults.failRest(target, { status: 403, body: missingPermissionBody(permission, any, 'sim-context'), times });
    } else if (how === 'rateLimit') {
      const seconds = opts.retryAfterSeconds ?? 3;
      const body = rateLimitedBody(seconds, 'sim-context');
      this.faults.failRest(target, { status: 429, body, headers: { 'retry-after': String(seconds) }, times });
    } else {
      this.faults.failRest(target, { status: 503, times });
    }
  }

  reads(target: AvailabilityTarget): number {
    return this.counts.get(target) ?? 0;
  }

  reset(): void {
    this.timeZone = 'Europe/Berlin';
    this.nextScheduleId = 1;
    this.setSchedules({ open: [ALWAYS_OPEN] });
    this.emergency = false;
    this.agents = { IDLE: 2, INTERACTING: 1 };
    this.waiting = { message: 0, voice: 2, email: 1 };
    this.estimatedWait = 45;
    this.predictions = undefined;
    this.divisions = { queue: HOME_DIVISION_ID, scheduleGroup: HOME_DIVISION_ID, emergencyGroup: HOME_DIVISION_ID };
    this.counts.clear();
  }

  answer(target: AvailabilityTarget, path: string, body: string, correlationId: string): Reply {
    const notFound = { status: 404, body: errorBody(404, correlationId) };
    const badRequest = { status: 400, body: errorBody(400, correlationId) };
    const strict = this.options.profile === 'strict';
    const denied = (...divisions: string[]) => this.denied(target, divisions, correlationId);
    switch (target) {
      case 'estimatedWait': {
        const [, queueId, mediaType] = EWT_PATH.exec(path)!;
        if (!MEDIA_TYPES.has(decodeURIComponent(mediaType!))) return badRequest;
        if (decodeURIComponent(queueId!) !== this.ids.queueId) return notFound;
        const results =
          this.predictions ?? (this.estimatedWait === null ? [] : predictionsFor(this.estimatedWait, strict));
        return denied(this.divisions.queue) ?? { status: 200, body: { results } };
      }
      case 'queueObservations': {
        let query: ObservationQuery;
        try {
          query = JSON.parse(body) as ObservationQuery;
        } catch {
          return badRequest;
        }
        const asked = typeof query === 'object' && query !== null ? readQuery(query, strict) : undefined;
        if (!asked) return badRequest;
        const known = asked.queueIds.filter((id) => id === this.ids.queueId);
        const state = { agents: this.agents, waiting: this.waiting };
        const mediaTypes = strict ? { mediaTypes: this.options.observationMediaTypes } : undefined;
        return (
          denied(...known.map(() => this.divisions.queue)) ?? {
            status: 200,
            body: observe(asked, (id) => (id === this.ids.queueId ? state : undefined), mediaTypes),
          }
        );
      }
      case 'scheduleGroup': {
        if (decodeURIComponent(GROUP_PATH.exec(path)![1]!) !== this.ids.scheduleGroupId) return notFound;
        return denied(this.divisions.scheduleGroup) ?? { status: 200, body: this.scheduleGroupBody(strict) };
      }
      case 'schedule': {
        const id = decodeURIComponent(SCHEDULE_PATH.exec(path)![1]!);
        const schedule = this.schedules.get(id);
        if (!schedule) return notFound;
        const { start, end, rrule, name, divisionId = HOME_DIVISION_ID } = schedule;
        const found = {
          id,
          name: name ?? id,
          division: divisionRef(divisionId),
          version: 1,
          state: 'active',
          start,
          end,
          ...(rrule ? { rrule } : {}),
          selfUri: `/api/v2/architect/schedules/${id}`,
        };
        return denied(divisionId) ?? { status: 200, body: found };
      }
      case 'emergencyGroup': {
        const id = decodeURIComponent(EMERGENCY_PATH.exec(path)![1]!);
        if (id !== this.ids.emergencyGroupId) return notFound;
        // Strict: `enabled` and `emergencyCallFlows` are optional in the SDK model, so an off switch may be absent.
        const found = {
          id,
          name: 'Simulator emergency',
          division: divisionRef(this.divisions.emergencyGroup),
          version: 1,
          state: 'active',
          ...(strict && !this.emergency ? {} : { enabled: this.emergency }),
          ...(strict ? {} : { emergencyCallFlows: [] }),
          selfUri: `/api/v2/architect/emergencygroups/${id}`,
        };
        return denied(this.divisions.emergencyGroup) ?? { status: 200, body: found };
      }
    }
  }

  /** `ScheduleGroup`; strict, an empty schedule list is absent (the SDK marks the three optional), as is a zone unset. */
  private scheduleGroupBody(strict: boolean): object {
    const refs = (kind: string) => {
      const list = [...this.schedules]
        .filter(([, s]) => s.kind === kind)
        .map(([id, s]) => ({ id, name: s.name ?? id, selfUri: `/api/v2/architect/schedules/${id}` }));
      return strict && list.length === 0 ? undefined : list;
    };
    const id = this.ids.scheduleGroupId;
    return {
      id,
      name: 'Simulator opening hours',
      division: divisionRef(this.divisions.scheduleGroup),
      version: 1,
      state: 'active',
      ...(this.timeZone === undefined ? {} : { timeZone: this.timeZone }),
      openSchedules: refs('open'),
      closedSchedules: refs('closed'),
      holidaySchedules: refs('holiday'),
      selfUri: `/api/v2/architect/schedulegroups/${id}`,
    };
  }

  /** The 403 when the OAuth client's grants miss the endpoint's permission in one of these divisions. */
  private denied(target: AvailabilityTarget, divisions: string[], correlationId: string): Reply | undefined {
    const { permission, any } = AVAILABILITY_PERMISSIONS[target];
    if (divisions.every((d) => holds(this.options.clientGrants, permission, d))) return undefined;
    return { status: 403, body: missingPermissionBody(permission, any, correlationId) };
  }

  private scheduleId(): string {
    const n = this.nextScheduleId++;
    return `0f0e0d0c-0b0a-4908-8706-${String(n).padStart(12, '0')}`;
  }
}
