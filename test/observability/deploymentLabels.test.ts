import { Registry } from 'prom-client';
import { inDeployment } from '../../src/observability/deploymentContext';
import { DeploymentCounter, DeploymentGauge, DeploymentHistogram } from '../../src/observability/deploymentMetrics';
import {
  collectProcessMetrics,
  countAvailabilityAge,
  countGenesysError,
  countGuestSessions,
  genesysCircuitOpen,
  httpRequestDuration,
  httpRequests,
  messages,
  metricsText,
  streamsOpen,
} from '../../src/observability/metrics';
import { parseScrape, type Scrape } from '../support/metrics';

/**
 * The `deployment` label (src/observability/deploymentMetrics.ts, docs/operations.md): work done
 * inside `inDeployment(name, …)` counts under that name, in series of its own, without the caller
 * naming it; what the work starts (a timer, an await) carries it; each deployment's series exist
 * from its first sight; the process metrics carry none.
 */

async function scraped(): Promise<Scrape> {
  return parseScrape(await metricsText());
}

test('counted inside two deployments, each has its own series, and the default one does not move', async () => {
  const before = await scraped();
  inDeployment('brand-a', () => {
    countGenesysError(503);
    countGenesysError(4029);
    messages.inc({ direction: 'inbound' });
    streamsOpen.inc();
  });
  inDeployment('brand-b', () => {
    countGenesysError(503);
    streamsOpen.inc();
    streamsOpen.inc();
  });
  const after = await scraped();
  const errors = (deployment: string) =>
    after.value('genesys_bff_genesys_errors_total', { code: '503', deployment }) -
    before.value('genesys_bff_genesys_errors_total', { code: '503', deployment });
  expect([errors('brand-a'), errors('brand-b'), errors('default')]).toEqual([1, 1, 0]);
  expect(after.value('genesys_bff_genesys_rate_limited_total', { deployment: 'brand-a' })).toBe(1);
  expect(after.value('genesys_bff_genesys_rate_limited_total', { deployment: 'brand-b' })).toBe(0);
  expect(after.value('genesys_bff_messages_total', { direction: 'inbound', deployment: 'brand-a' })).toBe(1);
  expect(after.value('genesys_bff_streams_open', { deployment: 'brand-a' })).toBe(1);
  expect(after.value('genesys_bff_streams_open', { deployment: 'brand-b' })).toBe(2);
  // The exposition itself names them, as Prometheus reads it.
  expect(after.text).toContain('genesys_bff_genesys_errors_total{code="503",deployment="brand-a"} 1');
  expect(after.text).toContain('genesys_bff_genesys_errors_total{code="503",deployment="brand-b"} 1');
});

test("a series held from `labels()` (as the request counter caches it) counts under each use's deployment", async () => {
  const series = httpRequests.labels('GET', '/held', '200');
  inDeployment('brand-a', () => series.inc());
  inDeployment('brand-b', () => series.inc());
  inDeployment('brand-b', () => series.inc());
  const s = await scraped();
  const count = (deployment: string) =>
    s.value('genesys_bff_http_requests_total', { method: 'GET', route: '/held', status: '200', deployment });
  expect([count('brand-a'), count('brand-b'), count('default')]).toEqual([1, 2, 0]);
  expect(() => httpRequests.labels('GET', '/held')).toThrow(/3 label values/);
});

test('what the work starts carries its deployment: a timer and an await count under it, wherever they end', async () => {
  let endTimer: ((labels?: object) => number) | undefined;
  await inDeployment('brand-a', async () => {
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        countGenesysError('timeout');
        resolve();
      }, 1),
    );
    await Promise.resolve();
    messages.inc({ direction: 'outbound' });
    endTimer = httpRequestDuration.startTimer({ method: 'GET', route: '/timed' });
  });
  // Ended outside any deployment (a response closing from its connection): still the one it was started for.
  endTimer!();
  const held = inDeployment('brand-b', () => httpRequestDuration.labels('POST', '/timed').startTimer());
  held();
  const s = await scraped();
  expect(s.value('genesys_bff_genesys_errors_total', { code: 'timeout', deployment: 'brand-a' })).toBe(1);
  expect(s.value('genesys_bff_genesys_errors_total', { code: 'timeout', deployment: 'default' })).toBe(0);
  expect(s.value('genesys_bff_messages_total', { direction: 'outbound', deployment: 'brand-a' })).toBe(1);
  const timed = (method: string, deployment: string) =>
    s.value('genesys_bff_http_request_duration_seconds_count', { method, route: '/timed', deployment });
  expect([timed('GET', 'brand-a'), timed('GET', 'default')]).toEqual([1, 0]);
  expect([timed('POST', 'brand-b'), timed('POST', 'default')]).toEqual([1, 0]);
});

test("a deployment's first sight makes its series that exist from the start, at zero", async () => {
  inDeployment('brand-c', () => genesysCircuitOpen.set(0));
  const s = await scraped();
  for (const series of [
    'genesys_bff_messages_total{direction="inbound",deployment="brand-c"} 0',
    'genesys_bff_messages_total{direction="outbound",deployment="brand-c"} 0',
    'genesys_bff_sessions_started_total{authenticated="false",deployment="brand-c"} 0',
    'genesys_bff_genesys_socket_opens_total{deployment="brand-c"} 0',
    'genesys_bff_genesys_sockets_open{deployment="brand-c"} 0',
    'genesys_bff_genesys_circuit_open{deployment="brand-c"} 0',
    'genesys_bff_availability_refreshes_total{result="rate_limited",deployment="brand-c"} 0',
    'genesys_bff_guest_sessions{deployment="brand-c"} 0',
    'genesys_bff_availability_answer_age_seconds{deployment="brand-c"} 0',
  ])
    expect(s.text.split('\n')).toContain(series);
  // The shared store's gauge is its store's: no store was made for brand-c.
  expect(s.text).not.toContain('genesys_bff_shared_store_up{deployment="brand-c"}');
});

test("the gauges read at each scrape report each deployment's own sources", async () => {
  let held = 3;
  const removeA = inDeployment('brand-a', () => countGuestSessions(() => held));
  const removeB = inDeployment('brand-b', () => countGuestSessions(() => 2));
  const removeB2 = inDeployment('brand-b', () => countGuestSessions(() => 4));
  const stopAgeA = inDeployment('brand-a', () => countAvailabilityAge(() => 30));
  const stopAgeB = inDeployment('brand-b', () => countAvailabilityAge(() => 5));
  const stopAgeB2 = inDeployment('brand-b', () => countAvailabilityAge(() => 12));
  // A service with no answer yet has no age: it is left out, not read as 0 or NaN.
  const stopAgeB3 = inDeployment('brand-b', () => countAvailabilityAge(() => undefined));
  try {
    const chats = async (deployment: string) => (await scraped()).value('genesys_bff_guest_sessions', { deployment });
    expect([await chats('brand-a'), await chats('brand-b')]).toEqual([3, 6]);
    held = 7;
    expect(await chats('brand-a')).toBe(7);
    const s = await scraped();
    const age = (deployment: string) => s.value('genesys_bff_availability_answer_age_seconds', { deployment });
    expect([age('brand-a'), age('brand-b')]).toEqual([30, 12]);
    removeA();
    expect([await chats('brand-a'), await chats('brand-b')]).toEqual([0, 6]);
  } finally {
    for (const stop of [removeA, removeB, removeB2, stopAgeA, stopAgeB, stopAgeB2, stopAgeB3]) stop();
  }
});

test("every series of the service's own carries `deployment`; the process and Node metrics carry none", async () => {
  collectProcessMetrics();
  // A second metrics listener in one process (a restart of the listener) collects them once, not twice over.
  collectProcessMetrics();
  inDeployment('brand-a', () => countGenesysError(500));
  const series = (await scraped()).series();
  const own = series.filter((name) => name.startsWith('genesys_bff_'));
  expect(own.length).toBeGreaterThan(20);
  expect(own.filter((name) => !/[{,]deployment="[^"]+"/.test(name))).toEqual([]);
  const processSeries = series.filter((name) => name.startsWith('process_') || name.startsWith('nodejs_'));
  expect(processSeries.length).toBeGreaterThan(10);
  expect(processSeries.filter((name) => name.includes('deployment='))).toEqual([]);
});

describe("a deployment's metrics, made on a registry of their own", () => {
  const registry = new Registry();
  const valuesOf = async (metric: { get(): Promise<MetricValues> }) =>
    (await metric.get()).values.map(({ labels, value }) => ({ labels, value }));
  type MetricValues = { values: { labels: Record<string, string | number>; value: number }[] };

  test('a counter without labels counts from `labels()` with no values; a wrong count of values names them', async () => {
    const plain = new DeploymentCounter({ name: 'test_plain_total', help: 'h', registers: [registry] });
    inDeployment('brand-a', () => plain.labels().inc());
    expect(await valuesOf(plain)).toContainEqual({ labels: { deployment: 'brand-a' }, value: 1 });
    const named = new DeploymentCounter({
      name: 'test_named_total',
      help: 'h',
      labelNames: ['method', 'route'],
      registers: [registry],
    });
    expect(() => named.labels('GET')).toThrow('Expected 2 label values (method, route), got 1');
  });

  test('series that start at zero exist for each deployment seen, and for one seen later at its first sight', async () => {
    inDeployment('brand-early', () => messages.inc({ direction: 'inbound' }));
    const plain = new DeploymentCounter({ name: 'test_zero_total', help: 'h', registers: [registry] });
    const listed = new DeploymentCounter({
      name: 'test_listed_total',
      help: 'h',
      labelNames: ['kind'],
      startAtZero: [{ kind: 'x' }],
      registers: [registry],
    });
    const unlisted = new DeploymentCounter({
      name: 'test_unlisted_total',
      help: 'h',
      labelNames: ['kind'],
      registers: [registry],
    });
    const gauge = new DeploymentGauge({ name: 'test_zero_gauge', help: 'h', registers: [registry] });
    const setOnly = new DeploymentGauge({
      name: 'test_set_gauge',
      help: 'h',
      startAtZero: false,
      registers: [registry],
    });
    inDeployment('brand-late', () => messages.inc({ direction: 'inbound' }));
    for (const deployment of ['brand-early', 'brand-late']) {
      expect(await valuesOf(plain)).toContainEqual({ labels: { deployment }, value: 0 });
      expect(await valuesOf(listed)).toContainEqual({ labels: { kind: 'x', deployment }, value: 0 });
      expect(await valuesOf(gauge)).toContainEqual({ labels: { deployment }, value: 0 });
    }
    expect(await valuesOf(unlisted)).toEqual([]);
    expect(await valuesOf(setOnly)).toEqual([]);
  });

  test('a gauge and a histogram read back what each deployment set and observed', async () => {
    const gauge = new DeploymentGauge({ name: 'test_gauge', help: 'h', labelNames: ['kind'], registers: [registry] });
    inDeployment('brand-a', () => gauge.set({ kind: 'x' }, 3));
    expect(await valuesOf(gauge)).toEqual([{ labels: { kind: 'x', deployment: 'brand-a' }, value: 3 }]);
    const histogram = new DeploymentHistogram({
      name: 'test_seconds',
      help: 'h',
      labelNames: ['kind'],
      buckets: [1],
      registers: [registry],
    });
    inDeployment('brand-a', () => histogram.observe({ kind: 'x' }, 0.5));
    inDeployment('brand-b', () => histogram.observe(2));
    const counts = (await histogram.get()).values.filter((v) => v.metricName === 'test_seconds_count');
    expect(counts.map(({ labels, value }) => ({ labels, value }))).toEqual([
      { labels: { kind: 'x', deployment: 'brand-a' }, value: 1 },
      { labels: { deployment: 'brand-b' }, value: 1 },
    ]);
  });
});
