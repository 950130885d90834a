import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemoServer, type DemoServer } from '../../src/demo/demoServer';
import { demoAssets } from '../../src/demo/embeddedDefault';
import { axeViolations } from '../support/axe';
import { streamsAtService as streamsHeld } from '../support/chatPage';
import { bundleKitPage, launchChromium } from '../support/browser';
import { guestTokenOf, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { wordingFor } from '../../client/src/wording';

/**
 * The React kit's defaults in real tabs: one browser context (one site's storage, BroadcastChannel and Web
 * Locks) with two pages on a developer's page (chatTabs/page.tsx, bundled by esbuild as a development build,
 * under StrictMode) or on the demo page (examples/static-chat, served as the embedded default serves it),
 * against the service and the Genesys simulator. The service's own gauge counts the live
 * streams the tabs hold. A hidden page is emulated by the page's own visibility (as a tab in the background
 * reports it), and the notifications the page shows are counted as it makes them.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');

let stack: Stack;
/** A service whose deployment sends read receipts (READ_RECEIPTS=on), on a simulator that takes them. */
let readsStack: Stack;
let browser: Browser;
let bundle: string;
let pageServer: http.Server;
let pageOrigin: string;
/** The demo page (examples/static-chat) on its own origin, calling the same service. */
let demo: DemoServer;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chat</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/styles.css">
<style>body { margin: 0; } .chat { height: 420px; width: min(360px, 100%); }</style>
<script>window.BFF_URL = __SERVICE__;</script></head>
<body><div id="root"></div><script src="/kit.js"></script></body></html>`;

beforeAll(async () => {
  pageServer = http.createServer((req, res) => {
    if (req.url === '/kit.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/styles.css')
      res.writeHead(200, { 'content-type': 'text/css' }).end(fs.readFileSync(path.join(ROOT, 'client/styles.css')));
    else
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        PAGE.replace(
          '__SERVICE__',
          // `?service=reads`: the service that sends read receipts (the read receipts tests' own).
          JSON.stringify(req.url?.includes('service=reads') ? readsStack.service.url : stack.service.url),
        ),
      );
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  demo = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    ...demoAssets(),
    serviceUrlFor: () => stack.service.url,
  });
  stack = await startStack({
    env: {
      CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},${pageOrigin},${new URL(demo.url).origin}`,
      METRICS_PORT: '0',
    },
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
  });
  readsStack = await startStack({
    env: { CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},${pageOrigin}`, READ_RECEIPTS: 'on' },
    sim: { guestReceipts: 'accepted', agent: { enabled: false } },
  });
  bundle = await bundleKitPage(path.join(__dirname, 'chatTabs/page.tsx'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  await stack?.close();
  await readsStack?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

/** Live streams open at the service now. */
const streamsAtService = () => streamsHeld(stack.service.metricsUrl!);

/** A site's browser: its tabs share storage, BroadcastChannel and locks. Notifications shown are written down. */
const sites: BrowserContext[] = [];
async function site(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 400, height: 600 }, locale: 'en-US' });
  sites.push(context);
  await context.addInitScript(() => {
    const shown: { title: string; body?: string }[] = [];
    (window as unknown as { shown: typeof shown }).shown = shown;
    if (!('Notification' in window)) return;
    window.Notification = new Proxy(window.Notification, {
      construct(target, args: [string, NotificationOptions?]) {
        shown.push({ title: args[0], body: args[1]?.body });
        return Reflect.construct(target, args) as object;
      },
    });
  });
  return context;
}

/** The live stream connections each page opened (their URLs). */
const streamsOf = new Map<Page, URL[]>();

async function openTab(context: BrowserContext, url = `${pageOrigin}/`, open = 'open'): Promise<Page> {
  const page = await context.newPage();
  const streams: URL[] = [];
  streamsOf.set(page, streams);
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname === '/messages/stream') streams.push(url);
  });
  const said: string[] = [];
  page.on('pageerror', (e) => said.push(`error: ${e.message}`));
  await page.goto(url);
  await page
    .locator('[role=status]', { hasText: open })
    .waitFor({ timeout: 15_000 })
    .catch((e: Error) => {
      throw new Error(`${e.message}\n${said.join('\n')}`);
    });
  return page;
}

function newestGuestToken(): string {
  const frame = [...stack.sim.received].reverse().find((f) => f.frame.action === 'configureSession');
  return frame!.frame.token as string;
}

const bubbles = (page: Page, text: string) => page.locator('.bubble', { hasText: text });

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Your message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** The page as a tab in the background (or in front again) reports itself. */
const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
  page.evaluate((to) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => to });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => to === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);

afterEach(async () => {
  for (const context of sites.splice(0)) await context.close();
  // Each test starts with no stream held, so the gauge counts only its own.
  await waitFor(async () => (await streamsAtService()) === 0, 15_000);
});

test('two tabs share one chat on one stream held, each shows every message, and ending in one is "you ended" in the other', async () => {
  const context = await site();
  const first = await openTab(context);
  const second = await openTab(context);
  const gt = newestGuestToken();
  await waitFor(async () => (await streamsAtService()) === 1);

  stack.sim.agent.say(gt, 'hello to every tab');
  await say(second, 'sent from the second tab');
  for (const page of [first, second]) {
    await bubbles(page, 'hello to every tab').waitFor();
    await bubbles(page, 'You said: sent from the second tab').waitFor();
    await bubbles(page, 'sent from the second tab').first().waitFor();
  }
  expect(await streamsAtService()).toBe(1);
  expect(await axeViolations(second)).toEqual([]);

  await first.getByRole('button', { name: 'End chat' }).click();
  await first.getByRole('alert').filter({ hasText: 'You ended the chat.' }).waitFor();
  await second.getByRole('alert').filter({ hasText: 'You ended the chat.' }).waitFor();
  expect(await second.getByRole('alert').textContent()).toBe('You ended the chat.');
  await waitFor(async () => (await streamsAtService()) === 0);

  // A new chat started in one tab is the new chat in the other, on a clean page and one stream.
  await second.getByRole('button', { name: 'Start a new chat' }).click();
  for (const page of [first, second]) await page.locator('[role=status]', { hasText: 'open' }).waitFor();
  expect(await bubbles(first, 'hello to every tab').count()).toBe(0);
  await waitFor(async () => (await streamsAtService()) === 1);
  expect(await axeViolations(first)).toEqual([]);
});

test('when the tab holding the stream closes, the other takes over: a message sent meanwhile shows once', async () => {
  const context = await site();
  const first = await openTab(context);
  const second = await openTab(context);
  const gt = newestGuestToken();
  stack.sim.agent.say(gt, 'before the handover');
  await bubbles(second, 'before the handover').waitFor();
  await waitFor(async () => (await streamsAtService()) === 1);

  // The first tab holds the stream; the second only hears it.
  expect(streamsOf.get(first)!.length).toBeGreaterThan(0);
  expect(streamsOf.get(second)).toEqual([]);

  await first.close();
  stack.sim.agent.say(gt, 'during the handover');
  await bubbles(second, 'during the handover').waitFor({ timeout: 15_000 });
  // Taken over, resuming after the last event the first tab relayed. On a busy machine the bubble can show before
  // the page's stream request is reported, so the request is waited for, not assumed.
  await waitFor(() => streamsOf.get(second)!.length > 0, 15_000);
  expect(streamsOf.get(second)!.map((url) => url.searchParams.has('lastEventId'))).toEqual([true]);
  stack.sim.agent.say(gt, 'after the handover');
  await bubbles(second, 'after the handover').waitFor();
  await waitFor(async () => (await streamsAtService()) === 1);
  for (const text of ['before the handover', 'during the handover', 'after the handover'])
    expect(await bubbles(second, text).count()).toBe(1);
});

test('with the page hidden, an agent message raises the unread count, the title badge and a notification; seeing the page clears them', async () => {
  const context = await site();
  await context.grantPermissions(['notifications'], { origin: pageOrigin });
  const page = await openTab(context);
  // Permission already granted: nothing to ask for.
  expect(await page.getByRole('button', { name: 'Notify me of new messages' }).count()).toBe(0);
  const gt = newestGuestToken();

  stack.sim.agent.say(gt, 'while you look');
  await bubbles(page, 'while you look').waitFor();
  expect(await page.title()).toBe('Chat');

  await setVisibility(page, 'hidden');
  stack.sim.agent.say(gt, 'while you are away');
  stack.sim.agent.say(gt, 'still away');
  await page.locator('.unread', { hasText: '2 unread messages' }).waitFor();
  expect(await page.title()).toBe('(2) Chat');
  const shown = await page.evaluate(() => (window as unknown as { shown: { title: string }[] }).shown);
  expect(shown).toEqual([
    { title: 'New message from Simulator Bot', body: 'while you are away' },
    { title: 'New message from Simulator Bot', body: 'still away' },
  ]);
  expect(await axeViolations(page)).toEqual([]);

  await setVisibility(page, 'visible');
  await waitFor(async () => (await page.title()) === 'Chat');
  expect(await page.locator('.unread').textContent()).toBe('');
});

test('without permission the page offers to notify, and asks only when that button is pressed', async () => {
  const context = await site();
  const page = await openTab(context);
  const ask = page.getByRole('button', { name: 'Notify me of new messages' });
  await ask.waitFor();
  expect(await axeViolations(page)).toEqual([]);
  await page.evaluate(() => {
    (window as unknown as { asked: number }).asked = 0;
    const real = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = () => {
      (window as unknown as { asked: number }).asked++;
      return real();
    };
  });
  expect(await page.evaluate(() => (window as unknown as { asked: number }).asked)).toBe(0);
  await ask.click();
  await waitFor(async () => (await page.evaluate(() => (window as unknown as { asked: number }).asked)) === 1);
});

describe("receipts: where the guest's messages stand, the same in every tab, in the customer's language", () => {
  const CARD = '4111 1111 1111 1111';

  test.each(['en', 'de', 'ar'])('%s: the newest says read, a filtered one why, with no retry', async (language) => {
    const { t, dir } = wordingFor(language);
    const context = await site();
    const [first, second] = [
      await openTab(context, `${pageOrigin}/?lang=${language}`),
      await openTab(context, `${pageOrigin}/?lang=${language}`),
    ];
    const gt = newestGuestToken();
    // This deployment sends no read receipts (READ_RECEIPTS off): no tab reports the agent's answer it shows.
    const reports: string[] = [];
    for (const page of [first, second])
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/messages/read') reports.push(r.url());
      });
    await first.getByLabel(t('yourMessage')).fill('where is my parcel?');
    await first.getByRole('button', { name: t('send'), exact: true }).click();
    for (const page of [first, second]) {
      await page.locator('.delivery[data-status=read]', { hasText: t('messageRead') }).waitFor();
      await bubbles(page, 'You said: where is my parcel?').waitFor();
    }

    await second.getByLabel(t('yourMessage')).fill(`my card is ${CARD}`);
    await second.getByRole('button', { name: t('send'), exact: true }).click();
    for (const page of [first, second]) {
      const failure = page.locator('.delivery.failed');
      await failure.filter({ hasText: t('failedDataFiltered') }).waitFor();
      expect(await failure.getByRole('button').count()).toBe(0);
      expect(await failure.locator('strong').textContent()).toBe(t('messageNotDelivered'));
      expect(await page.locator('main').getAttribute('dir')).toBe(dir);
      // The read message above is no longer the newest guest message: only the failure says where one stands.
      expect(await page.locator('.delivery').count()).toBe(1);
    }
    // The agent's answer was on both visible pages before the second message went: none said it was read.
    expect(reports).toEqual([]);
    const guestReceipts = stack.sim
      .framesFor(gt, 'onMessage')
      .filter((f) => (f.frame as { message?: { type?: string } }).message?.type === 'Receipt');
    expect(guestReceipts).toEqual([]);
    expect(await axeViolations(second)).toEqual([]);
  });

  test('the demo page, in Arabic: read, then a filtered message says why, in both tabs', async () => {
    const { t } = wordingFor('ar');
    const context = await site();
    const first = await openTab(context, `${demo.url}?lang=ar`, t('connected'));
    const second = await openTab(context, `${demo.url}?lang=ar`, t('connected'));
    await first.locator('#text').fill('where is my parcel?');
    await first.locator('#send').click();
    for (const page of [first, second])
      await page.locator('#messages .delivery[data-status=read]', { hasText: t('messageRead') }).waitFor();
    await first.locator('#text').fill(`my card is ${CARD}`);
    await first.locator('#send').click();
    for (const page of [first, second])
      await page.locator('#messages .delivery.failed', { hasText: t('failedDataFiltered') }).waitFor();
    expect(await second.locator('html').getAttribute('dir')).toBe('rtl');
    expect(await axeViolations(second)).toEqual([]);
  });
});

describe('read receipts from the page, where the deployment sends them', () => {
  const readsAt = (gt: string) =>
    readsStack.sim
      .framesFor(gt, 'onMessage')
      .map((f) => (f.frame as { message?: { type?: string; id?: string } }).message)
      .filter((m) => m?.type === 'Receipt')
      .map((m) => m!.id);

  test('an agent message shown in a hidden tab is reported read once the tab is shown, once, whatever tabs show it', async () => {
    const context = await site();
    const before = readsStack.sim.received.length;
    const first = await openTab(context, `${pageOrigin}/?service=reads`);
    const gt = guestTokenOf(readsStack.sim, before);
    const second = await openTab(context, `${pageOrigin}/?service=reads`);
    const reports: string[] = [];
    for (const page of [first, second]) {
      page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/messages/read') reports.push(r.postData() ?? '');
      });
      await setVisibility(page, 'hidden');
    }
    readsStack.sim.agent.say(gt, 'read me when you can');
    for (const page of [first, second]) {
      await bubbles(page, 'read me when you can').waitFor();
      // Two frames: React has run the effects of the render that showed it.
      await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    }
    expect(reports).toEqual([]);

    await setVisibility(first, 'visible');
    await waitFor(() => readsAt(gt).length === 1);
    await setVisibility(second, 'visible');
    await first.reload();
    await bubbles(first, 'read me when you can').waitFor();
    await waitFor(() => reports.length >= 2);
    const agentMessage = readsStack.sim
      .conversationMessages(gt)
      .find((m) => (m as { text?: string }).text === 'read me when you can') as { id: string };
    // Each tab said so when it was shown, and the reload said it again: Genesys heard it once.
    expect(readsAt(gt)).toEqual([agentMessage.id]);
  });
});

describe('the demo page', () => {
  const openDemo = (context: BrowserContext) => openTab(context, demo.url, 'Connected');
  const demoBubble = (page: Page, text: string) => page.locator('#messages li .bubble', { hasText: text });
  /** Waits for the notice to show `text`; failing, says what the page showed instead. */
  const noticeShows = (page: Page, text: string) =>
    page
      .locator('#notice-text', { hasText: text })
      .waitFor()
      .catch(async (error: Error) => {
        const shown = await page
          .evaluate(() => ({
            notice: document.querySelector('#notice-text')?.textContent,
            hidden: (document.querySelector('#notice') as HTMLElement | null)?.hidden,
            status: document.querySelector('[role=status]')?.textContent,
          }))
          .catch(() => 'nothing: the page was gone');
        throw new Error(`${error.message}\nThe page showed: ${JSON.stringify(shown)}`);
      });

  test('two tabs share one chat on one stream, and ending in one says "You ended this chat" in the other', async () => {
    const context = await site();
    const first = await openDemo(context);
    const second = await openDemo(context);
    const gt = newestGuestToken();
    await waitFor(async () => (await streamsAtService()) === 1);
    stack.sim.agent.say(gt, 'hello to both demo tabs');
    for (const page of [first, second]) await demoBubble(page, 'hello to both demo tabs').waitFor();
    expect(await demoBubble(second, 'hello to both demo tabs').count()).toBe(1);

    await first.getByRole('button', { name: 'End chat' }).click();
    await noticeShows(first, 'You ended this chat.');
    await noticeShows(second, 'You ended this chat.');
    expect(await second.locator('#notice-text').textContent()).toBe('You ended this chat.');
    expect(await axeViolations(second)).toEqual([]);
    await waitFor(async () => (await streamsAtService()) === 0);
  });

  test('hidden, an agent message puts the unread count in its title; seen, the title is back', async () => {
    const context = await site();
    const page = await openDemo(context);
    const title = await page.title();
    const gt = newestGuestToken();
    await page.getByRole('button', { name: 'Notify me of new messages' }).waitFor();
    await setVisibility(page, 'hidden');
    stack.sim.agent.say(gt, 'for the demo while away');
    await demoBubble(page, 'for the demo while away').waitFor();
    await waitFor(async () => (await page.title()) === `(1) ${title}`);
    expect(await axeViolations(page)).toEqual([]);
    await setVisibility(page, 'visible');
    expect(await page.title()).toBe(title);
  });
});
