import { registry } from '../../src/observability/metrics';

/**
 * Reading the service's Prometheus endpoint (METRICS_PORT) in tests: each
 * sample by its name and labels, and the names the exposition declares; and
 * totals of this process's own registry, for a service built in the test.
 */
export interface Scrape {
  text: string;
  /**
   * The sum of the samples of `name` whose labels include `labels` (PromQL's `sum(name{labels})`): every
   * deployment's unless `labels` names one; 0 when no such series exists (yet).
   */
  value(name: string, labels?: Record<string, string>): number;
  /** The series (name and labels as written) of every sample. */
  series(): string[];
  /** The metric families declared by `# TYPE` lines. */
  families(): Map<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$/;

/** Parses `{a="x",b="y"}` (values as prom-client escapes them). */
function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const m of text.slice(1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

export function parseScrape(text: string): Scrape {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const series: string[] = [];
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    series.push(`${m[1]}${m[2] ?? ''}`);
    samples.push({ name: m[1]!, labels: parseLabels(m[2]), value: Number(m[3]) });
  }
  return {
    text,
    value: (name, labels = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0),
    series: () => series,
    families: () => families,
  };
}

export async function scrape(metricsUrl: string): Promise<Scrape> {
  const res = await fetch(metricsUrl);
  if (res.status !== 200) throw new Error(`GET ${metricsUrl} answered ${res.status}`);
  return parseScrape(await res.text());
}

/** The metric names a sample may carry for a family: a histogram's or summary's suffixed series too. */
export function sampleNames(families: Map<string, string>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of families) {
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/**
 * The sum of a metric's series in this process's registry whose labels include `labels` (every deployment's, unless
 * `labels` names one): read before and after, the difference is what a case counted.
 */
export async function registryTotal(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name} is registered`);
  return (await metric.get()).values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}
