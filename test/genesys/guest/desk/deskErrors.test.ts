import {
  inDoubtError,
  mayHaveArrived,
  queueRefusal,
  releasedError,
  timeoutError,
  waitOf,
} from '../../../../src/genesys/guest/desk/deskErrors';
import type { Pending } from '../../../../src/genesys/guest/desk/pendingRequests';
import { GuestApiError } from '../../../../src/genesys/guest/protocol';
import { registry } from '../../../../src/observability/metrics';

/**
 * How the request desk words a request that got no proper answer (src/genesys/guest/desk/deskErrors.ts): a guest
 * message that may have reached Genesys is said to be in doubt, with the retry that proves it, and nothing else is.
 */

const pending = (fields: Partial<Pending>): Pending =>
  ({ kind: 'send', tracingId: 't', frame: {}, written: false, inDoubt: false, ...fields }) as Pending;

const unwritten = pending({});
const written = pending({ written: true });
const inDoubt = pending({ inDoubt: true });
const configure = pending({ kind: 'configure', written: true });

test('only a send written, or already in doubt, may have arrived', () => {
  expect([unwritten, written, inDoubt, configure].map(mayHaveArrived)).toEqual([false, true, true, false]);
});

test('a timeout says a send written may have been delivered, and how to retry it; any other request, only to retry', () => {
  const maybe =
    /may have been delivered\. Retry with the same Idempotency-Key: a delivered message is never sent twice/;
  for (const p of [written, inDoubt])
    expect(timeoutError(p)).toMatchObject({ failure: 'timeout', message: expect.stringMatching(maybe) });
  for (const p of [unwritten, configure])
    expect(timeoutError(p)).toMatchObject({
      failure: 'timeout',
      message: 'Genesys did not answer in time; please retry.',
    });
});

test('a lost connection leaves a send in doubt with its retry named, keeping the wait Genesys asked for', () => {
  const cause = new GuestApiError('connection_lost', 'closed', { retryAfterSeconds: 4 });
  const error = inDoubtError(cause);
  expect(error).toMatchObject({ failure: 'connection_lost', retryAfterSeconds: 4, cause });
  expect(error.message).toMatch(/Retry with the same Idempotency-Key: a delivered message is never sent twice\.$/);
});

test("released by the circuit: a send that may have arrived is in doubt (503 with the circuit's wait); the rest get the refusal", () => {
  const refusal = new GuestApiError('unavailable', 'circuit open', { retryAfterSeconds: 7 });
  expect(releasedError(unwritten, refusal)).toBe(refusal);
  expect(releasedError(written, refusal)).toMatchObject({ failure: 'timeout', status: 503, retryAfterSeconds: 7 });
});

test('the wait Genesys asked for; a rate refusal without one waits a second, any other refusal none', () => {
  expect(waitOf(new GuestApiError('rate_limited', 'slow down', { retryAfterSeconds: 3 }))).toBe(3000);
  expect(waitOf(new GuestApiError('rate_limited', 'slow down'))).toBe(1000);
  expect(waitOf(new GuestApiError('bad_request', 'refused'))).toBe(0);
});

test('a turn that would come too late is refused in the words of what holds it, counted under its limit', async () => {
  const refused = async (limit: string) =>
    (await registry.getSingleMetric('genesys_bff_limits_refused_total')!.get()).values
      .filter((v) => v.labels.limit === limit)
      .reduce((sum, v) => sum + v.value, 0);
  const before = { rate: await refused('session_send_rate'), budget: await refused('genesys_request_budget') };
  const said = (['messages', 'budget', 'genesys_wait'] as const).map((limit) => queueRefusal(limit, 7_001));
  expect(said.map((e) => [e.failure, e.message, e.retryAfterSeconds])).toEqual([
    ['rate_limited', 'Genesys accepts only a few messages a second in a session; retry shortly.', 8],
    ['rate_limited', 'This chat has used its share of Genesys requests for the moment; retry shortly.', 8],
    ['rate_limited', 'Genesys asked this chat to wait before its next request; retry after the given time.', 8],
  ]);
  // Genesys's own wait is its per-connection budget too: counted with the share, never as the message rate.
  expect(await refused('session_send_rate')).toBe(before.rate + 1);
  expect(await refused('genesys_request_budget')).toBe(before.budget + 2);
  // A wait under a second is still told as one.
  expect(queueRefusal('budget', 10).retryAfterSeconds).toBe(1);
});
