import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { bearer, PAGE_ORIGIN, simulatorEnv, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Traces (docs/operations.md#traces): an incoming W3C `traceparent` is
 * continued. Its trace id is on every log line of the request, with tracing
 * on or off; with an OTLP endpoint set, the request's spans (the HTTP server
 * span, and the guest-socket request under it) reach a local OTLP/HTTP
 * receiver with that trace id.
 */
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;

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
    for (const line of linesOf(stack, malformed.headers['x-request-id']!)) expect(line).not.toHaveProperty('trace_id');
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
    sim = await startSimulator({ agent: { enabled: false } });
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
    await waitFor(() => serverSpan() !== undefined, 20_000);
    const server = serverSpan()!;
    expect(server).toMatchObject({ name: 'POST /messages', parentSpanId: PARENT_SPAN_ID });
    expect(server.attributes).toEqual(
      expect.arrayContaining([
        { key: 'http.route', value: { stringValue: '/messages' } },
        { key: 'http.response.status_code', value: { intValue: 201 } },
      ]),
    );
    await waitFor(() => receiver.spans.some((s) => s.traceId === TRACE_ID && s.name === 'guest send'), 20_000);
    const guest = receiver.spans.find((s) => s.traceId === TRACE_ID && s.name === 'guest send')!;
    expect(guest).toMatchObject({ kind: SPAN_KIND_CLIENT, parentSpanId: server.spanId });
    expect(receiver.paths.every((p) => p.startsWith('POST /v1/traces application/json'))).toBe(true);

    // The log lines carry the server span's ids.
    await waitFor(() => instanceLines(requestId).length > 0, 10_000);
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
    await waitFor(() => instanceLines(requestId).length > 0, 10_000);
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
