import fc from 'fast-check';
import { BffClient, BffError, PAGE_EVENT_NAMES, PAGE_EVENT_PREFIX, type PageEventsOptions } from '../../client/src';
import { PageEvents, SeenIds } from '../../client/src/pageEvents';
import { FetchEventSource } from '../support/eventSource';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * What the kit tells the site's analytics in the page (client/README.md#analytics-events): a CustomEvent per chat
 * event on the page, the same pushed to the data layer when asked, no message text unless asked, each event once.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 } } });
});
afterAll(() => stack.close());

const NAMES = PAGE_EVENT_NAMES;

/** A stand-in for `window`: an EventTarget that records every kit event, and may hold a data layer. */
function page() {
  const target = new EventTarget() as EventTarget & Record<string, unknown>;
  const heard: Array<{ type: string; detail: Record<string, unknown> }> = [];
  for (const name of NAMES)
    target.addEventListener(`${PAGE_EVENT_PREFIX}${name}`, (e) =>
      heard.push({ type: e.type, detail: (e as CustomEvent<Record<string, unknown>>).detail }),
    );
  const of = (name: (typeof NAMES)[number]) => heard.filter((h) => h.type === `${PAGE_EVENT_PREFIX}${name}`);
  return { target, heard, of };
}

function newClient(pageEvents: boolean | PageEventsOptions) {
  return new BffClient({
    baseUrl: stack.service.url,
    fetch: (input, init = {}) =>
      fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN } }),
    EventSource: FetchEventSource as unknown as typeof EventSource,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    pageEvents,
  });
}

test('a whole chat tells each event once, in order, with no message text, and the same to the data layer', async () => {
  const { target, heard, of } = page();
  const client = newClient({ target, dataLayer: true });
  const before = stack.sim.received.length;
  await client.startSession();
  const gt = guestTokenOf(stack.sim, before);
  const live = client.stream({});
  await waitFor(() => live.state === 'open');

  const hello = await client.send('hello');
  await waitFor(() => of('message-received').length === 1);
  await client.send('human');
  await waitFor(() => of('agent-joined').length === 1 && of('message-received').length === 2);
  stack.sim.agent.say(gt, 'Your parcel left today', { originatingEntity: 'Human' });
  await waitFor(() => of('message-received').length === 3);
  // A second stream (a remount) replays the chat from the session's start: nothing is told again.
  const again = client.stream({});
  await waitFor(() => again.state === 'open');
  await client.send('disconnect');
  await waitFor(() => of('chat-ended').length === 1);
  live.close();
  again.close();

  expect(of('chat-opened')).toEqual([{ type: 'genesys-bff:chat-opened', detail: { resumed: false } }]);
  expect(of('message-sent').map((h) => h.detail)).toEqual([
    { messageId: hello.id, kind: 'text', attachments: 0 },
    { messageId: expect.any(String), kind: 'text', attachments: 0 },
    { messageId: expect.any(String), kind: 'text', attachments: 0 },
  ]);
  const received = of('message-received').map((h) => h.detail);
  expect(received[0]).toEqual({ messageId: expect.any(String), from: 'bot', kind: 'text' });
  expect(received.slice(1).map((d) => d.from)).toEqual(['agent', 'agent']);
  expect(new Set(received.map((d) => d.messageId)).size).toBe(received.length);
  expect(of('agent-joined')).toEqual([{ type: 'genesys-bff:agent-joined', detail: { name: 'Alex' } }]);
  expect(of('chat-ended').map((h) => h.detail)).toEqual([{ by: 'agent' }]);
  // No text anywhere unless asked.
  expect(JSON.stringify(heard)).not.toMatch(/hello|parcel|You said/);
  // The order the chat happened in.
  const order = heard.map((h) => h.type.slice(PAGE_EVENT_PREFIX.length));
  expect(order.indexOf('chat-opened')).toBe(0);
  expect(order.indexOf('agent-joined')).toBeLessThan(order.lastIndexOf('message-received'));
  expect(order.at(-1)).toBe('chat-ended');

  // The data layer holds the same, as GTM reads it.
  expect(target.dataLayer).toEqual(heard.map((h) => ({ event: h.type, ...h.detail })));
});

test('with messageText the texts go out; the guest ending the chat is told once, by the guest', async () => {
  const { target, of } = page();
  const client = newClient({ target, messageText: true });
  await client.startSession();
  const live = client.stream({});
  await waitFor(() => live.state === 'open');
  await client.send('tell me more');
  await waitFor(() => of('message-received').length === 1);
  expect(of('message-sent')[0]!.detail).toMatchObject({ text: 'tell me more' });
  expect(of('message-received')[0]!.detail).toMatchObject({ text: 'You said: tell me more' });
  await client.endSession();
  expect(of('chat-ended').map((h) => h.detail)).toEqual([{ by: 'guest' }]);
  live.close();
  // No data layer was asked for: none is made.
  expect(target.dataLayer).toBeUndefined();
});

test('a refused request is told as an error with its code and what was being done, then thrown', async () => {
  const { target, heard, of } = page();
  const client = newClient({ target, dataLayer: 'siteLayer' });
  await client.startSession();
  const refused = await client.send('x'.repeat(5000)).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BffError);
  expect(of('error').map((h) => h.detail)).toEqual([
    { code: 'message_too_long', status: 413, retryAfterSeconds: undefined, during: 'send' },
  ]);
  expect(of('message-sent')).toEqual([]);
  expect(target.siteLayer).toEqual(heard.map((h) => ({ event: h.type, ...h.detail })));
  expect(heard.map((h) => h.type)).toEqual(['genesys-bff:chat-opened', 'genesys-bff:error']);
  await client.endSession();
});

test('availability is told when it changes, not on every read', async () => {
  const { target, of } = page();
  const client = newClient({ target });
  await client.availability();
  await client.availability();
  expect(of('availability')).toHaveLength(1);
  expect(of('availability')[0]!.detail).toMatchObject({ open: expect.any(Boolean), reason: expect.any(String) });
  expect(of('availability')[0]!.detail).toHaveProperty('estimatedWaitSeconds');
});

test('by default the events go to window; pageEvents: false tells nothing', async () => {
  const { target, heard } = page();
  const global = globalThis as { window?: unknown };
  global.window = target;
  try {
    const quiet = new BffClient({
      baseUrl: stack.service.url,
      fetch: (input, init = {}) =>
        fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN } }),
      pageEvents: false,
    });
    await quiet.startSession();
    expect(heard).toEqual([]);
    const told = newClient(true);
    await told.startSession();
    expect(heard.map((h) => h.type)).toEqual(['genesys-bff:chat-opened']);
    expect(target.dataLayer).toBeUndefined();
  } finally {
    delete global.window;
  }
});

test('each id is told once, whatever order and repeats the ids come in, among the newest thousand', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }).map(String), { maxLength: 300 }), (ids) => {
      const seen = new SeenIds();
      const told = ids.filter((id) => seen.first(id));
      expect(told).toEqual([...new Set(ids)]);
    }),
  );
  const seen = new SeenIds(3);
  for (const id of ['a', 'b', 'c', 'd']) seen.first(id);
  // The newest three are kept; the oldest is forgotten past the bound.
  expect(['b', 'c', 'd'].map((id) => seen.first(id))).toEqual([false, false, false]);
  expect(seen.first('a')).toBe(true);
  expect(seen.first('d')).toBe(false);
});

describe('PageEvents', () => {
  test('a data layer the site named is pushed to as it stands: an array or anything with push', () => {
    const { target } = page();
    const pushed: unknown[] = [];
    target.siteLayer = { push: (entry: unknown) => pushed.push(entry) };
    new PageEvents({ target, dataLayer: 'siteLayer' }).emit('agent-joined', { name: 'Alex' });
    expect(pushed).toEqual([{ event: 'genesys-bff:agent-joined', name: 'Alex' }]);
  });

  test('a data layer name that holds something else is left alone, and the event still goes to the page', () => {
    const { target, heard } = page();
    target.siteLayer = { version: 1 };
    const events = new PageEvents({ target, dataLayer: 'siteLayer' });
    expect(() => events.emit('chat-ended', { by: 'agent' })).not.toThrow();
    expect(heard).toEqual([{ type: 'genesys-bff:chat-ended', detail: { by: 'agent' } }]);
    expect(target.siteLayer).toEqual({ version: 1 });
  });

  test('with no options it tells the page’s window', () => {
    const { target, heard } = page();
    const runtime = globalThis as { window?: unknown };
    runtime.window = target;
    try {
      new PageEvents().emit('chat-opened', { resumed: false });
    } finally {
      delete runtime.window;
    }
    expect(heard).toEqual([{ type: 'genesys-bff:chat-opened', detail: { resumed: false } }]);
  });

  test('without a data layer asked for, nothing is put on the page’s object', () => {
    const { target, heard } = page();
    new PageEvents({ target }).emit('chat-opened', { resumed: false });
    expect(heard).toHaveLength(1);
    expect(Object.keys(target)).toEqual([]);
  });

  test('where there is no CustomEvent it tells nothing, and throws nothing', () => {
    const { target, heard } = page();
    const runtime = globalThis as { CustomEvent?: typeof CustomEvent };
    const customEvent = runtime.CustomEvent;
    delete runtime.CustomEvent;
    try {
      expect(() => new PageEvents({ target, dataLayer: true }).emit('chat-opened', { resumed: true })).not.toThrow();
    } finally {
      runtime.CustomEvent = customEvent;
    }
    expect(heard).toEqual([]);
    expect(target.dataLayer).toBeUndefined();
  });
});
