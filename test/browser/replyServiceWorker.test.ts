import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { chromiumOnADesktop, type Desktop } from '../support/desktopNotifications';
import { waitFor } from '../support/wait';

/**
 * The kit's service worker (client/sw.js) in Chromium, served by a site as its own `/chat-sw.js`: a push the
 * service sends while no page of the chat is open becomes a notification in the customer's language, naming the
 * agent, that leads back to the chat page, and never to another site. Pushes are delivered through the DevTools
 * protocol, as a push service would deliver them; the notification permission is granted by the test. Clicking one
 * is a desktop's click (test/support/desktopNotifications.ts): Chromium shows it through the desktop's notification
 * server, which tells Chromium it was clicked, so the worker handles a trusted `notificationclick`.
 *
 * @needs chromium dbus-daemon python3-gi
 */

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../..');
let browser: Browser;
let site: http.Server;
let origin: string;

beforeAll(async () => {
  const worker = fs.readFileSync(path.join(ROOT, 'client/sw.js'));
  site = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/chat-sw.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(worker);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>Shop</title><p>Shop</p>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://localhost:${(site.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
});

interface Shown {
  title: string;
  body: string;
  lang: string;
  dir: string;
  tag: string;
  url: string;
}

/**
 * What the DevTools protocol tells of this site's service worker on `cdp`'s page: its registration's id (for
 * `deliverPushMessage`, once registered), and each status and running state its versions went through, for a push
 * that shows nothing.
 */
async function watchServiceWorker(cdp: CDPSession): Promise<{ registered: Promise<string>; versions: string[] }> {
  const registered = new Promise<string>((resolve) =>
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string }) => r.scopeURL.startsWith(origin));
      if (ours) resolve(ours.registrationId as string);
    }),
  );
  const versions: string[] = [];
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions: updated }) => {
    for (const v of updated as Array<{ versionId: string; runningStatus: string; status: string }>)
      versions.push(`${v.versionId}:${v.status}/${v.runningStatus}`);
  });
  await cdp.send('ServiceWorker.enable');
  return { registered, versions };
}

/** A push's notification as the worker asked for it: pending until Chromium has shown it, or refused. */
type Show = { state: 'pending' } | { state: 'shown' } | { state: 'refused'; reason: string };

/**
 * Registers the worker as `subscribeToReplies` does (its words in the URL), delivers `payloads` to it, and reads the
 * notifications once the worker's `showNotification` calls have settled.
 *
 * Read only then: Chromium's `getNotifications()` drops from its database a notification it has written but not yet
 * displayed (PlatformNotificationContextImpl::DoReadAllNotificationDataForServiceWorkerRegistration deletes any entry
 * older than the read and absent from the platform's displayed set), so a read racing the display loses that
 * notification for good, though the customer sees it. The worker's `showNotification` is watched, not replaced.
 */
async function pushed(workerUrl: string, payloads: unknown[]): Promise<Shown[]> {
  const context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin });
  const page = await context.newPage();
  await page.goto(`${origin}/shop/chat`);
  const cdp = await context.newCDPSession(page);
  const { registered, versions } = await watchServiceWorker(cdp);
  // A fresh context has no worker yet: this one starts with the registration below.
  const started = context.waitForEvent('serviceworker');
  await page.evaluate(async (url) => {
    await navigator.serviceWorker.register(url);
    // `ready` comes with an active worker, which may still be activating: a push is delivered once it has.
    const { active } = await navigator.serviceWorker.ready;
    if (active && active.state !== 'activated')
      await new Promise<void>((resolve) =>
        active.addEventListener('statechange', () => active.state === 'activated' && resolve()),
      );
  }, workerUrl);
  const worker = await started;
  await worker.evaluate(() => {
    const scope = self as unknown as {
      ServiceWorkerRegistration: { prototype: { showNotification(...args: unknown[]): Promise<void> } };
      shows: Show[];
    };
    const { prototype } = scope.ServiceWorkerRegistration;
    const { showNotification } = prototype;
    scope.shows = [];
    prototype.showNotification = function (...args) {
      const show: Show = { state: 'pending' };
      scope.shows.push(show);
      const result = showNotification.apply(this, args);
      result.then(
        () => Object.assign(show, { state: 'shown' }),
        (error: unknown) => Object.assign(show, { state: 'refused', reason: String(error) }),
      );
      return result;
    };
  });
  const registrationId = await registered;
  for (const payload of payloads)
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  const showsOf = () => worker.evaluate(() => (self as unknown as { shows: Show[] }).shows);
  let shows: Show[] = [];
  try {
    await waitFor(async () => {
      shows = await showsOf();
      return shows.length >= payloads.length && shows.every((s) => s.state !== 'pending');
    });
  } catch {
    // Reported below, with what the browser said of the worker.
  }
  const shown = await page.evaluate(async () => {
    const notifications = await (await navigator.serviceWorker.ready).getNotifications();
    return notifications.map((n) => ({
      title: n.title,
      body: n.body,
      lang: n.lang,
      dir: n.dir,
      tag: n.tag,
      url: (n.data as { url: string }).url,
    }));
  });
  await context.close();
  if (shown.length === 0)
    throw new Error(
      `no notification from ${payloads.length} push(es) to registration ${registrationId}; ` +
        `the worker's showNotification calls: ${JSON.stringify(shows)}; its versions went: ${versions.join(', ')}`,
    );
  return shown;
}

test("a reply becomes a notification in the customer's language, naming the agent, leading to the chat page", async () => {
  const words = new URLSearchParams({ replyFrom: 'Neue Antwort von {from}', reply: 'Neue Antwort', lang: 'de' });
  const shown = await pushed(`/chat-sw.js?${words}`, [{ type: 'reply', from: 'Alex', url: `${origin}/shop/chat?c=1` }]);
  expect(shown).toEqual([
    {
      title: 'Neue Antwort von \u2068Alex\u2069',
      body: '',
      lang: 'de',
      dir: 'auto',
      tag: 'genesys-bff-reply',
      url: `${origin}/shop/chat?c=1`,
    },
  ]);
});

test('a name is set apart from the words around it and taken as written, replacement patterns and all', async () => {
  const words = new URLSearchParams({ replyFrom: 'رد جديد من {from}', reply: 'رد جديد', lang: 'ar', dir: 'rtl' });
  const worker = `/chat-sw.js?${words}`;
  const [digits] = await pushed(worker, [{ type: 'reply', from: 'Alex 2', url: '/shop/chat' }]);
  expect(digits!.title).toBe('رد جديد من \u2068Alex 2\u2069');
  const [patterns] = await pushed(worker, [{ type: 'reply', from: "Ana $& Bo $'", url: '/shop/chat' }]);
  expect(patterns!.title).toBe("رد جديد من \u2068Ana $& Bo $'\u2069");
});

test('a preview the deployment allows is the body; Arabic words read right to left; without a name, the plain title', async () => {
  const words = new URLSearchParams({
    replyFrom: 'رد جديد من {from}',
    reply: 'رد جديد في محادثتك',
    lang: 'ar',
    dir: 'rtl',
  });
  const shown = await pushed(`/chat-sw.js?${words}`, [
    { type: 'reply', preview: 'Your parcel left today', url: '/shop/chat' },
  ]);
  expect(shown).toEqual([
    {
      title: 'رد جديد في محادثتك',
      body: 'Your parcel left today',
      lang: 'ar',
      dir: 'rtl',
      tag: 'genesys-bff-reply',
      url: `${origin}/shop/chat`,
    },
  ]);
});

test("a push naming another site's page leads to this site's root, and a payload that is not JSON still notifies", async () => {
  const foreign = await pushed('/chat-sw.js', [{ type: 'reply', from: 'Alex', url: 'https://evil.example/phish' }]);
  expect(foreign.map((n) => [n.title, n.url])).toEqual([['New reply from \u2068Alex\u2069', `${origin}/`]]);
  const broken = await pushed('/chat-sw.js', ["not the service's JSON"]);
  expect(broken.map((n) => [n.title, n.url])).toEqual([['New reply', `${origin}/`]]);
});

describe('clicking the notification, on a desktop that shows it', () => {
  let desktop: Desktop;
  beforeEach(async () => {
    desktop = await chromiumOnADesktop();
    await desktop.context.grantPermissions(['notifications'], { origin });
  });
  afterEach(() => desktop?.close());

  /** A page of the shop with the worker registered; `push` delivers a payload to it as a push service would. */
  async function shopWithWorker(): Promise<{ page: Page; push(payload: unknown): Promise<void> }> {
    // The browser's first tab.
    const page = desktop.context.pages()[0]!;
    await page.goto(`${origin}/shop`);
    const cdp = await desktop.context.newCDPSession(page);
    const { registered } = await watchServiceWorker(cdp);
    await page.evaluate(async () => {
      await navigator.serviceWorker.register('/chat-sw.js');
      await navigator.serviceWorker.ready;
    });
    const registrationId = await registered;
    return {
      page,
      push: async (payload) => {
        await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
      },
    };
  }

  test('with no tab on the chat page, it opens the chat page in a new tab, and the notification goes', async () => {
    const { push } = await shopWithWorker();
    await push({ type: 'reply', from: 'Alex', preview: 'Your parcel left today', url: `${origin}/shop/chat?c=1` });
    const shown = await desktop.nthShown(1);
    expect(shown).toMatchObject({
      summary: 'New reply from \u2068Alex\u2069',
      actions: expect.arrayContaining(['default']),
    });
    expect(shown.body).toContain('Your parcel left today');

    const opened = desktop.context.waitForEvent('page');
    await desktop.click(shown.id);
    const chat = await opened;
    await chat.waitForURL(`${origin}/shop/chat?c=1`);
    // The worker took it down: the desktop was told, and the site has no notification left.
    await waitFor(() => desktop.closed.includes(shown.id));
    const [worker] = desktop.context.serviceWorkers();
    expect(
      await worker!.evaluate(async () => {
        const { registration } = self as unknown as { registration: ServiceWorkerRegistration };
        return (await registration.getNotifications()).length;
      }),
    ).toBe(0);
    expect(desktop.context.pages().map((p) => p.url())).toEqual([`${origin}/shop`, `${origin}/shop/chat?c=1`]);
  });

  /**
   * Playwright emulates focus for every page it drives (each reports `document.hasFocus()`), so the tab cannot show
   * being brought forward; the worker's own `WindowClient.focus()` does, watched (not replaced) in the worker: it is
   * called for the chat's tab (and `openWindow` is not), with the click's user activation, and resolves with that
   * tab focused.
   */
  test('with a tab already on the chat page, it brings that tab forward and opens none', async () => {
    const { page: shop, push } = await shopWithWorker();
    const chat = await desktop.context.newPage();
    await chat.goto(`${origin}/shop/chat?c=1`);
    await shop.bringToFront();
    const [worker] = desktop.context.serviceWorkers();
    await worker!.evaluate(() => {
      // The worker's globals (this project's TypeScript knows the page's, not a service worker's).
      interface Client {
        url: string;
        focused: boolean;
      }
      const scope = self as unknown as {
        WindowClient: { prototype: { focus(this: Client): Promise<Client> } };
        Clients: { prototype: { openWindow(this: unknown, url: string): Promise<Client | null> } };
        outcome: Promise<{ focused: string | null } | { opened: string }>;
      };
      const { focus } = scope.WindowClient.prototype;
      const { openWindow } = scope.Clients.prototype;
      scope.outcome = new Promise((resolve, reject) => {
        scope.WindowClient.prototype.focus = function () {
          const result = focus.call(this);
          result.then((client) => resolve({ focused: client.focused ? client.url : null }), reject);
          return result;
        };
        scope.Clients.prototype.openWindow = function (url) {
          resolve({ opened: url });
          return openWindow.call(this, url);
        };
      });
    });
    await push({ type: 'reply', from: 'Alex', url: `${origin}/shop/chat?c=1` });
    const shown = await desktop.nthShown(1);
    await desktop.click(shown.id);
    expect(await worker!.evaluate(() => (self as unknown as { outcome: Promise<unknown> }).outcome)).toEqual({
      focused: `${origin}/shop/chat?c=1`,
    });
    expect(desktop.context.pages().map((p) => p.url())).toEqual([`${origin}/shop`, `${origin}/shop/chat?c=1`]);
  });
});
