import type { AvailabilityPart } from '../../domain/availability';
import type { Logger } from '../../observability/logger';
import { AVAILABILITY_PERMISSIONS, PlatformApiError, type AvailabilityReads } from '../platform';
import type { ScheduleGroupHours } from './openHours';
import { knownTimeZone, OpenHours } from './openHours';

/**
 * What one refresh learnt from Genesys, part by part, as instances share it (JSON in the shared store). A part
 * that could not be read keeps its last good value while that is younger than the stale window (`readAt` then
 * predates `refreshedAt`), else it has none and the answer names it unknown.
 */
export interface Part<T> {
  value?: T;
  /** When the value was read (epoch ms). */
  readAt?: number;
  /** Why the part has no value: `permission` (403 from Genesys), `failed`, `no_client` (no OAuth client). */
  missing?: 'permission' | 'failed' | 'no_client';
}

export interface AgentCounts {
  /** Agents on queue (any routing status) over the queues. */
  onQueue: number;
  /** Agents on queue and idle. */
  idle: number;
  waiting: number;
}

export interface Facts {
  refreshedAt: number;
  /** No refresh before this (a Platform `Retry-After`). */
  notBefore: number;
  schedule?: Part<ScheduleGroupHours>;
  emergency?: Part<boolean>;
  estimatedWait?: Part<{ seconds: number | null }>;
  agents?: Part<AgentCounts>;
}

export interface AvailabilityTargets {
  queueIds: readonly string[];
  scheduleGroupId?: string;
  emergencyGroupId?: string;
}

export interface RefreshOutcome {
  facts: Facts;
  /** `ok` every part read, `partial` some not, `failed` none, `rate_limited` Genesys said wait. */
  result: 'ok' | 'partial' | 'failed' | 'rate_limited';
}

interface RefreshContext {
  reads?: AvailabilityReads;
  targets: AvailabilityTargets;
  previous?: Facts;
  now: number;
  staleMs: number;
  logger: Logger;
  /** Told of each permission found missing, with the read Genesys refused (which names the object). */
  onMissingPermission(permission: string, part: AvailabilityPart, request: string): void;
  /** Told of a schedule group that states no time zone, every refresh; the listener says it once. */
  onNoTimeZone(groupId: string, assumed: string): void;
}

/**
 * The zone a schedule group that states none is read in. The SDK marks `timeZone` optional and no source says what
 * Genesys assumes then (docs/genesys-protocol.md#availability), so the service picks UTC and says so in the log.
 */
export const ZONE_WHEN_NONE = 'UTC';

/** The parts the configured targets imply. */
export function configuredParts(targets: AvailabilityTargets): AvailabilityPart[] {
  return [
    ...(targets.scheduleGroupId ? (['schedule'] as const) : []),
    ...(targets.emergencyGroupId ? (['emergency'] as const) : []),
    ...(targets.queueIds.length > 0 ? (['estimatedWait', 'agents'] as const) : []),
  ];
}

/** Reads every configured part at once; never throws. */
export async function refreshFacts(context: RefreshContext): Promise<RefreshOutcome> {
  const { reads, targets, now } = context;
  let retryAfterMs = 0;
  const part = async <T>(name: AvailabilityPart, read: (r: AvailabilityReads) => Promise<T>) => {
    if (!reads) return { missing: 'no_client' } as Part<T>;
    try {
      return { value: await read(reads), readAt: now } as Part<T>;
    } catch (error) {
      const upstream = error instanceof PlatformApiError ? error.upstream : undefined;
      if (upstream?.status === 403) {
        context.onMissingPermission(permissionOf(upstream.path), name, `${upstream.method} ${upstream.path}`);
        return { missing: 'permission' } as Part<T>;
      }
      if (error instanceof PlatformApiError && error.status === 429) {
        retryAfterMs = Math.max(retryAfterMs, (error.retryAfterSeconds ?? 1) * 1000);
      }
      context.logger.warn({ part: name, err: error }, 'availability: a Genesys read failed; keeping the last answer');
      const kept = context.previous?.[name] as Part<T> | undefined;
      if (kept?.value !== undefined && kept.readAt !== undefined && now - kept.readAt <= context.staleMs) return kept;
      return { missing: 'failed' } as Part<T>;
    }
  };

  const [schedule, emergency, estimatedWait, agents] = await Promise.all([
    targets.scheduleGroupId
      ? part('schedule', (r) => readHours(r, targets.scheduleGroupId!, context.onNoTimeZone))
      : undefined,
    targets.emergencyGroupId ? part('emergency', (r) => r.emergencyEnabled(targets.emergencyGroupId!)) : undefined,
    targets.queueIds.length > 0
      ? part('estimatedWait', (r) => readWait(r, targets.queueIds, context.logger))
      : undefined,
    targets.queueIds.length > 0 ? part('agents', (r) => readAgents(r, targets.queueIds)) : undefined,
  ]);
  const facts: Facts = { refreshedAt: now, notBefore: now + retryAfterMs, schedule, emergency, estimatedWait, agents };
  const parts = [schedule, emergency, estimatedWait, agents].filter((p) => p !== undefined);
  const fresh = parts.filter((p) => p.readAt === now).length;
  const result = retryAfterMs > 0 ? 'rate_limited' : fresh === parts.length ? 'ok' : fresh === 0 ? 'failed' : 'partial';
  return { facts, result };
}

async function readHours(
  reads: AvailabilityReads,
  groupId: string,
  onNoTimeZone: RefreshContext['onNoTimeZone'],
): Promise<ScheduleGroupHours> {
  const group = await reads.scheduleGroup(groupId);
  if (group.timeZone === undefined) onNoTimeZone(groupId, ZONE_WHEN_NONE);
  const zone = group.timeZone ?? ZONE_WHEN_NONE;
  if (!knownTimeZone(zone)) throw new Error(`the schedule group's time zone "${zone}" is not known to this runtime`);
  const load = (refs: { id: string }[]) =>
    Promise.all(
      refs.map(async (ref) => {
        const { start, end, rrule } = await reads.schedule(ref.id);
        return { start, end, ...(rrule ? { rrule } : {}) };
      }),
    );
  const [open, closed, holiday] = await Promise.all([load(group.open), load(group.closed), load(group.holiday)]);
  const hours = { timeZone: zone, open, closed, holiday };
  // A schedule this service cannot evaluate (an RRULE it cannot parse) fails the part here, not every answer.
  new OpenHours(hours).at(Date.now());
  return hours;
}

/** The longest wait Genesys gives over the queues (a guest may be routed to any); null when it gives none. */
async function readWait(reads: AvailabilityReads, queueIds: readonly string[], logger: Logger) {
  const waits = await Promise.all(queueIds.map((id) => reads.estimatedWait(id)));
  const seconds = waits.flatMap((w) => (w.seconds === undefined ? [] : [w.seconds]));
  logger.debug(
    { predictions: waits.map((w) => ({ formula: w.formula ?? null, intent: w.intent ?? null })) },
    'availability: estimated wait read',
  );
  return { seconds: seconds.length > 0 ? Math.max(...seconds) : null };
}

async function readAgents(reads: AvailabilityReads, queueIds: readonly string[]): Promise<AgentCounts> {
  const { onQueueByStatus, waiting } = await reads.observations(queueIds);
  const onQueue = Object.values(onQueueByStatus).reduce((sum, n) => sum + n, 0);
  return { onQueue, idle: onQueueByStatus.IDLE ?? 0, waiting };
}

function permissionOf(path: string): string {
  if (path.includes('/estimatedwaittime')) return AVAILABILITY_PERMISSIONS.estimatedWait;
  if (path.includes('/observations/')) return AVAILABILITY_PERMISSIONS.observations;
  if (path.includes('/schedulegroups/')) return AVAILABILITY_PERMISSIONS.scheduleGroup;
  if (path.includes('/schedules/')) return AVAILABILITY_PERMISSIONS.schedule;
  return AVAILABILITY_PERMISSIONS.emergencyGroup;
}
