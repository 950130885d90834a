/**
 * `POST /api/v2/analytics/queues/observations/query` (docs/genesys-protocol.md#availability): the query read as the
 * SDK models it (`QueueObservationQuery`), and the answer (`QueueObservationQueryResponse`).
 */

/**
 * The values the SDK's enums allow: the filter's and each clause's `type`, a predicate's `type`, `dimension` and
 * `operator` (PY `models/queue_observation_query_filter.py`, `queue_observation_query_predicate.py`,
 * `allowed_values`), and the metrics (the Java SDK's `QueueObservationQuery.MetricsEnum`). The strict profile refuses
 * anything else with a 400, compared exactly; the kind one reads only what it needs.
 */
const FILTER_TYPES = new Set(['and', 'or']);
const PREDICATE_TYPES = new Set(['dimension', 'property', 'metric']);
const DIMENSIONS = new Set(['mediaType', 'queueId']);
const OPERATORS = new Set(['matches', 'exists', 'notExists']);
const METRICS = new Set([
  'oActiveUsers',
  'oAlerting',
  'oInteracting',
  'oMemberUsers',
  'oOffQueueUsers',
  'oOnQueueUsers',
  'oUserPresences',
  'oUserRoutingStatuses',
  'oWaiting',
]);

interface Predicate {
  type?: unknown;
  dimension?: unknown;
  operator?: unknown;
  value?: unknown;
}

interface Clause {
  type?: unknown;
  predicates?: unknown;
}

export interface ObservationQuery {
  filter?: { type?: unknown; clauses?: unknown; predicates?: unknown };
  metrics?: unknown;
  detailMetrics?: unknown;
}

/** The queues and media types a query asks for; undefined when it is malformed (or, strictly, off the enums). */
export function readQuery(
  query: ObservationQuery,
  strict: boolean,
): { queueIds: string[]; mediaTypes?: string[]; metrics: string[] } | undefined {
  const { filter, metrics } = query;
  if (typeof filter?.type !== 'string' || !Array.isArray(metrics) || metrics.length === 0) return undefined;
  const clauses = (filter.clauses ?? []) as Clause[];
  const predicates = (filter.predicates ?? []) as Predicate[];
  if (!Array.isArray(clauses) || !Array.isArray(predicates)) return undefined;
  if (filter.predicates === undefined && filter.clauses === undefined) return undefined;
  const all = [...predicates, ...clauses.flatMap((c) => (Array.isArray(c.predicates) ? c.predicates : []))];
  if (strict) {
    const inEnum = (set: Set<string>, value: unknown, optional: boolean) =>
      (optional && value === undefined) || (typeof value === 'string' && set.has(value));
    const ok =
      inEnum(FILTER_TYPES, filter.type, false) &&
      clauses.every((c) => inEnum(FILTER_TYPES, c.type, false) && Array.isArray(c.predicates)) &&
      all.every(
        (p: Predicate) =>
          inEnum(PREDICATE_TYPES, p.type, true) &&
          inEnum(DIMENSIONS, p.dimension, true) &&
          inEnum(OPERATORS, p.operator, true),
      ) &&
      metrics.every((m) => inEnum(METRICS, m, false)) &&
      (query.detailMetrics === undefined ||
        (Array.isArray(query.detailMetrics) && query.detailMetrics.every((m) => inEnum(METRICS, m, false))));
    if (!ok) return undefined;
  }
  const values = (dimension: string) =>
    all.filter((p) => p.dimension === dimension).map((p) => (typeof p.value === 'string' ? p.value : ''));
  const mediaTypes = values('mediaType');
  return {
    queueIds: values('queueId'),
    ...(mediaTypes.length > 0 ? { mediaTypes } : {}),
    metrics: metrics as string[],
  };
}

export interface QueueState {
  /** Agents on queue by routing status (the qualifier), for every media type the queue takes. */
  agents: Record<string, number>;
  /** Interactions waiting, by analytics media type. */
  waiting: Record<string, number>;
}

/**
 * The answer. Kind: one result per queue, `oOnQueueUsers` by qualifier and the `message` interactions waiting.
 * Strict: one result per queue and media type (`group: {queueId, mediaType}`), each with the agents on queue and that
 * media's interactions waiting; and, as the SDK marks `results`, `data` and `count` optional, an observation that
 * counts nothing is left out, a group with none left, and `results` too when no group is left.
 */
export function observe(
  asked: { queueIds: string[]; mediaTypes?: string[]; metrics: string[] },
  stateOf: (queueId: string) => QueueState | undefined,
  strict: { mediaTypes: readonly string[] } | undefined,
): object {
  const empty: QueueState = { agents: {}, waiting: {} };
  const wants = (metric: string) => asked.metrics.includes(metric);
  const dataOf = (state: QueueState, mediaType: string) => [
    ...(wants('oOnQueueUsers')
      ? Object.entries(state.agents).map(([qualifier, count]) => ({ metric: 'oOnQueueUsers', qualifier, count }))
      : []),
    ...(wants('oWaiting') ? [{ metric: 'oWaiting', count: state.waiting[mediaType] ?? 0 }] : []),
  ];
  const datum = ({ metric, qualifier, count }: { metric: string; qualifier?: string; count: number }) => ({
    metric,
    ...(qualifier === undefined ? {} : { qualifier }),
    stats: { count },
  });
  if (!strict) {
    const results = asked.queueIds.map((queueId) => ({
      group: { queueId },
      data: dataOf(stateOf(queueId) ?? empty, 'message').map(datum),
    }));
    return { results };
  }
  const mediaTypes = strict.mediaTypes.filter((m) => !asked.mediaTypes || asked.mediaTypes.includes(m));
  const results = asked.queueIds.flatMap((queueId) =>
    mediaTypes.flatMap((mediaType) => {
      const data = dataOf(stateOf(queueId) ?? empty, mediaType)
        .filter((d) => d.count > 0)
        .map(datum);
      return data.length > 0 ? [{ group: { queueId, mediaType }, data }] : [];
    }),
  );
  return results.length > 0 ? { results } : {};
}
