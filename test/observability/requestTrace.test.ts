import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
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

/**
 * A request's trace (docs/operations.md#traces), function by function: what
 * the log lines carry with tracing off, and with it on, the spans an operator
 * finds in the tracing backend (name, kind, parent, attributes, status).
 * tracing.test.ts and spans.test.ts show the same through the whole service.
 */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

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
