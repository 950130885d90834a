import axios from 'axios';
import pino from 'pino';
import { composeAnswer, configuredParts, OpenHours, refreshFacts, type Facts } from '../genesys/availability';
import { AvailabilityReads, choosePrediction, PlatformApiError } from '../genesys/platform';
import type { AvailabilityTarget, Exchange, Run } from './verifyRun';

/**
 * The availability points of `npm run verify:genesys`. With the OAuth client and the ids GET /availability reads
 * (GENESYS_QUEUE_ID, GENESYS_SCHEDULE_GROUP_ID, GENESYS_EMERGENCY_GROUP_ID, or a deployments file's `availability`),
 * the deployment is read by the service's own refresh (`refreshFacts`, over `AvailabilityReads`): every schedule the
 * group lists, the emergency group, the predictions and the observations. Each answer is then checked against the
 * SDK model's shape (a 403 names the permission the OAuth client lacks), and the service's own functions say what
 * GET /availability would answer now (`composeAnswer`, `OpenHours`): open or closed, which schedule decides, the
 * next change. The predictions are listed with their `formula` and `intent`, and the observations with their groups.
 */

type Context = Pick<Run, 'add' | 'timeoutMs' | 'exchanges' | 'secrets'>;
type Body = Record<string, unknown>;

/** One endpoint read: what it must hold, and the permission a refusal names. */
interface Check {
  point: string;
  permission: string;
  method: 'GET' | 'POST';
  path: string;
  /** What the answer must hold; the empty string when it does. */
  shape(data: Body): string;
  /** Optional fields the answer left out, each with how the service reads it without them. */
  absent?(data: Body): string[];
}

/** The `formula` and `intent` values of `PredictionResults` (docs/genesys-protocol.md#availability). */
export const PREDICTION_FORMULAS = [
  'BEST',
  'SIMPLE',
  'ABANDON',
  'PATIENCE_ABANDON',
  'AI-ADJUSTED-AHT',
  'POSITION-IN-QUEUE',
];
export const PREDICTION_INTENTS = [
  'ALL',
  'CALL',
  'CALLBACK',
  'CHAT',
  'EMAIL',
  'SOCIALEXPRESSION',
  'VIDEOCOMM',
  'MESSAGE',
];

const SCHEDULE_LISTS = [
  ['open', 'openSchedules'],
  ['closed', 'closedSchedules'],
  ['holiday', 'holidaySchedules'],
] as const;
type ScheduleKind = (typeof SCHEDULE_LISTS)[number][0];

const has = (data: Body, keys: string[]) =>
  keys
    .filter((k) => !(k in data))
    .map((k) => `no ${k}`)
    .join(', ');

const waitPath = (queueId: string) =>
  `/api/v2/routing/queues/${encodeURIComponent(queueId)}/mediatypes/message/estimatedwaittime`;
const OBSERVATIONS_PATH = '/api/v2/analytics/queues/observations/query';
const groupPath = (id: string) => `/api/v2/architect/schedulegroups/${encodeURIComponent(id)}`;
const schedulePath = (id: string) => `/api/v2/architect/schedules/${encodeURIComponent(id)}`;
const emergencyPath = (id: string) => `/api/v2/architect/emergencygroups/${encodeURIComponent(id)}`;

function checksOf(target: AvailabilityTarget): Check[] {
  const checks: Check[] = target.queueIds.map((queueId) => ({
    point: `availability: estimated wait (queue ${queueId})`,
    permission: 'routing:queue:view',
    method: 'GET',
    path: waitPath(queueId),
    shape: (d) => (Array.isArray(d.results) ? '' : 'no results array'),
  }));
  if (target.queueIds.length > 0) {
    checks.push({
      point: 'availability: queue observations',
      permission: 'analytics:queueObservation:view',
      method: 'POST',
      path: OBSERVATIONS_PATH,
      shape: (d) => (d.results === undefined || Array.isArray(d.results) ? '' : 'results is not an array'),
    });
  }
  if (target.scheduleGroupId) {
    checks.push({
      point: 'availability: schedule group',
      permission: 'routing:scheduleGroup:view',
      method: 'GET',
      path: groupPath(target.scheduleGroupId),
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
      path: emergencyPath(target.emergencyGroupId),
      shape: (d) => (d.enabled === undefined || typeof d.enabled === 'boolean' ? '' : 'enabled is not a boolean'),
      absent: (d) => ('enabled' in d ? [] : ['no enabled flag (read as off)']),
    });
  }
  return checks;
}

export async function verifyAvailability(target: AvailabilityTarget | undefined, context: Context): Promise<void> {
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
  const platform = new RecordingPlatform(target, token, context.exchanges, context.timeoutMs);
  const now = Date.now();
  // The service's own refresh: the same requests, read and checked the same way.
  const { facts } = await refreshFacts({
    reads: new AvailabilityReads(platform),
    targets: target,
    now,
    staleMs: 0,
    logger: pino({ level: 'silent' }),
    onMissingPermission: () => undefined,
    onNoTimeZone: () => undefined,
  });
  await platform.settled();

  const answers = checks.map((check) => ({ check, answer: reportRead(check, platform, context) }));
  const answerOf = (point: string) => answers.find((a) => a.check.point === point)?.answer;
  for (const queueId of target.queueIds) {
    reportPredictions(queueId, answerOf(`availability: estimated wait (queue ${queueId})`), context);
  }
  if (target.queueIds.length > 0) reportGrouping(answerOf('availability: queue observations'), facts, context);
  const schedules = reportSchedules(answerOf('availability: schedule group'), platform, context);
  if (target.scheduleGroupId) reportScheduleNow(facts, schedules, now, context);
  const { answer } = composeAnswer(facts, configuredParts(target), now);
  context.add(
    "availability: the service's answer now",
    'GET /availability from these reads: an emergency, then holiday, closed and open schedules, then agents on queue',
    [
      `open ${answer.open} (reason ${answer.reason})`,
      `closesAt ${answer.closesAt ?? 'null'}`,
      `nextOpenAt ${answer.nextOpenAt ?? 'null'}`,
      `estimatedWaitSeconds ${answer.estimatedWaitSeconds ?? 'null'}`,
      `agentsAvailable ${answer.agentsAvailable ?? 'null'}`,
      `waiting ${answer.waiting ?? 'null'}`,
      `unknown ${answer.unknown.length > 0 ? answer.unknown.join(', ') : 'none'}`,
    ].join('; '),
    answer.unknown.length > 0 ? 'differs' : 'holds',
  );
}

/** The finding of one endpoint's read, as the service's refresh made it; its body when it was read. */
function reportRead(check: Check, platform: RecordingPlatform, context: Context): Body | undefined {
  const expected = `HTTP 200 in the SDK model's shape (needs ${check.permission})`;
  const answer = platform.answerOf(check.method, check.path);
  if (answer === undefined) {
    context.add(check.point, expected, 'not read', 'not checked');
    return undefined;
  }
  if (typeof answer === 'string') {
    context.add(check.point, expected, refusalOf(answer, check.permission), 'differs');
    return undefined;
  }
  const wrong = check.shape(answer);
  const absent = check.absent?.(answer) ?? [];
  context.add(check.point, expected, wrong || ['read', ...absent].join('; '), wrong ? 'differs' : 'holds');
  return wrong ? undefined : answer;
}

const refusalOf = (answer: string, permission: string) =>
  answer.startsWith('HTTP 403') ? `${answer}: the OAuth client lacks ${permission}` : answer;

/** Each prediction's formula and intent, and which one the service shows (`choosePrediction`). */
function reportPredictions(queueId: string, data: Body | undefined, context: Context): void {
  const point = `availability: predictions (queue ${queueId})`;
  const expected =
    `formula one of ${PREDICTION_FORMULAS.join(', ')}; intent one of ${PREDICTION_INTENTS.join(', ')} or none; ` +
    'the service shows the first, in Genesys order, with seconds and intent MESSAGE or none';
  if (data === undefined) {
    context.add(point, expected, 'not read', 'not checked');
    return;
  }
  type Prediction = { formula?: string; intent?: string; estimatedWaitTimeSeconds?: number };
  const results = (data.results as Prediction[]).filter((r) => typeof r === 'object' && r !== null);
  if (results.length === 0) {
    context.add(point, expected, 'no predictions (the service shows no estimate)', 'holds');
    return;
  }
  const chosen = choosePrediction(results);
  const off: string[] = [];
  const listed = results.map((r) => {
    const formula = String(r.formula ?? '(none)');
    const intent = r.intent === undefined ? '(no intent)' : String(r.intent);
    if (!PREDICTION_FORMULAS.includes(formula)) off.push(`formula ${formula}`);
    if (r.intent !== undefined && !PREDICTION_INTENTS.includes(intent)) off.push(`intent ${intent}`);
    const seconds = String(r.estimatedWaitTimeSeconds ?? '(no seconds)');
    return `${formula} ${intent} ${seconds} s${r === chosen ? ' (shown)' : ''}`;
  });
  const shown = chosen
    ? `the service shows ${String(chosen.formula)}`
    : 'none for messages: the service shows no estimate';
  context.add(
    point,
    expected,
    `${listed.join(', ')}; ${shown}${off.length > 0 ? `; not in the SDK's lists: ${off.join(', ')}` : ''}`,
    off.length > 0 ? 'differs' : 'holds',
  );
}

/** How the observations came back: each result's group and the metrics (with qualifiers) it holds. */
function reportGrouping(data: Body | undefined, facts: Facts, context: Context): void {
  const point = 'availability: observation grouping';
  const expected =
    'results grouped per queue, or per queue and mediaType (the service counts mediaType message or none)';
  if (data === undefined) {
    context.add(point, expected, 'not read', 'not checked');
    return;
  }
  type Result = { group?: Record<string, unknown>; data?: { metric?: string; qualifier?: string }[] };
  const results = (data.results as Result[] | undefined) ?? [];
  const groups = results.map((r) => {
    const group = Object.entries(r.group ?? {})
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    const metrics = new Map<string, string[]>();
    for (const d of r.data ?? []) {
      const qualifiers = metrics.get(d.metric ?? '(no metric)') ?? [];
      if (d.qualifier !== undefined) qualifiers.push(d.qualifier);
      metrics.set(d.metric ?? '(no metric)', qualifiers);
    }
    const held = [...metrics].map(([m, q]) => (q.length > 0 ? `${m} ${q.join(', ')}` : m)).join('; ');
    return `{${group || 'no group'}}: ${held || 'no data'}`;
  });
  const agents = facts.agents?.value;
  const counted = agents
    ? `the service counts ${agents.onQueue} on queue, ${agents.idle} idle, ${agents.waiting} waiting`
    : `the service counts nothing (${facts.agents?.missing ?? 'not read'})`;
  const listed = groups.length > 0 ? `: ${groups.join(' | ')}` : '';
  context.add(
    point,
    expected,
    `${results.length} result${results.length === 1 ? '' : 's'}${listed}; ${counted}`,
    'holds',
  );
}

interface ScheduleSeen {
  kind: ScheduleKind;
  index: number;
  id: string;
  name?: string;
}

/** Every schedule the group lists, each read as the service read it; what each is, for the schedule now. */
function reportSchedules(group: Body | undefined, platform: RecordingPlatform, context: Context): ScheduleSeen[] {
  if (group === undefined) return [];
  const seen: ScheduleSeen[] = [];
  for (const [kind, key] of SCHEDULE_LISTS) {
    const refs = ((group[key] as { id?: string; name?: string }[] | undefined) ?? []).filter((r) => r.id);
    refs.forEach((ref, index) => {
      const point = `availability: ${kind} schedule ${index + 1} of ${refs.length}`;
      const expected = 'HTTP 200 with start, end and an rrule the service evaluates (needs routing:schedule:view)';
      const answer = platform.answerOf('GET', schedulePath(ref.id!));
      const name = typeof answer === 'object' && typeof answer.name === 'string' ? answer.name : ref.name;
      seen.push({ kind, index, id: ref.id!, name });
      if (answer === undefined) return context.add(point, expected, 'not read', 'not checked');
      if (typeof answer === 'string')
        return context.add(point, expected, refusalOf(answer, 'routing:schedule:view'), 'differs');
      const missing = has(answer, ['start', 'end']);
      if (missing) return context.add(point, expected, missing, 'differs');
      const schedule = {
        start: String(answer.start),
        end: String(answer.end),
        ...(typeof answer.rrule === 'string' ? { rrule: answer.rrule } : {}),
      };
      const described =
        `"${name ?? ref.id}": ${schedule.start} to ${schedule.end}, ` +
        (schedule.rrule ? `rrule ${schedule.rrule}` : 'once (no rrule)');
      try {
        new OpenHours({ timeZone: 'UTC', open: [schedule], closed: [], holiday: [] }).at(Date.now());
        context.add(point, expected, described, 'holds');
      } catch (error) {
        context.add(
          point,
          expected,
          `${described}; the service cannot evaluate it: ${(error as Error).message}`,
          'differs',
        );
      }
    });
  }
  return seen;
}

/** The group's state now, as the service evaluates it: which schedule decides, and the next change. */
function reportScheduleNow(facts: Facts, schedules: ScheduleSeen[], now: number, context: Context): void {
  const point = 'availability: schedule now';
  const expected = "the group's schedules in its time zone: holiday over closed over open, none holding is closed";
  const hours = facts.schedule?.value;
  if (!hours) {
    context.add(point, expected, `not evaluated (${facts.schedule?.missing ?? 'not read'})`, 'differs');
    return;
  }
  const openHours = new OpenHours(hours);
  const state = openHours.at(now);
  const decided = openHours.decidedBy(now);
  const schedule = decided && schedules.find((s) => s.kind === decided.kind && s.index === decided.index);
  const decider = decided
    ? `${decided.kind} schedule ${decided.index + 1} "${schedule?.name ?? schedule?.id ?? '?'}" holds now`
    : 'no schedule holds now (closed by default)';
  const change =
    state.state === 'open'
      ? state.closesAt
        ? `closes ${state.closesAt}`
        : 'no closing within a year (closesAt null)'
      : state.nextOpenAt
        ? `opens ${state.nextOpenAt}`
        : 'no opening within a year (nextOpenAt null)';
  const next = state.changesAt === undefined ? '' : `; next change ${openHours.format(state.changesAt)}`;
  context.add(point, expected, `${state.state} in ${hours.timeZone}: ${decider}; ${change}${next}`, 'holds');
}

/**
 * The Platform as the service's reads see it (`PlatformClient.request`), over one token and no retries: each answer
 * is kept, for the findings and for `--record`, and a refusal is thrown as the service's client throws it.
 */
class RecordingPlatform {
  private readonly answers = new Map<string, Body | string>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly target: AvailabilityTarget,
    private readonly token: string,
    private readonly exchanges: Exchange[],
    private readonly timeoutMs: number,
  ) {}

  /** The body read, what went wrong (`HTTP 403 code`), or undefined when the refresh did not ask. */
  answerOf(method: string, path: string): Body | string | undefined {
    return this.answers.get(`${method} ${path}`);
  }

  /** Every request made so far answered: a refresh that failed early may leave others on their way. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  request<T>(request: { method: 'GET' | 'POST'; path: string; body?: unknown }): Promise<T> {
    const answered = this.send<T>(request);
    this.pending.add(answered);
    void answered.catch(() => undefined).finally(() => this.pending.delete(answered));
    return answered;
  }

  private async send<T>({ method, path, body }: { method: 'GET' | 'POST'; path: string; body?: unknown }): Promise<T> {
    const url = `${this.target.apiUrl.replace(/\/+$/, '')}${path}`;
    const res = await axios
      .request({
        method,
        url,
        data: body,
        headers: { Authorization: `Bearer ${this.token}` },
        timeout: this.timeoutMs,
        validateStatus: () => true,
      })
      .catch((error: Error) => ({ status: 0, data: error.message, headers: {} as Record<string, unknown> }));
    this.exchanges.push({ kind: 'rest', data: { method, url, status: res.status, response: res.data } });
    const key = `${method} ${path}`;
    if (res.status === 200 && typeof res.data === 'object' && res.data !== null) {
      this.answers.set(key, res.data as Body);
      return res.data as T;
    }
    const code = (res.data as { code?: string } | undefined)?.code;
    const retryAfter = res.status === 429 ? Number(res.headers['retry-after'] ?? 1) : undefined;
    this.answers.set(
      key,
      res.status === 429
        ? `HTTP 429 (Retry-After ${String(res.headers['retry-after'] ?? 'none')})`
        : `HTTP ${res.status}${code ? ` ${code}` : ''}`,
    );
    throw new PlatformApiError(
      { method, path, status: res.status || undefined, code },
      res.status === 429 ? 'rate_limited' : 'upstream_unavailable',
      `HTTP ${res.status}`,
      { status: res.status === 429 ? 429 : 502, retryAfterSeconds: retryAfter },
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
