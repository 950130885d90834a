import { setTimeout as sleep } from 'node:timers/promises';
import { streamsOpen } from '../../src/observability/metrics';
import { openStream } from '../support/sse';
import { bearer, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';
import { EVENT_WAIT_MS, waitFor } from '../support/wait';

/**
 * The rules the chat routes (src/http/routes/) hold themselves: what HEAD on the stream answers, a
 * ticket kept by a client that left before its stream was served, what a malformed
 * Idempotency-Key and a token-less `startNew` are told, and POST /guest-session's per-session limit.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());
afterEach(() => stack.sim.faults.clear());

test('HEAD /messages/stream answers the event-stream headers and holds nothing open', async () => {
  const { token } = await stack.newSession();
  // The answer comes at once; a stream held open would never end a HEAD (bounded as a hang, not timed).
  const head = stack.http
    .head('/messages/stream')
    .set(bearer(token))
    .then((res) => res);
  const res = await Promise.race([head, sleep(EVENT_WAIT_MS).then(() => 'still open' as const)]);
  expect(res).not.toBe('still open');
  if (res === 'still open') return;
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  // No stream was served for it, not even for the moment its connection stays up.
  expect((await streamsOpen.get()).values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
});

test('a client that leaves while its stream waits for Genesys keeps its ticket, which opens the stream afterwards', async () => {
  const { token, gt } = await stack.newGuest();
  const { ticket } = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body as { ticket: string };
  // The upstream socket drops and Genesys answers the next configureSession late: the stream waits on it.
  stack.sim.faults.delayFrames(1500, gt);
  const configures = stack.sim.framesFor(gt, 'configureSession').length;
  stack.sim.faults.dropSocket(gt);
  const url = `${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`;
  const controller = new AbortController();
  const left = fetch(url, {
    headers: { Origin: PAGE_ORIGIN, Accept: 'text/event-stream' },
    signal: controller.signal,
  }).catch(() => undefined);
  await waitFor(() => stack.sim.framesFor(gt, 'configureSession').length > configures);
  controller.abort();
  await left;
  // Genesys answers; the route finds its client gone and spends nothing. Another stream of the session opens only
  // once that answer is in, and the route, which waited on it first, has found its client gone by then.
  const witness = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  expect(witness.status).toBe(200);
  witness.close();
  stack.sim.faults.clear();
  const stream = await openStream(url, { Origin: PAGE_ORIGIN });
  try {
    expect(stream.status).toBe(200);
  } finally {
    stream.close();
  }
});

test('a malformed Idempotency-Key is refused with what the key must be', async () => {
  const { token } = await stack.newSession();
  const res = await stack.http
    .post('/messages')
    .set({ ...bearer(token), 'Idempotency-Key': 'has space' })
    .send({ text: 'hi' });
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    code: 'validation_failed',
    detail: 'Idempotency-Key must be 1 to 200 visible ASCII characters.',
  });
});

test('startNew without a session token is refused with what it needs', async () => {
  const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ startNew: true });
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    code: 'validation_failed',
    detail: '`startNew` needs the session token of the ended conversation.',
  });
});

test("POST /guest-session with a session's token counts against that session's conversation changes", async () => {
  const limited = await startStack({ simulator: stack.sim, env: { CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: '2' } });
  try {
    const { token } = await limited.newSession();
    const statuses = [];
    // startNew on an open conversation is a 409, and still an attempt that counts.
    for (let i = 0; i < 3; i++)
      statuses.push((await limited.http.post('/guest-session').set(bearer(token)).send({ startNew: true })).status);
    expect(statuses).toEqual([409, 409, 429]);
  } finally {
    await limited.close();
  }
});
