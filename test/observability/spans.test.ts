import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { flushTracing, startTracing } from '../../src/observability/tracing';
import { startRedis, type RedisServer } from '../support/redis';
import { bearer, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The spans under a request (docs/operations.md#traces): the HTTP server
 * span continues the caller's trace, and the work it does hangs under it:
 * Redis commands, the guest-socket request from frame to reply, the Genesys
 * REST call. In process, spans go to memory (the OTLP export itself is shown
 * by tracing.test.ts, from the service's own process).
 *
 * @needs redis-server
 */
const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
let redis: RedisServer;
let stack: Stack;

beforeAll(async () => {
  stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'spans-under-test', exporter });
  redis = await startRedis();
  stack = await startStack({ env: { REDIS_URL: redis.url }, sim: { agent: { enabled: false } } });
});
afterAll(async () => {
  await stack.close();
  await redis.stop();
  await stopTracing();
});

const traceparent = (traceId: string) => `00-${traceId}-00f067aa0ba902b7-01`;

/** The spans of one trace, and a way to find a span's ancestors among them. */
function trace(spans: ReadableSpan[], traceId: string) {
  const mine = spans.filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map(mine.map((s) => [s.spanContext().spanId, s]));
  const ancestors = (span: ReadableSpan): string[] => {
    const parent = span.parentSpanContext?.spanId;
    const found = parent === undefined ? undefined : byId.get(parent);
    return found ? [found.name, ...ancestors(found)] : [];
  };
  return {
    names: mine.map((s) => s.name),
    under: (name: string) => mine.filter((s) => s.name === name).map((s) => ancestors(s)),
  };
}

test('a keyed send: Redis commands and the guest send under the server span; a history read: the Genesys REST call under its server span', async () => {
  const { token } = await stack.newSession();
  const sendTrace = 'a1'.repeat(16);
  const sent = await stack.http
    .post('/messages')
    .set(bearer(token))
    .set('Idempotency-Key', 'span-1')
    .set('traceparent', traceparent(sendTrace))
    .send({ text: 'traced send' });
  expect(sent.status).toBe(201);
  const historyTrace = 'b2'.repeat(16);
  const history = await stack.http.get('/messages').set(bearer(token)).set('traceparent', traceparent(historyTrace));
  expect(history.status).toBe(200);
  // A server span ends as its answer closes, which may be just after the client has read it.
  const ended = (traceId: string, name: string) =>
    exporter.getFinishedSpans().some((s) => s.spanContext().traceId === traceId && s.name === name);
  await waitFor(async () => {
    await flushTracing();
    return ended(sendTrace, 'POST /messages') && ended(historyTrace, 'GET /messages');
  });
  const spans = exporter.getFinishedSpans();

  const send = trace(spans, sendTrace);
  expect(send.under('POST /messages')).toEqual([[]]);
  expect(send.under('guest send')).toEqual([['POST /messages']]);
  // The idempotency record claimed (SET NX) and settled (a script), each under the request.
  expect(send.under('redis SET')).toContainEqual(['POST /messages']);
  expect(send.under('redis EVALSHA')).toContainEqual(['POST /messages']);
  const server = spans.find((s) => s.spanContext().traceId === sendTrace && s.name === 'POST /messages')!;
  expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  expect(server.attributes).toMatchObject({ 'http.route': '/messages', 'http.response.status_code': 201 });
  // No key, value or token in any Redis span.
  for (const span of spans.filter((s) => s.name.startsWith('redis ')))
    expect(Object.keys(span.attributes).sort()).toEqual(['db.operation.name', 'db.system.name']);

  const read = trace(spans, historyTrace);
  expect(read.under('GET /messages')).toEqual([[]]);
  expect(read.under('GET 127.0.0.1')).toContainEqual(['GET /messages']);
  const rest = spans.find((s) => s.spanContext().traceId === historyTrace && s.name === 'GET 127.0.0.1')!;
  expect(rest.attributes).toMatchObject({
    'http.request.method': 'GET',
    'url.path': '/api/v2/webmessaging/messages',
    'http.response.status_code': 200,
  });
});
