import { baseUrl, doc, intFrom, oneOf, optionalIntFrom, text, textOr } from './envValues';

/**
 * The variables of the service's own operation: the process, its logs, metrics and traces, and the Redis the
 * instances share. Described as in variables.ts, which gathers them into the schema.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const processVariables = {
  NODE_ENV: textOr('development').meta(
    doc({ group: 'process', summary: '`development` or `production` (the container image sets `production`).' }),
  ),
  PORT: intFrom('PORT', 8080, 0, 65535).meta(doc({ group: 'process', summary: 'Listen port.' })),
  HOST: textOr('0.0.0.0').meta(
    doc({
      group: 'process',
      summary: 'Listen address (`0.0.0.0`: all interfaces).',
      details:
        'The embedded demo (no Genesys configuration) listens on `127.0.0.1` unless `HOST` is set: it is a local demo.',
    }),
  ),
  SHUTDOWN_GRACE_MS: intFrom('SHUTDOWN_GRACE_MS', 10_000, 0, 120_000).meta(
    doc({
      group: 'process',
      summary: 'On SIGTERM, how long in-flight requests may finish before connections are cut, in milliseconds.',
    }),
  ),
};

export const observability = {
  LOG_LEVEL: oneOf('LOG_LEVEL', LOG_LEVELS, 'info').meta(
    doc({
      group: 'observability',
      summary: 'The least severe log lines written.',
      details:
        'Logs are JSON lines on stdout, each with the request id; authorization headers, tokens and `?ticket=` ' +
        'values are redacted.',
    }),
  ),
  METRICS_PORT: optionalIntFrom('METRICS_PORT', 0, 65535).meta(
    doc({
      group: 'observability',
      summary:
        'Serve Prometheus metrics (`GET /metrics`) on this port, a listener of its own; it must differ from PORT.',
      details:
        'On `PORT`, `/metrics` is `404`. The container image, compose files and Kubernetes manifests set `9464`; ' +
        'keep it for the scraper ([docs/operations.md](operations.md#metrics)).',
      unset: 'off',
      example: '9464',
    }),
  ),
  METRICS_HOST: textOr('127.0.0.1').meta(
    doc({
      group: 'observability',
      summary: 'Listen address of the metrics listener (METRICS_PORT), apart from `HOST`: loopback unless set.',
      details:
        'Only a scraper on the same host reaches `127.0.0.1`. The container image, compose files and Kubernetes ' +
        'manifests set `0.0.0.0`, where Prometheus scrapes across the network; in Kubernetes, ' +
        '`deploy/kubernetes/networkpolicy.yaml` lets only the `monitoring` namespace reach the port ' +
        '([docs/operations.md](operations.md#metrics)).',
    }),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: baseUrl('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']).meta(
    doc({
      group: 'observability',
      summary:
        "Turn on OpenTelemetry tracing, exported with OTLP over HTTP: the collector's base URL (spans go to " +
        '`{url}/v1/traces`).',
      details:
        'Incoming `traceparent` headers are continued either way, and log lines of a traced request carry ' +
        '`trace_id` and `span_id` ([docs/operations.md](operations.md#traces)).',
      unset: 'tracing off',
      example: 'http://otel-collector:4318',
    }),
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: baseUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']).meta(
    doc({
      group: 'observability',
      summary: 'Or the full OTLP/HTTP traces URL; it wins over OTEL_EXPORTER_OTLP_ENDPOINT.',
      unset: '`OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces`, or tracing off',
      example: 'http://otel-collector:4318/v1/traces',
    }),
  ),
  OTEL_SERVICE_NAME: textOr('genesys-messaging-bff').meta(
    doc({
      group: 'observability',
      summary: 'The `service.name` of the spans.',
      details:
        'The SDK also reads the standard `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, ' +
        '`OTEL_TRACES_SAMPLER_ARG` and `OTEL_RESOURCE_ATTRIBUTES` itself.',
    }),
  ),
};

const REDIS_INSTEAD = 'Instead of REDIS_URL';

export const redis = {
  REDIS_URL: baseUrl('REDIS_URL', ['redis:', 'rediss:']).meta(
    doc({
      group: 'redis',
      required: 'for more than one instance (or REDIS_SENTINELS or REDIS_CLUSTER_NODES)',
      summary:
        'The shared store for running more than one instance: `redis://` or `rediss://` (TLS), with any password in ' +
        'the URL.',
      details:
        'The instances then share idempotency records, sends in doubt, rate limits, ended sessions and stream ' +
        'tickets; `/readyz` checks it. Set one of `REDIS_URL`, `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES`.',
      unset: "state stays in this instance's memory, which is right for one instance only",
      example: 'redis://redis:6379',
    }),
  ),
  REDIS_KEY_PREFIX: textOr('genesys-bff:').meta(
    doc({
      group: 'redis',
      summary: 'Prefix of every key the service writes in Redis, so that several deployments can share one Redis.',
    }),
  ),
  REDIS_PASSWORD: text().meta(
    doc({
      group: 'redis',
      secret: true,
      summary: "Redis's password, for every node, when REDIS_URL carries none (one in the URL wins).",
      details:
        '`deploy/docker-compose.scale.yml` reads it from `.env` for Redis and the instances alike, and requires it.',
    }),
  ),
  REDIS_SENTINELS: text().meta(
    doc({
      group: 'redis',
      summary:
        `${REDIS_INSTEAD}: the Sentinels (\`host:port\`, comma-separated) that watch the primary named ` +
        `REDIS_SENTINEL_NAME.`,
      details: "The service follows a failover to the new primary (the README's Scaling out says what one may lose).",
      example: 'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379',
    }),
  ),
  REDIS_SENTINEL_NAME: text().meta(
    doc({
      group: 'redis',
      required: 'with REDIS_SENTINELS',
      summary: 'The name of the primary the Sentinels watch (`sentinel monitor <name> ...`).',
      example: 'mymaster',
    }),
  ),
  REDIS_CLUSTER_NODES: text().meta(
    doc({
      group: 'redis',
      summary:
        `${REDIS_INSTEAD}: some nodes of a Redis Cluster (\`host:port\`, comma-separated); the rest are ` +
        `discovered.`,
      details: "Every key of one session carries the session's hash tag (`{…}`), so that its records live in one slot.",
      example: 'redis-1:6379,redis-2:6379,redis-3:6379',
    }),
  ),
  REDIS_TLS: text().meta(
    doc({
      group: 'redis',
      summary: 'TLS to the Sentinel primary or the Cluster nodes (REDIS_URL says TLS with `rediss://`).',
      default: 'false',
      values: ['true', 'false'],
    }),
  ),
};
