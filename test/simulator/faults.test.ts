import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { startSimulator, type Simulator } from '../../simulator';
import { handshakeStatus, isClass, isMessage, RawGuest } from '../support/rawGuest';
import { waitFor } from '../support/wait';

/**
 * @simulator kind it tests fault injection in the default profile, which both profiles share
 */
let sim: Simulator;
const guests: RawGuest[] = [];

beforeAll(async () => {
  sim = await startSimulator();
});
afterEach(async () => {
  await Promise.all(guests.splice(0).map((g) => g.close()));
  sim.reset();
  sim.setOptions({ agent: { enabled: true } });
});
afterAll(() => sim.stop());

async function session(token: string = randomUUID()): Promise<{ guest: RawGuest; token: string }> {
  const guest = await RawGuest.connect(sim);
  guests.push(guest);
  await guest.configure(sim, token);
  return { guest, token };
}

const handshakeUrl = () => `${sim.urls.webMessagingUrl}/v1?deploymentId=${sim.deploymentId}`;

describe('dropping sockets', () => {
  it('dropSocket terminates a session’s sockets without a close frame, others stay', async () => {
    const a = await session();
    const b = await session();
    sim.faults.dropSocket(a.token);
    expect((await a.guest.closed).code).toBe(1006);
    await b.guest.sync(b.token);
    sim.faults.dropSocket();
    expect((await b.guest.closed).code).toBe(1006);
  });

  it('dropOnNext before processing: the frame is lost, the session carries on after a reconnect', async () => {
    const { guest, token } = await session();
    sim.faults.dropOnNext('onMessage', { sessionToken: token });
    guest.send({ action: 'onMessage', token, tracingId: 'lost', message: { type: 'Text', text: 'lost' } });
    expect((await guest.closed).code).toBe(1006);
    expect(sim.conversationMessages(token)).toEqual([]);
    expect(sim.framesFor(token, 'onMessage')[0]).toMatchObject({
      dropped: 'before-processing',
      frame: { tracingId: 'lost' },
    });

    const again = await session(token);
    expect(again.guest.frames[0].body.newSession).toBe(false);
    expect((await again.guest.say(token, 'retry')).body.text).toBe('retry');
  });

  it('dropOnNext after processing: the server acted, the reply is lost', async () => {
    sim.setOptions({ agent: { enabled: false } });
    const { guest, token } = await session();
    sim.faults.dropOnNext('onMessage', { when: 'after-processing' });
    guest.send({ action: 'onMessage', token, tracingId: 't1', message: { type: 'Text', text: 'processed' } });
    await guest.closed;
    expect(guest.frames.some((f) => f.tracingId === 't1')).toBe(false);
    expect(sim.conversationMessages(token)).toEqual([
      expect.objectContaining({ text: 'processed', direction: 'Inbound' }),
    ]);
    expect(sim.framesFor(token, 'onMessage')[0]!.dropped).toBe('after-processing');
  });

  it('a drop rule for another action or session does not fire', async () => {
    const { guest, token } = await session();
    sim.faults.dropOnNext('getJwt', { sessionToken: token });
    sim.faults.dropOnNext('onMessage', { sessionToken: 'someone-else' });
    expect((await guest.say(token, 'safe')).class).toBe('StructuredMessage');
  });
});

describe('handshake refusal', () => {
  it('refuses N handshakes with the given status, then accepts', async () => {
    sim.faults.refuseHandshake(503, 2);
    expect(await handshakeStatus(handshakeUrl())).toBe(503);
    expect(await handshakeStatus(handshakeUrl())).toBe(503);
    expect(await handshakeStatus(handshakeUrl())).toBe(101);
  });

  it('names a Retry-After on the refusal when given one', async () => {
    sim.faults.refuseHandshake(429, 2, 12);
    const retryAfter = () =>
      new Promise<unknown>((resolve, reject) => {
        const ws = new WebSocket(handshakeUrl());
        ws.once('open', () => reject(new Error('the handshake was accepted')));
        ws.on('error', () => {}); // the terminate below, once the answer is read
        ws.once('unexpected-response', (_req, res) => {
          resolve([res.statusCode, res.headers['retry-after']]);
          res.resume();
          ws.terminate();
        });
      });
    expect(await retryAfter()).toEqual([429, '12']);
    expect(await retryAfter()).toEqual([429, '12']);
    expect(await handshakeStatus(handshakeUrl())).toBe(101);
  });

  it('refuses with 403 until cleared', async () => {
    sim.faults.refuseHandshake();
    for (let i = 0; i < 3; i++) expect(await handshakeStatus(handshakeUrl())).toBe(403);
    sim.faults.clear();
    expect(await handshakeStatus(handshakeUrl())).toBe(101);
  });
});

describe('frame faults', () => {
  it('answers the next N onMessage with TooManyRequestsErrorMessage and the given retryAfter', async () => {
    const { guest, token } = await session();
    sim.faults.rateLimit({ retryAfter: 7, times: 2, sessionToken: token });
    for (let i = 0; i < 2; i++) {
      expect(await guest.say(token, `m${i}`)).toMatchObject({
        type: 'response',
        class: 'TooManyRequestsErrorMessage',
        code: 429,
        body: { retryAfter: 7, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
      });
    }
    expect((await guest.say(token, 'through')).class).toBe('StructuredMessage');
  });

  it('delays outgoing frames and keeps their order', async () => {
    const { guest, token } = await session();
    sim.faults.delayFrames(30, token);
    sim.agent.say(token, 'first');
    sim.agent.say(token, 'second');
    expect((await guest.next(isMessage('Outbound'))).body.text).toBe('first');
    expect((await guest.next(isMessage('Outbound'))).body.text).toBe('second');
    sim.faults.delayFrames(0, token);
  });

  it('a connection evicted from a delayed session gets what was held for it before its close event', async () => {
    sim.setOptions({ maxConnectionsPerSession: 1 });
    const { guest: first, token } = await session();
    sim.faults.delayFrames(200, token);
    sim.agent.say(token, 'held');
    // A second connection takes the session's only place: the first is told, after what it was already owed.
    await session(token);
    expect((await first.next(isMessage('Outbound'))).body.text).toBe('held');
    await first.next(isClass('ConnectionClosedEvent'));
    sim.setOptions({ maxConnectionsPerSession: 3 });
  });

  it("an answer still being made when closeSession leaves the session keeps the session's delay", async () => {
    const { guest, token } = await session();
    sim.faults.delayFrames(300, token);
    const asked = Date.now();
    // The JWT is signed asynchronously; the closeSession right behind it leaves the session meanwhile.
    const jwt = guest.request({ action: 'getJwt', token });
    guest.send({ action: 'closeSession', token, tracingId: randomUUID() });
    expect((await jwt).class).toBe('JwtResponse');
    expect(Date.now() - asked).toBeGreaterThanOrEqual(290);
  });

  /** What reaches the socket, in the order it arrives: each frame's class, and a message's text. */
  function arrivals(guest: RawGuest): string[] {
    const seen: string[] = [];
    guest.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { class: string; body: { text?: string } };
      seen.push(typeof frame.body.text === 'string' ? `${frame.class} ${frame.body.text}` : frame.class);
    });
    return seen;
  }

  it('a frame sent once a delay is cleared does not overtake one still held (one socket is one stream)', async () => {
    const { guest, token } = await session();
    const seen = arrivals(guest);
    sim.faults.delayFrames(300, token);
    sim.agent.say(token, 'held');
    sim.faults.delayFrames(0, token);
    sim.agent.say(token, 'after');
    await guest.next((f) => isMessage('Outbound')(f) && f.body.text === 'after');
    expect(seen).toEqual(['StructuredMessage held', 'StructuredMessage after']);
  });

  it('a connection that moves from a delayed session to another gets what was held for it first', async () => {
    const { guest, token } = await session();
    const seen = arrivals(guest);
    sim.faults.delayFrames(300, token);
    sim.agent.say(token, 'held');
    await guest.configure(sim, randomUUID());
    expect(seen).toEqual(['StructuredMessage held', 'SessionResponse']);
  });

  it('slowAnswer: Genesys acts at once, what the request makes waits, and a later answer goes before it', async () => {
    sim.setOptions({ agent: { enabled: false } });
    const { guest, token } = await session();
    const seen = arrivals(guest);
    sim.faults.slowAnswer('onMessage', 300, { sessionToken: token });
    const asked = Date.now();
    const slow = guest.say(token, 'slow');
    // Acted on at once: the message is in the conversation before its answer leaves.
    await waitFor(() => JSON.stringify(sim.conversationMessages(token)).includes('"slow"'));
    expect((await guest.say(token, 'quick')).body.text).toBe('quick');
    expect((await slow).body.text).toBe('slow');
    expect(Date.now() - asked).toBeGreaterThanOrEqual(290);
    expect(seen).toEqual(['StructuredMessage quick', 'StructuredMessage slow']);
  });

  it('expireSession sends SessionExpiredEvent now and answers 4006 afterwards', async () => {
    const { guest, token } = await session();
    sim.faults.expireSession(token);
    expect(await guest.next(isClass('SessionExpiredEvent'))).toEqual({
      type: 'response',
      class: 'SessionExpiredEvent',
      code: 200,
      body: {},
    });
    expect(await guest.say(token, 'late')).toMatchObject({ class: 'string', code: 4006 });
    expect(await guest.request({ action: 'getJwt', token })).toMatchObject({ class: 'string', code: 4006 });
  });
});

describe('reset', () => {
  it('forgets sessions, records and counters and terminates open sockets', async () => {
    const { guest, token } = await session();
    await guest.say(token, 'before reset');
    sim.faults.refuseHandshake(500);
    sim.reset();
    await guest.closed;
    expect(sim.received).toEqual([]);
    expect(sim.framesFor(token)).toEqual([]);
    expect(sim.stats.connectionsOpened).toBe(0);
    expect(sim.conversationMessages(token)).toEqual([]);
    const again = await session(token);
    expect(again.guest.frames[0].body.newSession).toBe(true);
  });
});
