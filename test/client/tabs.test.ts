/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/"}
 */
import {
  BffClient,
  localStorageTokenStore,
  memoryTokenStore,
  sessionStorageTokenStore,
  type ChatMessage,
  type ChatStream,
  type StreamHandlers,
  type TabEvent,
  type TokenStore,
} from '../../client/src';
import { fakeTabs, sharedTokenStores } from '../support/tabs';

/**
 * Tabs of one site sharing a chat, in one process: the tabs' BroadcastChannel and Web Locks are fakes that
 * behave as a browser's (test/support/tabs.ts), the service a fake answering the few calls made, and each
 * stream connection a fake EventSource the test speaks through. The Chromium suite (test/browser/chatTabs)
 * does the same against the real service in real tabs.
 */

class FakeSource extends EventTarget {
  static opened: FakeSource[] = [];
  closed = false;
  constructor(readonly url: string) {
    super();
    FakeSource.opened.push(this);
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

function tab(platform: ReturnType<typeof fakeTabs> | false, tokenStore: TokenStore = memoryTokenStore()): BffClient {
  return new BffClient({
    baseUrl: 'http://chat.test',
    tokenStore,
    fetch: service,
    EventSource: FakeSource as unknown as typeof EventSource,
    shareTabs: platform === false ? false : { BroadcastChannel: platform.BroadcastChannel, locks: platform.locks },
  });
}

/** A stream's handlers that write down what they heard. */
function heard(): { handlers: StreamHandlers; messages: string[]; opens: boolean[]; errors: string[] } {
  const record = { messages: [] as string[], opens: [] as boolean[], errors: [] as string[] };
  return {
    ...record,
    handlers: {
      message: (m: ChatMessage) => record.messages.push(m.id),
      open: ({ reconnected }) => record.opens.push(reconnected),
      error: (e) => record.errors.push(e.code),
    },
  };
}

const message = (id: string): ChatMessage => ({ id, direction: 'outbound', type: 'text', text: id, time: '' });

beforeEach(() => {
  FakeSource.opened = [];
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
    }
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
