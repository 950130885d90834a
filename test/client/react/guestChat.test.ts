import {
  BffError,
  type BffClient,
  type ChatMessage,
  type ChatStream,
  type StartedSession,
  type StartSessionOptions,
  type StreamHandlers,
  type StreamOptions,
  type TabEvent,
} from '../../../client/src';
import { GuestChat } from '../../../client/src/react/guestChat';
import { deferred } from '../../support/deferred';
import { BOT, CAPABILITIES, ECHO, HUMAN, M2, NEW, NOW, READ_ONLY } from '../../support/chatStates';

/**
 * The chat as the page runs it (client/src/react/guestChat.ts) over a scripted client: what each call, each stream
 * event and each other tab's note does to the state, and what follows (the stream opened, closed or kept, history
 * read, the typing timer). useChat.test.tsx runs the same through the hook against the real service; here the test
 * gives the order of events, including the ones a real service seldom gives on cue.
 */

/** A stream as the client hands it out: the handlers and options it was made with, and whether it was closed. */
class FakeStream implements ChatStream {
  state = 'connecting' as const;
  catchingUp = false;
  closed = false;
  constructor(
    readonly handlers: StreamHandlers,
    readonly options: StreamOptions,
    readonly leading: boolean,
  ) {}
  close(): void {
    this.closed = true;
  }
}

/**
 * A BffClient stand-in: each start waits for the test (`starts`), each stream is a FakeStream (`streams`), history
 * and catch-up answer empty unless told, and `otherTab` plays another tab's note.
 */
function scriptedClient(options: { token?: string; leading?: boolean; onStream?: (s: FakeStream) => void } = {}) {
  const starts: (ReturnType<typeof deferred<StartedSession>> & { options: StartSessionOptions })[] = [];
  const streams: FakeStream[] = [];
  const tabs = new Set<(event: TabEvent) => void>();
  const client = {
    sessionToken: options.token,
    startSession: (given: StartSessionOptions) => {
      const start = { ...deferred<StartedSession>(), options: given };
      starts.push(start);
      return start.promise;
    },
    stream: (handlers: StreamHandlers, streamOptions: StreamOptions) => {
      const stream = new FakeStream(handlers, streamOptions, options.leading ?? true);
      streams.push(stream);
      options.onStream?.(stream);
      return stream;
    },
    capabilities: async () => CAPABILITIES,
    history: jest.fn(async ({ page = 1, pageSize = 20 }: { page?: number; pageSize?: number }) => ({
      messages: [] as ChatMessage[],
      page,
      pageSize,
      total: 0,
    })),
    catchUp: jest.fn(async (_options: { pageSize?: number }) => [] as ChatMessage[]),
    send: jest.fn(async (_input: unknown): Promise<ChatMessage> => ECHO),
    endSession: jest.fn(async () => undefined),
    signIn: jest.fn(async () => undefined),
    signOut: jest.fn(async () => undefined),
    typing: jest.fn(async () => undefined),
    onOtherTab: (listener: (event: TabEvent) => void) => {
      tabs.add(listener);
      return () => tabs.delete(listener);
    },
  };
  const otherTab = (event: TabEvent) => tabs.forEach((listener) => listener(event));
  return { client, starts, streams, otherTab };
}

type Scripted = ReturnType<typeof scriptedClient>;

const PAGE_SIZE = 20;
const chatOver = (scripted: Scripted, start?: StartSessionOptions) =>
  new GuestChat(scripted.client as unknown as BffClient, { pageSize: PAGE_SIZE, now: () => NOW, start });

/** Lets what the answers set going run (promise reactions), without waiting on time. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A chat started, its session answered with `session`, its stream opened: live. */
async function live(scripted: Scripted, session: StartedSession = NEW) {
  const chat = chatOver(scripted);
  const started = chat.start();
  scripted.starts.at(-1)!.resolve(session);
  await started;
  const stream = scripted.streams.at(-1);
  stream?.handlers.open?.({ reconnected: false });
  await settle();
  return { chat, stream: stream! };
}

describe('listeners', () => {
  test('a listener stopped hears no more changes; an arrival listener stopped hears no more messages', async () => {
    const scripted = scriptedClient();
    const { chat, stream } = await live(scripted);
    const [changes, arrivals] = [jest.fn(), jest.fn()];
    const stopChanges = chat.subscribe(changes);
    const stopArrivals = chat.onArrival(arrivals);
    stream.handlers.message?.(BOT);
    expect([changes.mock.calls.length, arrivals.mock.calls.length]).toEqual([1, 1]);
    stopChanges();
    stopArrivals();
    stream.handlers.message?.(HUMAN);
    expect([changes.mock.calls.length, arrivals.mock.calls.length]).toEqual([1, 1]);
    expect(chat.snapshot().messages.map((m) => m.id)).toContain(HUMAN.id);
  });

  test('a message arrives once, sounded by the tab that holds the stream, and not from a stream let go', async () => {
    for (const leading of [true, false]) {
      const scripted = scriptedClient({ leading });
      const { chat, stream } = await live(scripted);
      const arrivals: [string, boolean][] = [];
      chat.onArrival((message, { sound }) => arrivals.push([message.id, sound]));
      stream.handlers.message?.(BOT);
      stream.handlers.message?.(BOT);
      expect(arrivals).toEqual([[BOT.id, leading]]);
      // A new chat asked for: what the old stream still hands over is not heard.
      void chat.startNew();
      stream.handlers.message?.(HUMAN);
      expect(arrivals).toEqual([[BOT.id, leading]]);
    }
  });
});

describe('starting', () => {
  test.each([
    [true, undefined, 1],
    ['resume' as const, 'token', 1],
    ['resume' as const, undefined, 0],
    [false, 'token', 0],
  ])('attach(%p) with the token %p starts %p session(s)', (autoStart, token, starts) => {
    const scripted = scriptedClient({ token });
    chatOver(scripted).attach(autoStart);
    expect(scripted.starts).toHaveLength(starts);
  });

  test("start() adds its details to the page's, attributes merged; with none, no attributes are sent", async () => {
    const scripted = scriptedClient();
    const chat = chatOver(scripted, { attributes: { page: '/pricing' } });
    void chat.start({ firstName: 'Ada', attributes: { plan: 'pro' } });
    expect(scripted.starts[0]!.options).toEqual({ firstName: 'Ada', attributes: { page: '/pricing', plan: 'pro' } });
    const bare = scriptedClient();
    void chatOver(bare).start({ firstName: 'Ada' });
    expect(bare.starts[0]!.options).toEqual({ firstName: 'Ada' });
  });

  test('startNew replaces a held session (startNew: true) and starts clean; without a token it is a plain start', () => {
    const held = scriptedClient({ token: 'token' });
    const chat = chatOver(held, { firstName: 'Ada' });
    void chat.startNew();
    expect(held.starts[0]!.options).toEqual({ firstName: 'Ada', startNew: true });
    expect(chat.snapshot()).toMatchObject({ phase: 'starting', fresh: true });
    const none = scriptedClient();
    const plain = chatOver(none);
    void plain.startNew();
    expect(none.starts[0]!.options).toEqual({});
    expect(plain.snapshot()).toMatchObject({ phase: 'starting', fresh: false });
  });

  test('a second start joins the one on its way; a start after it settled, or startNew, is a session of its own', async () => {
    const scripted = scriptedClient();
    const chat = chatOver(scripted);
    const first = chat.start();
    void chat.start();
    expect(scripted.starts).toHaveLength(1);
    void chat.startNew();
    expect(scripted.starts).toHaveLength(2);
    // The first settles while the newer start is on its way: a start now joins the newer one.
    scripted.starts[0]!.resolve(NEW);
    await first;
    void chat.start();
    expect(scripted.starts).toHaveLength(2);
    scripted.starts[1]!.resolve(NEW);
    await settle();
    void chat.start();
    expect(scripted.starts).toHaveLength(3);
  });

  test('an earlier start answering late opens no stream; a failed start after it settled joins nothing', async () => {
    const scripted = scriptedClient();
    const chat = chatOver(scripted);
    const first = chat.start();
    void chat.startNew();
    scripted.starts[0]!.resolve(NEW);
    await first;
    expect(scripted.streams).toEqual([]);
    scripted.starts[1]!.reject(new BffError({ status: 503, code: 'upstream_unavailable', message: 'x' }));
    await settle();
    expect(chat.snapshot()).toMatchObject({ phase: 'failed', error: { code: 'upstream_unavailable' } });
    void chat.start();
    expect(scripted.starts).toHaveLength(3);
  });

  test('a session that is read-only (the agent ended it) opens no stream', async () => {
    const scripted = scriptedClient();
    const { chat } = await live(scripted, READ_ONLY);
    expect(scripted.streams).toEqual([]);
    expect(chat.snapshot()).toMatchObject({ phase: 'ended', ended: 'agent' });
  });
});

describe('the stream', () => {
  test('made with the catch-up page size; its first open reads the newest page, a reopen catches up', async () => {
    const scripted = scriptedClient();
    const { stream } = await live(scripted);
    expect(stream.options).toEqual({ catchUpPageSize: PAGE_SIZE });
    expect(scripted.client.history.mock.calls).toEqual([[{ page: 1, pageSize: PAGE_SIZE }]]);
    expect(scripted.client.catchUp).not.toHaveBeenCalled();
    stream.handlers.open?.({ reconnected: true });
    await settle();
    expect(scripted.client.catchUp.mock.calls).toEqual([[{ pageSize: PAGE_SIZE }]]);
    expect(scripted.client.history).toHaveBeenCalledTimes(1);
  });

  test('a reload that fails is shown', async () => {
    const scripted = scriptedClient();
    scripted.client.history.mockRejectedValueOnce(new BffError({ status: 429, code: 'rate_limited', message: 'x' }));
    const { chat } = await live(scripted);
    expect(chat.snapshot()).toMatchObject({ phase: 'live', error: { code: 'rate_limited' } });
  });

  test('reconnecting is shown; its other states change nothing', async () => {
    const scripted = scriptedClient();
    const { chat, stream } = await live(scripted);
    expect(chat.snapshot()).toMatchObject({ stream: 'open' });
    const before = chat.snapshot();
    stream.handlers.state?.('open');
    stream.handlers.state?.('connecting');
    expect(chat.snapshot()).toBe(before);
    stream.handlers.state?.('reconnecting');
    expect(chat.snapshot()).toMatchObject({ stream: 'reconnecting' });
  });

  test("a receipt moves the guest's message on; a masking notice marks it, another notice does not", async () => {
    const scripted = scriptedClient();
    const { chat, stream } = await live(scripted);
    scripted.client.send.mockResolvedValueOnce({ ...ECHO, status: 'sent' });
    await chat.send('Thanks');
    stream.handlers.receipt?.({ messageId: ECHO.id, status: 'delivered', at: '2026-03-02T10:04:01Z' });
    expect(chat.snapshot().messages.find((m) => m.id === ECHO.id)).toMatchObject({ status: 'delivered' });
    stream.handlers.notice?.({ code: 'other', messageId: 'x-1' } as never);
    stream.handlers.notice?.({ code: 'masked', detectors: ['card'], messageId: ECHO.id });
    stream.handlers.notice?.({ code: 'masked', detectors: ['card'], attachmentId: 'att-1' });
    expect(chat.snapshot().masked).toEqual([ECHO.id, 'att-1']);
  });

  test("the session's events: expiring and cleared, signed in, and an end it announces", async () => {
    const scripted = scriptedClient();
    const { chat, stream } = await live(scripted);
    const session = (state: string) => stream.handlers.session?.({ state });
    session('reconnect_hint');
    expect(chat.snapshot()).toMatchObject({ expiring: false, signedIn: false });
    session('expiring');
    expect(chat.snapshot()).toMatchObject({ expiring: true });
    session('expiry_cleared');
    expect(chat.snapshot()).toMatchObject({ expiring: false });
    session('signed_in');
    expect(chat.snapshot()).toMatchObject({ signedIn: true, phase: 'live' });
    session('signed_out');
    expect(chat.snapshot()).toMatchObject({ phase: 'live', endingAs: 'signed_out' });
  });

  test('a stream whose handlers end the chat while it is being made is closed, not kept', async () => {
    const scripted = scriptedClient({
      onStream: (stream) => stream.handlers.presence?.({ presence: 'disconnect', readOnly: true }),
    });
    // Capabilities never answer here: their answer would close the stream of an ended chat too.
    scripted.client.capabilities = () => new Promise(() => undefined);
    const chat = chatOver(scripted);
    const started = chat.start();
    scripted.starts[0]!.resolve(NEW);
    await started;
    // The disconnect came before the stream opened: the chat is ended and the stream it made, closed.
    expect(scripted.streams).toHaveLength(1);
    expect(chat.snapshot()).toMatchObject({ phase: 'ended', ended: 'agent' });
    expect(scripted.streams[0]!.closed).toBe(true);
  });

  test("the agent's typing is shown until now plus its duration, and lapses then, though other events come meanwhile", async () => {
    const scripted = scriptedClient();
    const { chat, stream } = await live(scripted);
    jest.useFakeTimers();
    try {
      stream.handlers.typing?.({ durationMs: 1000 });
      expect(chat.snapshot()).toMatchObject({ typing: { until: NOW + 1000 } });
      stream.handlers.availability?.({
        configured: true,
        open: true,
        reason: 'open',
        estimatedWaitSeconds: 30,
      } as never);
      stream.handlers.presence?.({ presence: 'join', name: 'Alex' });
      jest.advanceTimersByTime(999);
      expect(chat.snapshot()).toMatchObject({ typing: { until: NOW + 1000 } });
      jest.advanceTimersByTime(1);
      expect(chat.snapshot()).toMatchObject({ phase: 'live', typing: undefined });
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('the calls', () => {
  test('older history: none to read reads nothing; the next page is read with the page size; a failure is shown', async () => {
    const scripted = scriptedClient();
    const { chat } = await live(scripted);
    // The newest page said it was the only one.
    await chat.loadOlder();
    expect(scripted.client.history).toHaveBeenCalledTimes(1);

    const more = scriptedClient();
    more.client.history.mockResolvedValueOnce({ messages: [M2], page: 1, pageSize: PAGE_SIZE, total: 50 });
    const paged = await live(more);
    more.client.history.mockResolvedValueOnce({ messages: [], page: 2, pageSize: PAGE_SIZE, total: 50 });
    await paged.chat.loadOlder();
    expect(more.client.history.mock.calls[1]).toEqual([{ page: 2, pageSize: PAGE_SIZE }]);
    more.client.history.mockRejectedValueOnce(new BffError({ status: 429, code: 'rate_limited', message: 'x' }));
    await paged.chat.loadOlder();
    expect(paged.chat.snapshot()).toMatchObject({ error: { code: 'rate_limited' } });
  });

  test('a refused sign-in is shown, and dismissed', async () => {
    const scripted = scriptedClient();
    const { chat } = await live(scripted);
    scripted.client.signIn.mockRejectedValueOnce(new BffError({ status: 400, code: 'invalid_grant', message: 'x' }));
    await chat.signIn({ code: 'c', redirectUri: 'https://shop.example/' });
    expect(chat.snapshot()).toMatchObject({ signedIn: false, error: { code: 'invalid_grant' } });
    chat.dismissError();
    expect(chat.snapshot().error).toBeUndefined();
  });

  test('a failure that is not the service\'s own is shown as "unknown", with what it said', async () => {
    const scripted = scriptedClient();
    const { chat } = await live(scripted);
    scripted.client.send.mockRejectedValueOnce(new Error('boom'));
    await expect(chat.send('hi')).resolves.toBe(false);
    expect(chat.snapshot().error).toMatchObject({ status: 0, code: 'unknown', message: 'Error: boom' });
  });
});

describe("another tab's notes", () => {
  test('ending, then failing to: shown as ending, then live again; ended: ended by the guest', async () => {
    const scripted = scriptedClient();
    const { chat } = await live(scripted);
    chat.followOtherTabs();
    scripted.otherTab({ type: 'ending' });
    expect(chat.snapshot()).toMatchObject({ phase: 'live', endingAs: 'guest' });
    scripted.otherTab({ type: 'end_failed' });
    expect(chat.snapshot()).toMatchObject({ phase: 'live', endingAs: undefined });
    scripted.otherTab({ type: 'ended' });
    expect(chat.snapshot()).toMatchObject({ phase: 'ended', ended: 'guest' });
  });
});
