import { dataOf, openStream, type SseStream } from '../support/sse';
import { waitFor } from '../support/wait';
import { manualClock } from '../support/platform';
import { bearer, guestTokenOf, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  // The per-session limits' clock stands still: ten history reads are within one minute however slow the run.
  stack = await startStack({
    sim: { agent: { typingDelayMs: 5, replyDelayMs: 30 } },
    now: manualClock(Date.now()).now,
  });
});
afterAll(() => stack.close());

async function session() {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  return { token, gt: guestTokenOf(stack.sim, before) };
}

/** A session with its stream open, which has shown one agent message ('seen before the drop'). */
async function liveSessionWithOneMessage() {
  const { token, gt } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  stack.sim.agent.say(gt, 'seen before the drop');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'seen before the drop');
  return { token, gt, stream };
}

test('GET /messages/stream with the Authorization header: message, typing and presence events from the shared socket', async () => {
  const { token, gt } = await session();
  const socketsBefore = stack.sim.stats.connectionsBySession(gt);
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  expect(stream.status).toBe(200);
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(stream.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  await stack.http.post('/messages').set(bearer(token)).send({ text: 'ping from the guest' });
  const own = await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'inbound');
  expect(dataOf(own)).toMatchObject({ text: 'ping from the guest', type: 'text' });
  await stream.next((e) => e.event === 'typing');
  const reply = await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'outbound');
  expect(dataOf(reply)).toMatchObject({
    originatingEntity: 'bot',
    text: expect.stringContaining('ping from the guest'),
  });
  expect(reply.id).toBe(dataOf(reply).id);

  stack.sim.agent.disconnect(gt, { readOnly: true });
  const presence = await stream.next((e) => e.event === 'presence');
  expect(dataOf(presence)).toEqual({ presence: 'disconnect', readOnly: true, time: expect.any(String) });
  // Genesys's own time for it (channel.time), so a page places the line where it happened.
  expect(Date.parse(dataOf(presence).time as string)).not.toBeNaN();
  // The stream rides on the session's one upstream socket.
  expect(stack.sim.stats.connectionsBySession(gt)).toBe(socketsBefore);
  stream.close();
});

test('EventSource path: a ticket opens the stream; it is bound to its origin and is not a session token', async () => {
  const { token, gt } = await session();
  const ticketRes = await stack.http.post('/messages/stream-ticket').set(bearer(token));
  expect(ticketRes.status).toBe(201);
  const { ticket, expiresAt } = ticketRes.body;
  expect(new Date(expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(60_000);

  const foreign = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    Origin: 'https://shop.example.com',
  });
  expect(foreign.status).toBe(401);
  const asSession = await stack.http.get('/guest-session').set(bearer(ticket));
  expect(asSession.status).toBe(401);

  const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    Origin: PAGE_ORIGIN,
  });
  expect(stream.status).toBe(200);
  stack.sim.agent.say(gt, 'hello via ticket');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'hello via ticket');
  stream.close();
  expect(stack.log.text()).not.toContain(ticket);
});

test('the stream ends with a final session event when the Genesys session expires', async () => {
  const { token, gt } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  stack.sim.faults.expireSession(gt);
  const last = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expired');
  expect(dataOf(last)).toMatchObject({ state: 'expired', reconnect: false });
  await stream.ended;
});

test('a stream without credentials is 401; with a session from another origin too', async () => {
  const none = await openStream(`${stack.service.url}/messages/stream`, { Origin: PAGE_ORIGIN });
  expect(none.status).toBe(401);
  const { token } = await session();
  const other = await openStream(`${stack.service.url}/messages/stream`, {
    Authorization: `Bearer ${token}`,
    Origin: 'https://shop.example.com',
  });
  expect(other.status).toBe(401);
});

test('shutdown ends every stream with a final event telling the client to reconnect', async () => {
  const own = await startStack({ simulator: stack.sim });
  const { token } = await own.newSession();
  const stream = await openStream(`${own.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  const stopped = own.close();
  const last = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnect');
  expect(dataOf(last)).toMatchObject({ reconnect: true });
  await stopped;
});

test('every event carries the newest message id; reopened with Last-Event-ID the stream sends what was missed first, once', async () => {
  const { token, gt } = await session();
  const first = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await first.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  stack.sim.agent.say(gt, 'seen before the drop');
  const seen = await first.next((e) => e.event === 'message' && dataOf(e).text === 'seen before the drop');
  expect(seen.id).toBe(dataOf(seen).id);
  first.close();

  // While no stream is open, the agent says two things.
  stack.sim.agent.say(gt, 'missed one');
  stack.sim.agent.say(gt, 'missed two');
  const resumed = await openStream(`${stack.service.url}/messages/stream`, {
    ...bearer(token),
    'Last-Event-ID': seen.id!,
  });
  await resumed.next((e) => e.event === 'message' && dataOf(e).text === 'missed two');
  stack.sim.agent.say(gt, 'live again');
  await resumed.next((e) => e.event === 'message' && dataOf(e).text === 'live again');
  const texts = resumed.events.filter((e) => e.event === 'message').map((e) => dataOf(e).text);
  expect(texts).toEqual(['missed one', 'missed two', 'live again']);
  resumed.close();
});

test('after the upstream socket comes back, the open stream sends what Genesys sent while it was down, once, then goes on live', async () => {
  const { gt, stream } = await liveSessionWithOneMessage();

  // The socket is cut; what the agent says now is stored at Genesys but reaches no socket.
  stack.sim.faults.dropSocket(gt);
  stack.sim.agent.say(gt, 'said while the socket was down');
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'said while the socket was down');
  stack.sim.agent.say(gt, 'live again');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'live again');
  const texts = stream.events.filter((e) => e.event === 'message').map((e) => dataOf(e).text);
  expect(texts).toEqual(['seen before the drop', 'said while the socket was down', 'live again']);
  expect(stream.events.some((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete')).toBe(false);
  stream.close();
});

test('a stream with no message yet names its events with a time position; after the upstream socket comes back it sends what came meanwhile', async () => {
  const { token, gt } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  const open = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect(open.id).toMatch(/^t-\d{13}$/);
  stack.sim.faults.dropSocket(gt);
  stack.sim.agent.say(gt, 'said before any message had an id');
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'said before any message had an id');
  expect(stream.events.some((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete')).toBe(false);
  stack.sim.agent.say(gt, 'still live');
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'still live');
  stream.close();
});

test('every answer with a sessionToken carries a streamPosition; a stream opened with it sends every message since, the first ones included', async () => {
  const started = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
  expect(started.status).toBe(201);
  expect(started.body.streamPosition).toMatch(/^t-\d{13}$/);
  const token = started.body.sessionToken as string;
  // The first message is sent and answered before any stream is open (its instance could have died in between).
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'first words' });
  expect(sent.status).toBe(201);
  expect(sent.body.streamPosition).toMatch(/^t-\d{13}$/);
  const changed = await stack.http
    .patch('/guest-attributes')
    .set(bearer(sent.body.sessionToken))
    .send({ page: 'home' });
  expect(changed.body.streamPosition).toMatch(/^t-\d{13}$/);
  const stream = await openStream(
    `${stack.service.url}/messages/stream?lastEventId=${started.body.streamPosition}`,
    bearer(token),
  );
  await stream.next((e) => e.event === 'message' && dataOf(e).text === 'first words');
  // The agent's reply too (the simulator's agent answers every message).
  await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'outbound');
  expect(stream.events.filter((e) => e.event === 'message' && dataOf(e).text === 'first words')).toHaveLength(1);
  expect(stream.events.some((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete')).toBe(false);
  stream.close();
});

test('a Last-Event-ID older than history can reach says replay_incomplete, and the stream goes on', async () => {
  const { token } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream?lastEventId=unknown-id`, bearer(token));
  const incomplete = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete');
  expect(dataOf(incomplete).detail).toMatch(/reload the history/);
  stream.close();
});

test('a Last-Event-ID that is not an id the stream writes is refused (400) before any event; a well-formed unknown one never reaches an id: line', async () => {
  const { token } = await session();
  const injected = 'x\n\nevent: message\ndata: {"text":"Please send your card number","direction":"outbound"}\n\n';
  const refused = await openStream(
    `${stack.service.url}/messages/stream?lastEventId=${encodeURIComponent(injected)}`,
    bearer(token),
  );
  expect(refused.status).toBe(400);
  expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  await refused.ended;
  expect(refused.events).toEqual([]);
  const refusedHeader = await fetch(`${stack.service.url}/messages/stream`, {
    headers: { ...bearer(token), 'Last-Event-ID': 'a b' },
  });
  expect([refusedHeader.status, ((await refusedHeader.json()) as { code: string }).code]).toEqual([
    400,
    'validation_failed',
  ]);

  // Well-formed but never issued in this conversation: replay_incomplete, and the id is not echoed on any event:
  // each carries the time position the stream took itself.
  const unknown = await openStream(`${stack.service.url}/messages/stream?lastEventId=issued-by-nobody`, bearer(token));
  await unknown.next((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete');
  expect(unknown.events.length).toBeGreaterThan(0);
  for (const e of unknown.events) expect(e.id).toMatch(/^t-\d{13}$/);
  unknown.close();
});

test('DELETE /guest-session ends the open streams with a final event saying the session is over', async () => {
  const { token } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
  const last = await stream.next((e) => e.event === 'session' && dataOf(e).reconnect !== undefined);
  expect(dataOf(last)).toMatchObject({ state: 'expired', reconnect: false });
  await stream.ended;
});

test('a ticket refused because the session holds too many streams is not used up: it opens the stream once one closes', async () => {
  const { token } = await session();
  const url = `${stack.service.url}/messages/stream`;
  const held = [];
  for (let i = 0; i < stack.config.process.limits.streamsPerSession; i++) {
    const s = await openStream(url, bearer(token));
    expect(s.status).toBe(200);
    held.push(s);
  }
  const { ticket } = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body as { ticket: string };
  const withTicket = `${url}?ticket=${encodeURIComponent(ticket)}`;
  const refused = await openStream(withTicket, { Origin: PAGE_ORIGIN });
  expect(refused.status).toBe(429);
  held.shift()!.close();
  let opened: SseStream | undefined;
  // The closed stream frees its place when the service notices; until then the ticket is refused with 429, never spent.
  await waitFor(async () => {
    const attempt = await openStream(withTicket, { Origin: PAGE_ORIGIN });
    if (attempt.status === 200) opened = attempt;
    else expect(attempt.status).toBe(429);
    return opened !== undefined;
  });
  await opened!.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  // Spent now: a second use is refused.
  expect((await openStream(withTicket, { Origin: PAGE_ORIGIN })).status).toBe(401);
  for (const s of [...held, opened!]) s.close();
});

test('a resume after the session has used its 10 history reads a minute says replay_incomplete, and asks Genesys nothing more', async () => {
  const { token } = await session();
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'seen before the gap' });
  expect(sent.status).toBe(201);
  for (let i = 0; i < 10; i++) expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
  const reads = stack.sim.stats.historyRequests;
  const stream = await openStream(`${stack.service.url}/messages/stream`, {
    ...bearer(token),
    'Last-Event-ID': sent.body.message.id as string,
  });
  expect(stream.status).toBe(200);
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete');
  expect(stack.sim.stats.historyRequests).toBe(reads);
  stream.close();
});

test('after the upstream socket comes back, a session that spent half its history reads gets replay_incomplete: the rest are kept for delivery proofs', async () => {
  const { token, gt, stream } = await liveSessionWithOneMessage();
  for (let i = 0; i < 5; i++) expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
  const reads = stack.sim.stats.historyRequests;
  stack.sim.faults.dropSocket(gt);
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'reconnected');
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'replay_incomplete');
  expect(stack.sim.stats.historyRequests).toBe(reads);
  // The client asks for the history itself: 5 of the 10 reads are still there.
  expect((await stack.http.get('/messages').set(bearer(token))).status).toBe(200);
  stream.close();
});

test('the stream warns five minutes before the session expires', async () => {
  // A session that expires in 5 minutes and 2 seconds: the warning comes about 2 seconds after the stream opens.
  const own = await startStack({ sim: { agent: { enabled: false }, sessionDurationSeconds: 302 } });
  try {
    const { token } = await own.newSession();
    const stream = await openStream(`${own.service.url}/messages/stream`, bearer(token));
    const warning = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expiring');
    const { expiresAt } = dataOf(warning) as { expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(0);
    // Confirmed by an echo first, as the SDK's health check before its notice.
    expect(own.sim.received.some((f) => f.frame?.action === 'echo')).toBe(true);
    // The guest writes: the notice is withdrawn, and given again before the new expiry.
    expect((await own.http.post('/messages').set(bearer(token)).send({ text: 'still here' })).status).toBe(201);
    const cleared = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'expiry_cleared');
    const again = await stream.next(
      (e) => e.event === 'session' && dataOf(e).state === 'expiring' && dataOf(e).expiresAt !== expiresAt,
      15_000,
    );
    const moved = (dataOf(again) as { expiresAt: string }).expiresAt;
    expect(Date.parse(moved)).toBeGreaterThan(Date.parse(expiresAt));
    expect(stream.events.indexOf(cleared)).toBeLessThan(stream.events.indexOf(again));
    stream.close();
  } finally {
    await own.close();
  }
}, 40_000);
