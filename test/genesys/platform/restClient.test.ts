import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { SpanStatusCode } from '@opentelemetry/api';
import { AxiosError } from 'axios';
import nock from 'nock';
import {
  correlationIdOf,
  createGenesysHttp,
  describeTransportFailure,
  nextRetryDelayMs,
  realSleep,
  retryAfterMs,
  type GenesysHttp,
} from '../../../src/genesys/restClient';
import { genesysErrors } from '../../../src/observability/metrics';
import { flushTracing, startTracing } from '../../../src/observability/tracing';
import { manualClock } from '../../support/platform';
import { waitFor } from '../../support/wait';

/**
 * The HTTP plumbing every Genesys REST call shares (src/genesys/restClient.ts), against a
 * loopback server: what a caller gets back, what close() releases, the span of each call, and the
 * retry arithmetic's reading of `Retry-After`. nock is switched off in this file: its interceptor
 * stands in for the sockets, even to loopback, and the keep-alive pool is what close() is about.
 */
beforeAll(() => nock.restore());

describe('createGenesysHttp against a loopback server', () => {
  let server: http.Server;
  let base: string;
  /** The server's side of the connections open now, and how many it was ever asked to take. */
  const open = new Set<unknown>();
  let accepted = 0;
  /** The headers of each request the server got. */
  const requests: http.IncomingHttpHeaders[] = [];
  let genesysHttp: GenesysHttp;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.headers);
      // Never answered: a call's own timeout ends it.
      if (req.url === '/hang') return;
      const [, path] = /^\/(\w+)/.exec(req.url ?? '') ?? [];
      const status = { fail: 503, broken: 500, refuse: 403, wrong: 400 }[path ?? ''] ?? 200;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status }));
    });
    // Node's server closes an idle keep-alive connection after 5 s by default; here only the client closes one.
    server.keepAliveTimeout = 0;
    server.on('connection', (socket) => {
      accepted += 1;
      open.add(socket);
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(async () => {
    // The last test's client has closed its connections; the server sees it a moment later.
    await waitFor(() => open.size === 0);
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
  });

  afterEach(() => genesysHttp.close());

  it('hands every answer back as data, an error status included: only a call that gets no answer throws', async () => {
    await expect(genesysHttp.axios.get(`${base}/fail`)).resolves.toMatchObject({ status: 503, data: { status: 503 } });
    await expect(genesysHttp.axios.post(`${base}/refuse`, {})).resolves.toMatchObject({ status: 403 });
  });

  it('keeps one connection for calls in a row, and closes it on close()', async () => {
    // Idle pooled sockets would close by themselves after the timeout: far beyond this test's wait.
    genesysHttp.close();
    genesysHttp = createGenesysHttp({ timeoutMs: 600_000 });
    const before = accepted;
    await genesysHttp.axios.get(`${base}/a`);
    await genesysHttp.axios.get(`${base}/b`);
    expect([accepted - before, open.size]).toEqual([1, 1]);

    genesysHttp.close();

    await waitFor(() => open.size === 0);
  });

  it('names itself and asks for JSON on every call', async () => {
    requests.length = 0;
    await genesysHttp.axios.get(`${base}/a`);
    expect(requests[0]).toMatchObject({ 'user-agent': 'genesys-messaging-bff', accept: 'application/json' });
  });

  it('counts each error status Genesys answers by its code, and a call that got no answer as unreachable or timeout', async () => {
    const counts = async () =>
      Object.fromEntries((await genesysErrors.get()).values.map((v) => [v.labels.code, v.value] as const));
    const before = await counts();
    const hasty = createGenesysHttp({ timeoutMs: 200 });

    await genesysHttp.axios.get(`${base}/a`);
    await genesysHttp.axios.get(`${base}/wrong`);
    await genesysHttp.axios.get(`${base}/fail`);
    // Port 9 (discard) has no listener on loopback here: refused.
    await genesysHttp.axios.get('http://127.0.0.1:9/').catch(() => undefined);
    await hasty.axios.get(`${base}/hang`).catch(() => undefined);
    hasty.close();

    const after = await counts();
    const grown = Object.keys(after)
      .filter((code) => after[code] !== (before[code] ?? 0))
      .map((code) => [code, after[code]! - (before[code] ?? 0)]);
    expect(Object.fromEntries(grown)).toEqual({ 400: 1, 503: 1, unreachable: 1, timeout: 1 });
  });

  describe('with tracing on', () => {
    const exporter = new InMemorySpanExporter();
    let stopTracing: () => Promise<void>;

    beforeAll(() => {
      stopTracing = startTracing({
        url: 'http://127.0.0.1:9/v1/traces',
        serviceName: 'rest-client-under-test',
        exporter,
      });
    });
    afterAll(() => stopTracing());

    it('makes one client span per call: method and host as its name, the path without its query, the status; a 5xx marks it failed', async () => {
      await genesysHttp.axios.get(`${base}/api/v2/webmessaging/messages?signature=s3cr3t`);
      await genesysHttp.axios.post(`${base}/fail`, {});
      await genesysHttp.axios.get(`${base}/broken`);
      await flushTracing();

      const spans = exporter
        .getFinishedSpans()
        .map((s) => ({ name: s.name, attributes: s.attributes, status: s.status.code }));
      expect(spans).toEqual([
        {
          name: 'GET 127.0.0.1',
          attributes: {
            'http.request.method': 'GET',
            'server.address': '127.0.0.1',
            'url.path': '/api/v2/webmessaging/messages',
            'http.response.status_code': 200,
          },
          status: SpanStatusCode.UNSET,
        },
        {
          name: 'POST 127.0.0.1',
          attributes: {
            'http.request.method': 'POST',
            'server.address': '127.0.0.1',
            'url.path': '/fail',
            'http.response.status_code': 503,
          },
          status: SpanStatusCode.ERROR,
        },
        {
          name: 'GET 127.0.0.1',
          attributes: {
            'http.request.method': 'GET',
            'server.address': '127.0.0.1',
            'url.path': '/broken',
            'http.response.status_code': 500,
          },
          status: SpanStatusCode.ERROR,
        },
      ]);
    });
  });
});

describe('retryAfterMs', () => {
  const { now } = manualClock();

  it('reads whole seconds, as Genesys sends them', () => {
    expect(retryAfterMs({ 'retry-after': '12' }, now())).toBe(12_000);
    expect(retryAfterMs({ 'retry-after': 3 }, now())).toBe(3_000);
  });

  it('reads an HTTP date as the time left until it, and a date already past as no wait', () => {
    expect(retryAfterMs({ 'retry-after': new Date(now() + 10_000).toUTCString() }, now())).toBe(10_000);
    expect(retryAfterMs({ 'retry-after': new Date(now() - 10_000).toUTCString() }, now())).toBe(0);
  });

  it('reads seconds with spaces around them', () => {
    // Date.parse(' 12 ') is a date in 2001: untrimmed, this would be no wait at all.
    expect(retryAfterMs({ 'retry-after': ' 12 ' }, now())).toBe(12_000);
  });

  it('is undefined without the header or with one that is neither', () => {
    expect(retryAfterMs({}, now())).toBeUndefined();
    expect(retryAfterMs(undefined, now())).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now())).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '12abc' }, now())).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'a12' }, now())).toBeUndefined();
  });
});

describe('nextRetryDelayMs', () => {
  const policy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };
  afterEach(() => jest.restoreAllMocks());

  it('waits a jittered, doubling delay: the upper half of base times two to the attempt before', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5);
    expect([1, 2, 3].map((attempt) => nextRetryDelayMs(policy, attempt, undefined))).toEqual([375, 750, 1500]);
    jest.spyOn(Math, 'random').mockReturnValue(0);
    expect(nextRetryDelayMs(policy, 3, undefined)).toBe(1000);
  });

  it('caps the delay, takes a Retry-After up to the cap itself, and stops at the last attempt or a longer one', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    expect(nextRetryDelayMs({ ...policy, maxAttempts: 10 }, 9, undefined)).toBe(30_000);
    expect(nextRetryDelayMs(policy, 1, 30_000)).toBe(30_000);
    expect(nextRetryDelayMs(policy, 1, 30_001)).toBeUndefined();
    expect(nextRetryDelayMs(policy, 4, 1_000)).toBeUndefined();
  });
});

describe('correlationIdOf', () => {
  it('takes the header only as one string', () => {
    expect(correlationIdOf({ 'inin-correlation-id': 'c-1' })).toBe('c-1');
    expect(correlationIdOf({ 'inin-correlation-id': ['c-1', 'c-2'] })).toBeUndefined();
    expect(correlationIdOf(undefined)).toBeUndefined();
  });
});

describe('realSleep', () => {
  afterEach(() => jest.useRealTimers());

  it('resolves once the time has passed', async () => {
    jest.useFakeTimers();
    let slept = false;
    const sleeping = realSleep(1_000).then(() => {
      slept = true;
    });

    await jest.advanceTimersByTimeAsync(999);
    expect(slept).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await sleeping;
    expect(slept).toBe(true);
  });
});

describe('describeTransportFailure', () => {
  it('names a timeout as one, and otherwise the error code alone', () => {
    expect(describeTransportFailure(new AxiosError('timeout of 5000ms exceeded', 'ECONNABORTED'))).toEqual({
      code: 'ECONNABORTED',
      message: 'timed out',
      timedOut: true,
    });
    expect(describeTransportFailure(new AxiosError('connect ECONNREFUSED 10.0.0.1:443', 'ECONNREFUSED'))).toEqual({
      code: 'ECONNREFUSED',
      message: 'ECONNREFUSED',
      timedOut: false,
    });
  });

  it("takes an error that is not axios's (thrown before the call left) by its message, and not as a timeout", () => {
    expect(describeTransportFailure(new Error('Invalid URL'))).toEqual({ message: 'Invalid URL', timedOut: false });
    expect(describeTransportFailure('a string')).toEqual({ message: 'a string', timedOut: false });
  });
});
