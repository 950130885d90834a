import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { handshakeStatus, isClass, isMessage, RawGuest } from '../support/rawGuest';
import { waitFor } from '../support/wait';

/**
 * @simulator kind it tests the default profile's socket; profile.test.ts tests what strict changes
 */
let sim: Simulator;
const guests: RawGuest[] = [];

async function connect(opts?: { origin?: string }): Promise<RawGuest> {
  const guest = await RawGuest.connect(sim, opts);
  guests.push(guest);
  return guest;
}

beforeAll(async () => {
  // Several messages a test, faster than Genesys's 2 a second: the rate has its own test below.
  sim = await startSimulator({ messagesPerSecond: 5 });
});

afterEach(async () => {
  await Promise.all(guests.splice(0).map((g) => g.close()));
  sim.reset();
  sim.setOptions({
    allowAllDomains: true,
    allowedDomains: [],
    showUserTypingIndicator: true,
    conversationClear: true,
    sessionDurationSeconds: 259_200,
    clock: Date.now,
    agent: { enabled: true, greeting: undefined },
  });
});

afterAll(() => sim.stop());

describe('handshake', () => {
  it('accepts /v1 with the deployment id and no auth header', async () => {
    expect(await handshakeStatus(`${sim.urls.webMessagingUrl}/v1?deploymentId=${sim.deploymentId}`)).toBe(101);
    expect(sim.stats.connectionsOpened).toBe(1);
  });

  it('refuses an unknown or missing deploymentId with 403', async () => {
    expect(await handshakeStatus(`${sim.urls.webMessagingUrl}/v1?deploymentId=${randomUUID()}`)).toBe(403);
    expect(await handshakeStatus(`${sim.urls.webMessagingUrl}/v1`)).toBe(403);
    expect(sim.stats.connectionsOpened).toBe(0);
  });

  it('checks the Origin hostname against a restricted deployment', async () => {
    sim.setOptions({ allowAllDomains: false, allowedDomains: ['shop.example.com', 'example.org'] });
    const url = `${sim.urls.webMessagingUrl}/v1?deploymentId=${sim.deploymentId}`;
    expect(await handshakeStatus(url, { origin: 'https://shop.example.com' })).toBe(101);
    expect(await handshakeStatus(url, { origin: 'https://shop.example.com:8443' })).toBe(101);
    expect(await handshakeStatus(url, { origin: 'https://www.example.org' })).toBe(101);
    expect(await handshakeStatus(url, { origin: 'https://evil.example.net' })).toBe(403);
    expect(await handshakeStatus(url, { origin: 'https://notexample.org' })).toBe(403);
    expect(await handshakeStatus(url)).toBe(403);
  });
});

describe('configureSession', () => {
  it('starts a new session, then resumes it on another connection with newSession false', async () => {
    const token = randomUUID();
    const first = await connect();
    const askedAt = Math.floor(Date.now() / 1000);
    const reply = await first.configure(sim, token, {
      startNew: false,
      journeyContext: { customer: { id: token, idType: 'cookie' }, customerSession: { id: '', type: 'web' } },
    });
    const answeredAt = Math.floor(Date.now() / 1000);
    expect(reply).toMatchObject({ type: 'response', class: 'SessionResponse', code: 200 });
    expect(reply.body).toMatchObject({
      connected: true,
      newSession: true,
      readOnly: false,
      maxCustomDataBytes: 2048,
      clearedExistingSession: false,
      durationSeconds: 259_200,
    });
    expect(reply.body.allowedMedia.inbound.fileTypes).toEqual(expect.arrayContaining([{ type: '*/*' }]));
    expect(reply.body.blockedExtensions).toContain('.exe');
    // The session's 72 hours count from when it was configured: the whole seconds around the request bracket it.
    expect(reply.body.expirationDate).toBeGreaterThanOrEqual(askedAt + 259_200);
    expect(reply.body.expirationDate).toBeLessThanOrEqual(answeredAt + 259_200);

    const second = await connect();
    const resumed = await second.configure(sim, token);
    expect(resumed.body).toMatchObject({ connected: true, newSession: false, readOnly: false });
    expect(sim.stats.connectionsBySession(token)).toBe(2);
    expect(sim.stats.openConnections()).toBe(2);
  });

  it('answers a wrong deploymentId in the frame with 400 "Deployment not found"', async () => {
    const guest = await connect();
    const reply = await guest.request({ action: 'configureSession', token: randomUUID(), deploymentId: randomUUID() });
    expect(reply).toMatchObject({ type: 'response', class: 'string', code: 400, body: 'Deployment not found' });
  });
});

describe('onMessage text', () => {
  it('echoes the message as an Inbound StructuredMessage with the tracingId, then the agent types and replies', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    const tracingId = randomUUID();
    guest.send({
      action: 'onMessage',
      token,
      tracingId,
      message: { type: 'Text', text: 'Hello world', metadata: { id: 'client-msg-1' } },
    });
    const echo = await guest.next(isMessage('Inbound'));
    expect(echo).toMatchObject({ type: 'message', class: 'StructuredMessage', code: 200, tracingId });
    expect(echo.body).toMatchObject({ type: 'Text', text: 'Hello world', direction: 'Inbound', originatingEntity: '' });
    expect(echo.body.channel.messageId).toBe('client-msg-1');
    expect(echo.body.id).not.toBe('client-msg-1');
    expect(new Date(echo.body.channel.time).toISOString()).toBe(echo.body.channel.time);

    const typing = await guest.next(isMessage('Outbound'));
    expect(typing.body).toMatchObject({
      type: 'Event',
      events: [{ eventType: 'Typing', typing: { type: 'On', duration: 5000 } }],
    });
    const reply = await guest.next(isMessage('Outbound'));
    expect(reply.body).toMatchObject({
      type: 'Text',
      text: 'You said: Hello world',
      direction: 'Outbound',
      originatingEntity: 'Bot',
    });
    expect(reply.body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(reply.tracingId).toBeUndefined();

    // Typing is not history; the echo and the reply are.
    expect(sim.conversationMessages(token)).toEqual([echo.body, reply.body]);
  });

  it('pushes the echo and the replies to every connection of the session', async () => {
    const token = randomUUID();
    const a = await connect();
    const b = await connect();
    await a.configure(sim, token);
    await b.configure(sim, token);
    await a.say(token, 'to both');
    const seenByB = await b.next(isMessage('Inbound'));
    expect(seenByB.body.text).toBe('to both');
    expect((await b.next((f) => isMessage('Outbound', 'Text')(f))).body.text).toBe('You said: to both');
  });

  it('answers "quick replies" with QuickReply content and a button answer with the choice', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    await guest.say(token, 'show me quick replies please');
    const structured = await guest.next(isMessage('Outbound', 'Structured'));
    expect(structured.body).toMatchObject({ text: 'What would you like to do?', originatingEntity: 'Bot' });
    expect(structured.body.content).toEqual([
      { contentType: 'QuickReply', quickReply: expect.objectContaining({ text: 'Yes', payload: expect.any(String) }) },
      { contentType: 'QuickReply', quickReply: expect.objectContaining({ text: 'No' }) },
    ]);

    const answer = await guest.request({
      action: 'onMessage',
      token,
      message: {
        type: 'Text',
        text: '',
        content: [
          {
            contentType: 'ButtonResponse',
            buttonResponse: {
              type: 'QuickReply',
              text: 'Yes',
              payload: 'payload-1',
              originatingMessageId: structured.body.id,
            },
          },
        ],
      },
    });
    expect(answer.body.content[0].buttonResponse.text).toBe('Yes');
    expect((await guest.next(isMessage('Outbound', 'Text'))).body.text).toBe('You chose: Yes');
  });

  it('says nothing to "silence", and nothing at all when the agent is off', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    // Answers are scheduled with fixed delays, so a reply to an earlier message would arrive first.
    await guest.say(token, 'silence please');
    sim.setOptions({ agent: { enabled: false } });
    await guest.say(token, 'anyone?');
    sim.setOptions({ agent: { enabled: true } });
    await guest.say(token, 'hello');
    const outbound = [await guest.next(isMessage('Outbound')), await guest.next(isMessage('Outbound'))];
    expect(outbound.map((f) => f.body.type)).toEqual(['Event', 'Text']);
    expect(outbound[1].body.text).toBe('You said: hello');
    expect(guest.pending()).toEqual([]);
  });

  it('lets a test speak as a human agent', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    sim.agent.typing(token);
    sim.agent.say(token, 'Hi, I am Ann', { originatingEntity: 'Human' });
    sim.agent.say(token, 'Pick one', { quickReplies: ['A', 'B'] });
    expect((await guest.next(isMessage('Outbound', 'Event'))).body.events[0].eventType).toBe('Typing');
    expect((await guest.next(isMessage('Outbound', 'Text'))).body).toMatchObject({
      text: 'Hi, I am Ann',
      originatingEntity: 'Human',
    });
    expect((await guest.next(isMessage('Outbound', 'Structured'))).body.content).toHaveLength(2);
    expect(() => sim.agent.say('no-such-token', 'x')).toThrow(/no session/);
  });

  it("lets a test send Genesys's receipt about a guest message", async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    sim.agent.receipt(token, 'the-echo-id', 'Failed', [{ code: 'DataFiltered', message: 'Blocked' }]);
    expect((await guest.next(isMessage('Outbound', 'Receipt'))).body).toMatchObject({
      id: 'the-echo-id',
      status: 'Failed',
      reasons: [{ code: 'DataFiltered', message: 'Blocked' }],
    });
    expect(() => sim.agent.receipt('no-such-token', 'x', 'Read')).toThrow(/no session/);
  });
});

describe('custom attributes', () => {
  it('reads them only from message.channel.metadata.customAttributes and keeps them on the conversation', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    await guest.say(token, 'one', { channel: { metadata: { customAttributes: { plan: 'gold', lang: 'en' } } } });
    await guest.request({
      action: 'onMessage',
      token,
      channel: { metadata: { customAttributes: { topLevel: 'ignored' } } },
      message: { type: 'Text', text: 'two' },
    });
    await guest.say(token, 'three', { channel: { metadata: { customAttributes: { lang: 'fr' } } } });
    expect(sim.customAttributes(token)).toEqual({ plan: 'gold', lang: 'fr' });
  });

  it('refuses a message whose attributes exceed maxCustomDataBytes with 4013, keeping nothing', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    // 1 + 2046 bytes fits exactly; one more byte does not. "é" is two UTF-8 bytes.
    const ok = await guest.say(token, 'fits', {
      channel: { metadata: { customAttributes: { k: 'x'.repeat(2045) + 'é' } } },
    });
    expect(ok.class).toBe('StructuredMessage');
    const tracingId = randomUUID();
    const refused = await guest.request({
      action: 'onMessage',
      token,
      tracingId,
      message: {
        type: 'Text',
        text: 'too big',
        channel: { metadata: { customAttributes: { k: 'x'.repeat(2046) + 'é' } } },
      },
    });
    expect(refused).toEqual({
      type: 'response',
      class: 'string',
      code: 4013,
      body: 'Custom Attributes in channel metadata is larger than 2048 bytes',
      tracingId,
    });
    expect(sim.conversationMessages(token).map((m) => (m as { text?: string }).text)).not.toContain('too big');
  });
});

describe('limits and errors', () => {
  it('refuses text over 4096 UTF-8 bytes with 4011', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    expect((await guest.say(token, 'a'.repeat(4096))).class).toBe('StructuredMessage');
    const refused = await guest.say(token, 'é'.repeat(2049));
    expect(refused).toMatchObject({
      type: 'response',
      class: 'string',
      code: 4011,
      body: 'Message length 4098 is larger than 4096',
    });
  });

  it('answers a sixth message within a second with TooManyRequestsErrorMessage 429/4029', async () => {
    let now = 1_000_000;
    sim.setOptions({ agent: { enabled: false }, clock: () => now });
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    for (let i = 0; i < 5; i++) {
      now += 100;
      expect((await guest.say(token, `m${i}`)).class).toBe('StructuredMessage');
    }
    now += 100; // the first of the five is 500 ms old
    const tracingId = randomUUID();
    const refused = await guest.request({
      action: 'onMessage',
      token,
      tracingId,
      message: { type: 'Text', text: 'm5' },
    });
    expect(refused).toEqual({
      type: 'response',
      class: 'TooManyRequestsErrorMessage',
      code: 429,
      body: { retryAfter: 1, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
      tracingId,
    });
    now += 500; // the first has left the rolling second
    expect((await guest.say(token, 'm6')).class).toBe('StructuredMessage');
    expect(await guest.say(token, 'm7')).toMatchObject({ class: 'TooManyRequestsErrorMessage' });
    expect(sim.conversationMessages(token)).toHaveLength(6);
  });

  it('answers onMessage before configureSession, or with an unknown token, with 4007', async () => {
    const guest = await connect();
    const token = randomUUID();
    expect(await guest.say(token, 'hi')).toMatchObject({ class: 'string', code: 4007 });
    // A session configured on another connection is not this connection's.
    const other = await connect();
    await other.configure(sim, token);
    expect(await guest.say(token, 'hi')).toMatchObject({ class: 'string', code: 4007 });
    expect(await guest.request({ action: 'getJwt', token })).toMatchObject({ class: 'string', code: 4007 });
  });

  it('answers unknown actions, invalid JSON and malformed frames with 400 "Request failed."', async () => {
    const guest = await connect();
    expect(await guest.request({ action: 'clearConversation', token: 'x' })).toMatchObject({
      class: 'string',
      code: 400,
      body: 'Request failed.',
    });
    guest.send('{not json');
    expect(await guest.next()).toEqual({ type: 'response', class: 'string', code: 400, body: 'Request failed.' });
    expect(await guest.request({ action: 'onMessage', token: 'x' })).toMatchObject({ class: 'string', code: 400 });
    expect(sim.received.at(-1)?.raw).toContain('"onMessage"');
  });

  it('expires the session: SessionExpiredEvent to connected sockets, 4006 afterwards', async () => {
    sim.setOptions({ sessionDurationSeconds: 0.2 });
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    expect(await guest.next(isClass('SessionExpiredEvent'))).toEqual({
      type: 'response',
      class: 'SessionExpiredEvent',
      code: 200,
      body: {},
    });
    expect(await guest.say(token, 'still there?')).toMatchObject({ type: 'response', class: 'string', code: 4006 });
    expect(await guest.configure(sim, token)).toMatchObject({ class: 'string', code: 4006 });
  });
});

describe('events', () => {
  it('accepts guest typing without any reply, and refuses it with 403 when the indicator is off', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    const typing = {
      action: 'onMessage',
      token,
      message: { type: 'Event', events: [{ eventType: 'Typing', typing: { type: 'On' } }] },
    };
    guest.send({ ...typing, tracingId: 'typing-1' });
    await guest.sync(token);
    expect(guest.pending()).toEqual([]);
    expect(guest.frames.some((f) => f.tracingId === 'typing-1')).toBe(false);

    sim.setOptions({ showUserTypingIndicator: false });
    expect(await guest.request(typing)).toMatchObject({
      class: 'string',
      code: 403,
      body: 'Turn on the Feature Toggle or fix the configuration.',
    });
  });

  it('echoes an autostart Presence Join and stores its custom attributes', async () => {
    sim.setOptions({ agent: { greeting: 'Welcome!' } });
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    const join = await guest.request({
      action: 'onMessage',
      token,
      message: {
        type: 'Event',
        events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
        channel: { metadata: { customAttributes: { A: 'B' } } },
      },
    });
    expect(join).toMatchObject({ type: 'message', class: 'StructuredMessage' });
    expect(join.body).toMatchObject({
      type: 'Event',
      direction: 'Inbound',
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
    });
    expect(sim.customAttributes(token)).toEqual({ A: 'B' });
    expect((await guest.next(isMessage('Outbound', 'Text'))).body.text).toBe('Welcome!');
  });

  it('clears the conversation: SessionClearedEvent to every connection, which then close; the token starts afresh', async () => {
    const token = randomUUID();
    const a = await connect();
    const b = await connect();
    await a.configure(sim, token);
    await b.configure(sim, token);
    await a.say(token, 'something to forget');
    a.send({
      action: 'onMessage',
      token,
      tracingId: 'clear-1',
      message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] },
    });
    expect(await a.next(isClass('SessionClearedEvent'))).toEqual({
      type: 'message',
      class: 'SessionClearedEvent',
      code: 200,
      body: {},
    });
    expect(await b.next(isClass('SessionClearedEvent'))).toMatchObject({ body: {} });
    await Promise.all([a.closed, b.closed]);
    expect(sim.conversationMessages(token)).toEqual([]);

    const again = await connect();
    expect((await again.configure(sim, token)).body.newSession).toBe(true);
  });

  it('refuses Presence Clear with 403 when conversationClear is off', async () => {
    sim.setOptions({ conversationClear: false });
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    const reply = await guest.request({
      action: 'onMessage',
      token,
      message: { type: 'Event', events: [{ eventType: 'Presence', presence: { type: 'Clear' } }] },
    });
    expect(reply).toMatchObject({
      type: 'response',
      class: 'string',
      code: 403,
      body: 'Presence events Conversation Clear are not supported',
    });
  });
});

describe('disconnect, read-only and startNew', () => {
  it('ends the conversation read-only on "disconnect"; closeSession then startNew opens a new one', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    await guest.say(token, 'please disconnect me');
    const disconnect = await guest.next(
      (f) => isMessage('Outbound', 'Event')(f) && f.body.events[0].eventType === 'Presence',
    );
    expect(disconnect.body).toMatchObject({
      metadata: { readOnly: 'true' },
      events: [{ eventType: 'Presence', presence: { type: 'Disconnect' } }],
    });

    const refused = await guest.say(token, 'hello?');
    expect(refused).toMatchObject({ type: 'response', class: 'string', code: 403 });
    expect((await guest.configure(sim, token)).body).toMatchObject({
      connected: true,
      newSession: false,
      readOnly: true,
    });

    const closed = await guest.request({ action: 'closeSession', token, closeAllConnections: true });
    expect(closed).toMatchObject({
      type: 'response',
      class: 'SessionResponse',
      body: { connected: false, readOnly: true },
    });

    const fresh = await guest.configure(sim, token, { startNew: true });
    expect(fresh.body).toMatchObject({ connected: true, newSession: true, readOnly: false });
    expect(sim.conversationMessages(token)).toEqual([]);
    expect((await guest.say(token, 'new start')).body.text).toBe('new start');
  });

  it('lets a test disconnect without read-only', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    sim.agent.disconnect(token, { readOnly: false });
    expect((await guest.next(isMessage('Outbound', 'Event'))).body.metadata).toEqual({ readOnly: 'false' });
    expect((await guest.say(token, 'still open')).class).toBe('StructuredMessage');
  });

  it('closeSession sends ConnectionClosedEvent to the other connections of the session', async () => {
    const token = randomUUID();
    const a = await connect();
    const b = await connect();
    await a.configure(sim, token);
    await b.configure(sim, token);
    const reply = await a.request({ action: 'closeSession', token, closeAllConnections: true });
    expect(reply.body).toMatchObject({ connected: false, readOnly: true });
    expect(await b.next(isClass('ConnectionClosedEvent'))).toEqual({
      type: 'message',
      class: 'ConnectionClosedEvent',
      code: 200,
      body: {},
    });
    await b.closed;
    // The requester is no longer attached to the session.
    expect(await a.say(token, 'x')).toMatchObject({ class: 'string', code: 4007 });
  });
});

describe('connections per session', () => {
  it('closes the oldest connection with ConnectionClosedEvent when a 4th one configures the session', async () => {
    const token = randomUUID();
    const conns = [await connect(), await connect(), await connect(), await connect()];
    for (const c of conns.slice(0, 3)) await c.configure(sim, token);
    await conns[3]!.configure(sim, token);
    expect(await conns[0]!.next(isClass('ConnectionClosedEvent'))).toMatchObject({ body: {} });
    await conns[0]!.closed;
    for (const c of conns.slice(1)) expect(c.pending().some(isClass('ConnectionClosedEvent'))).toBe(false);
    expect(sim.stats.connectionsBySession(token)).toBe(4);
    expect(sim.stats.peakConnectionsBySession(token)).toBe(4);
    expect(sim.stats.evictionsBySession(token)).toBe(1);
    expect(sim.stats.connectionsEvicted).toBe(1);
    await waitFor(() => expect(sim.stats.openConnections()).toBe(3));
  });
});

describe('echo', () => {
  it('answers a response StructuredMessage "ping" with the session duration as strings', async () => {
    const token = randomUUID();
    const guest = await connect();
    const session = await guest.configure(sim, token);
    const reply = await guest.request({
      action: 'echo',
      token,
      tracingId: 'SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=',
      message: { type: 'Text', text: 'ping' },
    });
    expect(reply).toMatchObject({
      type: 'response',
      class: 'StructuredMessage',
      code: 200,
      tracingId: 'SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=',
    });
    expect(reply.body).toMatchObject({
      type: 'Text',
      text: 'ping',
      direction: 'Inbound',
      metadata: { durationSeconds: '259200', expirationDate: String(session.body.expirationDate) },
    });
    // [MCP] sends echo with neither token nor tracingId.
    guest.send({ action: 'echo', message: { type: 'Text', text: 'ping' } });
    const bare = await guest.next(isClass('StructuredMessage'));
    expect(bare.body.text).toBe('ping');
    expect(bare.body.metadata).toBeUndefined();
  });
});

describe('recording', () => {
  it('records every received frame with its connection and session token', async () => {
    const token = randomUUID();
    const guest = await connect();
    await guest.configure(sim, token);
    await guest.say(token, 'recorded');
    const frames = sim.framesFor(token);
    expect(frames.map((f) => f.frame.action)).toEqual(['configureSession', 'onMessage']);
    const [configure, message] = frames;
    expect(configure!.connectionId).toBe(message!.connectionId);
    expect(message!.sessionToken).toBe(token);
    expect(JSON.parse(message!.raw)).toEqual(message!.frame);
    expect(message!.frame.message).toEqual({ type: 'Text', text: 'recorded' });
    expect(sim.framesFor(token, 'onMessage')).toHaveLength(1);
    expect(typeof message!.at).toBe('number');
  });
});
