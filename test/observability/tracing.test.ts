import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { startSimulator, type Simulator } from '../../simulator';
import { inDeployment } from '../../src/observability/deploymentContext';
import {
  endClientSpan,
  endRequestSpan,
  flushTracing,
  inClientSpan,
  startClientSpan,
  startTracing,
  traceRequest,
  tracingOn,
  withRequestSpan,
} from '../../src/observability/tracing';
import { startInstance, type Instance } from '../support/instances';
import { bearer, PAGE_ORIGIN, simulatorEnv, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Traces (src/observability/tracing.ts, docs/operations.md#traces). A request's trace function by
 * function: what the log lines carry with tracing off, and with it on, the spans an operator finds
 * in the tracing backend (name, kind, parent, attributes, status). Then through the whole service:
 * an incoming W3C `traceparent` is continued; its trace id is on every log line of the request,
 * with tracing on or off; with an OTLP endpoint set, the request's spans (the HTTP server span, and
 * the guest-socket request under it) reach a local OTLP/HTTP receiver with that trace id.
 * spans.test.ts shows the spans under a request through the whole service.
 */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

describe('function by function', () => {
  describe('tracing off (no OTLP endpoint)', () => {
    test('is off, and makes no span', async () => {
      expect(tracingOn()).toBe(false);
      expect(startClientSpan('guest send')).toBeUndefined();
      await expect(inClientSpan('redis GET', {}, () => Promise.resolve('value'))).resolves.toBe('value');
      expect(withRequestSpan(undefined, () => 'ran')).toBe('ran');
    });

    test("a request's traceparent gives its log lines the caller's trace id and a span id of this hop", () => {
      const trace = traceRequest('POST', { traceparent: TRACEPARENT });
      expect(trace).toEqual({ ids: { traceId: TRACE_ID, spanId: expect.stringMatching(/^[0-9a-f]{16}$/) } });
      expect(trace!.ids.spanId).not.toBe(PARENT_SPAN_ID);
    });

    test('a trace id may begin and end with zeros; all zeros, or a malformed traceparent, is no trace', () => {
      const zeros = '00f7651916cd43dd8448eb211c803190';
      expect(traceRequest('GET', { traceparent: `00-${zeros}-${PARENT_SPAN_ID}-01` })?.ids.traceId).toBe(zeros);
      expect(traceRequest('GET', { traceparent: `00-${'0'.repeat(32)}-${PARENT_SPAN_ID}-01` })).toBeUndefined();
      expect(traceRequest('GET', { traceparent: `00-${TRACE_ID.toUpperCase()}-${PARENT_SPAN_ID}-01` })).toBeUndefined();
      expect(traceRequest('GET', { traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}` })).toBeUndefined();
      expect(traceRequest('GET', {})).toBeUndefined();
    });
  });

  describe('tracing on', () => {
    const exporter = new InMemorySpanExporter();
    let stopTracing: () => Promise<void>;
    beforeAll(() => {
      stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'trace-under-test', exporter });
    });
    afterAll(() => stopTracing());
    afterEach(() => exporter.reset());

    /** The spans finished so far, exported now rather than at the next batch. */
    async function exported(): Promise<ReadableSpan[]> {
      await flushTracing();
      return exporter.getFinishedSpans();
    }

    test('a span ended is exported at the next flush, without waiting for the batch', async () => {
      expect(tracingOn()).toBe(true);
      endClientSpan(startClientSpan('guest jwt'));
      expect((await exported()).map((s) => s.name)).toEqual(['guest jwt']);
    });

    test("a request's server span continues its traceparent, is named by method and route template, and carries both and the status", async () => {
      const trace = traceRequest('POST', { traceparent: TRACEPARENT })!;
      expect(trace.ids).toEqual({ traceId: TRACE_ID, spanId: trace.span!.spanContext().spanId });
      endRequestSpan(trace.span!, 'POST', '/messages', 201);

      const [span] = await exported();
      expect(span).toMatchObject({
        name: 'POST /messages',
        kind: SpanKind.SERVER,
        parentSpanContext: expect.objectContaining({ spanId: PARENT_SPAN_ID }),
        attributes: { 'http.request.method': 'POST', 'http.route': '/messages', 'http.response.status_code': 201 },
        status: { code: SpanStatusCode.UNSET },
        instrumentationScope: expect.objectContaining({ name: 'genesys-bff' }),
      });
      expect(span!.spanContext().traceId).toBe(TRACE_ID);
      expect(span!.resource.attributes['service.name']).toBe('trace-under-test');
    });

    test("a request's server span names the deployment serving it (none for the process's own routes)", async () => {
      const served = inDeployment('brand-b', () => traceRequest('GET', {})!);
      endRequestSpan(served.span!, 'GET', '/capabilities', 200);
      endRequestSpan(traceRequest('GET', {})!.span!, 'GET', '/healthz', 200);
      const deployments = (await exported()).map((span) => [span.name, span.attributes.deployment]);
      expect(deployments).toEqual([
        ['GET /capabilities', 'brand-b'],
        ['GET /healthz', undefined],
      ]);
    });

    test('a request without traceparent starts a trace of its own', async () => {
      const trace = traceRequest('GET', {})!;
      expect(trace.ids.traceId).toMatch(/^[0-9a-f]{32}$/);
      endRequestSpan(trace.span!, 'GET', '/messages', 200);
      const [span] = await exported();
      expect(span!.parentSpanContext).toBeUndefined();
      expect(span!.spanContext().traceId).toBe(trace.ids.traceId);
    });

    test('a server span fails from 500 up; a refusal (4xx) or a client gone (499) is not a failure of the service', async () => {
      for (const status of [200, 404, 499, 500, 503])
        endRequestSpan(traceRequest('GET', {})!.span!, 'GET', '/messages', status);
      const spans = await exported();
      expect(spans.map((s) => [s.attributes['http.response.status_code'], s.status.code])).toEqual([
        [200, SpanStatusCode.UNSET],
        [404, SpanStatusCode.UNSET],
        [499, SpanStatusCode.UNSET],
        [500, SpanStatusCode.ERROR],
        [503, SpanStatusCode.ERROR],
      ]);
    });

    test('a client span hangs under the request it serves', async () => {
      const trace = traceRequest('GET', { traceparent: TRACEPARENT })!;
      withRequestSpan(trace, () =>
        endClientSpan(startClientSpan('GET api.mypurecloud.ie', { 'http.request.method': 'GET' }), undefined, {
          'http.response.status_code': 200,
        }),
      );
      endRequestSpan(trace.span!, 'GET', '/messages', 200);

      const [client, server] = await exported();
      expect(client).toMatchObject({
        name: 'GET api.mypurecloud.ie',
        kind: SpanKind.CLIENT,
        parentSpanContext: expect.objectContaining({ spanId: server!.spanContext().spanId }),
        attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
        status: { code: SpanStatusCode.UNSET },
      });
    });

    test("a client span that failed says so: the error's type, and its code as error.type", async () => {
      endClientSpan(startClientSpan('redis GET'), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      endClientSpan(startClientSpan('guest send'), new TypeError('bad frame'));
      endClientSpan(startClientSpan('guest configure'), 'refused');

      const spans = await exported();
      expect(spans.map((s) => [s.name, s.status, s.attributes['error.type']])).toEqual([
        ['redis GET', { code: SpanStatusCode.ERROR, message: 'Error' }, 'ECONNRESET'],
        ['guest send', { code: SpanStatusCode.ERROR, message: 'TypeError' }, undefined],
        ['guest configure', { code: SpanStatusCode.ERROR, message: 'error' }, undefined],
      ]);
    });

    test('an operation under a client span: what it starts hangs under it, and its failure ends it failed', async () => {
      await expect(
        inClientSpan('redis EVALSHA', { 'db.system.name': 'redis' }, () =>
          Promise.resolve(endClientSpan(startClientSpan('inner'))),
        ),
      ).resolves.toBeUndefined();
      await expect(inClientSpan('redis SET', {}, () => Promise.reject(new Error('NOSCRIPT')))).rejects.toThrow(
        'NOSCRIPT',
      );

      const [inner, outer, failed] = await exported();
      expect(inner!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
      expect(outer).toMatchObject({
        name: 'redis EVALSHA',
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': 'redis' },
        status: { code: SpanStatusCode.UNSET },
      });
      expect(failed).toMatchObject({ name: 'redis SET', status: { code: SpanStatusCode.ERROR } });
    });
  });
});

describe('through the whole service', () => {
  interface OtlpSpan {
    traceId: string;
    spanId: string;
    parentSpanId?: string;
    name: string;
    kind: number;
    attributes?: { key: string; value: Record<string, unknown> }[];
  }

  /** A minimal OTLP/HTTP traces receiver: POST /v1/traces, JSON (the exporter's encoding), every span kept. */
  async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; paths: string[]; close(): Promise<void> }> {
    const spans: OtlpSpan[] = [];
    const paths: string[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
          };
          for (const rs of body.resourceSpans ?? [])
            for (const ss of rs.scopeSpans ?? []) spans.push(...(ss.spans ?? []));
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        } else res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      spans,
      paths,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  /** The log lines of one request, by its id. */
  const linesOf = (stack: Stack, requestId: string) => stack.log.lines().filter((l) => l.requestId === requestId);

  const SPAN_KIND_SERVER = 2;
  const SPAN_KIND_CLIENT = 3;

  describe('tracing off', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ sim: { agent: { enabled: false } } });
    });
    afterAll(() => stack.close());

    test("an incoming traceparent's trace id is on every log line of the request; without one, no line has a trace id", async () => {
      const { token } = await stack.newSession();
      const traced = await stack.http
        .post('/messages')
        .set(bearer(token))
        .set('traceparent', TRACEPARENT)
        .send({ text: 'traced, tracing off' });
      expect(traced.status).toBe(201);
      const lines = linesOf(stack, traced.headers['x-request-id']!);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines.map((l) => l.msg)).toContain('request completed');
      for (const line of lines) {
        expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
        // This hop's own span id, not the caller's.
        expect(line.span_id).not.toBe(PARENT_SPAN_ID);
      }

      // A refusal is logged deep in the request (the error handler) as well as on its access line.
      const refused = await stack.http
        .post('/messages')
        .set(bearer(token))
        .set('traceparent', TRACEPARENT)
        .send({ text: 'x'.repeat(5000) });
      expect(refused.status).toBe(413);
      const refusedLines = linesOf(stack, refused.headers['x-request-id']!);
      expect(refusedLines.map((l) => l.msg)).toEqual(
        expect.arrayContaining(['request completed', expect.stringMatching(/4096/)]),
      );
      for (const line of refusedLines) expect(line).toMatchObject({ trace_id: TRACE_ID });

      const plain = await stack.http.post('/messages').set(bearer(token)).send({ text: 'not traced' });
      const plainLines = linesOf(stack, plain.headers['x-request-id']!);
      expect(plainLines.length).toBeGreaterThanOrEqual(1);
      for (const line of plainLines) expect(line).not.toHaveProperty('trace_id');

      const malformed = await stack.http
        .post('/messages')
        .set(bearer(token))
        .set('traceparent', `00-${'0'.repeat(32)}-${PARENT_SPAN_ID}-01`)
        .send({ text: 'bad parent' });
      expect(malformed.status).toBe(201);
      for (const line of linesOf(stack, malformed.headers['x-request-id']!))
        expect(line).not.toHaveProperty('trace_id');
    });
  });

  /**
   * With tracing on, the service runs as its own process (as in production):
   * the OTLP exporter loads Node's http module in a way Jest's module sandbox
   * does not allow in-process.
   */
  describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
    let sim: Simulator;
    let instance: Instance;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    const api = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
      fetch(instance.url + path, {
        ...init,
        headers: { 'Content-Type': 'application/json', Origin: PAGE_ORIGIN, ...init.headers },
      });
    /** The instance's log lines of one request (its stdout, written in batches). */
    const instanceLines = (requestId: string) =>
      instance
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.requestId === requestId);

    beforeAll(async () => {
      receiver = await startReceiver();
      sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
      instance = await startInstance(
        simulatorEnv(sim, {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_SERVICE_NAME: 'bff-under-test',
          LOG_LEVEL: 'info',
        }),
      );
    }, 60_000);
    afterAll(async () => {
      await instance?.stop();
      await sim?.stop();
      await receiver?.close();
    });

    async function newSession(): Promise<string> {
      const res = await api('/guest-session', { method: 'POST', body: '{}' });
      expect(res.status).toBe(201);
      return ((await res.json()) as { sessionToken: string }).sessionToken;
    }

    test("the request's spans reach the OTLP receiver under the incoming trace: the HTTP server span and the guest-socket request under it", async () => {
      const token = await newSession();
      const res = await api('/messages', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, traceparent: TRACEPARENT },
        body: JSON.stringify({ text: 'traced, tracing on' }),
      });
      expect(res.status).toBe(201);
      const requestId = res.headers.get('x-request-id')!;

      // Exported in batches: wait (bounded) until the server span is in.
      const serverSpan = () => receiver.spans.find((s) => s.traceId === TRACE_ID && s.kind === SPAN_KIND_SERVER);
      await waitFor(() => serverSpan() !== undefined);
      const server = serverSpan()!;
      expect(server).toMatchObject({ name: 'POST /messages', parentSpanId: PARENT_SPAN_ID });
      expect(server.attributes).toEqual(
        expect.arrayContaining([
          { key: 'http.route', value: { stringValue: '/messages' } },
          { key: 'http.response.status_code', value: { intValue: 201 } },
        ]),
      );
      await waitFor(() => receiver.spans.some((s) => s.traceId === TRACE_ID && s.name === 'guest send'));
      const guest = receiver.spans.find((s) => s.traceId === TRACE_ID && s.name === 'guest send')!;
      expect(guest).toMatchObject({ kind: SPAN_KIND_CLIENT, parentSpanId: server.spanId });
      expect(receiver.paths.every((p) => p.startsWith('POST /v1/traces application/json'))).toBe(true);

      // The log lines carry the server span's ids.
      await waitFor(() => instanceLines(requestId).length > 0);
      for (const line of instanceLines(requestId))
        expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: server.spanId });
    });

    test('a request without traceparent starts a trace of its own, and its log lines name it', async () => {
      const token = await newSession();
      const res = await api('/messages', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
        body: JSON.stringify({ text: 'new trace' }),
      });
      expect(res.status).toBe(201);
      const requestId = res.headers.get('x-request-id')!;
      await waitFor(() => instanceLines(requestId).length > 0);
      const [line] = instanceLines(requestId);
      expect(line).toMatchObject({ trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(line!.trace_id).not.toBe(TRACE_ID);
      await waitFor(
        () =>
          receiver.spans.some(
            (s) => s.traceId === line!.trace_id && s.kind === SPAN_KIND_SERVER && s.parentSpanId === undefined,
          ),
        20_000,
      );
    });
  });
});
