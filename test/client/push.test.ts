import {
  keyBytes,
  pushKeyOf,
  serviceWorkerUrlOf,
  subscribeToReplies,
  unsubscribeFromReplies,
  type Capabilities,
  type PushPlatform,
  type PushSubscriptionBody,
} from '../../client/src';

/**
 * The push pieces of the kit on their own (test/client/react/replyNotifications.test.tsx has the control that uses
 * them): whether this deployment and this browser can push, the service worker's URL, the VAPID key's bytes, and
 * what subscribing and stopping ask of the browser and the service. Node is the runtime here, so "outside a
 * browser" is the real one, and a page's own pieces are put on `globalThis` for the tests that need them.
 */

const KEY = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';
const capabilities = { notifications: { push: { vapidPublicKey: KEY }, email: false } } as unknown as Capabilities;
const SUBSCRIPTION = { endpoint: 'https://push.example.com/s/1', keys: { p256dh: 'p', auth: 'a' } };

/** A browser's push pieces that write down what they are asked, in order. */
function browser(options: { permission?: NotificationPermission; answer?: NotificationPermission } = {}) {
  const calls: string[] = [];
  const subscription = {
    toJSON: () => SUBSCRIPTION,
    unsubscribe: async () => (calls.push('unsubscribe'), true),
  };
  const state = { subscribed: false, registered: true };
  const registration = {
    pushManager: {
      getSubscription: async () => (state.subscribed ? subscription : null),
      subscribe: async (given: { userVisibleOnly: boolean; applicationServerKey: Uint8Array }) => {
        calls.push(`subscribe ${given.userVisibleOnly} ${given.applicationServerKey.length}`);
        state.subscribed = true;
        return subscription;
      },
    },
  };
  const platform = {
    Notification: {
      permission: options.permission ?? 'default',
      requestPermission: async () => (calls.push('ask'), options.answer ?? 'granted'),
    },
    PushManager: function PushManager() {},
    serviceWorker: {
      register: async (url: string) => (calls.push(`register ${url}`), registration),
      getRegistration: async (url?: string) => (
        calls.push(`registration of ${url}`),
        state.registered ? registration : undefined
      ),
    },
  };
  return { platform: platform as unknown as PushPlatform, pieces: platform, calls, state };
}

/** The service's side: what it was handed (`null` for a stop). */
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

/** Runs `body` with `globals` put on globalThis, then takes them away again. */
async function withGlobals(globals: Record<string, unknown>, body: () => Promise<void>): Promise<void> {
  const runtime = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) runtime[name] = value;
  try {
    await body();
  } finally {
    for (const name of Object.keys(globals)) delete runtime[name];
  }
}

describe('whether this deployment and this browser can push a reply', () => {
  test('the key is given only with every piece: the service’s key, a service worker, Notification and PushManager', () => {
    const { pieces } = browser();
    expect(pushKeyOf(capabilities, pieces as unknown as PushPlatform)).toBe(KEY);
    for (const missing of ['serviceWorker', 'Notification', 'PushManager'] as const)
      expect(pushKeyOf(capabilities, { ...pieces, [missing]: undefined } as unknown as PushPlatform)).toBeUndefined();
    for (const without of [undefined, {}, { notifications: {} }, { notifications: { push: null } }])
      expect(pushKeyOf(without as unknown as Capabilities, pieces as unknown as PushPlatform)).toBeUndefined();
  });

  test('outside a browser nothing can push: no window, or a worker’s navigator without one, or a window without navigator', async () => {
    const { pieces, calls } = browser();
    const { client, held } = service();
    expect(pushKeyOf(capabilities)).toBeUndefined();
    await expect(subscribeToReplies(client, KEY)).resolves.toBe('unsupported');
    await withGlobals({ navigator: { serviceWorker: pieces.serviceWorker } }, async () => {
      expect(pushKeyOf(capabilities)).toBeUndefined();
      await expect(subscribeToReplies(client, KEY)).resolves.toBe('unsupported');
    });
    await withGlobals({ window: { Notification: pieces.Notification, PushManager: pieces.PushManager } }, async () => {
      expect(pushKeyOf(capabilities)).toBeUndefined();
    });
    expect([calls, held]).toEqual([[], []]);
  });

  test('in a page, with no platform given, it takes the page’s own service worker, Notification and PushManager', async () => {
    const { pieces, calls } = browser();
    const { client, held } = service();
    const page = { Notification: pieces.Notification, PushManager: pieces.PushManager };
    await withGlobals({ window: page, navigator: { serviceWorker: pieces.serviceWorker } }, async () => {
      expect(pushKeyOf(capabilities)).toBe(KEY);
      await expect(subscribeToReplies(client, KEY)).resolves.toBe('subscribed');
      await unsubscribeFromReplies(client);
    });
    expect(calls).toEqual([
      'ask',
      'register /chat-sw.js',
      'subscribe true 65',
      'registration of /chat-sw.js',
      'unsubscribe',
    ]);
    // No `location` here: the service is told of no page to open, rather than of an undefined one.
    expect(held).toStrictEqual([SUBSCRIPTION, null]);
  });
});

describe('subscribing', () => {
  test('a browser missing any piece is unsupported, and nothing is asked or sent', async () => {
    for (const missing of ['serviceWorker', 'Notification', 'PushManager'] as const) {
      const { pieces, calls } = browser();
      const { client, held } = service();
      const platform = { ...pieces, [missing]: undefined } as unknown as PushPlatform;
      await expect(subscribeToReplies(client, KEY, { platform })).resolves.toBe('unsupported');
      expect([missing, calls, held]).toEqual([missing, [], []]);
    }
  });

  test('a permission given before is not asked again, a subscription the browser holds is kept, and the page given is sent', async () => {
    const { platform, calls, state } = browser({ permission: 'granted' });
    state.subscribed = true;
    const { client, held } = service();
    const outcome = await subscribeToReplies(client, KEY, { platform, url: 'https://shop.example/chat' });
    expect(outcome).toBe('subscribed');
    expect(calls).toEqual(['register /chat-sw.js']);
    expect(held).toEqual([{ ...SUBSCRIPTION, url: 'https://shop.example/chat' }]);
  });

  test('without words the worker’s URL is the one given, or /chat-sw.js', () => {
    expect(serviceWorkerUrlOf({})).toBe('/chat-sw.js');
    expect(serviceWorkerUrlOf({ serviceWorkerUrl: '/assets/sw.js?v=2' })).toBe('/assets/sw.js?v=2');
    expect(serviceWorkerUrlOf({ words: { replyFrom: 'From {from}', reply: 'Reply', dir: 'rtl' } })).toBe(
      '/chat-sw.js?replyFrom=From+%7Bfrom%7D&reply=Reply&dir=rtl',
    );
  });

  test('a base64url key with - and _ and no padding becomes its bytes', () => {
    const bytes = [0xfb, 0xef, 0xff, 0xfe];
    const key = Buffer.from(bytes).toString('base64url');
    expect(key).toBe('--___g');
    expect([...keyBytes(key)]).toEqual(bytes);
  });
});

describe('stopping', () => {
  test('tells the service, then drops the subscription of the worker given or of /chat-sw.js', async () => {
    for (const [serviceWorkerUrl, asked] of [
      ['/assets/sw.js', 'registration of /assets/sw.js'],
      [undefined, 'registration of /chat-sw.js'],
    ] as const) {
      const { platform, calls, state } = browser();
      state.subscribed = true;
      const { client, held } = service();
      await unsubscribeFromReplies(client, { platform, serviceWorkerUrl });
      expect([held, calls]).toEqual([[null], [asked, 'unsubscribe']]);
    }
  });

  test('with no service worker, no registration or no subscription, it only tells the service', async () => {
    const noRegistration = browser();
    noRegistration.state.registered = false;
    const noSubscription = browser();
    for (const platform of [{} as PushPlatform, noRegistration.platform, noSubscription.platform]) {
      const { client, held } = service();
      await expect(unsubscribeFromReplies(client, { platform })).resolves.toBeUndefined();
      expect(held).toEqual([null]);
    }
    expect([noRegistration, noSubscription].flatMap((b) => b.calls).filter((c) => c === 'unsubscribe')).toEqual([]);
  });
});
