import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { currentDeployment } from './deploymentContext';

/**
 * Prometheus metrics of a deployment's chat work (metrics.ts): each series carries a `deployment` label, the
 * deployment the work is for when it is counted, observed or set (deploymentContext.ts). Callers count as they
 * would with prom-client's own metrics and never name the deployment; the values come only from the deployments
 * configured (or `default`, work outside any), so the label multiplies the series by the number of deployments.
 */

export const DEPLOYMENT_LABEL = 'deployment';

type Labels<T extends string> = Partial<Record<T, string | number>>;
type WithDeployment<T extends string> = T | typeof DEPLOYMENT_LABEL;

interface Options<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  registers: Registry[];
}

/** The deployments seen so far (each one's series that exist from the start are made on first sight). */
const seen = new Set<string>();
const onFirstSight: ((deployment: string) => void)[] = [];

/** The deployment the current work is for, as a label value. */
export function deploymentNow(): string {
  const name = currentDeployment();
  if (!seen.has(name)) {
    seen.add(name);
    for (const start of onFirstSight) start(name);
  }
  return name;
}

/** Every deployment that has counted anything (or registered a source) in this process. */
export function deploymentsSeen(): ReadonlySet<string> {
  return seen;
}

/** Runs `start` for every deployment seen, now and on each one's first sight. */
function forEachDeployment(start: (deployment: string) => void): void {
  onFirstSight.push(start);
  for (const deployment of seen) start(deployment);
}

/** `labels` with the deployment's. */
function withDeployment<T extends string>(labels: Labels<T> | undefined, deployment: string) {
  return { ...labels, [DEPLOYMENT_LABEL]: deployment } as Labels<WithDeployment<T>>;
}

/** The label names with `deployment` last: positional `labels(...)` values name the others in order. */
function namesOf<T extends string>(options: Options<T>): WithDeployment<T>[] {
  return [...(options.labelNames ?? []), DEPLOYMENT_LABEL];
}

/** Positional label values as an object, checked against the names (as prom-client checks them). */
function labelsFrom<T extends string>(names: readonly T[] | undefined, values: string[]): Labels<T> {
  const expected = names ?? [];
  if (values.length !== expected.length)
    throw new Error(`Expected ${expected.length} label values (${expected.join(', ')}), got ${values.length}`);
  return Object.fromEntries(expected.map((name, i) => [name, values[i]])) as Labels<T>;
}

/**
 * One labelled series per deployment, made on its first use and kept: a caller that holds the result of `labels()`
 * (to spare prom-client sorting and joining the labels on every request) still counts each piece of work under
 * its own deployment.
 */
function perDeployment<S>(make: (deployment: string) => S): () => S {
  const made = new Map<string, S>();
  return () => {
    const deployment = deploymentNow();
    let series = made.get(deployment);
    if (series === undefined) made.set(deployment, (series = make(deployment)));
    return series;
  };
}

export interface CounterOptions<T extends string> extends Options<T> {
  /** Label sets that exist from the start, at zero, for every deployment; a counter without labels always does. */
  startAtZero?: readonly Labels<T>[];
}

/** A counter of a deployment's work. */
export class DeploymentCounter<T extends string = never> {
  readonly metric: Counter<WithDeployment<T>>;

  constructor(private readonly options: CounterOptions<T>) {
    const { name, help, registers } = options;
    this.metric = new Counter({ name, help, registers, labelNames: namesOf(options) });
    const zeroes = options.startAtZero ?? (options.labelNames?.length ? [] : [{}]);
    if (zeroes.length > 0)
      forEachDeployment((deployment) => {
        for (const labels of zeroes) this.metric.inc(withDeployment<T>(labels, deployment), 0);
      });
  }

  inc(labels?: Labels<T> | number, value?: number): void {
    if (typeof labels === 'object') this.metric.inc(withDeployment(labels, deploymentNow()), value);
    else this.metric.inc(withDeployment<T>({}, deploymentNow()), labels);
  }

  /** The series of these label values (in `labelNames` order), counting under the deployment of each `inc`. */
  labels(...values: string[]): { inc(value?: number): void } {
    const labels = labelsFrom(this.options.labelNames, values);
    const series = perDeployment((deployment) => this.metric.labels(withDeployment(labels, deployment)));
    return { inc: (value) => series().inc(value) };
  }

  get() {
    return this.metric.get();
  }
}

export interface GaugeOptions<T extends string> extends Options<T> {
  /** False: a deployment's series exists only once set (default: a gauge without labels starts at zero). */
  startAtZero?: boolean;
}

/** A gauge of a deployment's work (one that goes up and down: each change counts under the deployment making it). */
export class DeploymentGauge<T extends string = never> {
  readonly metric: Gauge<WithDeployment<T>>;

  constructor(options: GaugeOptions<T>) {
    const { name, help, registers } = options;
    this.metric = new Gauge({ name, help, registers, labelNames: namesOf(options) });
    // Without other labels, each deployment's series exists from the start at zero, as prom-client's own does.
    if (!options.labelNames?.length && options.startAtZero !== false)
      forEachDeployment((deployment) => this.metric.inc(withDeployment<T>({}, deployment), 0));
  }

  private labelled(labels: Labels<T> | number | undefined): Labels<WithDeployment<T>> {
    return withDeployment<T>(typeof labels === 'object' ? labels : {}, deploymentNow());
  }

  inc(labels?: Labels<T> | number, value?: number): void {
    this.metric.inc(this.labelled(labels), typeof labels === 'object' ? value : labels);
  }

  dec(labels?: Labels<T> | number, value?: number): void {
    this.metric.dec(this.labelled(labels), typeof labels === 'object' ? value : labels);
  }

  set(labels: Labels<T> | number, value?: number): void {
    this.metric.set(this.labelled(labels), (typeof labels === 'object' ? value : labels) as number);
  }

  get() {
    return this.metric.get();
  }
}

export interface HistogramOptions<T extends string> extends Options<T> {
  buckets: number[];
}

/** A timer's end: observes the seconds since its start, under the deployment it was started for. */
type EndTimer<T extends string> = (labels?: Labels<T>) => number;

/** A histogram of a deployment's work. A timer counts under the deployment it was started for, wherever it ends. */
export class DeploymentHistogram<T extends string = never> {
  readonly metric: Histogram<WithDeployment<T>>;

  constructor(private readonly options: HistogramOptions<T>) {
    const { name, help, registers, buckets } = options;
    this.metric = new Histogram({ name, help, registers, buckets, labelNames: namesOf(options) });
  }

  observe(labels: Labels<T> | number, value?: number): void {
    if (typeof labels === 'object') this.metric.observe(withDeployment(labels, deploymentNow()), value as number);
    else this.metric.observe(withDeployment<T>({}, deploymentNow()), labels);
  }

  startTimer(labels?: Labels<T>): EndTimer<T> {
    const deployment = deploymentNow();
    const end = this.metric.startTimer(withDeployment(labels, deployment));
    return (endLabels) => end(withDeployment(endLabels, deployment));
  }

  /** The series of these label values (in `labelNames` order), observing under the deployment of each call. */
  labels(...values: string[]): { observe(value: number): void; startTimer(): EndTimer<T> } {
    const labels = labelsFrom(this.options.labelNames, values);
    const series = perDeployment((deployment) => this.metric.labels(withDeployment(labels, deployment)));
    return {
      observe: (value) => series().observe(value),
      startTimer: () => this.startTimer(labels),
    };
  }

  get() {
    return this.metric.get();
  }
}
