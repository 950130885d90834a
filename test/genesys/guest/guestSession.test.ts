import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { startSimulator, type Simulator } from '../../../simulator';
import { GuestApiError } from '../../../src/genesys/guest/protocol/errors';
import { parseInbound, type InboundFrame } from '../../../src/genesys/guest/protocol/frames';
import type { GuestSession, NoticeEvent } from '../../../src/genesys/guest/guestSession';
import type { SessionHub } from '../../../src/genesys/guest/sessionHub';
import { createGenesysHttp } from '../../../src/genesys/restClient';
import { WebDeploymentTokens } from '../../../src/genesys/guest/rest/webDeploymentTokens';
import { StandInGate } from '../../support/genesysGate';
import { collect, hubFor } from '../../support/guestHub';
import { signInAt } from '../../support/signIn';
import { waitFor } from '../../support/wait';

/**
 * @simulator kind one test runs both profiles, to show a 401 is handled traced or not
 */
let sim: Simulator;
let hub: SessionHub;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 15 } });
});
afterAll(() => sim.stop());
beforeEach(() => {
  sim.reset();
  sim.setOptions({ messagesPerSecond: 5, autoStart: false, showUserTypingIndicator: true });
  hub = hubFor(sim);
});
afterEach(() => hub.close());

/** Feeds a raw frame to a session as if it came off its socket. */
function frameFeed(session: GuestSession): (frame: InboundFrame) => void {
  return (frame) => session.received(frame);
}

async function failure(promise: Promise<unknown>): Promise<GuestApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GuestApiError);
  return error as GuestApiError;
}

describe('configure and resume', () => {
  test('a new token starts a new session; the same token resumes it on another socket', async () => {
    const token = randomUUID();
    const first = await hub.session(token).ready();
    expect(first).toMatchObject({ connected: true, newSession: true, readOnly: false, maxCustomDataBytes: 2048 });

    const other = hubFor(sim);
    const resumed = await other.session(token).ready();
    other.close();
    expect(resumed).toMatchObject({ connected: true, newSession: false });

    const configure = sim.framesFor(token, 'configureSession')[0]!.frame;
    expect(configure).toMatchObject({
      action: 'configureSession',
      token,
      deploymentId: sim.deploymentId,
      startNew: false,
    });
    expect(typeof configure.tracingId).toBe('string');
  });

  test('the socket presents the configured Origin and the deployment id', async () => {
    sim.setOptions({ allowAllDomains: false, allowedDomains: ['shop.example.com'] });
    const refused = await failure(hub.session(randomUUID()).ready());
    expect(refused.failure).toBe('handshake_refused');
    expect(refused.message).toMatch(/GENESYS_ORIGIN/);

    const allowedHub = hubFor(sim, { origin: 'https://shop.example.com' });
    await expect(allowedHub.session(randomUUID()).ready()).resolves.toMatchObject({ connected: true });
    allowedHub.close();
    sim.setOptions({ allowAllDomains: true, allowedDomains: [] });
  });

  test('a handshake refused with 403 is a typed error naming what to check', async () => {
    sim.faults.refuseHandshake(403, 1);
    const error = await failure(hub.session(randomUUID()).ready());
    expect(error.failure).toBe('handshake_refused');
    expect(error.code).toBe('upstream_unavailable');
    expect(error.message).toMatch(/GENESYS_DEPLOYMENT_ID/);
  });

  test('a configure Genesys does not answer fails at the request deadline, saying so', async () => {
    const short = hubFor(sim, { requestTimeoutMs: 300 });
    try {
      const token = randomUUID();
      sim.faults.delayFrames(2000, token);
      const error = await failure(short.session(token).ready());
      expect(error).toMatchObject({
        failure: 'timeout',
        status: 504,
        message: 'Genesys did not answer in time; please retry.',
      });
    } finally {
      short.close();
      sim.faults.clear();
    }
  });

  test('signing in mid-chat keeps the conversation: configureAuthenticatedSession goes without startNew, on the same socket', async () => {
    const http = createGenesysHttp({ timeoutMs: 2000 });
    try {
      const tokens = new WebDeploymentTokens(http.axios, sim.urls.apiUrl, sim.deploymentId, pino({ level: 'silent' }));
      const token = randomUUID();
      const session = hub.session(token);
      await session.sendText({ text: 'before signing in', messageId: randomUUID() });
      const signIn = await tokens.exchange(await signInAt(sim, 'customer-step-up'));
      await expect(session.upgrade(signIn)).resolves.toMatchObject({ connected: true });
      expect(sim.framesFor(token, 'configureAuthenticatedSession').map((f) => f.frame)).toEqual([
        expect.objectContaining({ startNew: false, data: { code: signIn.jwt } }),
      ]);
      expect(sim.stats.connectionsBySession(token)).toBe(1);
      expect((sim.conversationMessages(token) as { text?: string }[]).map((m) => m.text)).toContain(
        'before signing in',
      );
      // Asked again (a retry of the same sign-in): the socket is configured signed in already; nothing goes out.
      await expect(session.upgrade(signIn, true)).resolves.toMatchObject({ connected: true });
      expect(sim.framesFor(token, 'configureAuthenticatedSession')).toHaveLength(1);
      // A new sign-in (not a retry) on a socket signed in already goes out: the customer signed in afresh.
      const renewed = await tokens.exchange(await signInAt(sim, 'customer-step-up'));
      await expect(session.upgrade(renewed)).resolves.toMatchObject({ connected: true });
      expect(sim.framesFor(token, 'configureAuthenticatedSession').map((f) => f.frame.data)).toEqual([
        { code: signIn.jwt },
        { code: renewed.jwt },
      ]);
      // A retry on a session object with no socket yet (another instance's) is configured signed in from the
      // start: no anonymous configure, which Genesys refuses for a signed-in conversation.
      const other = hubFor(sim);
      try {
        const anonymous = sim.framesFor(token, 'configureSession').length;
        await expect(other.session(token).upgrade(signIn, true)).resolves.toMatchObject({ connected: true });
        expect(sim.framesFor(token, 'configureSession')).toHaveLength(anonymous);
        expect(sim.framesFor(token, 'configureAuthenticatedSession')).toHaveLength(3);
      } finally {
        other.close();
      }
      // A retry on a socket configured anonymously still signs in on it.
      const anonymous = randomUUID();
      const fresh = hub.session(anonymous);
      await fresh.ready();
      const again = await tokens.exchange(await signInAt(sim, 'customer-step-up-again'));
      await expect(fresh.upgrade(again, true)).resolves.toMatchObject({ connected: true });
      expect(sim.framesFor(anonymous, 'configureAuthenticatedSession')).toHaveLength(1);
    } finally {
      http.close();
    }
  });
});

describe('a sign-in through another instance', () => {
  async function exchanged(customer: string) {
    const http = createGenesysHttp({ timeoutMs: 2000 });
    try {
      const tokens = new WebDeploymentTokens(http.axios, sim.urls.apiUrl, sim.deploymentId, pino({ level: 'silent' }));
      return await tokens.exchange(await signInAt(sim, customer));
    } finally {
      http.close();
    }
  }

  test('the anonymous session it took over hands over: its streams reconnect, nothing says signed_in_elsewhere', async () => {
    // Around a restart a session's requests move to one instance while its stream stays on another; Genesys
    // closes the other's connection with signedIn when the sign-in goes through the first.
    const token = randomUUID();
    const before = hub.session(token);
    const live = collect(before);
    await before.sendText({ text: 'before signing in', messageId: randomUUID() });
    const other = hubFor(sim);
    try {
      await other.session(token).upgrade(await exchanged('customer-moved'));
      const last = await live.next((e) => e.type === 'session' && e.state !== 'reconnecting');
      expect(last).toEqual({ type: 'session', state: 'unavailable', detail: expect.stringMatching(/reconnect/) });
      expect(live.events).not.toContainEqual(expect.objectContaining({ state: 'signed_in_elsewhere' }));
      // The old object left service; the token's next use here is a new session, not a dead one.
      await waitFor(() => before.isDead);
      expect(hub.session(token)).not.toBe(before);
      await waitFor(() => sim.stats.openConnectionsBySession(token) === 1);
      live.unsubscribe();
    } finally {
      other.close();
    }
  });

  /**
   * A relay in front of the simulator whose frames from the service wait while `hold` is on: a frame the service
   * wrote before something it did next, reaching Genesys after it (as on a slowed network).
   */
  async function heldRelay() {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    let held: (() => void)[] | undefined;
    const heldActions: string[] = [];
    server.on('connection', (client, req) => {
      const upstream = new WebSocket(`${sim.urls.webMessagingUrl.replace(/\/+$/, '')}${req.url}`, {
        origin: req.headers.origin,
      });
      // Text frames stay text: Genesys speaks JSON in text frames.
      const queued: string[] = [];
      upstream.on('open', () => queued.splice(0).forEach((data) => upstream.send(data)));
      upstream.on('message', (data: Buffer) => client.send(data.toString()));
      upstream.on('close', () => client.close());
      upstream.on('error', () => client.terminate());
      client.on('close', () => upstream.close());
      client.on('message', (raw: Buffer) => {
        const data = raw.toString();
        const pass = () => (upstream.readyState === WebSocket.OPEN ? upstream.send(data) : queued.push(data));
        if (!held) return pass();
        heldActions.push((JSON.parse(data) as { action?: string }).action ?? '');
        held.push(pass);
      });
    });
    return {
      url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
      heldActions,
      hold: () => void (held = []),
      release: () => {
        const waiting = held ?? [];
        held = undefined;
        waiting.forEach((pass) => pass());
      },
      close: () => {
        for (const client of server.clients) client.terminate();
        return new Promise((resolve) => server.close(resolve));
      },
    };
  }

  test('a signed-in request joining an anonymous configure Genesys refuses (4017) configures again signed in: sent once', async () => {
    // Around a restart: a stream reconnects here with a ticket from before the customer's sign-in, and its anonymous
    // configure reaches Genesys after the sign-in through another instance; the customer's next send, with the
    // signed-in token, comes here meanwhile and waits on that same configure.
    const token = randomUUID();
    await hub.session(token).sendText({ text: 'before signing in', messageId: randomUUID() });
    const signIn = await exchanged('customer-racing');
    await hub.session(token).upgrade(signIn);
    const relay = await heldRelay();
    const here = hubFor(sim, { webMessagingUrl: relay.url });
    try {
      relay.hold();
      const streamConnect = here.session(token).ready();
      streamConnect.catch(() => undefined);
      await waitFor(() => relay.heldActions.includes('configureSession'));
      const sent = here.session(token, signIn).sendText({ text: 'right after signing in', messageId: randomUUID() });
      sent.catch(() => undefined);
      relay.release();
      await expect(sent).resolves.toMatchObject({ text: 'right after signing in' });
      await expect(streamConnect).resolves.toMatchObject({ connected: true });
      expect(here.session(token).signIn.configuredSignedIn).toBe(true);
      const texts = (sim.conversationMessages(token) as { text?: string }[]).map((m) => m.text);
      expect(texts.filter((t) => t === 'right after signing in')).toHaveLength(1);
    } finally {
      here.close();
      await relay.close();
    }
  });

  test('an anonymous configure Genesys refuses (4017) leaves the session to a signed-in request: streams reconnect, nothing says expired', async () => {
    // The session a send took before its wait on the shared store; meanwhile the stream's anonymous configure was
    // refused. The send then configures it with the credentials its token carries.
    const token = randomUUID();
    await hub.session(token).sendText({ text: 'before signing in', messageId: randomUUID() });
    const signIn = await exchanged('customer-later');
    await hub.session(token).upgrade(signIn);
    const here = hubFor(sim);
    try {
      const session = here.session(token);
      const live = collect(session);
      const refused = await failure(session.ready());
      expect(refused).toMatchObject({ failure: 'cannot_downgrade', code: 'cannot_downgrade', status: 409 });
      expect(session.isDead).toBe(false);
      expect(live.events).toContainEqual(expect.objectContaining({ type: 'session', state: 'unavailable' }));
      expect(live.events).not.toContainEqual(expect.objectContaining({ state: 'expired' }));
      expect(here.session(token, signIn)).toBe(session);
      await expect(session.sendText({ text: 'signed in here', messageId: randomUUID() })).resolves.toMatchObject({
        text: 'signed in here',
      });
      expect(sim.framesFor(token, 'configureSession')).toHaveLength(2);
      live.unsubscribe();
    } finally {
      here.close();
    }
  });

  test("a signed-in session cleared by the customer's newer sign-in still ends with signed_in_elsewhere", async () => {
    const older = randomUUID();
    const customer = 'customer-two-devices';
    const session = hub.session(older, await exchanged(customer));
    const live = collect(session);
    await session.ready();
    const other = hubFor(sim);
    try {
      await other.session(randomUUID()).upgrade(await exchanged(customer));
      const last = await live.next((e) => e.type === 'session' && !['reconnecting', 'signed_in'].includes(e.state));
      expect(last).toMatchObject({ type: 'session', state: 'signed_in_elsewhere' });
      live.unsubscribe();
    } finally {
      other.close();
    }
  });
});

describe('messages', () => {
  test('a text is sent in the reference shape and resolves with its Inbound echo', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const messageId = randomUUID();
    const echo = await session.sendText({ text: 'Hello there', messageId });
    // Under the strict profile the echo carries Genesys's own channel.messageId, not ours.
    expect(echo).toMatchObject({ direction: 'inbound', type: 'text', text: 'Hello there' });

    const sent = sim.framesFor(token, 'onMessage')[0]!.frame;
    expect(sent).toEqual({
      action: 'onMessage',
      token,
      tracingId: expect.any(String),
      message: { type: 'Text', text: 'Hello there', metadata: { id: messageId } },
    });
  });

  test('a file goes up to the plain-HTTP upload URL a ws:// Guest API (a local simulator) gives, and Genesys confirms it', async () => {
    const session = hub.session(randomUUID());
    const bytes = Buffer.from('a receipt, as a picture');
    const uploaded = await session.attachments.upload({
      fileName: 'receipt.png',
      mediaType: 'image/png',
      size: bytes.length,
      open: () => Readable.from([bytes]),
    });
    const asked = sim.framesFor(session.token, 'onAttachment');
    expect(asked).toHaveLength(1);
    expect(uploaded).toEqual({
      attachmentId: (asked[0]!.frame as { attachmentId: string }).attachmentId,
      downloadUrl: expect.stringMatching(/^http:\/\//),
    });
  });

  test('custom attributes travel inside message.channel.metadata.customAttributes, exactly', async () => {
    const token = randomUUID();
    const messageId = randomUUID();
    await hub
      .session(token)
      .sendText({ text: 'with data', messageId, customAttributes: { plan: 'gold', customerId: 'c-42' } });
    const frame = sim.framesFor(token, 'onMessage')[0]!.frame;
    expect(frame).toEqual({
      action: 'onMessage',
      token,
      tracingId: expect.any(String),
      message: {
        type: 'Text',
        text: 'with data',
        metadata: { id: messageId },
        channel: { metadata: { customAttributes: { plan: 'gold', customerId: 'c-42' } } },
      },
    });
    expect(frame.channel).toBeUndefined();
    expect(sim.customAttributes(token)).toEqual({ plan: 'gold', customerId: 'c-42' });
  });

  test('the agent types and replies; the stream sees typing, the echo and the reply', async () => {
    const session = hub.session(randomUUID());
    const live = collect(session);
    await session.sendText({ text: 'hi agent', messageId: randomUUID() });
    await live.next((e) => e.type === 'typing');
    const reply = await live.next((e) => e.type === 'message' && e.message.direction === 'outbound');
    expect(reply).toMatchObject({
      type: 'message',
      message: { direction: 'outbound', originatingEntity: 'bot', text: expect.stringContaining('hi agent') },
    });
    expect(
      live.events.some(
        (e) => e.type === 'message' && e.message.direction === 'inbound' && e.message.text === 'hi agent',
      ),
    ).toBe(true);
    live.unsubscribe();
  });

  test('an inbound frame over the size limit closes the socket instead of being relayed; the session reconnects', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    // Listening while a stream listens, and only then: what keeps a dropped socket reopened for streams.
    expect(session.listening).toBe(false);
    const live = collect(session);
    expect(session.listening).toBe(true);
    await session.ready();
    const sockets = sim.stats.connectionsBySession(token);
    sim.agent.say(token, 'x'.repeat(600 * 1024));
    sim.agent.say(token, 'small and fine');
    await live.next((e) => e.type === 'session' && e.state === 'reconnected');
    expect(sim.stats.connectionsBySession(token)).toBe(sockets + 1);
    expect(live.events.some((e) => e.type === 'message' && (e.message.text?.length ?? 0) > 1000)).toBe(false);
    live.unsubscribe();
    expect(session.listening).toBe(false);
  });

  test('quick replies arrive normalised and an answer goes out as a ButtonResponse', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.sendText({ text: 'quick replies please', messageId: randomUUID() });
    const offer = await live.next((e) => e.type === 'message' && (e.message.quickReplies?.length ?? 0) > 0);
    const first = (offer as { message: { id: string; quickReplies: { text: string; payload: string }[] } }).message;
    await session.sendAnswer({
      kind: 'QuickReply',
      ...first.quickReplies[0]!,
      messageId: randomUUID(),
      originatingMessageId: first.id,
    });
    const answer = sim.framesFor(token, 'onMessage').at(-1)!.frame;
    expect(answer.message.content[0]).toEqual({
      contentType: 'ButtonResponse',
      buttonResponse: {
        type: 'QuickReply',
        text: first.quickReplies[0]!.text,
        payload: first.quickReplies[0]!.payload,
        originatingMessageId: first.id,
      },
    });
    live.unsubscribe();
  });

  test('typing goes out as an Event frame, at most once per cooldown', async () => {
    let clock = Date.now();
    // The cooldown is on the hub's clock, which moves only when the test moves it.
    const frozen = hubFor(sim, { now: () => clock });
    try {
      const token = randomUUID();
      const session = frozen.session(token);
      await session.ready();
      expect(await session.sendTyping()).toBe(true);
      expect(await session.sendTyping()).toBe(false);
      clock += 4999;
      expect(await session.sendTyping()).toBe(false);
      clock += 1;
      expect(await session.sendTyping()).toBe(true);
      await waitFor(() => sim.framesFor(token, 'onMessage').length === 2);
      expect(sim.framesFor(token, 'onMessage')[0]!.frame.message).toEqual({
        type: 'Event',
        events: [{ eventType: 'Typing', typing: { type: 'On' } }],
      });
    } finally {
      frozen.close();
    }
  });

  test("the guest's own message echo ends the typing cooldown, as the SDK's does", async () => {
    let clock = Date.now();
    const frozen = hubFor(sim, { now: () => clock });
    try {
      const session = frozen.session(randomUUID());
      await session.ready();
      expect(await session.sendTyping()).toBe(true);
      expect(await session.sendTyping()).toBe(false);
      // Past the message pacing's second, well within the 5 s cooldown.
      clock += 1100;
      await session.sendText({ text: 'sent', messageId: randomUUID() });
      clock += 1100;
      expect(await session.sendTyping()).toBe(true);
    } finally {
      frozen.close();
    }
  });

  test("an agent's reply leaves the typing cooldown running: only the guest's own echo ends it", async () => {
    let clock = Date.now();
    const frozen = hubFor(sim, { now: () => clock });
    try {
      const token = randomUUID();
      const session = frozen.session(token);
      const live = collect(session);
      await session.ready();
      expect(await session.sendTyping()).toBe(true);
      sim.agent.say(token, 'from the agent');
      await live.next((e) => e.type === 'message' && e.message.text === 'from the agent');
      clock += 1100;
      expect(await session.sendTyping()).toBe(false);
      live.unsubscribe();
    } finally {
      frozen.close();
    }
  });

  test('typing the pacing held back does not start the cooldown: it goes out once the pacing allows', async () => {
    let clock = Date.now();
    const paced = hubFor(sim, { now: () => clock, messagesPerSecond: 1 });
    try {
      const token = randomUUID();
      const session = paced.session(token);
      await session.sendText({ text: 'takes this second', messageId: randomUUID() });
      expect(await session.sendTyping()).toBe(false);
      // A second later, well within the 5 s cooldown had the held typing started it.
      clock += 1100;
      expect(await session.sendTyping()).toBe(true);
    } finally {
      paced.close();
    }
  });

  test('autostart Join carries the attributes', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    await session.sendJoin({ source: 'pricing-page' });
    const frame = sim.framesFor(token, 'onMessage')[0]!.frame;
    expect(frame.message).toEqual({
      type: 'Event',
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
      channel: { metadata: { customAttributes: { source: 'pricing-page' } } },
    });
    expect(sim.customAttributes(token)).toEqual({ source: 'pricing-page' });
  });

  test("a notice of the guest's own input (masked) reaches the session's streams, and nothing goes to Genesys", async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    const frames = sim.framesFor(token).length;
    const notice: NoticeEvent = { type: 'notice', code: 'masked', detectors: ['card'], messageId: randomUUID() };
    session.notice(notice);
    expect(live.events).toContainEqual(notice);
    // A request answered after it: whatever the notice had written would have reached Genesys before it.
    await session.echo();
    expect(
      sim
        .framesFor(token)
        .slice(frames)
        .map((f) => f.frame.action),
    ).toEqual(['echo']);
    live.unsubscribe();
  });

  test('echo answers with a response-type StructuredMessage', async () => {
    const session = hub.session(randomUUID());
    await session.ready();
    await expect(session.echo()).resolves.toMatchObject({ text: 'ping', direction: 'inbound' });
  });
});

describe('lifecycle', () => {
  test('an agent disconnect makes the conversation read-only; startNew replaces it', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    sim.agent.disconnect(token, { readOnly: true });
    const presence = await live.next((e) => e.type === 'presence');
    expect(presence).toEqual({
      type: 'presence',
      genesysId: expect.any(String),
      presence: 'disconnect',
      readOnly: true,
      time: expect.any(String),
    });
    expect(session.state?.readOnly).toBe(true);

    const fresh = await session.startNew();
    expect(fresh).toMatchObject({ connected: true, readOnly: false });
    const actions = sim.framesFor(token).map((f) => f.frame.action);
    expect(actions.slice(-2)).toEqual(['closeSession', 'configureSession']);
    expect(sim.framesFor(token, 'configureSession').at(-1)!.frame.startNew).toBe(true);
    await expect(session.sendText({ text: 'new chat', messageId: randomUUID() })).resolves.toMatchObject({
      text: 'new chat',
    });
    live.unsubscribe();
  });

  test('an expired session fails pending work with session_expired and tells the stream', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    sim.faults.expireSession(token);
    const ended = await live.next((e) => e.type === 'session');
    expect(ended).toMatchObject({ type: 'session', state: 'expired' });
    const error = await failure(session.sendText({ text: 'too late', messageId: randomUUID() }));
    expect(error.code).toBe('session_expired');
    expect(error.status).toBe(410);
    // A later use of the same token through the hub meets Genesys's 4006.
    const again = await failure(hub.session(token).sendText({ text: 'still too late', messageId: randomUUID() }));
    expect(again.code).toBe('session_expired');
    expect(again.logDetail?.genesysCode).toBe(4006);
  });

  test('closeSession ends the session and closes the socket', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    await session.close();
    expect(session.state).toMatchObject({ connected: false });
    await waitFor(() => sim.stats.openConnections() === 0);
  });

  test('end() after a Clear: the streams hear the session is over (not a closed connection to reopen), and the hub lets it go', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    await session.clear();
    session.end();
    const finals = live.events.filter((e) => e.type === 'session' && e.state !== 'cleared');
    expect(finals).toEqual([{ type: 'session', state: 'expired', detail: expect.stringMatching(/ended/) }]);
    live.unsubscribe();
    expect(hub.size).toBe(0);
    expect(hub.session(token)).not.toBe(session);
  });

  test('getJwt is cached until shortly before exp and unlocks history', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.sendText({ text: 'first', messageId: randomUUID() });
    const a = await session.getJwt();
    const b = await session.getJwt();
    expect(b).toBe(a);
    expect(sim.framesFor(token, 'getJwt')).toHaveLength(1);
    const page = await hub.history.page(session, 1, 25);
    expect(page.messages.map((m) => m.text)).toContain('first');
  });

  test('every SessionResponse drops the guest JWT, as the SDK does: the next read asks Genesys afresh', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    await session.getJwt();
    expect(await session.getJwt()).toBeDefined();
    expect(sim.framesFor(token, 'getJwt')).toHaveLength(1);
    sim.faults.dropSocket(token);
    // The session configures again on a new socket: a SessionResponse.
    await waitFor(() => !session.isReady);
    await session.ready();
    expect(sim.framesFor(token, 'configureSession').length).toBeGreaterThanOrEqual(2);
    await session.getJwt();
    expect(sim.framesFor(token, 'getJwt')).toHaveLength(2);
  });
});

describe('the circuit to Genesys', () => {
  /** Settles once every callback already due has run: what opening the circuit answers at once is answered by then. */
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  test('a connect is dropped when the circuit opens and counts its failure; a send, answered by its desk, does neither', async () => {
    const gate = new StandInGate(4);
    const guarded = hubFor(sim, { upstream: gate });
    try {
      const token = randomUUID();
      const session = guarded.session(token);
      await session.ready();
      await session.sendText({ text: 'hello', messageId: randomUUID() });
      await session.sendJoin();
      await session.sendAnswer({ kind: 'QuickReply', text: 'Yes', payload: 'yes', messageId: randomUUID() });
      expect(gate.watched).toEqual([
        { abandonOnOpen: true, countFailures: true },
        { abandonOnOpen: false, countFailures: false },
        { abandonOnOpen: false, countFailures: false },
        { abandonOnOpen: false, countFailures: false },
      ]);

      // A connect under way (Genesys slow to answer its configure) is refused the moment the circuit opens.
      const slow = guarded.session(randomUUID());
      sim.faults.delayFrames(120_000, slow.token);
      let outcome: unknown;
      slow.ready().then(
        () => (outcome = 'ready'),
        (error: unknown) => (outcome = error),
      );
      await waitFor(() => sim.framesFor(slow.token, 'configureSession').length === 1);
      gate.open();
      await turn();
      expect(outcome).toMatchObject({ failure: 'circuit_open', status: 503, retryAfterSeconds: 4 });
    } finally {
      guarded.close();
      sim.faults.clear();
    }
  });

  test('while it is open a connect is refused at once, no socket asked for; an ended session says it ended', async () => {
    const gate = new StandInGate(4);
    const guarded = hubFor(sim, { upstream: gate });
    try {
      const ended = guarded.session(randomUUID());
      await ended.ready();
      sim.faults.expireSession(ended.token);
      await waitFor(() => ended.isDead);
      gate.open();
      const watched = gate.watched.length;
      expect(await failure(guarded.session(randomUUID()).ready())).toMatchObject({
        failure: 'circuit_open',
        status: 503,
      });
      // Refused before any call to Genesys is made, so none is watched.
      expect(gate.watched).toHaveLength(watched);
      expect(await failure(ended.ready())).toMatchObject({ code: 'session_expired' });
    } finally {
      guarded.close();
    }
  });
});

describe('errors', () => {
  test('4011: a text over 4096 bytes', async () => {
    const error = await failure(
      hub.session(randomUUID()).sendText({ text: 'x'.repeat(5000), messageId: randomUUID() }),
    );
    expect(error).toMatchObject({ failure: 'message_too_long', code: 'message_too_long' });
    expect(error.logDetail?.genesysCode).toBe(4011);
  });

  test('4013: attributes over maxCustomDataBytes', async () => {
    const error = await failure(
      hub
        .session(randomUUID())
        .sendText({ text: 'hi', messageId: randomUUID(), customAttributes: { big: 'y'.repeat(3000) } }),
    );
    expect(error).toMatchObject({ failure: 'attributes_too_large', code: 'attributes_too_large' });
    expect(error.logDetail?.genesysCode).toBe(4013);
  });

  test.each(['default', 'strict'] as const)(
    'a 401 mid-session (%s: traced or not) is not left to the deadline: the session configures again and the message is delivered once',
    async (profile) => {
      const own = await startSimulator({ profile, agent: { enabled: false } });
      const short = hubFor(own, { requestTimeoutMs: 20_000 });
      try {
        const token = randomUUID();
        const session = short.session(token);
        await session.ready();
        own.faults.refuseUnauthorized({ sessionToken: token });
        await expect(session.sendText({ text: 'after a 401', messageId: randomUUID() })).resolves.toMatchObject({
          text: 'after a 401',
        });
        expect(own.framesFor(token, 'configureSession')).toHaveLength(2);
        expect(own.framesFor(token, 'onMessage')).toHaveLength(2);
        expect(
          (own.conversationMessages(token) as { text?: string }[]).filter((m) => m.text === 'after a 401'),
        ).toHaveLength(1);
      } finally {
        short.close();
        await own.stop();
      }
    },
  );

  test('a second 401 soon after fails the refused message at once (not delivered, safe to retry), never at its deadline', async () => {
    const own = await startSimulator({ profile: 'strict', agent: { enabled: false } });
    const short = hubFor(own, { requestTimeoutMs: 20_000 });
    try {
      const token = randomUUID();
      const session = short.session(token);
      await session.ready();
      own.faults.refuseUnauthorized({ sessionToken: token, times: 2 });
      const error = await failure(session.sendText({ text: 'twice refused', messageId: randomUUID() }));
      expect(error).toMatchObject({ failure: 'unauthorized' });
      expect(own.conversationMessages(token)).toHaveLength(0);
    } finally {
      short.close();
      await own.stop();
    }
  });

  test('a 429 means the message was not accepted: it goes out again after retryAfter, and is delivered once', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    sim.faults.rateLimit({ retryAfter: 1, times: 1, sessionToken: token });
    await expect(session.sendText({ text: 'slow down', messageId: randomUUID() })).resolves.toMatchObject({
      text: 'slow down',
    });
    expect(sim.framesFor(token, 'onMessage')).toHaveLength(2);
    expect((sim.conversationMessages(token) as { text?: string }[]).filter((m) => m.text === 'slow down')).toHaveLength(
      1,
    );
  });

  test('a 429 whose wait runs past the request deadline is rate_limited with its Retry-After, and nothing is sent again', async () => {
    const short = hubFor(sim, { requestTimeoutMs: 3000 });
    try {
      const token = randomUUID();
      const session = short.session(token);
      await session.ready();
      sim.faults.rateLimit({ retryAfter: 7, times: 1, sessionToken: token });
      const error = await failure(session.sendText({ text: 'slow down', messageId: randomUUID() }));
      expect(error).toMatchObject({ failure: 'rate_limited', code: 'rate_limited', status: 429, retryAfterSeconds: 7 });
      expect(sim.framesFor(token, 'onMessage')).toHaveLength(1);
    } finally {
      short.close();
    }
  });

  test('onMessage frames are paced, not refused: never more than the rate in a sliding second, the Join included, each in order once the clock allows', async () => {
    // The simulator would limit too: raise its limit so only the service's own pacing is under test.
    sim.setOptions({ messagesPerSecond: 1000 });
    let clock = 1_000_000;
    const frozen = hubFor(sim, { now: () => clock, messagesPerSecond: 5 });
    try {
      const token = randomUUID();
      const session = frozen.session(token);
      await session.ready();
      await session.sendJoin();
      const sends = Array.from({ length: 6 }, (_, i) => session.sendText({ text: `m${i}`, messageId: randomUUID() }));
      await waitFor(() => sim.framesFor(token, 'onMessage').length === 5);
      // The clock has not moved: the window is full, the other two wait their turn instead of being refused.
      await new Promise((r) => setTimeout(r, 300));
      expect(sim.framesFor(token, 'onMessage')).toHaveLength(5);
      clock += 1100;
      const sent = await Promise.all(sends);
      expect(sent.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      expect(sim.framesFor(token, 'onMessage')).toHaveLength(7);
      expect(
        (sim.conversationMessages(token) as { text?: string }[]).map((m) => m.text).filter((t) => t?.startsWith('m')),
      ).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    } finally {
      frozen.close();
    }
  });

  test('a wait longer than 70 % of the request deadline is refused at once with its Retry-After', async () => {
    sim.setOptions({ messagesPerSecond: 1000 });
    const clock = 1_000_000;
    const frozen = hubFor(sim, { now: () => clock, messagesPerSecond: 1, requestTimeoutMs: 1000 });
    try {
      const token = randomUUID();
      const session = frozen.session(token);
      await session.ready();
      const first = session.sendText({ text: 'first', messageId: randomUUID() });
      const error = await failure(session.sendText({ text: 'second', messageId: randomUUID() }));
      expect(error).toMatchObject({ failure: 'rate_limited', status: 429, retryAfterSeconds: 2 });
      await expect(first).resolves.toMatchObject({ text: 'first' });
      expect(sim.framesFor(token, 'onMessage')).toHaveLength(1);
    } finally {
      frozen.close();
    }
  });

  test('4007 from Genesys (session not found) ends the session', async () => {
    const session = hub.session(randomUUID());
    await session.ready();
    sim.faults.delayFrames(200);
    const pending = failure(session.sendText({ text: 'anyone?', messageId: randomUUID() }));
    const onFrame = frameFeed(session);
    onFrame(parseInbound('{"type":"response","class":"string","code":4007,"body":"session not found"}'));
    const error = await pending;
    expect(error).toMatchObject({ code: 'session_expired', status: 410 });
    expect(session.isDead).toBe(true);
    sim.faults.clear();
  });

  test('a class "string" 403 (typing turned off) fails only that request', async () => {
    sim.setOptions({ conversationClear: false });
    const session = hub.session(randomUUID());
    await session.ready();
    // Presence Clear is refused with 403 when the deployment has clear off.
    const error = await failure(session.clear());
    expect(error).toMatchObject({ failure: 'forbidden', code: 'upstream_unavailable' });
    expect(error.logDetail?.genesysCode).toBe(403);
    await expect(session.sendText({ text: 'still fine', messageId: randomUUID() })).resolves.toMatchObject({
      text: 'still fine',
    });
    sim.setOptions({ conversationClear: true });
  });

  test('an untraced file error (4009) can only be about a send that names files', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    // Genesys's own answers come late: the test's frame is the only one the sends see at first.
    sim.faults.delayFrames(300, token);
    const onFrame = frameFeed(session);
    const notFound = parseInbound(
      '{"type":"response","class":"string","code":4009,"body":"Attachment not found (test)"}',
    );

    const text = session.sendText({ text: 'no files here', messageId: randomUUID() });
    await waitFor(() => sim.framesFor(token, 'onMessage').length === 1);
    onFrame(notFound);
    await expect(text).resolves.toMatchObject({ text: 'no files here' });

    const withFile = failure(
      session.sendText({ text: 'see attached', attachmentIds: [randomUUID()], messageId: randomUUID() }),
    );
    await waitFor(() => sim.framesFor(token, 'onMessage').length === 2);
    onFrame(notFound);
    expect((await withFile).logDetail).toMatchObject({ genesysCode: 4009, genesysText: 'Attachment not found (test)' });
    sim.faults.clear();
  });

  test('an answer whose reply was lost after Genesys took it is proven from history by its id, never sent twice', async () => {
    const token = randomUUID();
    const session = hub.session(token);
    await session.ready();
    sim.faults.dropOnNext('onMessage', { sessionToken: token, when: 'after-processing' });
    const messageId = randomUUID();
    const echo = await session.sendAnswer({ kind: 'QuickReply', text: 'Yes', payload: 'yes', messageId });
    expect(echo).toMatchObject({ direction: 'inbound' });
    expect(sim.framesFor(token, 'onMessage')).toHaveLength(1);
  });

  test('an unknown frame class is logged and ignored, never a crash', async () => {
    const session = hub.session(randomUUID());
    await session.ready();
    const onFrame = frameFeed(session);
    expect(() =>
      onFrame(parseInbound('{"type":"message","class":"FancyNewEvent","code":200,"body":{}}')),
    ).not.toThrow();
    expect(() => onFrame(parseInbound('not json'))).not.toThrow();
    await expect(session.echo()).resolves.toMatchObject({ text: 'ping' });
  });
});
