import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import type { GuestSocket } from '../../../../src/genesys/guest/link/guestSocket';
import type { Pending } from '../../../../src/genesys/guest/desk/pendingRequests';
import { RequestDesk } from '../../../../src/genesys/guest/desk/requestDesk';
import { flushTracing, startTracing } from '../../../../src/observability/tracing';

/**
 * With tracing on, each guest-socket request is a client span from its frame
 * to its matched reply, named `guest <kind>` (docs/operations.md#traces) and
 * carrying the request's kind and tracingId, so an operator finds the frame
 * Genesys saw. test/observability/spans.test.ts shows the span under its
 * HTTP request, through the whole service.
 */
const exporter = new InMemorySpanExporter();
let stopTracing: () => Promise<void>;
beforeAll(() => {
  stopTracing = startTracing({ url: 'http://127.0.0.1:9/v1/traces', serviceName: 'desk-spans-under-test', exporter });
});
afterAll(() => stopTracing());

function desk() {
  const written: string[] = [];
  const socket = {
    send: (frame: { tracingId: string }) => {
      written.push(frame.tracingId);
      return Promise.resolve();
    },
  } as unknown as GuestSocket;
  const d = new RequestDesk(
    { current: () => socket, isReady: () => true, wake: () => undefined, dead: () => undefined },
    10_000,
    { messagesPerSecond: 2, requestsPerMinute: 60 },
    Date.now,
  );
  return { d, written };
}

test('a request answered: one client span `guest <kind>` with its kind and tracingId; a refused one is marked failed', async () => {
  const { d, written } = desk();
  const jwt = d.request('jwt', (tracingId) => ({ tracingId }));
  d.settle(d.pending.byTracingId(written[0]!) as Pending, { value: 'a jwt' });
  await expect(jwt).resolves.toBe('a jwt');
  const send = d.request('send', (tracingId) => ({ tracingId }), { messageId: 'm1', text: 'hello' });
  d.settle(d.pending.byTracingId(written[1]!) as Pending, new GuestApiError('message_too_long', 'Too long.'));
  await expect(send).rejects.toMatchObject({ failure: 'message_too_long' });

  await flushTracing();
  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => s.name)).toEqual(['guest jwt', 'guest send']);
  expect(spans[0]).toMatchObject({
    kind: SpanKind.CLIENT,
    attributes: { 'genesys.guest.request': 'jwt', 'genesys.guest.tracing_id': written[0] },
    status: { code: SpanStatusCode.UNSET },
  });
  expect(spans[1]).toMatchObject({
    attributes: { 'genesys.guest.request': 'send', 'genesys.guest.tracing_id': written[1] },
    status: { code: SpanStatusCode.ERROR },
  });
});
