import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { PlatformClient } from './platformClient';

/**
 * The Platform API reads behind GET /availability (docs/genesys-protocol.md#availability), each parsed with the
 * shape of Genesys's Platform SDK models (`EstimatedWaitTimePredictions`, `QueueObservationQueryResponse`,
 * `ScheduleGroup`, `Schedule`, `EmergencyGroup`). Only the fields used are required; the rest may vary.
 */

/** The permission each read needs, as the SDK docs list it ("Requires ALL/ANY permissions"). */
export const AVAILABILITY_PERMISSIONS = {
  estimatedWait: 'routing:queue:view',
  observations: 'analytics:queueObservation:view',
  scheduleGroup: 'routing:scheduleGroup:view',
  schedule: 'routing:schedule:view',
  emergencyGroup: 'routing:emergencyGroup:view',
} as const;

const estimatedWaitSchema = z.object({
  results: z.array(
    z
      .object({
        estimatedWaitTimeSeconds: z.number().optional(),
        formula: z.string().optional(),
        intent: z.string().optional(),
      })
      .loose(),
  ),
});

const observationsSchema = z.object({
  results: z
    .array(
      z
        .object({
          group: z.record(z.string(), z.string()).optional(),
          data: z
            .array(
              z
                .object({
                  metric: z.string().optional(),
                  qualifier: z.string().optional(),
                  stats: z.object({ count: z.number().optional() }).loose().optional(),
                })
                .loose(),
            )
            .optional(),
        })
        .loose(),
    )
    .optional(),
});

const entityRefs = z.array(z.object({ id: z.string(), name: z.string().optional() }).loose()).optional();

const scheduleGroupSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    timeZone: z.string().optional(),
    openSchedules: entityRefs,
    closedSchedules: entityRefs,
    holidaySchedules: entityRefs,
  })
  .loose();

const scheduleSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    start: z.string(),
    end: z.string(),
    rrule: z.string().optional(),
  })
  .loose();

const emergencyGroupSchema = z.object({ id: z.string(), enabled: z.boolean().optional() }).loose();

export interface EstimatedWait {
  /** The chosen prediction's seconds (`choosePrediction`); undefined when Genesys gives none. */
  seconds?: number;
  /** How Genesys computed it (`BEST`, `SIMPLE`, `ABANDON`, `PATIENCE_ABANDON`, ...), for the log. */
  formula?: string;
  /** The media type scope Genesys gave it (`MESSAGE`), for the log. */
  intent?: string;
}

export interface QueueObservations {
  /** `oOnQueueUsers` counts by qualifier (the routing status: IDLE, INTERACTING, ...), summed over the queues. */
  onQueueByStatus: Record<string, number>;
  /** `oWaiting`, summed over the queues. */
  waiting: number;
}

export interface ScheduleRef {
  id: string;
  name?: string;
}

export interface ScheduleGroupRead {
  id: string;
  timeZone?: string;
  open: ScheduleRef[];
  closed: ScheduleRef[];
  holiday: ScheduleRef[];
}

export interface ScheduleRead {
  id: string;
  name?: string;
  /** Local date-times, without an offset (ISO 8601), in the group's time zone. */
  start: string;
  end: string;
  rrule?: string;
}

const MEDIA_TYPE = 'message';

/**
 * Which of Genesys's predictions the service shows (docs/genesys-protocol.md#availability): the first, in Genesys's
 * order, that gives seconds, among those scoped to messages (`intent` MESSAGE, or none). Genesys publishes neither
 * the order nor which formula (`BEST`, `SIMPLE`, ...) to prefer, so the service takes the order it is given and never
 * a wait scoped to another media type.
 */
export function choosePrediction<T extends { estimatedWaitTimeSeconds?: number; intent?: string }>(
  results: readonly T[],
): T | undefined {
  return results.find(
    (r) =>
      r.estimatedWaitTimeSeconds !== undefined && (r.intent === undefined || r.intent.toLowerCase() === MEDIA_TYPE),
  );
}

export class AvailabilityReads {
  constructor(private readonly platform: Pick<PlatformClient, 'request'>) {}

  /** `GET /api/v2/routing/queues/{queueId}/mediatypes/message/estimatedwaittime`. */
  async estimatedWait(queueId: string): Promise<EstimatedWait> {
    const data = await this.platform.request<unknown>({
      method: 'GET',
      path: `/api/v2/routing/queues/${encodeURIComponent(queueId)}/mediatypes/${MEDIA_TYPE}/estimatedwaittime`,
    });
    const chosen = choosePrediction(parse(estimatedWaitSchema, data, 'estimated wait').results);
    return { seconds: chosen?.estimatedWaitTimeSeconds, formula: chosen?.formula, intent: chosen?.intent };
  }

  /** `POST /api/v2/analytics/queues/observations/query`: `oOnQueueUsers` and `oWaiting` of the queues. */
  async observations(queueIds: readonly string[]): Promise<QueueObservations> {
    const data = await this.platform.request<unknown>({
      method: 'POST',
      path: '/api/v2/analytics/queues/observations/query',
      body: {
        filter: {
          type: 'or',
          predicates: queueIds.map((id) => ({
            type: 'dimension',
            dimension: 'queueId',
            operator: 'matches',
            value: id,
          })),
        },
        metrics: ['oOnQueueUsers', 'oWaiting'],
      },
    });
    const onQueueByStatus: Record<string, number> = {};
    let waiting = 0;
    for (const result of parse(observationsSchema, data, 'queue observations').results ?? []) {
      // Grouped by media type too, oWaiting counts only message interactions; oOnQueueUsers is per agent.
      const media = result.group?.mediaType;
      for (const datum of result.data ?? []) {
        const count = datum.stats?.count ?? 0;
        if (datum.metric === 'oWaiting' && (media === undefined || media === MEDIA_TYPE)) waiting += count;
        if (datum.metric === 'oOnQueueUsers' && (media === undefined || media === MEDIA_TYPE)) {
          const status = (datum.qualifier ?? 'UNKNOWN').toUpperCase();
          onQueueByStatus[status] = (onQueueByStatus[status] ?? 0) + count;
        }
      }
    }
    return { onQueueByStatus, waiting };
  }

  /** `GET /api/v2/architect/schedulegroups/{id}`. */
  async scheduleGroup(id: string): Promise<ScheduleGroupRead> {
    const data = await this.platform.request<unknown>({
      method: 'GET',
      path: `/api/v2/architect/schedulegroups/${encodeURIComponent(id)}`,
    });
    const group = parse(scheduleGroupSchema, data, 'schedule group');
    const refs = (list: z.infer<typeof entityRefs>) => (list ?? []).map(({ id, name }) => ({ id, name }));
    return {
      id: group.id,
      timeZone: group.timeZone,
      open: refs(group.openSchedules),
      closed: refs(group.closedSchedules),
      holiday: refs(group.holidaySchedules),
    };
  }

  /** `GET /api/v2/architect/schedules/{id}`. */
  async schedule(id: string): Promise<ScheduleRead> {
    const data = await this.platform.request<unknown>({
      method: 'GET',
      path: `/api/v2/architect/schedules/${encodeURIComponent(id)}`,
    });
    const { name, start, end, rrule } = parse(scheduleSchema, data, 'schedule');
    return { id, name, start, end, rrule };
  }

  /** `GET /api/v2/architect/emergencygroups/{id}`: whether the emergency is on. */
  async emergencyEnabled(id: string): Promise<boolean> {
    const data = await this.platform.request<unknown>({
      method: 'GET',
      path: `/api/v2/architect/emergencygroups/${encodeURIComponent(id)}`,
    });
    return parse(emergencyGroupSchema, data, 'emergency group').enabled === true;
  }
}

function parse<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new AppError('upstream_unavailable', `Genesys answered the ${what} request with an unexpected body.`, {
    status: 502,
    logDetail: { issues },
  });
}
