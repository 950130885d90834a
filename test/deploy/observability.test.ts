import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { sampleNames, scrape } from '../support/metrics';
import { debianProgram } from '../support/programs';
import { startStack, type Stack } from '../support/stack';

/**
 * deploy/observability/ (docs/operations.md): the alert rules pass
 * `promtool check rules` and their unit tests; the dashboard's and the
 * rules' queries name only metrics the running service exports; every alert
 * has its runbook section; the PodMonitor, Prometheus and the compose overlay
 * scrape the port the service's deployment files open.
 *
 * @needs prometheus
 */
const ROOT = path.join(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const RULES = 'deploy/observability/alerts.rules.yml';
const DASHBOARD = 'deploy/observability/grafana/dashboards/genesys-bff.json';

interface Rule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; description: string; runbook_url: string };
}
const rules = (): Rule[] => (parse(read(RULES)) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

interface Panel {
  title: string;
  type: string;
  targets: { expr: string }[];
  repeat?: string;
  gridPos: { y: number };
}
interface Variable {
  name: string;
  type: string;
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
}
const dashboard = () => {
  const board = JSON.parse(read(DASHBOARD)) as { uid: string; panels: Panel[]; templating: { list: Variable[] } };
  // A row holds no query of its own: it groups the panels below it.
  return {
    ...board,
    rows: board.panels.filter((p) => p.type === 'row'),
    panels: board.panels.filter((p) => p.type !== 'row'),
  };
};

/** PromQL's own words: functions, aggregations, keywords; whatever else names a series is a metric name. */
const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'delta',
  'histogram_quantile',
  'clamp_min',
  'clamp_max',
  'abs',
  'absent',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'topk',
  'bottomk',
  'quantile',
  'time',
  'vector',
  'scalar',
]);
/** Series Prometheus makes itself for every target, not the service. */
const PROMETHEUS_SERIES = new Set(['up']);

/** The metric names a PromQL expression reads. */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, templates)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges, $__rate_interval included
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '') // grouping labels
    .replace(/\b\d+(\.\d+)?(e-?\d+)?\b/g, ''); // numbers
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((word) => !PROMQL_WORDS.has(word));
}

test('promtool: the alert rules check, and their unit tests pass', () => {
  const PROMTOOL = debianProgram('prometheus');
  const check = spawnSync(PROMTOOL, ['check', 'rules', RULES], { cwd: ROOT, encoding: 'utf8' });
  expect([check.status, check.stdout + check.stderr]).toEqual([
    0,
    expect.stringContaining(`SUCCESS: ${rules().length} rules found`),
  ]);
  const unit = spawnSync(PROMTOOL, ['test', 'rules', 'deploy/observability/alerts.test.yml'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect([unit.status, unit.stdout + unit.stderr]).toEqual([0, expect.stringContaining('SUCCESS')]);
});

test('promtool: a broken rule is refused (the check checks)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-'));
  try {
    const broken = path.join(dir, 'broken.rules.yml');
    fs.writeFileSync(
      broken,
      read(RULES).replace(
        'expr: min(genesys_bff_shared_store_up) == 0',
        'expr: min(genesys_bff_shared_store_up) ==== 0',
      ),
    );
    const result = spawnSync(process.execPath, ['scripts/validate-deploy.mjs', broken], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^INVALID/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every alert pages with a severity, a summary and its runbook section in docs/operations.md', () => {
  const runbook = read('docs/operations.md');
  const headings = [...runbook.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
  for (const rule of rules()) {
    expect([rule.alert, rule.labels.severity]).toEqual([rule.alert, expect.stringMatching(/^(critical|warning)$/)]);
    expect(rule.annotations.summary.length).toBeGreaterThan(10);
    expect(rule.annotations.runbook_url).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`);
    expect(headings).toContain(rule.alert);
    // Each section says what it means, what to look at and what to do.
    const section = runbook.split(`### ${rule.alert}\n`)[1]!.split(/^#{2,3} /m)[0]!;
    for (const part of ['**Means**', '**Look at**', '**Do**'])
      expect([rule.alert, section.includes(part)]).toEqual([rule.alert, true]);
  }
  expect(rules().length).toBeGreaterThanOrEqual(10);
});

test('the dashboard has the panels an operator needs, each with a query', () => {
  const { uid, panels } = dashboard();
  expect(uid).toBe('genesys-bff');
  const titles = panels.map((p) => p.title);
  for (const needed of [
    'Live chats',
    'Messages sent per second',
    'Latency p50 by route',
    'Latency p99 by route',
    'Genesys errors by code',
    'Genesys rate limiting (429/4029)',
    'Genesys sockets per session',
    'Live streams',
    'Redis up (all instances)',
    'Event-loop lag',
    'Webhook deliveries by outcome',
  ]) {
    expect(titles).toContain(needed);
  }
  for (const panel of panels) expect([panel.title, panel.targets.length > 0]).toEqual([panel.title, true]);
});

test('the dashboard has a canary row per deployment, with the error budget left against the objective', () => {
  const { rows, panels } = dashboard();
  const row = rows.find((r) => r.title === 'Canary: $deployment');
  expect(row).toMatchObject({ repeat: 'deployment' });
  const below = panels.filter((p) => p.gridPos.y > row!.gridPos.y).map((p) => p.title);
  expect(below).toEqual(['Canary error budget left (30 days)', 'Canary runs by outcome', 'Canary failures by step']);
  const budget = panels.find((p) => p.title === 'Canary error budget left (30 days)')!.targets[0]!.expr;
  // The objective the alerts hold the canaries to: 0.5 % of the runs that were not skipped, over 30 days.
  expect(budget).toContain('/ 0.005');
  expect(budget).toMatch(/outcome="failed"\}\[30d\]/);
  expect(budget).toMatch(/outcome=~"ok\|failed"\}\[30d\]/);
  expect(read(RULES)).toContain('(14.4 * 0.005)');
});

test("the dashboard shows the deployments chosen: every chat metric's selector filters by the `deployment` variable", () => {
  const { panels, templating } = dashboard();
  const variable = templating.list.find((v) => v.name === 'deployment');
  expect(variable).toMatchObject({ type: 'query', multi: true, includeAll: true });
  expect(variable!.definition).toMatch(/^label_values\(genesys_bff_\w+\{[^}]*\}, deployment\)$/);
  let filtered = 0;
  for (const panel of panels)
    for (const { expr } of panel.targets)
      for (const [selector, name] of expr.matchAll(/\b(genesys_bff_\w+)\{[^}]*\}/g)) {
        // The shared store is not a deployment's: it pages whichever deployment is chosen.
        if (name === 'genesys_bff_shared_store_up') continue;
        expect([panel.title, selector.includes('deployment=~"$deployment"')]).toEqual([panel.title, true]);
        filtered++;
      }
  expect(filtered).toBeGreaterThan(15);
});

test('an alert about a deployment is raised per deployment', () => {
  const perDeployment = rules().filter((r) => /by \((?:[\w, ]*\b)?deployment\b/.test(r.expr));
  expect(perDeployment.map((r) => r.alert)).toEqual(
    expect.arrayContaining(['GenesysBffGenesysCircuitOpen', 'GenesysBffSocketChurn', 'GenesysBffHighErrorRate']),
  );
  for (const rule of perDeployment) expect(rule.annotations.summary).toContain('{{ $labels.deployment }}');
});

describe('the names the dashboard and the alerts query', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { METRICS_PORT: '0' } });
  });
  afterAll(() => stack.close());

  test('are all exported by the running service (histogram series by their _bucket, _sum and _count)', async () => {
    const exported = sampleNames((await scrape(stack.service.metricsUrl!)).families());
    const queries = [
      ...rules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboard().panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
    ];
    const used = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNamesIn(expr);
      expect([where, names.length > 0]).toEqual([where, true]);
      for (const name of names) {
        used.add(name);
        expect([where, name, exported.has(name) || PROMETHEUS_SERIES.has(name)]).toEqual([where, name, true]);
      }
    }
    // The parse found what the queries are about.
    expect([...used]).toEqual(
      expect.arrayContaining([
        'genesys_bff_http_request_duration_seconds_bucket',
        'genesys_bff_genesys_errors_total',
        'nodejs_eventloop_lag_p99_seconds',
      ]),
    );
  });
});

test('Prometheus, the PodMonitor and the compose overlay scrape the port the deployment files open, under the job the alerts name', () => {
  const job = /up\{job="([^"]+)"\}/.exec(read(RULES))![1];
  expect(job).toBe('genesys-bff');
  // Kubernetes: the PodMonitor selects the Deployment's pods on its `metrics` port, which is METRICS_PORT.
  const podMonitor = parse(read('deploy/observability/podmonitor.yaml'));
  const deployment = parse(read('deploy/kubernetes/deployment.yaml'));
  const metricsPort = Number(parse(read('deploy/kubernetes/configmap.yaml')).data.METRICS_PORT);
  expect(metricsPort).toBe(9464);
  expect(podMonitor).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor' });
  expect(deployment.spec.template.metadata.labels).toMatchObject(podMonitor.spec.selector.matchLabels);
  const endpoint = podMonitor.spec.podMetricsEndpoints[0];
  expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics' });
  expect(endpoint.relabelings).toContainEqual({ targetLabel: 'job', replacement: job });
  expect(deployment.spec.template.spec.containers[0].ports).toContainEqual({
    name: 'metrics',
    containerPort: metricsPort,
    protocol: 'TCP',
  });
  // The public Service never routes to the metrics port.
  expect(
    parse(read('deploy/kubernetes/service.yaml')).spec.ports.map((p: { targetPort: string }) => p.targetPort),
  ).toEqual(['http']);

  // The image and every compose instance set METRICS_PORT=9464; the scaled one exposes it to Prometheus. The image
  // binds it on every interface of the container (METRICS_HOST), or no scraper outside it would reach it.
  expect(read('Dockerfile')).toMatch(/^ENV NODE_ENV=production METRICS_PORT=9464 METRICS_HOST=0\.0\.0\.0$/m);
  expect(read('Dockerfile')).toMatch(/^EXPOSE 8080 9464$/m);
  const compose = (file: string) => parseAllDocuments(read(file), { merge: true })[0]!.toJSON();
  expect(compose('docker-compose.yml').services.bff.environment.METRICS_PORT).toBe('9464');
  expect(compose('docker-compose.demo.yml').services.demo.environment.METRICS_PORT).toBe('9464');
  const scale = compose('deploy/docker-compose.scale.yml').services.bff;
  expect(scale.environment.METRICS_PORT).toBe('9464');
  expect(scale.expose).toContain('9464');

  // Prometheus in the overlay scrapes the `bff` replicas on that port, with the rules loaded.
  const prometheus = parse(read('deploy/observability/prometheus.yml'));
  expect(prometheus.rule_files).toEqual(['alerts.rules.yml']);
  expect(prometheus.scrape_configs[0]).toMatchObject({
    job_name: job,
    metrics_path: '/metrics',
    dns_sd_configs: [{ names: ['bff'], port: 9464 }],
  });
  const overlay = compose('deploy/docker-compose.observability.yml').services;
  const mounted = ([...overlay.prometheus.volumes, ...overlay.grafana.volumes] as string[])
    .map((v) => v.split(':')[0]!)
    .filter((v) => v.startsWith('./'));
  expect(mounted.length).toBe(4);
  for (const source of mounted)
    expect([source, fs.existsSync(path.join(ROOT, 'deploy', source))]).toEqual([source, true]);
  const check = execFileSync(debianProgram('prometheus'), ['check', 'config', 'deploy/observability/prometheus.yml'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(check).toContain('SUCCESS');
});
