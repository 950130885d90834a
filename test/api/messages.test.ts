import { CLOCK_SKEW_MS } from '../../src/genesys/guest/desk/deliveryProof';
import { manualClock } from '../support/platform';
import { bearer, guestTokenOf, PAGE_ORIGIN, simProfile, type Stack, startStack } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

let stack: Stack;
/** The per-session limits' clock (the service's and the simulator's): it stands still unless a test moves it. */
const clock = manualClock(Date.now());
beforeAll(async () => {
  // Sends paced faster than Genesys's default 2 a second, and allowed as fast by the simulator: these tests send several in a row on a clock that stands still.
  stack = await startStack({
    sim: { agent: { enabled: false }, messagesPerSecond: 5 },
    env: { GENESYS_MESSAGES_PER_SECOND: '5' },
    now: clock.now,
  });
});
afterAll(() => stack.close());
beforeEach(() => stack.sim.faults.clear());

async function session() {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  return { token, gt: guestTokenOf(stack.sim, before) };
}

describe('POST /messages', () => {
  test('201 with the message as Genesys echoed it, normalised', async () => {
    const { token, gt } = await session();
    const res = await stack.http.post('/messages').set(bearer(token)).send({ text: 'Hello!' });
    expect(res.status).toBe(201);
    expect(res.body.message).toMatchObject({
      id: expect.any(String),
      direction: 'inbound',
      type: 'text',
      text: 'Hello!',
      time: expect.any(String),
    });
    expect(typeof res.body.sessionToken).toBe('string');
    const frame = stack.sim.framesFor(gt, 'onMessage')[0]!.frame;
    expect(frame.message).toMatchObject({ type: 'Text', text: 'Hello!' });
    expect(res.body.message.clientMessageId).toBe(frame.message.metadata.id);
  });

  test('a quick-reply answer goes out as a ButtonResponse', async () => {
    const { token, gt } = await session();
    const res = await stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ quickReply: { text: 'Yes', payload: 'yes-payload', originatingMessageId: 'abc' } });
    expect(res.status).toBe(201);
    expect(stack.sim.framesFor(gt, 'onMessage')[0]!.frame.message.content).toEqual([
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'QuickReply', text: 'Yes', payload: 'yes-payload', originatingMessageId: 'abc' },
      },
    ]);
  });

  test('text over 4096 UTF-8 bytes is refused before sending (413 message_too_long)', async () => {
    const { token, gt } = await session();
    const res = await stack.http
      .post('/messages')
      .set(bearer(token))
      .send({ text: '€'.repeat(1366) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'message_too_long', bytes: 4098, limit: 4096 });
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(0);
  });

  test('empty text, no text, a lone surrogate, wrong types: 400 validation_failed, nothing sent', async () => {
    const { token, gt } = await session();
    for (const body of [{ text: '   ' }, {}, { text: 5 }, { text: 'ok', extra: true }]) {
      const res = await stack.http.post('/messages').set(bearer(token)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const lone = await stack.http
      .post('/messages')
      .set({ ...bearer(token), 'Content-Type': 'application/json' })
      .send('{"text":"\\ud800"}');
    expect(lone.status).toBe(400);
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(0);
  });

  test('a repeated Idempotency-Key sends once and returns the first result', async () => {
    const { token, gt } = await session();
    const key = 'send-7f3a';
    const [a, b] = await Promise.all([
      stack.http
        .post('/messages')
        .set({ ...bearer(token), 'Idempotency-Key': key })
        .send({ text: 'exactly once' }),
      stack.http
        .post('/messages')
        .set({ ...bearer(token), 'Idempotency-Key': key })
        .send({ text: 'exactly once' }),
    ]);
    const c = await stack.http
      .post('/messages')
      .set({ ...bearer(token), 'Idempotency-Key': key })
      .send({ text: 'exactly once' });
    expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
    expect(b.body.message).toEqual(a.body.message);
    expect(c.body.message).toEqual(a.body.message);
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(1);
    const other = await stack.http
      .post('/messages')
      .set({ ...bearer(token), 'Idempotency-Key': 'another' })
      .send({ text: 'exactly once' });
    expect(other.body.message.id).not.toBe(a.body.message.id);
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(2);
  });

  test('a send whose echo was lost while Genesys refuses the reconnect fails as in doubt, and its retry is not sent again', async () => {
    const { token, gt } = await session();
    // Genesys takes the message, the socket drops before the echo, and the new socket is refused.
    stack.sim.faults.dropOnNext('onMessage', { sessionToken: gt, when: 'after-processing' });
    stack.sim.faults.refuseHandshake(403);
    const auth = { ...bearer(token), 'Idempotency-Key': `refused-${gt}` };
    const first = await stack.http.post('/messages').set(auth).send({ text: 'taken, then cut off' });
    expect(first.status).toBe(503);
    expect(first.body.code).toBe('upstream_unavailable');
    expect(first.body.detail).toMatch(/may have been delivered/);
    stack.sim.faults.clear();
    const retry = await stack.http.post('/messages').set(auth).send({ text: 'taken, then cut off' });
    expect(retry.status).toBe(201);
    expect(retry.body.message.text).toBe('taken, then cut off');
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(1);
  });

  test('the same Idempotency-Key with a different body is 422 idempotency_key_reused, and nothing is sent', async () => {
    const { token, gt } = await session();
    const key = 'reused-key';
    expect(
      (
        await stack.http
          .post('/messages')
          .set({ ...bearer(token), 'Idempotency-Key': key })
          .send({ text: 'first' })
      ).status,
    ).toBe(201);
    const reused = await stack.http
      .post('/messages')
      .set({ ...bearer(token), 'Idempotency-Key': key })
      .send({ text: 'second' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(stack.sim.framesFor(gt, 'onMessage').map((f) => f.frame.message.text)).toEqual(['first']);
  });

  test.each([
    ['text and a quick reply together', { text: 'hi', quickReply: { text: 'Yes', payload: 'YES' } }],
    ['neither', {}],
    ['an empty quick reply', { quickReply: { text: ' ', payload: '' } }],
    ['a lone surrogate in a quick reply', { quickReply: { text: 'Yes\ud800', payload: 'YES' } }],
    [
      'a lone surrogate in originatingMessageId',
      { quickReply: { text: 'Yes', payload: 'YES', originatingMessageId: '\udc00' } },
    ],
  ])('%s is 400 validation_failed and sends nothing', async (_name, body) => {
    const { token, gt } = await session();
    const res = await stack.http.post('/messages').set(bearer(token)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(0);
  });

  test('an Idempotency-Key must be visible ASCII', async () => {
    const { token } = await session();
    const res = await stack.http
      .post('/messages')
      .set({ ...bearer(token), 'Idempotency-Key': 'x'.repeat(300) })
      .send({ text: 'hi' });
    expect(res.status).toBe(400);
  });

  test('more than GENESYS_MESSAGES_PER_SECOND messages in a second: the excess waits its turn instead of being refused, and goes out once the second has passed', async () => {
    const { token, gt } = await session();
    // The limits' clock stands still: all seven are inside one second, however long they take to arrive.
    const results = Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        stack.http
          .post('/messages')
          .set(bearer(token))
          .send({ text: `burst ${i}` }),
      ),
    );
    await waitFor(() => stack.sim.framesFor(gt, 'onMessage').length === 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(5);
    clock.advance(1100);
    expect((await results).map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201, 201]);
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(7);
  });

  test('an expired Genesys session is 410 session_expired', async () => {
    const { token, gt } = await session();
    // Refused whether the SessionExpiredEvent reached the service first (410 at once) or the send did (Genesys 4006).
    stack.sim.faults.expireSession(gt);
    const res = await stack.http.post('/messages').set(bearer(token)).send({ text: 'anyone?' });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe('session_expired');
  });

  test('Genesys 4013 (its limit is lower than ours) is attributes_too_large, and the message is not sent', async () => {
    stack.sim.setOptions({ maxCustomDataBytes: 2048 });
    const before = stack.sim.received.length;
    const { token } = await stack.newSession({ attributes: { note: 'n'.repeat(1500) } });
    const gt = guestTokenOf(stack.sim, before);
    stack.sim.setOptions({ maxCustomDataBytes: 100 });
    const res = await stack.http.post('/messages').set(bearer(token)).send({ text: 'with big attributes' });
    stack.sim.setOptions({ maxCustomDataBytes: 2048 });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('attributes_too_large');
    expect(stack.sim.conversationMessages(gt)).toHaveLength(0);
  });
});

describe('a send Genesys leaves unconfirmed (an instance with a 3 s deadline, beside the simulator)', () => {
  let doubt: Stack;
  beforeAll(async () => {
    doubt = await startStack({ simulator: stack.sim, env: { GENESYS_TIMEOUT_MS: '3000' } });
  });
  afterAll(() => doubt.close());

  test('a retry after an unconfirmed send finds the first attempt in history instead of sending again', async () => {
    const before = stack.sim.received.length;
    const { token } = await doubt.newSession();
    const gt = guestTokenOf(stack.sim, before);
    // Held twice as long as the deadline, which starts before the frame is written.
    stack.sim.faults.delayFrames(2 * doubt.config.process.genesys.timeoutMs, gt);
    const key = 'slow-one';
    const first = await doubt.http
      .post('/messages')
      .set({ ...bearer(token), 'Idempotency-Key': key })
      .send({ text: 'did it arrive?' });
    expect(first.status).toBe(504);
    expect(first.body.code).toBe('upstream_unavailable');
    stack.sim.faults.clear();
    // As a client does: a 503 is retried after its Retry-After (the slow send may have had the circuit check
    // Genesys, and on a starved machine find it slow too), with the same key.
    const retryOnce = () =>
      doubt.http
        .post('/messages')
        .set({ ...bearer(token), 'Idempotency-Key': key })
        .send({ text: 'did it arrive?' });
    let retry = await retryOnce();
    for (let i = 0; i < 5 && retry.status === 503 && Number(retry.headers['retry-after']) >= 1; i++) {
      await sleep(Number(retry.headers['retry-after']) * 1000);
      retry = await retryOnce();
    }
    expect([retry.status, retry.body.code]).toEqual([201, undefined]);
    expect(retry.body.message.text).toBe('did it arrive?');
    expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(1);
  });
});

/** Under the strict profile each guest message has its receipt, which Genesys counts and pages like any entity. */
const ENTITIES_PER_MESSAGE = simProfile() === 'strict' ? 2 : 1;

describe('GET /messages', () => {
  test('history oldest first, normalised, with paging', async () => {
    const { token } = await session();
    for (const text of ['one', 'two', 'three']) {
      expect((await stack.http.post('/messages').set(bearer(token)).send({ text })).status).toBe(201);
    }
    const res = await stack.http.get('/messages').set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 25, total: 3 * ENTITIES_PER_MESSAGE });
    expect(res.body.messages.map((m: { text: string }) => m.text)).toEqual(['one', 'two', 'three']);
    const paged = await stack.http.get(`/messages?page=1&pageSize=${2 * ENTITIES_PER_MESSAGE}`).set(bearer(token));
    expect(paged.body.messages.map((m: { text: string }) => m.text)).toEqual(['two', 'three']);
  });

  test('total counts what Genesys holds, events included: a page of events alone is empty, and the pages go on until page × pageSize reaches total', async () => {
    const { token, gt } = await session();
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'before' })).status).toBe(201);
    // The agent leaves, but the guest may carry on (Send): a presence event in the middle of the history.
    // The simulator stores the event at once, between the two messages.
    stack.sim.agent.disconnect(gt, { readOnly: false });
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'after' })).status).toBe(201);
    const pages = [];
    let total = Infinity;
    const pageSize = ENTITIES_PER_MESSAGE;
    for (let page = 1; (page - 1) * pageSize < total; page++) {
      const res = await stack.http.get(`/messages?page=${page}&pageSize=${pageSize}`).set(bearer(token));
      expect(res.status).toBe(200);
      total = res.body.total;
      pages.push(res.body.messages.map((m: { text: string }) => m.text));
    }
    // Newest first: the disconnect's page is empty, and an older message follows it.
    const middle = pages.findIndex((p) => p.length === 0);
    expect(middle).toBeGreaterThan(0);
    expect(pages.slice(middle + 1).flat()).toContain('before');
    expect(pages.flat()).toEqual(['after', 'before']);
  });

  test("one session cannot reach another session's history", async () => {
    const a = await session();
    const b = await session();
    await stack.http.post('/messages').set(bearer(a.token)).send({ text: 'secret of A' });
    const res = await stack.http.get('/messages').set(bearer(b.token));
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain('secret of A');
  });

  test('bad paging is a 400 naming the parameter', async () => {
    const { token } = await session();
    const res = await stack.http.get('/messages?pageSize=1000').set(bearer(token));
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/pageSize/);
  });

  test('history reads are limited to 10 a minute per session; a minute later they are served again', async () => {
    const { token } = await session();
    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await stack.http.get('/messages').set(bearer(token))).status);
    expect(statuses).toEqual([...Array<number>(10).fill(200), 429]);
    clock.advance(60_000);
    expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
  });

  test('a history failure at Genesys is upstream_unavailable', async () => {
    const { token } = await session();
    stack.sim.faults.failRest('history', { status: 500, times: 1 });
    const res = await stack.http.get('/messages').set(bearer(token));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('upstream_unavailable');
    expect(JSON.stringify(res.body)).not.toContain('internal.server.error');
  });
});

describe('POST /typing', () => {
  test('204, forwarded as a Typing event at most once per 5 s', async () => {
    const { token, gt } = await session();
    const typing = () =>
      stack.sim.framesFor(gt, 'onMessage').filter((f) => f.frame.message.events?.[0]?.eventType === 'Typing');
    expect((await stack.http.post('/typing').set(bearer(token))).status).toBe(204);
    expect((await stack.http.post('/typing').set(bearer(token))).status).toBe(204);
    // A message answered 201 was echoed on the same socket after any typing frame sent before it.
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'after typing' })).status).toBe(201);
    expect(typing()).toHaveLength(1);
    clock.advance(5000);
    expect((await stack.http.post('/typing').set(bearer(token))).status).toBe(204);
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'after typing again' })).status).toBe(
      201,
    );
    expect(typing()).toHaveLength(2);
  });

  test('refused (409, problem+json) once the conversation is read-only; nothing is sent', async () => {
    const { token, gt } = await session();
    stack.sim.agent.disconnect(gt, { readOnly: true });
    await waitFor(async () => (await stack.http.get('/guest-session').set(bearer(token))).body.readOnly === true);
    const frames = stack.sim.framesFor(gt).length;
    const res = await stack.http.post('/typing').set(bearer(token));
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('conflict');
    expect(stack.sim.framesFor(gt)).toHaveLength(frames);
  });
});

/**
 * A send retried as a client is told to, at most ten times: a 503 says the first attempt is not proved either way
 * yet (on a busy machine its held frame may still be on its way), and when to ask again.
 */
async function retriedAsTold(on: Stack, auth: Record<string, string>, body: object) {
  let retry = await on.http.post('/messages').set(auth).send(body);
  for (let asked = 1; retry.status === 503 && asked < 10; asked++) {
    expect(Number(retry.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await sleep(Number(retry.headers['retry-after']) * 1000);
    retry = await on.http.post('/messages').set(auth).send(body);
  }
  return retry;
}

describe('against a Genesys whose channel.messageId is not the metadata.id sent (strict simulator profile)', () => {
  let strict: Stack;
  beforeAll(async () => {
    strict = await startStack({
      sim: { profile: 'strict', agent: { enabled: false } },
      env: { GENESYS_TIMEOUT_MS: '3000' },
    });
  });
  afterAll(async () => {
    await strict.close();
    await strict.sim.stop();
  });

  test('an in-doubt retry finds the first attempt by its content and never sends twice', async () => {
    const before = strict.sim.received.length;
    const { token } = await strict.newSession();
    const gt = guestTokenOf(strict.sim, before);
    strict.sim.faults.delayFrames(2 * strict.config.process.genesys.timeoutMs, gt);
    const auth = { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN, 'Idempotency-Key': 'strict-doubt' };
    const first = await strict.http.post('/messages').set(auth).send({ text: 'is this delivered?' });
    expect(first.status).toBe(504);
    strict.sim.faults.clear();
    const retry = await retriedAsTold(strict, auth, { text: 'is this delivered?' });
    expect(retry.status).toBe(201);
    expect(retry.body.message.text).toBe('is this delivered?');
    const sent = strict.sim.framesFor(gt, 'onMessage');
    expect(sent).toHaveLength(1);
    expect(retry.body.message.clientMessageId).toBe(sent[0]!.frame.message.metadata.id);
  });
});

describe("against a Genesys whose clock runs behind this instance's (strict simulator profile)", () => {
  /** How far behind this instance's clock Genesys's runs: it stamps each message's channel.time. */
  const BEHIND_MS = CLOCK_SKEW_MS - 1000;
  let skewed: Stack;
  beforeAll(async () => {
    skewed = await startStack({
      sim: { agent: { enabled: false }, clock: () => Date.now() - BEHIND_MS, clockTimesMessages: true },
      env: { GENESYS_TIMEOUT_MS: '3000' },
    });
  });
  afterAll(() => skewed.close());

  test('an in-doubt retry finds the first attempt Genesys stamped before the send, within the allowance, and never sends twice', async () => {
    const before = skewed.sim.received.length;
    const { token } = await skewed.newSession();
    const gt = guestTokenOf(skewed.sim, before);
    skewed.sim.faults.delayFrames(2 * skewed.config.process.genesys.timeoutMs, gt);
    const auth = { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN, 'Idempotency-Key': 'skewed-doubt' };
    const sentAfter = Date.now();
    const first = await skewed.http.post('/messages').set(auth).send({ text: 'did it arrive despite the clocks?' });
    expect(first.status).toBe(504);
    skewed.sim.faults.clear();
    const retry = await retriedAsTold(skewed, auth, { text: 'did it arrive despite the clocks?' });
    expect(retry.status).toBe(201);
    // Genesys's time for it is before this instance sent it: only the allowance lets its content prove it.
    expect(Date.parse(retry.body.message.time)).toBeLessThan(sentAfter);
    expect(skewed.sim.framesFor(gt, 'onMessage')).toHaveLength(1);
  });
});
