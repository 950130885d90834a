import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { manualClock } from '../support/platform';
import { handshakeStatus, isClass, isMessage, RawGuest } from '../support/rawGuest';

/** The strict profile sends every shape the official SDK fixtures allow (simulator/profile.ts). */
let sim: Simulator;
/** The limits a minute count on a clock that stands still, so eleven reads are one minute's however slow the run. */
const standing = manualClock(Date.now()).now;
beforeAll(async () => {
  // More messages in one standing second than Genesys's 2: the rate has its own test below.
  sim = await startSimulator({
    profile: 'strict',
    agent: { typingDelayMs: 1, replyDelayMs: 5 },
    autoStart: true,
    clock: standing,
    messagesPerSecond: 5,
  });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

async function configured(
  token = randomUUID(),
): Promise<{ guest: RawGuest; token: string; session: Record<string, unknown> }> {
  const guest = await RawGuest.connect(sim);
  guest.send({ action: 'configureSession', token, deploymentId: sim.deploymentId, tracingId: 'configure-1' });
  const session = await guest.next(isClass('SessionResponse'), 'SessionResponse');
  return { guest, token, session };
}

test('SessionResponse: no tracingId, nulls in optional fields, then a frame of an unknown class', async () => {
  const { guest, session } = await configured();
  expect(session.tracingId).toBeUndefined();
  expect(session.body).toMatchObject({ connected: true, durationSeconds: null, clearedExistingSession: null });
  const next = await guest.next(() => true, 'the next frame');
  expect(next.class).toBe('FutureFeatureEvent');
  await guest.close();
});

test('JwtResponse, error frames, 429 and the Join echo carry no tracingId; the text echo does', async () => {
  const { guest, token } = await configured();
  guest.send({ action: 'getJwt', token, tracingId: 'jwt-1' });
  expect((await guest.next(isClass('JwtResponse'), 'JwtResponse')).tracingId).toBeUndefined();
  guest.send({
    action: 'onMessage',
    token,
    tracingId: 'join-1',
    message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Join' } }] },
  });
  const join = await guest.next((f) => isMessage('Inbound', 'Event')(f), 'the Join echo');
  expect(join.tracingId).toBeUndefined();
  guest.send({ action: 'onMessage', token, tracingId: 'long-1', message: { type: 'Text', text: 'x'.repeat(5000) } });
  const tooLong = await guest.next(isClass('string'), 'the 4011');
  expect(tooLong).toMatchObject({ code: 4011 });
  expect(tooLong.tracingId).toBeUndefined();
  guest.send({
    action: 'onMessage',
    token,
    tracingId: 'text-1',
    message: { type: 'Text', text: 'hello', metadata: { id: 'client-id-1' } },
  });
  const echo = await guest.next(isMessage('Inbound', 'Text'), 'the text echo');
  expect(echo.tracingId).toBe('text-1');
  // Genesys's own id, not the client's metadata.id.
  expect(echo.body.channel.messageId).not.toBe('client-id-1');
  await guest.close();
});

test('agent messages have nulls; history has channel.time null and Genesys message ids; 10 history reads a minute', async () => {
  const { guest, token } = await configured();
  guest.send({
    action: 'onMessage',
    token,
    tracingId: 't',
    message: { type: 'Text', text: 'hi there', metadata: { id: 'mine' } },
  });
  const reply = await guest.next(isMessage('Outbound', 'Text'), 'the agent reply');
  expect(reply.body.channel.from.image).toBeNull();
  guest.send({ action: 'getJwt', token, tracingId: 'j' });
  const { jwt } = (await guest.next(isClass('JwtResponse'))).body;
  const read = () =>
    fetch(`${sim.urls.apiUrl}/api/v2/webmessaging/messages?pageNumber=1&pageSize=25`, {
      headers: { Authorization: `bearer ${jwt}` },
    });
  const first = await read();
  const body = (await first.json()) as { entities: { channel: { time: string | null; messageId?: string } }[] };
  expect(body.entities.some((e) => e.channel.time === null)).toBe(true);
  expect(body.entities.map((e) => e.channel.messageId)).not.toContain('mine');
  const statuses = [first.status];
  for (let i = 0; i < 10; i++) statuses.push((await read()).status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(10);
  expect(statuses[10]).toBe(429);
  await guest.close();
});

test('the deployment takes at most connectionsPerMinute new connections a minute', async () => {
  const limited = await startSimulator({
    profile: 'strict',
    connectionsPerMinute: 3,
    agent: { enabled: false },
    clock: standing,
  });
  try {
    const url = `${limited.urls.webMessagingUrl}/v1?deploymentId=${limited.deploymentId}`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await handshakeStatus(url));
    expect(statuses).toEqual([101, 101, 101, 429]);
  } finally {
    await limited.stop();
  }
});

test('Presence Clear is answered by SessionClearedEvent then ConnectionClosedEvent', async () => {
  const { guest, token } = await configured();
  guest.send({
    action: 'onMessage',
    token,
    tracingId: 'clear-1',
    message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] },
  });
  await guest.next(isClass('SessionClearedEvent'), 'SessionClearedEvent');
  await guest.next(isClass('ConnectionClosedEvent'), 'ConnectionClosedEvent');
  await guest.closed;
});

describe("Genesys's budgets, as the strict profile enforces them", () => {
  test('onMessage: 2 a second by default, the third refused with an untraced 429', async () => {
    const strict = await startSimulator({ profile: 'strict', agent: { enabled: false }, clock: standing });
    try {
      const guest = await RawGuest.connect(strict);
      const token = randomUUID();
      guest.send({ action: 'configureSession', token, deploymentId: strict.deploymentId });
      await guest.next(isClass('SessionResponse'), 'SessionResponse');
      for (const text of ['one', 'two']) {
        guest.send({ action: 'onMessage', token, tracingId: text, message: { type: 'Text', text } });
        await guest.next(isMessage('Inbound', 'Text'), `the echo of ${text}`);
      }
      guest.send({ action: 'onMessage', token, tracingId: 'three', message: { type: 'Text', text: 'three' } });
      const refused = await guest.next(isClass('TooManyRequestsErrorMessage'), 'the 429');
      expect(refused).toMatchObject({ code: 429, body: { errorCode: 4029, retryAfter: 1 } });
      expect(refused.tracingId).toBeUndefined();
      expect(strict.conversationMessages(token)).toHaveLength(2);
      await guest.close();
    } finally {
      await strict.stop();
    }
  });

  test('every request counts against the connection budget; the excess gets an untraced 429, and a new connection a new budget', async () => {
    const strict = await startSimulator({
      profile: 'strict',
      agent: { enabled: false },
      clock: standing,
      requestsPerConnectionPerMinute: 4,
      // Echo's own limit (2 a minute) has its test in strictNeverKinder.test.ts.
      echoesPerConnectionPerMinute: 10,
    });
    try {
      const guest = await RawGuest.connect(strict);
      const token = randomUUID();
      guest.send({ action: 'configureSession', token, deploymentId: strict.deploymentId });
      await guest.next(isClass('SessionResponse'), 'SessionResponse');
      for (let i = 0; i < 3; i++) {
        guest.send({ action: 'echo', token, tracingId: `e${i}`, message: { type: 'Text', text: 'ping' } });
        await guest.next((f) => f.type === 'response' && f.class === 'StructuredMessage', 'the echo reply');
      }
      guest.send({ action: 'getJwt', token, tracingId: 'over' });
      const refused = await guest.next(isClass('TooManyRequestsErrorMessage'), 'the 429');
      expect(refused.tracingId).toBeUndefined();
      expect(refused.body.retryAfter).toBeGreaterThanOrEqual(1);
      expect(strict.stats.requestsRefusedForBudget).toBe(1);
      await guest.close();
      const again = await RawGuest.connect(strict);
      again.send({ action: 'configureSession', token, deploymentId: strict.deploymentId });
      await again.next(isClass('SessionResponse'), 'SessionResponse on a new connection');
      await again.close();
    } finally {
      await strict.stop();
    }
  });
});
