import { Router } from 'express';
import { httpRequestDuration } from '../../src/observability/metrics';
import { startTestService, type TestService } from '../support/app';

/**
 * The order of src/http/app.ts's edge, on a service started inside each test (what a suite builds
 * in beforeAll judges no mutant): an upload reaches its route before the JSON parser would refuse
 * it, a body that is not JSON is refused in words, and a request is timed in seconds, as it took.
 */
jest.setTimeout(30_000);

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

it('takes an upload to its route (which asks for a session) rather than refusing it as not JSON', async () => {
  service = await startTestService();
  const form = new FormData();
  form.append('file', new Blob(['%PDF-1.4\n'], { type: 'application/pdf' }), 'a.pdf');
  const answer = await fetch(`${service.url}/attachments`, { method: 'POST', body: form });
  expect({ status: answer.status, type: answer.headers.get('content-type') }).toEqual({
    status: 401,
    type: 'application/problem+json; charset=utf-8',
  });
});

it('refuses a body that is not JSON with a 415 that says what to send', async () => {
  service = await startTestService();
  const answer = await fetch(`${service.url}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: 'hello',
  });
  expect(answer.status).toBe(415);
  expect(await answer.json()).toMatchObject({
    code: 'unsupported_media_type',
    detail: 'Send the request body as application/json.',
  });
});

it('times a request in seconds, within what its client saw', async () => {
  const router = Router().get('/takes-a-while', (_req, res) => void setTimeout(() => res.status(204).end(), 60));
  service = await startTestService({ routers: [router] });
  const sum = async () =>
    (await httpRequestDuration.get()).values.find(
      (v) => v.labels.route === '/takes-a-while' && v.metricName === 'genesys_bff_http_request_duration_seconds_sum',
    )?.value ?? 0;
  const before = await sum();
  const startedAt = performance.now();
  expect((await fetch(`${service.url}/takes-a-while`)).status).toBe(204);
  const took = (performance.now() - startedAt) / 1000;
  const observed = (await sum()) - before;
  expect(observed).toBeGreaterThanOrEqual(0.05);
  expect(observed).toBeLessThanOrEqual(took);
});
