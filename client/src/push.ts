import type { Capabilities } from './types.js';

/**
 * "Notify me when there is a reply": the customer's opt-in to a Web Push when an agent answers while no page of the
 * chat is open. Asked only when the customer presses the kit's control, never on page load; the service worker is
 * the site's copy of `@genesys-bff/client/sw.js`, registered with the notification's words in its URL. The service
 * holds the subscription with the chat (`PUT /notifications/push`) and drops it when the chat ends.
 */

/** What the browser gives for a push subscription (`PushSubscription.toJSON()`). */
export interface PushSubscriptionBody {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
  /** The page a notification opens: the chat's page, of the site's own origin. */
  url?: string;
}

/** Where the push pieces of the browser are: the page's own unless given (tests, other runtimes). */
export interface PushPlatform {
  serviceWorker?: Pick<ServiceWorkerContainer, 'register' | 'getRegistration'>;
  Notification?: { permission: NotificationPermission; requestPermission(): Promise<NotificationPermission> };
  PushManager?: unknown;
}

export interface PushOptions {
  /** The site's copy of `@genesys-bff/client/sw.js`. Default `/chat-sw.js`. */
  serviceWorkerUrl?: string;
  /** The page a notification opens. Default: this page (`location.href`, without its fragment). */
  url?: string;
  /** The notification's words, in the customer's language (`useChat`'s wording has them). */
  words?: { replyFrom: string; reply: string; lang?: string; dir?: 'ltr' | 'rtl' };
  platform?: PushPlatform;
}

/** What the service and the client do with a subscription: the client's `enablePush` and `disablePush`. */
export interface PushHolder {
  enablePush(subscription: PushSubscriptionBody): Promise<void>;
  disablePush(): Promise<void>;
}

export type PushOutcome = 'subscribed' | 'denied' | 'unsupported';

function platformOf(given: PushPlatform | undefined): PushPlatform {
  if (given) return given;
  if (typeof window === 'undefined' || typeof navigator === 'undefined') return {};
  return {
    serviceWorker: 'serviceWorker' in navigator ? navigator.serviceWorker : undefined,
    Notification: 'Notification' in window ? window.Notification : undefined,
    PushManager: 'PushManager' in window ? (window as { PushManager?: unknown }).PushManager : undefined,
  };
}

/** The service's VAPID key when this deployment and this browser can push a reply; else undefined. */
export function pushKeyOf(capabilities: Capabilities | undefined, platform?: PushPlatform): string | undefined {
  const key = capabilities?.notifications?.push?.vapidPublicKey;
  const here = platformOf(platform);
  return key && here.serviceWorker && here.Notification && here.PushManager ? key : undefined;
}

/** The script URL that carries the notification's words to the service worker. */
export function serviceWorkerUrlOf(options: PushOptions): string {
  const base = options.serviceWorkerUrl ?? '/chat-sw.js';
  const words = options.words;
  if (!words) return base;
  const query = new URLSearchParams({ replyFrom: words.replyFrom, reply: words.reply });
  if (words.lang) query.set('lang', words.lang);
  if (words.dir) query.set('dir', words.dir);
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}

/** A base64url VAPID key as the bytes `pushManager.subscribe` takes. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Asks the customer's permission, registers the service worker, subscribes with the service's key and hands the
 * subscription to the service. `denied` when the customer (or the browser) said no; nothing is sent then.
 */
export async function subscribeToReplies(
  client: PushHolder,
  vapidPublicKey: string,
  options: PushOptions = {},
): Promise<PushOutcome> {
  const { serviceWorker, Notification: notification, PushManager } = platformOf(options.platform);
  if (!serviceWorker || !notification || !PushManager) return 'unsupported';
  const permission = notification.permission === 'granted' ? 'granted' : await notification.requestPermission();
  if (permission !== 'granted') return 'denied';
  const registration = await serviceWorker.register(serviceWorkerUrlOf(options));
  const existing = await registration.pushManager.getSubscription();
  const subscription =
    existing ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(vapidPublicKey),
    }));
  const page = options.url ?? (typeof location === 'undefined' ? undefined : location.href.split('#')[0]);
  await client.enablePush({ ...(subscription.toJSON() as PushSubscriptionBody), ...(page ? { url: page } : {}) });
  return 'subscribed';
}

/** Tells the service to stop, and drops the browser's subscription. */
export async function unsubscribeFromReplies(client: PushHolder, options: PushOptions = {}): Promise<void> {
  const { serviceWorker } = platformOf(options.platform);
  await client.disablePush();
  const registration = await serviceWorker?.getRegistration(options.serviceWorkerUrl ?? '/chat-sw.js');
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe();
}
