import { randomBytes } from 'node:crypto';
import { scrape, type Scrape } from '../support/metrics';
import { PAGE_ORIGIN, startStack, type Stack } from '../support/stack';

/**
 * The metrics' label values come from closed sets (docs/operations.md), so
 * what clients send cannot grow the number of series: thousands of requests
 * to random paths, with random methods, session tokens, routing keys,
 * tickets and origins, leave fewer than SERIES_BOUND `genesys_bff_` series,
 * every route label a template of the API or `unmatched`, and no label
 * holding anything a client sent. (What bounds them: a route template, a
 * method, a status; the duration histogram only for requests a route served,
 * one set of buckets per operation; `deployment` only the deployments
 * configured, here the one, whatever `Origin` came. docs/operations.md has
 * the arithmetic.)
 *
 * @lane full — a fuzz loop of 3,000 requests (about 20 s)
 */
const REQUESTS_PER_ROUND = 1500;
const ROUNDS = 2;
const CONCURRENCY = 16;
/** The stated bound on the service's own series (the default process and Node metrics are a fixed set beside them). */
const SERIES_BOUND = 800;
/** A bound on a hang only. */
const TIMEOUT_MS = 240_000;

let stack: Stack;
let templates: string[];

beforeAll(async () => {
  stack = await startStack({ env: { METRICS_PORT: '0' }, sim: { agent: { enabled: false } } });
  const document = (await stack.http.get('/openapi.json')).body as { paths: Record<string, unknown> };
  // OpenAPI's `{id}` is Express's `:id`: the form the route label takes.
  templates = Object.keys(document.paths).map((p) => p.replace(/\{([^}]+)\}/g, ':$1'));
});
afterAll(() => stack.close());

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
const junk = (bytes = 6) => randomBytes(bytes).toString('base64url');

/** What a fuzzed request sent that must never become a label: its random parts. */
const sentFragments: string[] = [];

function randomRequest(): { path: string; init: RequestInit } {
  const marker = `zz${junk(9)}`;
  sentFragments.push(marker);
  let path: string;
  switch (Math.floor(Math.random() * 3)) {
    case 0: // a path of the API with its parameters filled with junk
      path = pick(templates).replace(/:[a-zA-Z]+/g, () => marker);
      break;
    case 1: // a path near the API's
      path = `${pick(templates)}/${marker}`;
      break;
    default: // anything at all, percent-encoded bytes included
      path = `/${Array.from({ length: 1 + Math.floor(Math.random() * 4) }, () => encodeURIComponent(junk(4) + String.fromCharCode(Math.floor(Math.random() * 256)))).join('/')}/${marker}`;
  }
  const query = Math.random() < 0.5 ? `?ticket=${marker}&routingKey=${marker}&page=${marker}` : '';
  const method = pick(METHODS);
  const headers: Record<string, string> = { Authorization: `Bearer ${marker}.${junk(40)}`, 'X-Chat-Session': marker };
  if (Math.random() < 0.5)
    headers.Origin = Math.random() < 0.5 ? PAGE_ORIGIN : `https://${marker.toLowerCase()}.example.net`;
  const withBody = method !== 'GET' && method !== 'HEAD' && Math.random() < 0.5;
  if (withBody) headers['Content-Type'] = 'application/json';
  return {
    path: path + query,
    init: { method, headers, body: withBody ? JSON.stringify({ text: marker, startNew: true }) : undefined },
  };
}

async function round(): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS_PER_ROUND) {
      next += 1;
      const { path, init } = randomRequest();
      const res = await fetch(stack.service.url + path, init);
      await res.arrayBuffer();
      expect(res.status).toBeLessThan(500);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

function serviceSeries(s: Scrape): string[] {
  return s.series().filter((name) => name.startsWith('genesys_bff_'));
}

function labelValues(s: Scrape, label: string): Set<string> {
  const values = new Set<string>();
  for (const series of serviceSeries(s)) {
    const m = new RegExp(`[{,]${label}="([^"]*)"`).exec(series);
    if (m) values.add(m[1]!);
  }
  return values;
}

test(
  `${ROUNDS * REQUESTS_PER_ROUND} random requests leave fewer than ${SERIES_BOUND} series, every label from its closed set`,
  async () => {
    const counts: number[] = [];
    let last: Scrape | undefined;
    for (let i = 0; i < ROUNDS; i++) {
      await round();
      last = await scrape(stack.service.metricsUrl!);
      counts.push(serviceSeries(last).length);
    }
    const s = last!;
    // Thousands of distinct paths, tokens and keys were sent; the series did not follow them.
    expect(
      s.value('genesys_bff_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBeGreaterThan(0);
    for (const count of counts) expect(count).toBeLessThan(SERIES_BOUND);
    for (const route of labelValues(s, 'route'))
      expect([route, [...templates, 'unmatched'].includes(route)]).toEqual([route, true]);
    for (const method of labelValues(s, 'method')) expect([...METHODS, 'other']).toContain(method);
    for (const status of labelValues(s, 'status')) expect(status).toMatch(/^[1-5]\d\d$/);
    for (const code of labelValues(s, 'code')) expect(code).toMatch(/^(\d{3,4}|timeout|unreachable|other)$/);
    // Every series names its deployment, and the only one is the deployment the variables configure.
    expect(serviceSeries(s).filter((series) => !/[{,]deployment="/.test(series))).toEqual([]);
    expect([...labelValues(s, 'deployment')]).toEqual(['default']);
    const exposition = s.text;
    expect(sentFragments.filter((fragment) => exposition.includes(fragment))).toEqual([]);
  },
  TIMEOUT_MS,
);
