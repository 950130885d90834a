import axios from 'axios';
import type { AvailabilityTarget, Exchange, Run } from './verifyRun';

/**
 * The availability points of `npm run verify:genesys`: with the OAuth client and the ids GET /availability
 * reads (GENESYS_QUEUE_ID, GENESYS_SCHEDULE_GROUP_ID, GENESYS_EMERGENCY_GROUP_ID), each Platform endpoint is read
 * once and its answer checked against the SDK model's shape; a 403 names the permission the OAuth client lacks.
 */
interface Check {
  point: string;
  permission: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** What the answer must hold; the empty string when it does. */
  shape(data: Record<string, unknown>): string;
  /** Optional fields the answer left out, each with how the service reads it without them. */
  absent?(data: Record<string, unknown>): string[];
}

const has = (data: Record<string, unknown>, keys: string[]) =>
  keys
    .filter((k) => !(k in data))
    .map((k) => `no ${k}`)
    .join(', ');

function checksOf(target: AvailabilityTarget): Check[] {
  const checks: Check[] = [];
  for (const queueId of target.queueIds) {
    checks.push({
      point: `availability: estimated wait (queue ${queueId})`,
      permission: 'routing:queue:view',
      method: 'GET',
      path: `/api/v2/routing/queues/${encodeURIComponent(queueId)}/mediatypes/message/estimatedwaittime`,
      shape: (d) => (Array.isArray(d.results) ? '' : 'no results array'),
    });
  }
  if (target.queueIds.length > 0) {
    checks.push({
      point: 'availability: queue observations',
      permission: 'analytics:queueObservation:view',
      method: 'POST',
      path: '/api/v2/analytics/queues/observations/query',
      body: {
        filter: {
          type: 'or',
          predicates: target.queueIds.map((value) => ({
            type: 'dimension',
            dimension: 'queueId',
            operator: 'matches',
            value,
          })),
        },
        metrics: ['oOnQueueUsers', 'oWaiting'],
      },
      shape: (d) => (d.results === undefined || Array.isArray(d.results) ? '' : 'results is not an array'),
    });
  }
  if (target.scheduleGroupId) {
    checks.push({
      point: 'availability: schedule group',
      permission: 'routing:scheduleGroup:view',
      method: 'GET',
      path: `/api/v2/architect/schedulegroups/${encodeURIComponent(target.scheduleGroupId)}`,
      // The SDK marks the zone and the three lists optional: their absence is reported, not a difference.
      shape: () => '',
      absent: (d) => [
        ...('timeZone' in d ? [] : ['no timeZone (read in UTC)']),
        ...('openSchedules' in d ? [] : ['no openSchedules (never open)']),
      ],
    });
  }
  if (target.emergencyGroupId) {
    checks.push({
      point: 'availability: emergency group',
      permission: 'routing:emergencyGroup:view',
      method: 'GET',
      path: `/api/v2/architect/emergencygroups/${encodeURIComponent(target.emergencyGroupId)}`,
      shape: (d) => (d.enabled === undefined || typeof d.enabled === 'boolean' ? '' : 'enabled is not a boolean'),
      absent: (d) => ('enabled' in d ? [] : ['no enabled flag (read as off)']),
    });
  }
  return checks;
}

export async function verifyAvailability(
  target: AvailabilityTarget | undefined,
  context: Pick<Run, 'add' | 'timeoutMs' | 'exchanges' | 'secrets'>,
): Promise<void> {
  const checks = target ? checksOf(target) : [];
  if (!target || checks.length === 0) {
    context.add('availability (Platform API)', 'the configured ids read', 'no availability ids set', 'not checked');
    return;
  }
  if (!target.clientId || !target.clientSecret) {
    for (const c of checks) context.add(c.point, `readable (${c.permission})`, 'no OAuth client set', 'not checked');
    return;
  }
  const token = await clientToken(target, context.timeoutMs).catch((error: Error) => error);
  if (token instanceof Error) {
    for (const c of checks) context.add(c.point, `readable (${c.permission})`, `no token: ${token.message}`, 'differs');
    return;
  }
  context.secrets.push(token);
  let schedules: string[] = [];
  for (const check of checks) {
    const data = await read(target, token, check, context.exchanges, context.timeoutMs);
    const expected = `HTTP 200 in the SDK model's shape (needs ${check.permission})`;
    if (typeof data === 'string') {
      context.add(check.point, expected, data, 'differs');
      continue;
    }
    const wrong = check.shape(data);
    const absent = check.absent?.(data) ?? [];
    const observed = wrong || ['read', ...absent].join('; ');
    context.add(check.point, expected, observed, wrong ? 'differs' : 'holds');
    if (check.point === 'availability: schedule group') {
      const refs = ['openSchedules', 'closedSchedules', 'holidaySchedules'].flatMap(
        (k) => (data[k] as { id?: string }[] | undefined) ?? [],
      );
      schedules = refs.flatMap((r) => (r.id ? [r.id] : []));
    }
  }
  if (schedules.length > 0) {
    const check: Check = {
      point: `availability: schedules (${schedules.length})`,
      permission: 'routing:schedule:view',
      method: 'GET',
      path: `/api/v2/architect/schedules/${encodeURIComponent(schedules[0]!)}`,
      shape: (d) => has(d, ['start', 'end']),
    };
    const data = await read(target, token, check, context.exchanges, context.timeoutMs);
    const expected = `HTTP 200 with start, end and rrule (needs ${check.permission})`;
    if (typeof data === 'string') context.add(check.point, expected, data, 'differs');
    else
      context.add(
        check.point,
        expected,
        check.shape(data) || `read: rrule ${String(data.rrule ?? 'none')}`,
        check.shape(data) ? 'differs' : 'holds',
      );
  }
}

async function clientToken(target: AvailabilityTarget, timeoutMs: number): Promise<string> {
  const res = await axios.post(`${target.loginUrl.replace(/\/+$/, '')}/oauth/token`, 'grant_type=client_credentials', {
    auth: { username: target.clientId!, password: target.clientSecret! },
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    timeout: timeoutMs,
    validateStatus: () => true,
  });
  const token = (res.data as { access_token?: unknown } | undefined)?.access_token;
  if (res.status !== 200 || typeof token !== 'string') throw new Error(`HTTP ${res.status} from the login host`);
  return token;
}

/** The answer's body, or what went wrong (naming a missing permission). */
async function read(
  target: AvailabilityTarget,
  token: string,
  check: Check,
  exchanges: Exchange[],
  timeoutMs: number,
): Promise<Record<string, unknown> | string> {
  const url = `${target.apiUrl.replace(/\/+$/, '')}${check.path}`;
  const res = await axios
    .request({
      method: check.method,
      url,
      data: check.body,
      headers: { Authorization: `Bearer ${token}` },
      timeout: timeoutMs,
      validateStatus: () => true,
    })
    .catch((error: Error) => ({ status: 0, data: error.message, headers: {} as Record<string, unknown> }));
  exchanges.push({ kind: 'rest', data: { method: check.method, url, status: res.status, response: res.data } });
  if (res.status === 200 && typeof res.data === 'object' && res.data !== null)
    return res.data as Record<string, unknown>;
  const body = res.data as { code?: string } | undefined;
  if (res.status === 403) return `HTTP 403 ${body?.code ?? ''}: the OAuth client lacks ${check.permission}`;
  if (res.status === 429) return `HTTP 429 (Retry-After ${String(res.headers['retry-after'] ?? 'none')})`;
  return `HTTP ${res.status}${body?.code ? ` ${body.code}` : ''}`;
}

/** The availability part of the environment, read as the service reads it. */
export function availabilityTargetFromEnv(env: NodeJS.ProcessEnv, urls: { loginUrl: string; apiUrl: string }) {
  const value = (name: string) => env[name]?.trim() || undefined;
  return {
    loginUrl: value('GENESYS_LOGIN_URL') ?? urls.loginUrl,
    apiUrl: urls.apiUrl,
    clientId: value('GENESYS_CLIENT_ID'),
    clientSecret: value('GENESYS_CLIENT_SECRET'),
    queueIds: (value('GENESYS_QUEUE_ID') ?? '')
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
    scheduleGroupId: value('GENESYS_SCHEDULE_GROUP_ID'),
    emergencyGroupId: value('GENESYS_EMERGENCY_GROUP_ID'),
  } satisfies AvailabilityTarget;
}
