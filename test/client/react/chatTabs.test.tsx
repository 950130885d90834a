/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { StrictMode } from 'react';
import { act, cleanup, fireEvent, render, screen, waitFor as settle, within } from '../../support/dom';
import { BffClient, type TokenStore } from '../../../client/src';
import { MessageList, useChat, type UseChatOptions } from '../../../client/src/react';
import { FetchEventSource } from '../../support/eventSource';
import { scrape } from '../../support/metrics';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../../support/stack';
import { fakeTabs, sharedTokenStores } from '../../support/tabs';

/**
 * useChat in two tabs of one site, against the real service and the Genesys simulator, in jsdom: each tab a
 * client of its own sharing a token store and the tabs' BroadcastChannel and Web Locks (fakes that behave as a
 * browser's, test/support/tabs.ts); and the unread count while the page is hidden. test/browser/chatTabs.test.ts
 * does the same in Chromium's real tabs.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { METRICS_PORT: '0' },
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
  });
});

/** Live streams open at the service now (its gauge); each test ends its chats, so only its own count. */
const streamsAtService = async () => (await scrape(stack.service.metricsUrl!)).value('genesys_bff_streams_open');
afterAll(() => stack.close());
afterEach(async () => {
  cleanup();
  // Streams closed by the unmount leave the service's count before the next test reads it.
  await settle(async () => expect(await streamsAtService()).toBe(0));
});

const calls: string[] = [];
const pageFetch: typeof fetch = (input, init = {}) => {
  calls.push(`${init.method ?? 'GET'} ${new URL(String(input)).pathname}`);
  return fetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: PAGE_ORIGIN } });
};

function tabClient(tokenStore: TokenStore, site: ReturnType<typeof fakeTabs> | undefined): BffClient {
  return new BffClient({
    baseUrl: stack.service.url,
    tokenStore,
    fetch: pageFetch,
    EventSource: FetchEventSource as unknown as typeof EventSource,
    shareTabs: site ? { BroadcastChannel: site.BroadcastChannel, locks: site.locks } : false,
  });
}

function Tab(options: UseChatOptions & { name: string }) {
  const chat = useChat(options);
  return (
    <section aria-label={options.name}>
      <p role="status">{chat.status}</p>
      {chat.ended && <p role="note">ended by {chat.ended}</p>}
      <p data-testid="unread">{chat.unread}</p>
      <MessageList messages={chat.messages} onAnswer={(input) => void chat.send(input)} />
      <button type="button" onClick={() => void chat.endChat()}>
        End chat
      </button>
      <button type="button" onClick={() => void chat.startNew()}>
        New chat
      </button>
    </section>
  );
}

const tabNamed = (name: string) => within(screen.getByRole('region', { name }));
const openStreams = () => FetchEventSource.opened.filter((s) => !(s as unknown as { closed: boolean }).closed);

async function twoTabs(site = fakeTabs()) {
  const [first, second] = sharedTokenStores(2);
  const before = stack.sim.received.length;
  FetchEventSource.opened = [];
  render(
    <>
      <Tab name="First tab" client={tabClient(first!, site)} />
      <Tab name="Second tab" client={tabClient(second!, site)} />
    </>,
  );
  for (const name of ['First tab', 'Second tab'])
    await tabNamed(name).findByText('open', { selector: '[role=status]' });
  return { gt: guestTokenOf(stack.sim, before), site };
}

test('two tabs share one chat on one stream: each shows every message, and ending in one is the guest’s in the other', async () => {
  const before = calls.length;
  const { gt } = await twoTabs();
  expect(calls.slice(before).filter((c) => c === 'POST /guest-session')).toHaveLength(2);
  // Held by one tab, as the service counts them.
  await settle(async () => expect(await streamsAtService()).toBe(1));
  expect(openStreams()).toHaveLength(1);

  stack.sim.agent.say(gt, 'one for both tabs');
  for (const name of ['First tab', 'Second tab'])
    await tabNamed(name).findByText('one for both tabs', { selector: '.bubble' });

  fireEvent.click(tabNamed('Second tab').getByRole('button', { name: 'End chat' }));
  await tabNamed('Second tab').findByText('ended by guest');
  await tabNamed('First tab').findByText('ended by guest');
  expect(calls.slice(before).filter((c) => c === 'DELETE /guest-session')).toHaveLength(1);

  // A new chat started in one tab is the new chat in both, on a clean page.
  fireEvent.click(tabNamed('First tab').getByRole('button', { name: 'New chat' }));
  for (const name of ['First tab', 'Second tab'])
    await tabNamed(name).findByText('open', { selector: '[role=status]' });
  expect(tabNamed('Second tab').queryByText('one for both tabs')).toBeNull();
  await settle(async () => expect(await streamsAtService()).toBe(1));
});

test('without shared tabs, the other tab of the same session hears the end as an expiry (what sharing fixes)', async () => {
  const [first, second] = sharedTokenStores(2);
  render(<Tab name="First tab" client={tabClient(first!, undefined)} />);
  await tabNamed('First tab').findByText('open', { selector: '[role=status]' });
  render(<Tab name="Second tab" client={tabClient(second!, undefined)} />);
  await tabNamed('Second tab').findByText('open', { selector: '[role=status]' });
  fireEvent.click(tabNamed('Second tab').getByRole('button', { name: 'End chat' }));
  await tabNamed('First tab').findByText('ended', { selector: '[role=status]' });
  expect(tabNamed('First tab').getByRole('note').textContent).toBe('ended by expired');
});

test('under StrictMode, two tabs sharing the chat start one session between them and end nothing', async () => {
  const site = fakeTabs();
  const [first, second] = sharedTokenStores(2);
  const before = calls.length;
  render(
    <StrictMode>
      <Tab name="First tab" client={tabClient(first!, site)} />
      <Tab name="Second tab" client={tabClient(second!, site)} />
    </StrictMode>,
  );
  for (const name of ['First tab', 'Second tab'])
    await tabNamed(name).findByText('open', { selector: '[role=status]' });
  const made = calls.slice(before);
  expect(made.filter((c) => c === 'POST /guest-session')).toHaveLength(2);
  expect(made.filter((c) => c === 'DELETE /guest-session')).toHaveLength(0);
  await settle(async () => expect(await streamsAtService()).toBe(1));
});

describe('unread while the page is hidden', () => {
  let visibility: DocumentVisibilityState = 'visible';
  beforeAll(() => Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility }));
  const show = (state: DocumentVisibilityState) =>
    act(() => {
      visibility = state;
      document.dispatchEvent(new Event('visibilitychange'));
    });

  test('an agent message raises the count and the title badge; seeing the page clears both', async () => {
    document.title = 'Shop';
    const [store] = sharedTokenStores(1);
    const before = stack.sim.received.length;
    render(<Tab name="Only tab" client={tabClient(store!, fakeTabs())} attention={{ titleBadge: true }} />);
    await tabNamed('Only tab').findByText('open', { selector: '[role=status]' });
    const gt = guestTokenOf(stack.sim, before);

    stack.sim.agent.say(gt, 'seen at once');
    await tabNamed('Only tab').findByText('seen at once', { selector: '.bubble' });
    expect(screen.getByTestId('unread').textContent).toBe('0');

    show('hidden');
    stack.sim.agent.say(gt, 'while away');
    stack.sim.agent.say(gt, 'and again');
    await tabNamed('Only tab').findByText('and again', { selector: '.bubble' });
    await settle(() => expect(screen.getByTestId('unread').textContent).toBe('2'));
    expect(document.title).toBe('(2) Shop');

    show('visible');
    expect(screen.getByTestId('unread').textContent).toBe('0');
    expect(document.title).toBe('Shop');
  });
});
