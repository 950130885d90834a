/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, fireEvent, render, screen } from '../../support/dom';
import type { Capabilities, ChatMessage, PushPlatform, PushSubscriptionBody } from '../../../client/src';
import { keyBytes, serviceWorkerUrlOf } from '../../../client/src';
import { ReplyNotifications, wordingFor } from '../../../client/src/react';

/**
 * The customer's opt-in to a notification when an agent answers after they left: offered only once they wrote,
 * only where the deployment and the browser can push; pressed, it asks the browser, registers the site's service
 * worker with the notification's words in the customer's language, and hands the subscription to the service.
 */

afterEach(() => cleanup());

const KEY = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';
const capabilities = { notifications: { push: { vapidPublicKey: KEY }, email: false } } as unknown as Capabilities;
const wrote: ChatMessage[] = [
  { id: 'm1', direction: 'inbound', type: 'text', text: 'hi', time: '2026-11-27T10:00:00Z' },
];

function browser(permission: NotificationPermission = 'default', answer: NotificationPermission = 'granted') {
  const calls: string[] = [];
  const subscription = {
    toJSON: () => ({ endpoint: 'https://push.example.com/s/1', keys: { p256dh: 'p', auth: 'a' } }),
    unsubscribe: async () => {
      calls.push('unsubscribe');
      return true;
    },
  };
  let subscribed = false;
  const registration = {
    pushManager: {
      getSubscription: async () => (subscribed ? subscription : null),
      subscribe: async (options: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }) => {
        calls.push(`subscribe ${options.userVisibleOnly} ${options.applicationServerKey.length}`);
        subscribed = true;
        return subscription;
      },
    },
  };
  const platform = {
    Notification: {
      permission,
      requestPermission: async () => {
        calls.push('ask');
        return answer;
      },
    },
    PushManager: function PushManager() {},
    serviceWorker: {
      register: async (url: string) => {
        calls.push(`register ${url}`);
        return registration;
      },
      getRegistration: async () => registration,
    },
  } as unknown as PushPlatform;
  return { platform, calls };
}

function service() {
  const held: Array<PushSubscriptionBody | null> = [];
  return {
    held,
    client: {
      enablePush: async (s: PushSubscriptionBody) => void held.push(s),
      disablePush: async () => void held.push(null),
    },
  };
}

const chatWith = (client: ReturnType<typeof service>['client'], extra: Record<string, unknown> = {}) =>
  ({ client, capabilities, messages: wrote, wording: wordingFor('de'), ...extra }) as never;

test('offered after the first message; pressed, it asks, subscribes with the key and hands the service the subscription', async () => {
  const { platform, calls } = browser();
  const { client, held } = service();
  render(<ReplyNotifications chat={chatWith(client)} platform={platform} />);
  expect(calls).toEqual([]); // nothing asked on its own
  await act(async () =>
    fireEvent.click(screen.getByRole('button', { name: 'Benachrichtigen, wenn eine Antwort kommt' })),
  );
  expect(calls[0]).toBe('ask');
  const registered = new URL(calls[1]!.replace('register ', ''), 'http://localhost:3000');
  expect(registered.pathname).toBe('/chat-sw.js');
  expect(Object.fromEntries(registered.searchParams)).toEqual({
    replyFrom: 'Neue Antwort von {from}',
    reply: 'Neue Antwort in Ihrem Chat',
    lang: 'de',
    dir: 'ltr',
  });
  expect(calls[2]).toBe('subscribe true 65');
  // With the page to open: this chat page.
  expect(held).toEqual([
    { endpoint: 'https://push.example.com/s/1', keys: { p256dh: 'p', auth: 'a' }, url: 'http://localhost:3000/' },
  ]);
  expect(screen.getByText('Sie werden benachrichtigt, wenn eine Antwort kommt.')).toBeTruthy();
  // The status reads as a sentence, then the button's label: not run together.
  expect(screen.getByRole('status').textContent).toBe(
    'Sie werden benachrichtigt, wenn eine Antwort kommt. Benachrichtigungen beenden',
  );

  await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Benachrichtigungen beenden' })));
  expect(held.at(-1)).toBeNull();
  expect(calls.at(-1)).toBe('unsubscribe');
});

test('a refusal sends nothing and says how to allow them', async () => {
  const { platform } = browser('default', 'denied');
  const { client, held } = service();
  render(<ReplyNotifications chat={chatWith(client)} platform={platform} />);
  await act(async () => fireEvent.click(screen.getByRole('button')));
  expect(held).toEqual([]);
  expect(screen.getByText(/Benachrichtigungen sind in diesem Browser blockiert/)).toBeTruthy();
});

test.each([
  ['before the customer wrote', { messages: [] }, undefined],
  ['when the deployment cannot push', { capabilities: { notifications: { push: null, email: false } } }, undefined],
  ['once the chat ended', { ended: { reason: 'guest' } }, undefined],
  ['in a browser without push', {}, {} as PushPlatform],
])('is not offered %s', (_, extra, platform) => {
  const { client } = service();
  render(<ReplyNotifications chat={chatWith(client, extra)} platform={platform ?? browser().platform} />);
  expect(screen.queryByRole('button')).toBeNull();
});

test('the VAPID key becomes its 65 bytes, and the words travel in the worker URL', () => {
  const bytes = keyBytes(KEY);
  expect(bytes).toHaveLength(65);
  expect(bytes[0]).toBe(4); // an uncompressed P-256 point
  expect(Buffer.from(bytes).toString('base64url')).toBe(KEY);
  expect(serviceWorkerUrlOf({ serviceWorkerUrl: '/sw.js?v=2', words: { replyFrom: 'A & {from}', reply: 'B' } })).toBe(
    '/sw.js?v=2&replyFrom=A+%26+%7Bfrom%7D&reply=B',
  );
});

test('a new chat offers again what the last one had turned on', async () => {
  const { platform } = browser();
  const { client } = service();
  const first = chatWith(client, { session: { routingKey: 'chat-1' } });
  const { rerender } = render(<ReplyNotifications chat={first} platform={platform} />);
  await act(async () => fireEvent.click(screen.getByRole('button')));
  expect(screen.getByRole('button', { name: 'Benachrichtigungen beenden' })).toBeTruthy();
  rerender(<ReplyNotifications chat={first} platform={platform} />);
  expect(screen.getByRole('button', { name: 'Benachrichtigungen beenden' })).toBeTruthy();
  rerender(<ReplyNotifications chat={chatWith(client, { session: { routingKey: 'chat-2' } })} platform={platform} />);
  expect(screen.getByRole('button', { name: 'Benachrichtigen, wenn eine Antwort kommt' })).toBeTruthy();
});

test('not offered while only the agent has written; offered once the customer writes', () => {
  const { platform } = browser();
  const { client } = service();
  const agentOnly: ChatMessage[] = [
    { id: 'a1', direction: 'outbound', type: 'text', text: 'Hello', time: '2026-11-27T10:00:00Z' },
  ];
  const { rerender } = render(
    <ReplyNotifications chat={chatWith(client, { messages: agentOnly })} platform={platform} />,
  );
  expect(screen.queryByRole('button')).toBeNull();
  rerender(<ReplyNotifications chat={chatWith(client, { messages: [...agentOnly, ...wrote] })} platform={platform} />);
  expect(screen.getByRole('button', { name: 'Benachrichtigen, wenn eine Antwort kommt' })).toBeTruthy();
});

test('a live region; the button is disabled while the browser asks, and the site’s own worker URL is registered', async () => {
  const { platform, calls } = browser();
  let allow!: (answer: NotificationPermission) => void;
  (
    platform as unknown as { Notification: { requestPermission(): Promise<NotificationPermission> } }
  ).Notification.requestPermission = () => new Promise((resolve) => (allow = resolve));
  const { client, held } = service();
  const { container } = render(
    <ReplyNotifications chat={chatWith(client)} platform={platform} serviceWorkerUrl="/assets/sw.js" />,
  );
  const region = container.firstElementChild as HTMLElement;
  expect([region.className, region.getAttribute('role')]).toEqual(['reply-notifications', 'status']);
  const button = screen.getByRole<HTMLButtonElement>('button');
  expect(button.disabled).toBe(false);
  await act(async () => fireEvent.click(button));
  expect(button.disabled).toBe(true);
  await act(async () => allow('granted'));
  expect(new URL(calls[0]!.replace('register ', ''), 'http://localhost:3000').pathname).toBe('/assets/sw.js');
  expect(held).toHaveLength(1);
});

test('a subscription that fails says something went wrong and offers again; so does a stop that fails', async () => {
  const { platform } = browser();
  const { client, held } = service();
  const failing = {
    ...client,
    enablePush: async () => {
      throw new Error('the service is away');
    },
  };
  const { rerender } = render(<ReplyNotifications chat={chatWith(failing)} platform={platform} />);
  await act(async () => fireEvent.click(screen.getByRole('button')));
  expect(screen.getByText(wordingFor('de').t('somethingWentWrong'))).toBeTruthy();
  expect(
    screen.getByRole<HTMLButtonElement>('button', { name: 'Benachrichtigen, wenn eine Antwort kommt' }).disabled,
  ).toBe(false);

  const stopFails = {
    ...client,
    disablePush: async () => {
      throw new Error('the service is away');
    },
  };
  rerender(<ReplyNotifications chat={chatWith(stopFails)} platform={platform} />);
  await act(async () => fireEvent.click(screen.getByRole('button')));
  expect(held).toHaveLength(1);
  expect(screen.queryByText(wordingFor('de').t('somethingWentWrong'))).toBeNull();
  await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Benachrichtigungen beenden' })));
  expect(screen.getByText(wordingFor('de').t('somethingWentWrong'))).toBeTruthy();
});
