/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/"}
 */
import {
  BffClient,
  type BffClientOptions,
  type BffError,
  PAGE_EVENT_NAMES,
  PAGE_EVENT_PREFIX,
  localStorageTokenStore,
  memoryTokenStore,
  sessionStorageTokenStore,
  type ChatMessage,
  type ChatStream,
  type StreamHandlers,
  type TabEvent,
  type TokenStore,
} from '../../client/src';
import { ChatTabs, type TabNote } from '../../client/src/tabs';
import { problem } from '../support/recordingClient';
import { fakeTabs, sharedTokenStores } from '../support/tabs';
import { waitFor } from '../support/wait';

/**
 * Tabs of one site sharing a chat, in one process: the tabs' BroadcastChannel and Web Locks are fakes that
 * behave as a browser's (test/support/tabs.ts), the service a fake answering the few calls made, and each
 * stream connection a fake EventSource the test speaks through. The Chromium suite (test/browser/chatTabs)
 * does the same against the real service in real tabs. Each tab's analytics events (what it tells its page of the
 * chat) are checked here too, where the order of a stream's events and the other tabs' notes is the test's to give.
 */

class FakeSource extends EventTarget {
  static opened: FakeSource[] = [];
  /** What the stream's listeners threw: a browser reports each as an uncaught error. */
  static thrown: unknown[] = [];
  closed = false;
  constructor(readonly url: string) {
    super();
    FakeSource.opened.push(this);
  }
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    super.addEventListener(type, (event) => {
      try {
        (listener as EventListener)(event);
      } catch (error) {
        FakeSource.thrown.push(error);
      }
    });
  }
  close(): void {
    this.closed = true;
  }
  emit(event: string, data: unknown, id = ''): void {
    this.dispatchEvent(new MessageEvent(event, { data: JSON.stringify(data), lastEventId: id }));
  }
  get lastEventId(): string | null {
    return new URL(this.url).searchParams.get('lastEventId');
  }
}

const live = () => FakeSource.opened.filter((s) => !s.closed);

let issued = 0;
/** Every call, as `METHOD path` and whether it carried a token. */
const calls: string[] = [];
const service: typeof fetch = async (input, init = {}) => {
  const { pathname } = new URL(String(input));
  const method = init.method ?? 'GET';
  const authorised = 'Authorization' in ((init.headers ?? {}) as Record<string, string>);
  calls.push(`${method} ${pathname}${authorised ? ' (token)' : ''}`);
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  if (pathname === '/messages/stream-ticket') return json(200, { ticket: 'ticket', expiresAt: '' });
  if (pathname === '/guest-session' && method === 'DELETE') return new Response(null, { status: 204 });
  if (pathname === '/guest-session') {
    const n = authorised ? issued : ++issued;
    return json(authorised ? 200 : 201, {
      sessionToken: `token-${n}`,
      routingKey: `routing-key-number-${n}`,
      streamPosition: 't-1',
      expiresAt: '',
      newSession: !authorised,
      readOnly: false,
      limits: { maxCustomDataBytes: 1, maxTextBytes: 1, messagesPerSecond: 1 },
      attributes: {},
      authenticated: false,
    });
  }
  return json(404, { code: 'not_found' });
};

function tab(
  platform: ReturnType<typeof fakeTabs> | false,
  tokenStore: TokenStore = memoryTokenStore(),
  over: Partial<BffClientOptions> = {},
): BffClient {
  return new BffClient({
    baseUrl: 'http://chat.test',
    tokenStore,
    fetch: service,
    EventSource: FakeSource as unknown as typeof EventSource,
    shareTabs: platform === false ? false : { BroadcastChannel: platform.BroadcastChannel, locks: platform.locks },
    ...over,
  });
}

/** A page of its own for a tab's analytics events (client/src/pageEvents.ts): what it was told, in order. */
function pageTold() {
  const target = new EventTarget() as EventTarget & Record<string, unknown>;
  const told: [string, unknown][] = [];
  for (const name of PAGE_EVENT_NAMES)
    target.addEventListener(`${PAGE_EVENT_PREFIX}${name}`, (e) => told.push([name, (e as CustomEvent).detail]));
  const ends = () => told.filter(([name]) => name === 'chat-ended').map(([, detail]) => detail);
  return { pageEvents: { target }, told, ends };
}

/** The service of `service`, with `refuse` answering the calls it picks (by `METHOD path`). */
function refusing(refuse: (call: string) => Response | undefined): typeof fetch {
  return async (input, init = {}) => {
    const call = `${init.method ?? 'GET'} ${new URL(String(input)).pathname}`;
    return refuse(call) ?? service(input, init);
  };
}

/** A stream's handlers that write down what they heard. */
function heard(): {
  handlers: StreamHandlers;
  messages: string[];
  opens: boolean[];
  errors: string[];
  states: string[];
} {
  const record = { messages: [] as string[], opens: [] as boolean[], errors: [] as string[], states: [] as string[] };
  return {
    ...record,
    handlers: {
      message: (m: ChatMessage) => record.messages.push(m.id),
      open: ({ reconnected }) => record.opens.push(reconnected),
      error: (e) => record.errors.push(e.code),
      state: (state) => record.states.push(state),
    },
  };
}

/** A stream's handlers, every one of them, that write down each call in order as [handler, what it was given]. */
function recorded(): { handlers: Required<StreamHandlers>; calls: [string, unknown][] } {
  const calls: [string, unknown][] = [];
  const names = ['message', 'receipt', 'notice', 'typing', 'presence', 'session', 'availability', 'open', 'state'];
  const handlers = Object.fromEntries(names.map((name) => [name, (given: unknown) => calls.push([name, given])]));
  return { calls, handlers: { ...handlers, error: (e: BffError) => calls.push(['error', e.code]) } as never };
}

/** Every kind of event a stream hands on, as the service sends it ([event, data, id]). */
const EVERY_EVENT: [string, unknown, string?][] = [
  ['message', { id: 'm-1', direction: 'outbound', type: 'text', text: 'hi', time: '' }, 'e-2'],
  ['receipt', { messageId: 'm-0', status: 'delivered', at: '2026-11-27T10:00:00Z' }, 'e-3'],
  ['notice', { code: 'masked', detectors: ['card'], messageId: 'm-0' }, 'e-4'],
  ['typing', { durationMs: 5000 }],
  ['presence', { presence: 'join', name: 'Alex' }, 'e-5'],
  ['availability', { configured: true, open: true, reason: 'open', estimatedWaitSeconds: 30 }],
  ['session', { state: 'expiring', expiresAt: '2026-11-27T10:05:00Z' }, 'e-6'],
];

const message = (id: string): ChatMessage => ({ id, direction: 'outbound', type: 'text', text: id, time: '' });

beforeEach(() => {
  FakeSource.opened = [];
  FakeSource.thrown = [];
  calls.length = 0;
});

describe('one stream for the tabs of a site', () => {
  let streams: ChatStream[] = [];
  afterEach(() => {
    streams.forEach((s) => s.close());
    streams = [];
  });

  test('one tab holds the connection and every tab hears each event, opened once', async () => {
    const site = fakeTabs();
    const [first, second] = [heard(), heard()];
    streams.push(tab(site).stream(first.handlers), tab(site).stream(second.handlers));
    await site.settle();
    expect(live()).toHaveLength(1);
    expect(streams.filter((s) => s.leading)).toHaveLength(1);

    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    live()[0]!.emit('message', message('m-1'), 'e-2');
    await site.settle();
    expect(first.messages).toEqual(['m-1']);
    expect(second.messages).toEqual(['m-1']);
    expect(first.opens).toEqual([false]);
    expect(second.opens).toEqual([false]);
    expect(streams.map((s) => s.state)).toEqual(['open', 'open']);
  });

  test('a tab opened later hears that the stream is already open', async () => {
    const site = fakeTabs();
    const first = heard();
    streams.push(tab(site).stream(first.handlers));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    const late = heard();
    streams.push(tab(site).stream(late.handlers));
    await site.settle();
    expect(late.opens).toEqual([false]);
    expect(streams[1]!.state).toBe('open');
    expect(live()).toHaveLength(1);
  });

  test('when the leading tab goes, the next takes over after the last event id: nothing missed, nothing twice', async () => {
    const site = fakeTabs();
    const [first, second, third] = [heard(), heard(), heard()];
    streams.push(tab(site).stream(first.handlers), tab(site).stream(second.handlers));
    streams.push(tab(site).stream(third.handlers));
    await site.settle();
    const leader = streams.findIndex((s) => s.leading);
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    live()[0]!.emit('message', message('m-1'), 'e-7');
    await site.settle();

    streams[leader]!.close();
    await site.settle();
    expect(live()).toHaveLength(1);
    // The new connection resumes after the last event any tab saw; the service sends what came after it.
    expect(live()[0]!.lastEventId).toBe('e-7');
    expect(streams.filter((s) => s.leading)).toHaveLength(1);
    live()[0]!.emit('session', { state: 'open' }, 'e-7');
    live()[0]!.emit('message', message('m-2'), 'e-8');
    await site.settle();
    const stayed = [first, second, third].filter((_, i) => i !== leader);
    for (const each of stayed) {
      expect(each.messages).toEqual(['m-1', 'm-2']);
      // The second open is a takeover: catch up, not load the page afresh.
      expect(each.opens).toEqual([false, true]);
      // The leader's own connection closing is not the stream's: no tab showed it closed.
      expect(each.states).toEqual(['open']);
    }
  });

  test('every kind of event reaches every tab as the leading tab heard it, and each change of state once', async () => {
    const site = fakeTabs();
    const [first, second] = [recorded(), recorded()];
    streams.push(tab(site).stream(first.handlers), tab(site).stream(second.handlers));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    for (const [event, data, id] of EVERY_EVENT) live()[0]!.emit(event, data, id);
    await site.settle();
    const expected = [
      ['state', 'open'],
      ['open', { reconnected: false }],
      ...EVERY_EVENT.map(([event, data]) => [event, data]),
    ];
    expect(first.calls).toEqual(expected);
    expect(second.calls).toEqual(expected);
  });

  test('a tab that leaves out handlers hears the events it does not handle go by, with no error', async () => {
    // The other tab's share throws on its own (a test fails on an uncaught error); the leader's, to its connection.
    const site = fakeTabs();
    streams.push(tab(site).stream({}), tab(site).stream({}));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    for (const [event, data, id] of EVERY_EVENT) live()[0]!.emit(event, data, id);
    live()[0]!.emit('session', { state: 'expired', detail: 'gone', reconnect: false }, 'e-9');
    await site.settle();
    expect(streams.map((s) => s.state)).toEqual(['closed', 'closed']);
    expect(FakeSource.thrown).toEqual([]);
  });

  test('a stream closed before its tab connected opens no connection', async () => {
    const site = fakeTabs();
    const only = heard();
    const stream = tab(site).stream(only.handlers);
    expect(stream.state).toBe('connecting');
    stream.close();
    await site.settle();
    expect(FakeSource.opened).toHaveLength(0);
    expect([stream.state, stream.leading]).toEqual(['closed', false]);
    expect(only.states).toEqual(['closed']);
  });

  test('every tab is connecting until the stream opens, and is reconnecting while the leading tab is', async () => {
    const site = fakeTabs();
    const [first, second] = [heard(), heard()];
    streams.push(tab(site).stream(first.handlers), tab(site).stream(second.handlers));
    await site.settle();
    expect(streams.map((s) => s.state)).toEqual(['connecting', 'connecting']);
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    live()[0]!.dispatchEvent(new Event('error'));
    await site.settle();
    expect(streams.map((s) => s.state)).toEqual(['reconnecting', 'reconnecting']);
    // A tab opened meanwhile is told how things stand, and waits for the stream to open.
    const late = heard();
    streams.push(tab(site).stream(late.handlers));
    await site.settle();
    expect(streams[2]!.state).toBe('reconnecting');
    expect(late.opens).toEqual([]);
    for (const each of [first, second]) expect(each.states).toEqual(['open', 'reconnecting']);
  });

  test('a tab opened just as the stream opens hears it open once', async () => {
    const site = fakeTabs();
    const first = heard();
    streams.push(tab(site).stream(first.handlers));
    await site.settle();
    const late = heard();
    streams.push(tab(site).stream(late.handlers));
    // The open reaches the new tab before the leader's answer to its hello, which says the same.
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    await site.settle();
    expect(late.opens).toEqual([false]);
    expect(late.states).toEqual(['open']);
  });

  test('a tab opened later does not make the others forget the last event id', async () => {
    const site = fakeTabs();
    streams.push(tab(site).stream({}), tab(site).stream({}));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    live()[0]!.emit('message', message('m-1'), 'e-7');
    await site.settle();
    streams.push(tab(site).stream({}));
    await site.settle();
    streams.find((s) => s.leading)!.close();
    await site.settle();
    expect(live()[0]!.lastEventId).toBe('e-7');
  });

  test('catching up is the leading tab’s own: the others load nothing', async () => {
    const site = fakeTabs();
    streams.push(tab(site).stream({}), tab(site).stream({}));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    expect(streams.map((s) => s.catchingUp)).toEqual([false, false]);
    live()[0]!.emit('session', { state: 'replay_incomplete' }, 'e-2');
    const leader = streams.find((s) => s.leading)!;
    expect(leader.catchingUp).toBe(true);
    expect(streams.filter((s) => s !== leader).map((s) => s.catchingUp)).toEqual([false]);
  });

  test('a stream that ended for good ends in every tab, and no tab opens another', async () => {
    const site = fakeTabs();
    const [first, second] = [heard(), heard()];
    streams.push(tab(site).stream(first.handlers), tab(site).stream(second.handlers));
    await site.settle();
    live()[0]!.emit('session', { state: 'open' }, 'e-1');
    live()[0]!.emit('session', { state: 'expired', detail: 'gone', reconnect: false }, 'e-2');
    await site.settle();
    expect(first.errors).toEqual(['session_expired']);
    expect(second.errors).toEqual(['session_expired']);
    expect(FakeSource.opened).toHaveLength(1);
    expect(streams.map((s) => s.state)).toEqual(['closed', 'closed']);
  });

  test('without Web Locks each tab keeps its own stream', async () => {
    const site = fakeTabs();
    const noLocks = { ...site, locks: undefined as unknown as LockManager };
    streams.push(tab(noLocks).stream({}), tab(noLocks).stream({}));
    await site.settle();
    expect(live()).toHaveLength(2);
    expect(streams.every((s) => s.leading)).toBe(true);
  });

  test('a client that does not share tabs keeps its own stream', async () => {
    streams.push(tab(false).stream({}), tab(false).stream({}));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(live()).toHaveLength(2);
  });
});

describe('what one tab does to the chat, the others hear', () => {
  test('tabs starting at once start one session: the one that waited resumes it', async () => {
    const site = fakeTabs();
    const [storeA, storeB] = sharedTokenStores(2);
    const [a, b] = [tab(site, storeA), tab(site, storeB)];
    const [startedA, startedB] = await Promise.all([a.startSession(), b.startSession()]);
    expect(calls.filter((c) => c === 'POST /guest-session')).toHaveLength(1);
    expect(startedB.routingKey).toBe(startedA.routingKey);
    expect([startedA.resumed, startedB.resumed].sort()).toEqual([false, true]);
  });

  test('ending the chat is told before and after, a new session is told with its routing key', async () => {
    const site = fakeTabs();
    const [storeA, storeB] = sharedTokenStores(2);
    const [a, b] = [tab(site, storeA), tab(site, storeB)];
    const told: TabEvent[] = [];
    const stop = b.onOtherTab((event) => told.push(event));
    const started = await a.startSession();
    await site.settle();
    expect(b.sessionToken).toBe(started.sessionToken);
    await a.endSession();
    await site.settle();
    expect(told).toEqual([{ type: 'started', routingKey: started.routingKey }, { type: 'ending' }, { type: 'ended' }]);
    // The store told the other tab the session is gone.
    expect(b.sessionToken).toBeUndefined();
    stop();
  });
});

describe('what a tab tells its page of the chat', () => {
  let streams: ChatStream[] = [];
  afterEach(() => {
    streams.forEach((s) => s.close());
    streams = [];
  });

  /** `client`'s own stream, opened; the connection it holds. */
  async function openStream(client: BffClient, site?: ReturnType<typeof fakeTabs>): Promise<FakeSource> {
    const before = FakeSource.opened.length;
    streams.push(client.stream({}));
    if (site) await site.settle();
    await waitFor(() => FakeSource.opened.length > before);
    const source = FakeSource.opened[FakeSource.opened.length - 1]!;
    source.emit('session', { state: 'open' }, 'e-1');
    return source;
  }
  const agentEnds = (source: FakeSource) => source.emit('presence', { presence: 'disconnect', readOnly: true });

  test('a chat resumed on a reload, ended by the agent: told once, by the agent, and not again on a remount', async () => {
    const store = memoryTokenStore();
    await tab(false, store).startSession();
    const page = pageTold();
    const reloaded = tab(false, store, page);
    await expect(reloaded.startSession()).resolves.toMatchObject({ resumed: true });
    agentEnds(await openStream(reloaded));
    expect(page.ends()).toEqual([{ by: 'agent' }]);
    // A remount resumes the read-only chat and its stream replays the end: nothing is told again.
    await expect(reloaded.startSession()).resolves.toMatchObject({ resumed: true });
    agentEnds(await openStream(reloaded));
    expect(page.ends()).toEqual([{ by: 'agent' }]);
  });

  test('a new chat after an ended one is told ended again; the guest ending one already ended tells nothing', async () => {
    const page = pageTold();
    const client = tab(false, memoryTokenStore(), page);
    await client.startSession();
    agentEnds(await openStream(client));
    await client.endSession();
    expect(page.ends()).toEqual([{ by: 'agent' }]);
    await expect(client.startSession()).resolves.toMatchObject({ resumed: false });
    agentEnds(await openStream(client));
    expect(page.ends()).toEqual([{ by: 'agent' }, { by: 'agent' }]);
  });

  test("an agent's disconnect that leaves the chat open, and a session event other than expired, end nothing", async () => {
    const page = pageTold();
    const client = tab(false, memoryTokenStore(), page);
    await client.startSession();
    const source = await openStream(client);
    source.emit('presence', { presence: 'disconnect', readOnly: false, name: 'Alex' });
    source.emit('session', { state: 'expiring', expiresAt: '2026-11-30T10:05:00Z' }, 'e-2');
    source.emit('session', { state: 'signed_in' }, 'e-3');
    expect(page.ends()).toEqual([]);
    source.emit('session', { state: 'expired', reconnect: false }, 'e-4');
    expect(page.ends()).toEqual([{ by: 'expiry' }]);
  });

  test("a stream ended for good is the chat's end by expiry; a stream refused otherwise is an error, during the stream", async () => {
    const page = pageTold();
    const client = tab(false, memoryTokenStore(), page);
    await client.startSession();
    (await openStream(client)).emit('session', { state: 'closed', reconnect: false });
    expect(page.told.filter(([name]) => name !== 'chat-opened')).toEqual([['chat-ended', { by: 'expiry' }]]);

    const refused = pageTold();
    const other = tab(false, memoryTokenStore(), {
      ...refused,
      fetch: refusing((call) =>
        call === 'POST /messages/stream-ticket' ? problem(403, 'origin_not_allowed') : undefined,
      ),
    });
    await other.startSession();
    const errors: string[] = [];
    streams.push(other.stream({ error: (e) => errors.push(e.code) }));
    await waitFor(() => errors.length === 1);
    expect(refused.told.filter(([name]) => name !== 'chat-opened')).toEqual([
      ['error', { code: 'origin_not_allowed', status: 403, during: 'stream' }],
    ]);
  });

  test.each([
    ['startSession', 'POST /guest-session', (c: BffClient) => c.startSession()],
    ['availability', 'GET /availability', (c: BffClient) => c.availability()],
    ['signIn', 'POST /guest-session/sign-in', (c: BffClient) => c.signIn({ code: 'c', redirectUri: 'https://x/' })],
    ['endSession', 'DELETE /guest-session', (c: BffClient) => c.endSession()],
    [
      'uploadAttachment',
      'POST /attachments',
      (c: BffClient) => c.uploadAttachment(new Blob(['x']), { fileName: 'a.txt' }),
    ],
  ])('%s refused is told as an error during it', async (during, refusedCall, call) => {
    const page = pageTold();
    const client = tab(false, memoryTokenStore(), {
      ...page,
      fetch: refusing((c) => (c === refusedCall ? problem(400, 'bad_request') : undefined)),
    });
    if (during !== 'startSession') await client.startSession();
    await expect(call(client)).rejects.toMatchObject({ code: 'bad_request' });
    expect(page.told.filter(([name]) => name === 'error')).toEqual([
      ['error', { code: 'bad_request', status: 400, retryAfterSeconds: undefined, during }],
    ]);
  });

  test('availability is told each time it opens, closes or closes for another reason, and not when it stays', async () => {
    const answers = [
      { open: true, reason: 'open' },
      { open: true, reason: 'open' },
      { open: false, reason: 'closed' },
      { open: false, reason: 'emergency' },
      { open: true, reason: 'open' },
    ];
    let asked = 0;
    const page = pageTold();
    const client = tab(false, memoryTokenStore(), {
      ...page,
      fetch: refusing((call) =>
        call === 'GET /availability'
          ? new Response(JSON.stringify({ configured: true, estimatedWaitSeconds: 5, ...answers[asked++] }), {
              status: 200,
              headers: { 'content-type': 'application/json', 'cache-control': 'max-age=30' },
            })
          : undefined,
      ),
    });
    for (const _ of answers) await client.availability();
    expect(page.told.map(([, detail]) => detail)).toEqual([
      { open: true, reason: 'open', estimatedWaitSeconds: 5 },
      { open: false, reason: 'closed', estimatedWaitSeconds: 5 },
      { open: false, reason: 'emergency', estimatedWaitSeconds: 5 },
      { open: true, reason: 'open', estimatedWaitSeconds: 5 },
    ]);
  });

  test('read receipts and push subscriptions go to their routes with their bodies', async () => {
    const sent: [string, unknown][] = [];
    const client = tab(false, memoryTokenStore(), {
      fetch: async (input, init = {}) => {
        const call = `${init.method ?? 'GET'} ${new URL(String(input)).pathname}`;
        if (call === 'POST /guest-session') return service(input, init);
        sent.push([call, init.body === undefined ? undefined : JSON.parse(String(init.body))]);
        return new Response(null, { status: 204 });
      },
    });
    await client.startSession();
    const subscription = { endpoint: 'https://push.example/s/1', keys: { p256dh: 'k', auth: 'a' } };
    await client.markRead('m-7');
    await client.enablePush(subscription);
    await client.disablePush();
    expect(sent).toEqual([
      ['POST /messages/read', { messageId: 'm-7' }],
      ['PUT /notifications/push', subscription],
      ['DELETE /notifications/push', undefined],
    ]);
  });

  test('the chat another tab ends is told there, by the guest, not by the tab whose stream hears it end', async () => {
    const site = fakeTabs();
    const [storeA, storeB] = sharedTokenStores(2);
    const [pageA, pageB] = [pageTold(), pageTold()];
    const a = tab(site, storeA, pageA);
    let answerEnd: () => void = () => undefined;
    const b = tab(site, storeB, {
      ...pageB,
      fetch: async (input, init = {}) => {
        if (init.method === 'DELETE') await new Promise<void>((resolve) => (answerEnd = resolve));
        return service(input, init);
      },
    });
    await a.startSession();
    const source = await openStream(a, site);
    const ending = b.endSession();
    await site.settle();
    // As the service does it: the streams hear the end before the DELETE is answered (and 'ended' goes out).
    agentEnds(source);
    source.emit('session', { state: 'closed', reconnect: false });
    answerEnd();
    await ending;
    await site.settle();
    expect(pageB.ends()).toEqual([{ by: 'guest' }]);
    expect(pageA.ends()).toEqual([]);
  });

  test("another tab's end that failed, or its new chat, leaves this tab to tell the agent's end", async () => {
    const site = fakeTabs();
    const [storeA, storeB] = sharedTokenStores(2);
    const [pageA, pageB] = [pageTold(), pageTold()];
    const a = tab(site, storeA, pageA);
    const b = tab(site, storeB, {
      ...pageB,
      fetch: refusing((call) => (call === 'DELETE /guest-session' ? problem(400, 'bad_request') : undefined)),
    });
    await a.startSession();
    const source = await openStream(a, site);
    await expect(b.endSession()).rejects.toMatchObject({ code: 'bad_request' });
    await site.settle();
    agentEnds(source);
    expect(pageA.ends()).toEqual([{ by: 'agent' }]);
    expect(pageB.ends()).toEqual([]);

    // A new chat another tab started after that end: its end is this tab's to tell too (its stream hears it).
    a.forgetSession();
    await expect(b.startSession()).resolves.toMatchObject({ resumed: false });
    await site.settle();
    agentEnds(source);
    expect(pageA.ends()).toEqual([{ by: 'agent' }, { by: 'agent' }]);
    expect(pageB.ends()).toEqual([]);
  });

  test('a tab resuming the session another started announces nothing; another service’s tabs hear nothing', async () => {
    const site = fakeTabs();
    const [storeA, storeB, storeC] = sharedTokenStores(3);
    const [a, b] = [tab(site, storeA), tab(site, storeB)];
    const elsewhere = tab(site, storeC, { baseUrl: 'http://other-chat.test' });
    const heardA: TabEvent[] = [];
    const heardElsewhere: TabEvent[] = [];
    a.onOtherTab((event) => heardA.push(event));
    elsewhere.onOtherTab((event) => heardElsewhere.push(event));
    const started = await a.startSession();
    await site.settle();
    await expect(b.startSession()).resolves.toMatchObject({ resumed: true });
    await site.settle();
    expect(heardA).toEqual([]);
    const heardB: TabEvent[] = [];
    b.onOtherTab((event) => heardB.push(event));
    a.forgetSession();
    await a.startSession();
    await site.settle();
    expect(heardB).toEqual([{ type: 'started', routingKey: expect.any(String) }]);
    expect(heardB[0]!.type === 'started' && heardB[0]!.routingKey).not.toBe(started.routingKey);
    expect(heardElsewhere).toEqual([]);
  });
});

describe('ChatTabs', () => {
  const SITE = 'genesys-bff:http://chat.test';

  /** A BroadcastChannel that keeps what it was made with and what it was asked to post, and delivers nothing. */
  class KeptChannel {
    static made: KeptChannel[] = [];
    onmessage: ((event: { data: unknown }) => void) | null = null;
    readonly posted: unknown[] = [];
    constructor(readonly name: string) {
      KeptChannel.made.push(this);
    }
    postMessage(data: unknown): void {
      this.posted.push(data);
    }
  }
  beforeEach(() => {
    KeptChannel.made = [];
  });
  const keptChannel = KeptChannel as unknown as typeof BroadcastChannel;

  test('one channel under the site’s name, made on first use, from the platform given; what is not a note is ignored', () => {
    const tabs = new ChatTabs('site-a', { BroadcastChannel: keptChannel });
    expect(KeptChannel.made).toHaveLength(0);
    const heardNotes: TabNote[] = [];
    tabs.listen((note) => heardNotes.push(note));
    tabs.post({ kind: 'first' });
    tabs.announce({ type: 'ended' });
    expect(KeptChannel.made.map((c) => c.name)).toEqual(['site-a']);
    const [channel] = KeptChannel.made;
    expect(channel!.posted).toEqual([
      { kind: 'first', from: tabs.id },
      { kind: 'announce', event: { type: 'ended' }, from: tabs.id },
    ]);
    for (const data of [null, undefined]) expect(() => channel!.onmessage!({ data })).not.toThrow();
    channel!.onmessage!({ data: { kind: 'from-another', from: 'another-tab' } });
    expect(heardNotes).toEqual([{ kind: 'from-another', from: 'another-tab' }]);
  });

  test('a tab object hears the others’ notes meant for all or for it; never its own id’s, nor another’s', async () => {
    const site = fakeTabs();
    const [a, b, c] = [new ChatTabs(SITE, site), new ChatTabs(SITE, site), new ChatTabs(SITE, site)];
    const heardBy = new Map<ChatTabs, string[]>([a, b, c].map((t) => [t, []]));
    for (const [t, kinds] of heardBy) t.listen((note) => kinds.push(note.kind));
    a.post({ kind: 'to-all' });
    a.post({ kind: 'to-b', to: b.id });
    // A note bearing b's own id is b's, whatever channel it came through.
    const other = new site.BroadcastChannel(SITE);
    other.postMessage({ kind: 'as-b', from: b.id });
    await site.settle();
    expect(heardBy.get(a)).toEqual(['as-b']);
    expect(heardBy.get(b)).toEqual(['to-all', 'to-b']);
    expect(heardBy.get(c)).toEqual(['to-all', 'as-b']);
    other.close();
  });

  test('a listener stopped hears nothing more; an announcement listener hears only announcements', async () => {
    const site = fakeTabs();
    const [a, b] = [new ChatTabs(SITE, site), new ChatTabs(SITE, site)];
    const notes: string[] = [];
    const announced: TabEvent[] = [];
    const stop = b.listen((note) => notes.push(note.kind));
    b.onAnnouncement((event) => announced.push(event));
    a.post({ kind: 'stream', event: { type: 'ended' } });
    a.announce({ type: 'started', routingKey: 'rk-1' });
    await site.settle();
    stop();
    a.announce({ type: 'ended' });
    await site.settle();
    expect(notes).toEqual(['stream', 'announce']);
    expect(announced).toEqual([{ type: 'started', routingKey: 'rk-1' }, { type: 'ended' }]);
  });

  test('each site’s locks and each lock of a site are held apart, one holder at a time', async () => {
    const site = fakeTabs();
    const [a, sameSite, b] = [new ChatTabs('site-a', site), new ChatTabs('site-a', site), new ChatTabs('site-b', site)];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const leading: string[] = [];
    const giveUp = new AbortController();
    a.lead('stream', giveUp.signal, () => (leading.push('a'), held));
    sameSite.lead('stream', giveUp.signal, async () => void leading.push('same site'));
    b.lead('stream', giveUp.signal, () => (leading.push('b'), held));
    const ran: string[] = [];
    const inB = b.exclusive('start', () => held.then(() => 'b'));
    const inA = a.exclusive('start', async () => (ran.push('a'), 'a'));
    const inSameSite = sameSite.exclusive('start', async () => (ran.push('same site'), 'same site'));
    await site.settle();
    // Another site's holders hold up nothing here; this site's 'start' is one lock, its 'stream' another.
    expect(leading).toEqual(['a', 'b']);
    expect(ran).toEqual(['a', 'same site']);
    release();
    await expect(Promise.all([inA, inB, inSameSite])).resolves.toEqual(['a', 'b', 'same site']);
    await site.settle();
    expect(leading).toEqual(['a', 'b', 'same site']);
  });

  test('giving up before the lock is granted leaves its queue: that tab never leads', async () => {
    const site = fakeTabs();
    const [a, b] = [new ChatTabs(SITE, site), new ChatTabs(SITE, site)];
    let release!: () => void;
    const leading: string[] = [];
    a.lead('stream', new AbortController().signal, () => {
      leading.push('a');
      return new Promise<void>((resolve) => (release = resolve));
    });
    const giveUp = new AbortController();
    b.lead('stream', giveUp.signal, async () => void leading.push('b'));
    await site.settle();
    giveUp.abort();
    release();
    await site.settle();
    expect(leading).toEqual(['a']);
  });

  test('without Web Locks a task runs at once and none leads; without a BroadcastChannel notes go nowhere', async () => {
    const site = fakeTabs();
    const noLocks = new ChatTabs(SITE, { BroadcastChannel: site.BroadcastChannel });
    expect(noLocks.canShareStream).toBe(false);
    await expect(noLocks.exclusive('start', async () => 'ran')).resolves.toBe('ran');
    const led = jest.fn(async () => undefined);
    expect(() => noLocks.lead('stream', new AbortController().signal, led)).not.toThrow();

    const page = globalThis as { BroadcastChannel?: typeof BroadcastChannel };
    const pageChannel = page.BroadcastChannel;
    page.BroadcastChannel = undefined;
    try {
      const noChannel = new ChatTabs(SITE, { locks: site.locks });
      expect(noChannel.canShareStream).toBe(false);
      expect(() => noChannel.listen(() => undefined)).not.toThrow();
      expect(() => noChannel.announce({ type: 'ended' })).not.toThrow();
    } finally {
      page.BroadcastChannel = pageChannel;
    }
    await site.settle();
    expect(led).not.toHaveBeenCalled();
  });

  test('with no platform given it takes the page’s BroadcastChannel and Web Locks, and shares nothing without them', () => {
    const site = fakeTabs();
    const navigatorOf = jest.spyOn(window, 'navigator', 'get');
    try {
      navigatorOf.mockReturnValue({ locks: site.locks } as unknown as Navigator);
      expect(new ChatTabs(SITE).canShareStream).toBe(true);
      expect(new ChatTabs(SITE, { BroadcastChannel: site.BroadcastChannel }).canShareStream).toBe(true);
      navigatorOf.mockReturnValue(undefined as unknown as Navigator);
      expect(new ChatTabs(SITE).canShareStream).toBe(false);
    } finally {
      navigatorOf.mockRestore();
    }
  });
});

describe('localStorageTokenStore', () => {
  afterEach(() => localStorage.clear());

  test('hears what another tab stores or clears under its key, and only that', () => {
    const store = localStorageTokenStore('chat-token');
    const heardTokens: (string | undefined)[] = [];
    const stop = store.subscribe!((token) => heardTokens.push(token));
    const fromAnotherTab = (key: string | null, newValue: string | null, area: Storage = localStorage) =>
      window.dispatchEvent(new StorageEvent('storage', { key, newValue, storageArea: area }));
    fromAnotherTab('chat-token', 'token-2');
    fromAnotherTab('something-else', 'x');
    fromAnotherTab('chat-token', 'other-area', sessionStorage);
    fromAnotherTab('chat-token', null);
    fromAnotherTab(null, null);
    stop();
    fromAnotherTab('chat-token', 'after');
    // Strict: toEqual would take a list short of its last `undefined` as equal.
    expect(heardTokens).toStrictEqual(['token-2', undefined, undefined]);
  });

  test('a client with it shares its chat with the other tabs, and takes the token another tab stored', () => {
    localStorage.setItem('genesys-bff.sessionToken', 'token-1');
    const client = new BffClient({ baseUrl: 'http://chat.test', tokenStore: localStorageTokenStore() });
    expect(client.sharedWithTabs).toBe(true);
    expect(client.sessionToken).toBe('token-1');
    window.dispatchEvent(
      new StorageEvent('storage', { key: 'genesys-bff.sessionToken', newValue: 'token-2', storageArea: localStorage }),
    );
    expect(client.sessionToken).toBe('token-2');
    expect(new BffClient({ baseUrl: 'http://chat.test' }).sharedWithTabs).toBe(false);
  });

  test('where storage is disabled it holds nothing and hears nothing, and throws nothing', () => {
    const area = localStorage;
    const disabled = jest.spyOn(window, 'localStorage', 'get').mockImplementation(() => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    });
    try {
      const store = localStorageTokenStore('chat-token');
      expect(() => store.set('token-1')).not.toThrow();
      expect(store.get()).toBeUndefined();
      expect(() => store.clear()).not.toThrow();
      const heardTokens: (string | undefined)[] = [];
      const stop = store.subscribe!((token) => heardTokens.push(token));
      window.dispatchEvent(new StorageEvent('storage', { key: 'chat-token', newValue: 'token-2', storageArea: area }));
      stop();
      expect(heardTokens).toStrictEqual([]);
    } finally {
      disabled.mockRestore();
    }
  });
});

describe('sessionStorageTokenStore', () => {
  afterEach(() => sessionStorage.clear());

  test('keeps the token for a reload of the tab, under the kit’s key, and shares it with no other tab', () => {
    const store = sessionStorageTokenStore();
    store.set('token-1');
    expect(sessionStorage.getItem('genesys-bff.sessionToken')).toBe('token-1');
    expect(localStorage.getItem('genesys-bff.sessionToken')).toBeNull();
    // A reload: a new store over the same tab's storage.
    expect(sessionStorageTokenStore().get()).toBe('token-1');
    expect(store.subscribe).toBeUndefined();
    store.clear();
    expect(sessionStorage.getItem('genesys-bff.sessionToken')).toBeNull();
    expect(store.get()).toBeUndefined();
  });

  test('where storage is disabled or full it holds nothing, and throws nothing', () => {
    const disabled = jest.spyOn(window, 'sessionStorage', 'get').mockImplementation(() => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    });
    try {
      const store = sessionStorageTokenStore();
      expect(() => store.set('token-1')).not.toThrow();
      expect(store.get()).toBeUndefined();
      expect(() => store.clear()).not.toThrow();
    } finally {
      disabled.mockRestore();
    }
    const full = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      },
      removeItem: () => undefined,
    } as unknown as Storage;
    const onFull = sessionStorageTokenStore('chat-token', full);
    expect(() => onFull.set('token-1')).not.toThrow();
    expect(onFull.get()).toBeUndefined();
  });
});
