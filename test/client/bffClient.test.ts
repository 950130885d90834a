import { BffClient, BffError, memoryTokenStore, type StreamState, type TokenStore } from '../../client/src';
import { loadConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { demoPng } from '../../simulator/richReplies';
import { captureLogger } from '../support/app';
import { signInAt } from '../support/signIn';
import { guestTokenOf, PAGE_ORIGIN, simulatorEnv, startStack, type Stack } from '../support/stack';
import { FetchEventSource } from '../support/eventSource';
import { eventSourceFor } from '../soak/eventSource';
import { waitFor } from '../support/wait';

/**
 * The browser client against the real service and the Genesys simulator.
 * Node stands in for the browser: fetch sends the page's Origin, and a small
 * fetch-based EventSource plays the browser's (Node 20 has none).
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 } } });
});
afterAll(() => stack.close());

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
}

/** fetch as a page on PAGE_ORIGIN would call it, recording each call. */
function pageFetch(calls: Call[] = []): typeof fetch {
  return (input, init = {}) => {
    const headers = { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN };
    calls.push({ method: init.method ?? 'GET', url: String(input), headers });
    return fetch(input, { ...init, headers });
  };
}

function newClient(options: { tokenStore?: TokenStore; calls?: Call[]; baseUrl?: string; fetch?: typeof fetch } = {}) {
  return new BffClient({
    baseUrl: options.baseUrl ?? stack.service.url,
    tokenStore: options.tokenStore,
    fetch: options.fetch ?? pageFetch(options.calls),
    EventSource: FetchEventSource as unknown as typeof EventSource,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
  });
}

test('creates a session, then resumes it from the stored token; the newest token is always kept', async () => {
  const store = memoryTokenStore();
  const client = newClient({ tokenStore: store });
  const started = await client.startSession({ attributes: { page: '/pricing', name: 'Ada' } });
  expect(started).toMatchObject({
    resumed: false,
    replacedExpired: false,
    newSession: true,
    readOnly: false,
    attributes: { page: '/pricing', name: 'Ada' },
  });
  expect(started.limits.maxTextBytes).toBe(4096);
  expect(store.get()).toBe(started.sessionToken);

  const reloaded = newClient({ tokenStore: store }); // a page reload: same storage, new client
  const resumed = await reloaded.startSession();
  expect(resumed).toMatchObject({ resumed: true, replacedExpired: false, attributes: { page: '/pricing' } });
  expect(store.get()).toBe(resumed.sessionToken);
  expect(reloaded.sessionToken).toBe(resumed.sessionToken);

  const state = await reloaded.getSession();
  expect(store.get()).toBe(state.sessionToken);
});

test("the client proposes a routing key, then sends the session's on every request (X-Chat-Session)", async () => {
  const calls: Call[] = [];
  const client = newClient({ calls });
  const started = await client.startSession();
  const proposed = calls[0]!.headers['X-Chat-Session'];
  expect(proposed).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
  expect(started.routingKey).toBe(proposed);
  await client.getSession();
  await client.send('hello');
  expect(calls.slice(1).map((c) => c.headers['X-Chat-Session'])).toEqual(calls.slice(1).map(() => proposed));
});

test('attributes: PUT replaces, PATCH merges and null removes; each answer’s token is kept', async () => {
  const client = newClient();
  await client.startSession({ attributes: { a: '1', b: '2' } });
  const put = await client.setAttributes({ c: '3' });
  expect(put.attributes).toEqual({ c: '3' });
  const tokenAfterPut = client.sessionToken;
  const patched = await client.updateAttributes({ d: '4', c: null });
  expect(patched.attributes).toEqual({ d: '4' });
  expect(client.sessionToken).not.toBe(tokenAfterPut);
  expect(await client.getAttributes()).toEqual({ attributes: { d: '4' }, locked: [] });
});

test('send retries a lost answer with the same Idempotency-Key: one message in history', async () => {
  const calls: Call[] = [];
  let lose = true;
  const flaky: typeof fetch = async (input, init) => {
    const res = await pageFetch(calls)(input, init);
    if (init?.method === 'POST' && new URL(String(input)).pathname === '/messages' && lose) {
      lose = false;
      throw new TypeError('Failed to fetch'); // the request arrived, the answer did not
    }
    return res;
  };
  const client = newClient({ fetch: flaky });
  await client.startSession();
  const message = await client.send('exactly once, please');
  expect(message).toMatchObject({ direction: 'inbound', type: 'text', text: 'exactly once, please' });

  const sends = calls.filter((c) => c.method === 'POST' && new URL(c.url).pathname === '/messages');
  expect(sends).toHaveLength(2);
  expect(sends[0]!.headers['Idempotency-Key']).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  expect(sends[1]!.headers['Idempotency-Key']).toBe(sends[0]!.headers['Idempotency-Key']);

  const history = await client.history({ pageSize: 50 });
  expect(history.messages.filter((m) => m.text === 'exactly once, please')).toHaveLength(1);
});

test('failures are BffErrors with the problem code, status and Retry-After', async () => {
  const client = newClient();
  await client.startSession();

  const tooLong = await client.send('x'.repeat(4097)).catch((e: unknown) => e);
  expect(tooLong).toBeInstanceOf(BffError);
  expect(tooLong).toMatchObject({ code: 'message_too_long', status: 413, problem: { code: 'message_too_long' } });

  const noRetries = new BffClient({ baseUrl: stack.service.url, fetch: pageFetch(), sendRetries: 0 });
  await noRetries.startSession();
  // Paced at 2 a second, a send whose turn is more than 7 s (70 % of the 10 s deadline) away is refused with Retry-After.
  const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => noRetries.send(`burst ${i}`)));
  const limited = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as BffError;
  expect(limited).toMatchObject({ code: 'rate_limited', status: 429 });
  expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(limited.requestId).toEqual(expect.any(String));

  const down = newClient({ baseUrl: 'http://127.0.0.1:9' });
  await expect(down.startSession()).rejects.toMatchObject({ name: 'BffError', code: 'network_error', status: 0 });
});

test('a token the service refuses is dropped; startSession then starts a new session and says so', async () => {
  const store = memoryTokenStore();
  store.set('not-a-sealed-token');
  const client = newClient({ tokenStore: store });
  await expect(client.getSession()).rejects.toMatchObject({ code: 'unauthorized', status: 401, sessionLost: true });
  expect(client.sessionToken).toBeUndefined();
  expect(store.get()).toBeUndefined();

  store.set('not-a-sealed-token');
  const fresh = newClient({ tokenStore: store });
  const started = await fresh.startSession();
  expect(started).toMatchObject({ resumed: false, replacedExpired: true, newSession: true });
  expect(store.get()).toBe(started.sessionToken);
});

test('every request carries the routing key as ?routingKey= (the one place a proxy hashes on), and a message sent before the stream opened reaches it', async () => {
  const calls: Call[] = [];
  const client = newClient({ fetch: pageFetch(calls) });
  const session = await client.startSession();
  await client.send('said before the stream');
  await client.history();
  const seen: string[] = [];
  FetchEventSource.opened = [];
  const live = client.stream({ message: (m) => seen.push(`${m.direction}:${m.text}`) });
  await waitFor(
    () => seen.includes('inbound:said before the stream') && seen.includes('outbound:You said: said before the stream'),
  );
  live.close();
  const keys = [...calls.map((c) => c.url), ...FetchEventSource.opened.map((s) => s.url)].map((u) =>
    new URL(u).searchParams.get('routingKey'),
  );
  expect(keys.length).toBeGreaterThanOrEqual(5);
  expect(new Set(keys)).toEqual(new Set([session.routingKey]));
});

test('typing is sent at most once every 5 seconds', async () => {
  const calls: Call[] = [];
  const client = newClient({ calls });
  await client.startSession();
  await client.typing();
  await client.typing();
  expect(calls.filter((c) => new URL(c.url).pathname === '/typing')).toHaveLength(1);
});

test('the stream: events, reconnect with a new ticket when the instance restarts (history reload cue), and the end of the session', async () => {
  const own = await startStack({ simulator: stack.sim });
  const port = new URL(own.service.url).port;
  let replacement: RunningService | undefined;
  try {
    const before = stack.sim.received.length;
    const client = newClient({ baseUrl: own.service.url });
    await client.startSession();
    const gt = guestTokenOf(stack.sim, before);

    const seen: string[] = [];
    const opens: boolean[] = [];
    const states: StreamState[] = [];
    const errors: BffError[] = [];
    FetchEventSource.opened = [];
    const live = client.stream(
      {
        open: ({ reconnected }) => opens.push(reconnected),
        message: (m) => seen.push(`${m.direction}:${m.text}`),
        typing: () => seen.push('typing'),
        presence: (p) => seen.push(`presence:${p.presence}`),
        state: (s) => states.push(s),
        error: (e) => errors.push(e),
      },
      { initialDelayMs: 50, maxDelayMs: 200 },
    );
    await waitFor(() => opens.length === 1);
    expect(opens).toEqual([false]);
    expect(FetchEventSource.opened[0]!.url).toMatch(/\/messages\/stream\?ticket=/);
    // The first stream starts from the session's stream position, and carries the routing key like every request.
    const firstUrl = new URL(FetchEventSource.opened[0]!.url);
    expect(firstUrl.searchParams.get('lastEventId')).toBe(client.streamPosition);
    expect(firstUrl.searchParams.get('lastEventId')).toMatch(/^t-\d{13}$/);
    expect(firstUrl.searchParams.get('routingKey')).toMatch(/^[0-9a-f-]{36}$/);

    await client.send('hello stream');
    await waitFor(() => seen.includes('outbound:You said: hello stream'));
    expect(seen).toEqual(expect.arrayContaining(['inbound:hello stream', 'typing']));

    // The instance drains: the stream's final event says reconnect; the client comes back on a new instance.
    await own.service.stop();
    await waitFor(() => states.includes('reconnecting'));
    replacement = await startService(loadConfig(simulatorEnv(stack.sim, { PORT: port })), captureLogger().logger);
    await waitFor(() => opens.length === 2);
    expect(opens).toEqual([false, true]);
    expect(live.state).toBe('open');
    const tickets = FetchEventSource.opened.map((s) => new URL(s.url).searchParams.get('ticket'));
    expect(new Set(tickets).size).toBe(tickets.length); // a fresh ticket for every connection

    stack.sim.agent.say(gt, 'after the restart');
    await waitFor(() => seen.includes('outbound:after the restart'));

    // The Genesys session expires: the stream ends for good and the token is dropped.
    stack.sim.faults.expireSession(gt);
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'session_expired', sessionLost: true });
    expect(live.state).toBe('closed');
    expect(client.sessionToken).toBeUndefined();
    live.close();
  } finally {
    await replacement?.stop();
    await own.close();
  }
});

test('the stream catches up by itself when it cannot replay a gap: the newest history, read again after its Retry-After', async () => {
  const before = stack.sim.received.length;
  const calls: Call[] = [];
  const client = newClient({ calls });
  await client.startSession();
  const gt = guestTokenOf(stack.sim, before);
  const seen: string[] = [];
  const sessionEvents: string[] = [];
  let opens = 0;
  FetchEventSource.opened = [];
  // No reload of its own on open: what the gap held can only come from the stream's catch-up.
  const live = client.stream(
    {
      open: () => void opens++,
      message: (m) => seen.push(`${m.direction}:${m.text}`),
      session: (e) => sessionEvents.push(e.state),
    },
    { initialDelayMs: 50, maxDelayMs: 200 },
  );
  try {
    await waitFor(() => opens === 1);
    await client.send('before the drop');
    await waitFor(() => seen.includes('outbound:You said: before the drop'));

    // History is refused twice: the replay of the reopened stream, and the first read of the catch-up.
    stack.sim.faults.failRest('history', { status: 503, times: 2 });
    const dropped = FetchEventSource.opened[FetchEventSource.opened.length - 1]!;
    dropped.close();
    dropped.dispatchEvent(new Event('error'));
    stack.sim.agent.say(gt, 'said in the gap');
    await waitFor(() => opens === 2);
    await waitFor(() => seen.includes('outbound:said in the gap'));
    expect(sessionEvents).toContain('replay_incomplete');
    const reads = calls.filter((c) => c.method === 'GET' && /\/messages\?/.test(c.url));
    expect(reads.length).toBeGreaterThanOrEqual(2);
  } finally {
    live.close();
    stack.sim.faults.clear();
  }
});

test('a catch-up reads back to where its gap began, however much came since: the gap spans two pages, none of it is missed', async () => {
  const before = stack.sim.received.length;
  const calls: Call[] = [];
  // An EventSource that keeps each event's id, as a browser's does: the stream resumes from its place.
  const opened: EventTarget[] = [];
  const Keeping = eventSourceFor(() => undefined);
  class Tracked extends (Keeping as unknown as new (url: string) => EventTarget) {
    constructor(url: string) {
      super(url);
      opened.push(this);
    }
  }
  const client = new BffClient({
    baseUrl: stack.service.url,
    fetch: pageFetch(calls),
    EventSource: Tracked as unknown as typeof EventSource,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
  });
  await client.startSession();
  const gt = guestTokenOf(stack.sim, before);
  const seen: string[] = [];
  const sessionEvents: string[] = [];
  let opens = 0;
  const live = client.stream(
    {
      open: () => void opens++,
      message: (m) => seen.push(m.text ?? ''),
      session: (e) => sessionEvents.push(e.state),
    },
    // Pages of 5: nine messages in the gap are more than the newest page holds.
    { initialDelayMs: 50, maxDelayMs: 200, catchUpPageSize: 5 },
  );
  try {
    await waitFor(() => opens === 1);
    await client.send('before the drop');
    await waitFor(() => seen.includes('You said: before the drop'));

    // The reopened stream's replay is refused: the gap can only come from the catch-up, which reads history after
    // more than a page of it came (the soak's case: a catch-up that waited out refusals while the chat went on).
    stack.sim.faults.failRest('history', { status: 503, times: 1 });
    const dropped = opened[opened.length - 1] as unknown as EventSource;
    dropped.close();
    dropped.dispatchEvent(new Event('error'));
    const gap = Array.from({ length: 9 }, (_, i) => `said in the gap ${i}`);
    for (const text of gap) stack.sim.agent.say(gt, text);
    await waitFor(() => opens === 2 && sessionEvents.includes('replay_incomplete') && !live.catchingUp);

    expect(gap.filter((text) => !seen.includes(text))).toEqual([]);
    // Read back only as far as the place it resumed from: the newest page, then the one holding that place.
    const reads = calls.filter((c) => c.method === 'GET' && /\/messages\?/.test(c.url)).map((c) => new URL(c.url));
    expect(reads.map((u) => u.searchParams.get('page'))).toEqual(['1', '2']);
  } finally {
    live.close();
    stack.sim.faults.clear();
  }
});

test('capabilities, files (sent with text, sent alone, dropped, refused, cancelled) and answers to a card and a date picker, each as Genesys takes it', async () => {
  const before = stack.sim.received.length;
  const client = newClient();
  await client.startSession();
  const gt = guestTokenOf(stack.sim, before);
  const frames = (action: string) => stack.sim.framesFor(gt, action).map((f) => f.frame);

  const caps = await client.capabilities();
  expect(caps.attachments).toMatchObject({ enabled: true, mediaTypes: expect.arrayContaining(['image/png']) });
  const png = () => new Blob([new Uint8Array(demoPng(8, 8))], { type: 'image/png' });

  const photo = await client.uploadAttachment(png(), { fileName: 'photo.png' });
  expect(photo).toMatchObject({
    fileName: 'photo.png',
    mediaType: 'image/png',
    url: expect.stringContaining(`/attachments/${photo.id}/content?`),
  });
  const withText = await client.send({ text: 'the parcel', attachmentIds: [photo.id] });
  expect(withText).toMatchObject({ text: 'the parcel', attachments: [{ id: photo.id }] });
  const alone = await client.uploadAttachment(png(), { fileName: 'alone.png' });
  const fileOnly = await client.send({ attachmentIds: [alone.id] });
  expect(fileOnly.attachments?.map((a) => a.id)).toEqual([alone.id]);
  expect(frames('onMessage').at(-1)!.message.content).toEqual([
    { contentType: 'Attachment', attachment: { id: alone.id } },
  ]);

  const dropped = await client.uploadAttachment(png(), { fileName: 'dropped.png' });
  await client.deleteAttachment(dropped.id);
  expect(frames('deleteAttachment').map((f) => f.attachmentId)).toEqual([dropped.id]);

  const presigns = frames('onAttachment').length;
  await expect(client.uploadAttachment(png(), { fileName: 'photo.exe' })).rejects.toMatchObject({
    status: 415,
    code: 'attachment_type_not_allowed',
  });
  const cancel = new AbortController();
  cancel.abort();
  await expect(client.uploadAttachment(png(), { fileName: 'late.png', signal: cancel.signal })).rejects.toMatchObject({
    status: 0,
    code: 'aborted',
  });
  expect(frames('onAttachment')).toHaveLength(presigns);

  await client.answerButton({ text: 'Track order', payload: 'track', originatingMessageId: 'card-1' });
  expect(frames('onMessage').at(-1)!.message).toMatchObject({
    type: 'Structured',
    text: 'Track order',
    content: [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'Button', text: 'Track order', payload: 'track', originatingMessageId: 'card-1' },
      },
    ],
  });
  const dateTime = '2026-12-01T10:00:00Z';
  await client.answerDatePicker({ dateTime, originatingMessageId: 'picker-1' });
  expect(frames('onMessage').at(-1)!.message).toMatchObject({
    type: 'Text',
    text: '',
    content: [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'DatePicker', payload: dateTime, originatingMessageId: 'picker-1' },
      },
    ],
  });
});

test('signIn mid-chat and signOut: the stream hears signed_in, then ends with signed_out, and the token is forgotten', async () => {
  const client = newClient();
  await client.startSession();
  await client.send('before signing in');
  const states: string[] = [];
  const errors: BffError[] = [];
  const opens: boolean[] = [];
  const live = client.stream(
    {
      open: ({ reconnected }) => opens.push(reconnected),
      session: (e) => states.push(e.state),
      error: (e) => errors.push(e),
    },
    { initialDelayMs: 50 },
  );
  await waitFor(() => opens.length === 1);

  const signedIn = await client.signIn(await signInAt(stack.sim, `client-${Date.now().toString(36)}`));
  expect(signedIn.authenticated).toBe(true);
  await waitFor(() => states.includes('signed_in'));
  expect((await client.history()).messages.map((m) => m.text)).toContain('before signing in');

  await client.signOut();
  expect(client.sessionToken).toBeUndefined();
  await waitFor(() => states.includes('signed_out'));
  expect(live.state).toBe('closed');
  live.close();
});

describe('a request refused for the token a sign-in is replacing', () => {
  /**
   * fetch that holds back the answers to the sign-in and to GET /guest-session (the service has answered them
   * already) until released: the order in which a page reads them.
   */
  function holdingFetch() {
    const held = new Map<string, () => void>();
    const seen: { what: string; status: number }[] = [];
    const page = pageFetch();
    const fetchImpl: typeof fetch = async (input, init = {}) => {
      const method = init.method ?? 'GET';
      const url = new URL(String(input));
      const res = await page(input, init);
      const what = `${method} ${url.pathname}`;
      seen.push({ what, status: res.status });
      // The first answer of each: a request sent again is answered at once.
      if ((what === 'POST /guest-session/sign-in' || what === 'GET /guest-session') && !held.has(what))
        await new Promise<void>((resolve) => held.set(what, resolve));
      return res;
    };
    const answered = (what: string, status?: number) =>
      waitFor(() => seen.some((c) => c.what === what && (status === undefined || c.status === status)));
    return { fetchImpl, answered, release: (what: string) => held.get(what)!() };
  }

  async function signingIn() {
    const gate = holdingFetch();
    const store = memoryTokenStore();
    const client = newClient({ fetch: gate.fetchImpl, tokenStore: store });
    const before = (await client.startSession()).sessionToken;
    const signIn = client.signIn(await signInAt(stack.sim, `client-race-${Math.random().toString(36).slice(2)}`));
    // The service signed in (and cut the old token off); the page has not read its answer yet.
    await gate.answered('POST /guest-session/sign-in');
    const state = client.getSession();
    await gate.answered('GET /guest-session', 401);
    return { gate, store, client, before, signIn, state };
  }

  test('refused before the sign-in answered: it waits for that answer and goes again with the new token', async () => {
    const { gate, store, client, before, signIn, state } = await signingIn();
    gate.release('POST /guest-session/sign-in');
    await expect(signIn).resolves.toMatchObject({ authenticated: true });
    gate.release('GET /guest-session');
    await expect(state).resolves.toMatchObject({ authenticated: true });
    expect(client.sessionToken).not.toBe(before);
    expect(store.get()).toBe(client.sessionToken);
  });

  test('its refusal read after the sign-in answer: the newer token is kept, and the request goes again with it', async () => {
    const { gate, store, client, before, signIn, state } = await signingIn();
    gate.release('POST /guest-session/sign-in');
    await expect(signIn).resolves.toMatchObject({ authenticated: true });
    gate.release('GET /guest-session');
    await expect(state).resolves.toMatchObject({ authenticated: true });
    expect(client.sessionToken).not.toBe(before);
    expect(store.get()).toBe(client.sessionToken);
  });
});

test('an answer to a send made before a sign-in, read after the sign-in answered, leaves the signed-in token held', async () => {
  // The page sends, then signs in while the send's answer is on its way: that answer carries the token the send went
  // with, which the sign-in replaced. Kept, it would have the next request refused (401) and the chat forgotten.
  let releaseSend: (() => void) | undefined;
  let sendAnswered = false;
  const page = pageFetch();
  const fetchImpl: typeof fetch = async (input, init = {}) => {
    const res = await page(input, init);
    if (init.method === 'POST' && new URL(String(input)).pathname === '/messages' && releaseSend === undefined) {
      sendAnswered = true;
      await new Promise<void>((resolve) => (releaseSend = resolve));
    }
    return res;
  };
  const client = newClient({ fetch: fetchImpl });
  await client.startSession();
  const early = client.send({ text: 'sent before signing in' });
  await waitFor(() => sendAnswered);
  const signedIn = await client.signIn(await signInAt(stack.sim, `stale-${Math.random().toString(36).slice(2)}`));
  expect(client.sessionToken).toBe(signedIn.sessionToken);
  releaseSend!();
  await expect(early).resolves.toMatchObject({ text: 'sent before signing in' });
  expect(client.sessionToken).toBe(signedIn.sessionToken);
  await expect(client.send({ text: 'sent after signing in' })).resolves.toMatchObject({
    text: 'sent after signing in',
  });
  await expect(client.getSession()).resolves.toMatchObject({ authenticated: true });
});

describe('a stream refused for the token a sign-in replaced', () => {
  test('its sign-in answer lost on the way: the stream resumes with the new token, and every message is shown', async () => {
    const before = stack.sim.received.length;
    let loseNext = false;
    let signInAnswersLost = 0;
    let whenLost: () => void = () => undefined;
    const page = pageFetch();
    // The service signed in (and cut the old token off), and the answer never reached the page: a connection cut.
    const fetchImpl: typeof fetch = async (input, init = {}) => {
      const res = await page(input, init);
      if (loseNext && new URL(String(input)).pathname === '/guest-session/sign-in') {
        loseNext = false;
        signInAnswersLost++;
        await res.text();
        whenLost();
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const client = newClient({ fetch: fetchImpl });
    await client.startSession();
    const gt = guestTokenOf(stack.sim, before);
    const anonymous = client.sessionToken;
    const seen: string[] = [];
    const errors: BffError[] = [];
    let opens = 0;
    FetchEventSource.opened = [];
    const live = client.stream(
      {
        open: () => void opens++,
        message: (m) => seen.push(m.text ?? ''),
        error: (e) => errors.push(e),
      },
      { initialDelayMs: 50, maxDelayMs: 200 },
    );
    try {
      await waitFor(() => opens === 1);
      await client.send('before signing in');
      await waitFor(() => seen.includes('You said: before signing in'));
      // As the answer is lost, the stream drops too: it reconnects with the token the sign-in has just replaced.
      whenLost = () => {
        const dropped = FetchEventSource.opened[FetchEventSource.opened.length - 1]!;
        dropped.close();
        dropped.dispatchEvent(new Event('error'));
        stack.sim.agent.say(gt, 'said while signing in');
      };
      loseNext = true;
      const signedIn = await client.signIn(await signInAt(stack.sim, `lost-${Math.random().toString(36).slice(2)}`));
      expect(signInAnswersLost).toBe(1);
      expect(signedIn.authenticated).toBe(true);
      expect(client.sessionToken).not.toBe(anonymous);
      await waitFor(() => opens === 2, 10_000);
      await waitFor(() => seen.includes('said while signing in'), 10_000);
      await client.send('after signing in');
      await waitFor(() => seen.includes('You said: after signing in'), 10_000);
      expect(errors).toEqual([]);
      expect(live.state).toBe('open');
    } finally {
      live.close();
    }
  });
});

test('a network error is told apart: the service up behind a CORS refusal names the page origin and CORS_ALLOWED_ORIGINS; the service down is network_error', async () => {
  const probes: RequestInit[] = [];
  // What a browser gives a page whose origin the service refuses: every CORS call fails like the network,
  // while a no-cors request gets an opaque answer.
  const refusing: typeof fetch = async (input, init = {}) => {
    if (init.mode === 'no-cors') {
      probes.push(init);
      expect(String(input)).toBe(`${stack.service.url}/healthz`);
      const up = await fetch(input, init);
      return Object.defineProperty(up, 'type', { value: 'opaque' });
    }
    throw new TypeError('Failed to fetch');
  };
  const refused = new BffClient({
    baseUrl: stack.service.url,
    fetch: refusing,
    pageOrigin: 'https://shop.example.com',
    sleep: async () => undefined,
  });
  const told = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const error = await refused.startSession().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(BffError);
  expect(error).toMatchObject({
    status: 0,
    code: 'cors_refused',
    corsRefused: true,
    origin: 'https://shop.example.com',
  });
  expect((error as BffError).message).toBe(
    `The chat service at ${stack.service.url} is up but does not allow calls from https://shop.example.com: add https://shop.example.com to its CORS_ALLOWED_ORIGINS.`,
  );
  expect(probes).toHaveLength(1);
  // Waiting does not help a refused origin: a send is not retried.
  await expect(refused.send('hello')).rejects.toMatchObject({ code: 'cors_refused' });
  expect(probes).toHaveLength(2);
  // The page's developer reads in the console which origin to allow, once, however often it is refused.
  expect(told.mock.calls).toEqual([[(error as BffError).message]]);
  told.mockRestore();

  // Nothing answers at all: an outage, not CORS.
  const down = new BffClient({
    baseUrl: 'http://127.0.0.1:9',
    pageOrigin: 'https://shop.example.com',
    sleep: async () => undefined,
    sendRetries: 0,
  });
  await expect(down.startSession()).rejects.toMatchObject({ status: 0, code: 'network_error', corsRefused: false });
});

test('availability against the service: no session needed, its freshness read from Cache-Control; capabilities say whether it is configured', async () => {
  const calls: Call[] = [];
  const client = newClient({ calls });
  const answer = await client.availability();
  // This deployment reads no availability from Genesys: open, nothing known.
  expect(answer).toMatchObject({ configured: false, open: true, reason: 'open', estimatedWaitSeconds: null });
  expect(answer.maxAgeSeconds).toEqual(expect.any(Number));
  expect(calls.map((c) => [c.method, new URL(c.url).pathname, c.headers.Authorization])).toEqual([
    ['GET', '/availability', undefined],
  ]);
  await client.startSession();
  expect((await client.capabilities()).availability).toEqual({ configured: false });
});
