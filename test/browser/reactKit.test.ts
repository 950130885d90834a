import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { axeViolations } from '../support/axe';
import { belowTheFold, scrollListTo, scrollTopOf, sessionStarts } from '../support/chatPage';
import { bundleKitPage, launchChromium } from '../support/browser';
import { DEFAULT_EMERGENCY_GROUP_ID, DEFAULT_QUEUE_ID, DEFAULT_SCHEDULE_GROUP_ID } from '../../simulator';
import { PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { lastCharacterSide } from '../support/bidi';

/**
 * The React kit (`@genesys-bff/client/react`, from source) in a real browser, with a real layout: a
 * developer's page (reactKit/page.tsx) bundled by esbuild as a development build, so StrictMode mounts
 * twice as in Vite and `next dev`, served from its own loopback origin (allowed by CORS), against the
 * service and the Genesys simulator. Scrolling needs layout, which jsdom has none of.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');

let stack: Stack;
let browser: Browser;
let bundle: string;
let pageServer: http.Server;
let pageOrigin: string;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chat</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/styles.css">
<style>
  body { margin: 0; }
  .chat { height: 420px; width: min(360px, 100%); }
</style>
<script>window.BFF_URL = __SERVICE__;</script></head>
<body><div id="root"></div><script src="/kit.js"></script></body></html>`;

beforeAll(async () => {
  pageServer = http.createServer((req, res) => {
    if (req.url === '/kit.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/styles.css')
      res.writeHead(200, { 'content-type': 'text/css' }).end(fs.readFileSync(path.join(ROOT, 'client/styles.css')));
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(PAGE.replace('__SERVICE__', JSON.stringify(stack.service.url)));
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  stack = await startStack({
    env: {
      CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},${pageOrigin}`,
      // The page shows whether anyone is there, read from the simulator every few seconds.
      GENESYS_QUEUE_ID: DEFAULT_QUEUE_ID,
      GENESYS_SCHEDULE_GROUP_ID: DEFAULT_SCHEDULE_GROUP_ID,
      GENESYS_EMERGENCY_GROUP_ID: DEFAULT_EMERGENCY_GROUP_ID,
      AVAILABILITY_REFRESH_SECONDS: '5',
      AVAILABILITY_READS_PER_IP_PER_MINUTE: '100000',
    },
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
  });
  bundle = await bundleKitPage(path.join(__dirname, 'reactKit/page.tsx'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

interface KitPage {
  page: Page;
  /** Every `POST /guest-session` the page sent. */
  starts: ReturnType<typeof sessionStarts>;
  /** The `GET /availability` requests the page sent before the first answer came. */
  asks: string[];
}

async function openKit(query = '', width = 400): Promise<KitPage> {
  const context = await browser.newContext({ viewport: { width, height: 600 }, locale: 'en-US' });
  const page = await context.newPage();
  const starts = sessionStarts(page);
  const asks: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname === '/availability' && !answered) asks.push(r.url());
  });
  let answered = false;
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/availability' && r.request().method() === 'GET') answered = true;
  });
  const said: string[] = [];
  page.on('console', (m) => said.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => said.push(`error: ${e.message}`));
  await page.goto(`${pageOrigin}/${query}`);
  await page
    .locator('[role=status]', { hasText: 'open' })
    .waitFor({ timeout: 15_000 })
    .catch((e: Error) => {
      throw new Error(`${e.message}\n${said.join('\n')}`);
    });
  return { page, starts, asks };
}

async function say(page: Page, text: string): Promise<void> {
  await page.getByLabel('Your message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.from-bot .bubble', { hasText: `You said: ${text}` }).waitFor();
}

function newestGuestToken(): string {
  const frame = [...stack.sim.received].reverse().find((f) => f.frame.action === 'configureSession');
  return frame!.frame.token as string;
}

test('under StrictMode a load opens one session, and a reload resumes it at the newest message', async () => {
  const { page, starts } = await openKit();
  expect(starts).toEqual(['new']);
  for (let i = 1; i <= 6; i++) await say(page, `message ${i}`);
  expect(await page.evaluate(() => document.querySelector('[role=log]')!.scrollHeight)).toBeGreaterThan(500);
  await waitFor(async () => (await belowTheFold(page)) <= 1);

  await page.reload();
  await page.locator('[role=status]', { hasText: 'open' }).waitFor();
  await page.locator('.bubble', { hasText: 'You said: message 6' }).waitFor();
  expect(starts).toEqual(['new', 'resume']);
  await waitFor(async () => (await belowTheFold(page)) <= 1);
  await page.context().close();
});

test('the list follows new messages at the end, keeps the place when scrolled up, and offers a jump', async () => {
  const { page } = await openKit();
  const gt = newestGuestToken();
  for (let i = 1; i <= 8; i++) await say(page, `line ${i}`);
  await waitFor(async () => (await belowTheFold(page)) <= 1);

  // Scrolled up to read: a new message leaves the place alone and says something arrived below.
  // As a reader scrolls: the page has seen the scroll (its event) before anything else arrives.
  await scrollListTo(page, 40);
  stack.sim.agent.say(gt, 'while you were reading');
  await page.locator('.bubble', { hasText: 'while you were reading' }).waitFor();
  const jump = page.getByRole('button', { name: '1 new message' });
  await jump.waitFor();
  expect(await scrollTopOf(page)).toBe(40);
  stack.sim.agent.say(gt, 'and another');
  await page.getByRole('button', { name: '2 new messages' }).waitFor();

  await page.getByRole('button', { name: '2 new messages' }).click();
  await waitFor(async () => (await belowTheFold(page)) <= 1);
  await page.getByRole('button', { name: /new message/ }).waitFor({ state: 'detached' });
  await page.context().close();
});

test('an image that loads late keeps the list at its newest message', async () => {
  const { page } = await openKit();
  for (let i = 1; i <= 6; i++) await say(page, `before ${i}`);
  // Images arrive a second after the message that shows them, as on a slow connection.
  await page.route('**/*', async (route) => {
    if (route.request().resourceType() === 'image') await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.fallback();
  });
  await page.getByLabel('Your message').fill('send image');
  await page.getByRole('button', { name: 'Send' }).click();
  const image = page.locator('[role=log] img').last();
  await image.waitFor();
  await waitFor(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalHeight > 0), 10_000);
  expect(await image.evaluate((img) => img.getBoundingClientRect().height)).toBeGreaterThan(20);
  await waitFor(async () => (await belowTheFold(page)) <= 1);
  await page.context().close();
});

test.each([
  ['de', 'ltr', 'Senden'],
  ['ar', 'rtl', 'إرسال'],
])(
  'in %s on a 320 px screen with the package stylesheet: translated, %s, nothing wider than the screen, 0 axe violations',
  async (language, dir, send) => {
    const { page } = await openKit(`?lang=${language}`, 320);
    expect(await page.locator('main.chat').getAttribute('dir')).toBe(dir);
    expect(await page.locator('main.chat').getAttribute('lang')).toBe(language);
    await page.getByRole('button', { name: send }).waitFor();
    await page.locator('textarea').fill('quick replies');
    await page.getByRole('button', { name: send }).click();
    await page.locator('.quick-replies button').first().waitFor();
    // The bot's English sentence keeps its question mark at its end, right to left around it or not.
    expect(await lastCharacterSide(page, 'What would you like to do?')).toBe('end');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    expect(await axeViolations(page)).toEqual([]);
    await page.context().close();
  },
);

test.each([
  ['de', 'Alle Leitungen sind belegt (etwa 3 Minuten)', 'Wegen eines Notfalls geschlossen.'],
  ['ar', 'جميع الخطوط مشغولة (نحو 3 دقائق)', 'مغلق بسبب حالة طارئة.'],
])(
  'in %s, the availability line: one request per load under StrictMode, busy then closed, 0 axe violations at 320 px',
  async (language, busy, closed) => {
    stack.sim.availability.reset();
    stack.sim.availability.setAgents({ INTERACTING: 2 });
    stack.sim.availability.setEstimatedWait(180);
    await waitFor(async () => (await stack.http.get('/availability')).body.estimatedWaitSeconds === 180, 15_000);
    const { page, asks } = await openKit(`?lang=${language}`, 320);
    const line = page.locator('.availability[role=status]');
    await line.filter({ hasText: busy }).waitFor();
    // StrictMode mounted the hook twice; the second mount joined the first one's request rather than asking again.
    expect(asks).toHaveLength(1);
    expect(await line.getAttribute('data-state')).toBe('busy');
    expect(await axeViolations(page)).toEqual([]);

    // The centre closes: the hook asks again when the answer's max-age runs out.
    stack.sim.availability.setEmergency(true);
    await line.filter({ hasText: closed }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    expect(await axeViolations(page)).toEqual([]);
    stack.sim.availability.reset();
    await page.context().close();
  },
);
/** The next download the page offers: its file name and text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: fs.readFileSync((await download.path())!, 'utf8') };
}

test('agent Markdown formatted and hostile Markdown inert; the transcript from the service, or built on the page when it fails', async () => {
  const { page } = await openKit();
  const gt = newestGuestToken();
  await page.getByLabel('Your message').fill('is **this** bold?');
  await page.getByRole('button', { name: 'Send' }).click();
  // The bot's echo is Markdown: its asterisks make bold.
  await page.locator('.from-bot .bubble.markdown strong', { hasText: 'this' }).waitFor();
  stack.sim.agent.say(gt, '**Yes.** Two steps:\n\n- one\n- two\n\nSee [the help](https://help.example/a).');
  const formatted = page.locator('.from-bot .bubble.markdown', { hasText: 'Two steps' });
  await formatted.waitFor();
  expect(await formatted.locator('strong').textContent()).toBe('Yes.');
  expect(await formatted.locator('li').allTextContents()).toEqual(['one', 'two']);
  const link = formatted.getByRole('link', { name: 'the help (opens in a new tab)' });
  expect([await link.getAttribute('rel'), await link.getAttribute('target')]).toEqual([
    'noopener noreferrer',
    '_blank',
  ]);
  // The guest's own text is never Markdown.
  expect(await page.locator('.from-guest p.bubble', { hasText: 'is **this** bold?' }).count()).toBe(1);

  stack.sim.agent.say(
    gt,
    'Hostile <script>window.ran = 1</script> <img src=x onerror="window.ran = 2"> [x](javascript:window.ran=3)',
  );
  const hostile = page.locator('.from-bot .bubble.markdown', { hasText: 'Hostile' });
  await hostile.waitFor();
  for (const anchor of await hostile.locator('a').all()) await anchor.click({ force: true, noWaitAfter: true });
  expect(await hostile.locator('script, img, [onerror], a[href]').count()).toBe(0);
  expect(await page.evaluate(() => (window as { ran?: number }).ran)).toBeUndefined();
  expect(await axeViolations(page)).toEqual([]);

  const button = page.getByRole('button', { name: 'Download transcript' });
  const answers: number[] = [];
  page.on('response', (r) => new URL(r.url()).pathname === '/messages/transcript' && answers.push(r.status()));
  const fromService = await downloaded(page, () => button.click());
  expect(fromService.name).toMatch(/^chat-transcript-[\d-]+\.html$/);
  expect(fromService.text).toContain('**Yes.** Two steps:');
  // Genesys's history fails: the same file from the messages the page holds.
  stack.sim.faults.failRest('history', { status: 500, times: 1 });
  const fromPage = await downloaded(page, () => button.click());
  expect(answers).toEqual([200, 503]);
  // The same file but for the times: Genesys's history may date a message otherwise than its live event did.
  const strip = (html: string) => html.replace(/<time[^>]*>[^<]*<\/time>/g, '');
  expect(strip(fromPage.text)).toBe(strip(fromService.text));
  await page.context().close();
});
