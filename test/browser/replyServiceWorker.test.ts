import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser';

/**
 * The kit's service worker (client/sw.js) in Chromium, served by a site as its own `/chat-sw.js`: a push the
 * service sends while no page of the chat is open becomes a notification in the customer's language, naming the
 * agent, that leads back to the chat page, and never to another site. Pushes are delivered through the DevTools
 * protocol, as a push service would deliver them; the notification permission is granted by the test.
 *
 * @needs chromium
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

/** Registers the worker as `subscribeToReplies` does (its words in the URL), then delivers `payloads` to it. */
async function pushed(workerUrl: string, payloads: unknown[]): Promise<Shown[]> {
  const context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin });
  const page = await context.newPage();
  await page.goto(`${origin}/shop/chat`);
  const cdp = await context.newCDPSession(page);
  const registered = new Promise<string>((resolve) =>
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r: { scopeURL: string }) => r.scopeURL.startsWith(origin));
      if (ours) resolve(ours.registrationId as string);
    }),
  );
  await cdp.send('ServiceWorker.enable');
  await page.evaluate(async (url) => {
    await navigator.serviceWorker.register(url);
    await navigator.serviceWorker.ready;
  }, workerUrl);
  const registrationId = await registered;
  for (const payload of payloads)
    await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  const shown = await page.evaluate(async (count) => {
    const registration = await navigator.serviceWorker.ready;
    for (let i = 0; i < 200; i++) {
      const notifications = await registration.getNotifications();
      if (notifications.length >= count)
        return notifications.map((n) => ({
          title: n.title,
          body: n.body,
          lang: n.lang,
          dir: n.dir,
          tag: n.tag,
          url: (n.data as { url: string }).url,
        }));
      await new Promise((r) => setTimeout(r, 50));
    }
    return [];
  }, 1);
  await context.close();
  return shown;
}

test("a reply becomes a notification in the customer's language, naming the agent, leading to the chat page", async () => {
  const words = new URLSearchParams({ replyFrom: 'Neue Antwort von {from}', reply: 'Neue Antwort', lang: 'de' });
  const shown = await pushed(`/chat-sw.js?${words}`, [{ type: 'reply', from: 'Alex', url: `${origin}/shop/chat?c=1` }]);
  expect(shown).toEqual([
    {
      title: 'Neue Antwort von Alex',
      body: '',
      lang: 'de',
      dir: 'auto',
      tag: 'genesys-bff-reply',
      url: `${origin}/shop/chat?c=1`,
    },
  ]);
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
  expect(foreign.map((n) => [n.title, n.url])).toEqual([['New reply from Alex', `${origin}/`]]);
  const broken = await pushed('/chat-sw.js', ["not the service's JSON"]);
  expect(broken.map((n) => [n.title, n.url])).toEqual([['New reply', `${origin}/`]]);
});
