import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import type { EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { axeViolations } from '../support/axe';
import { debianProgram } from '../support/programs';

/**
 * The demo page's agent Markdown and its transcript button in a real browser (Debian's Chromium driven by
 * playwright-core), against the embedded default as `npm start` builds it, whose deployment enables Markdown.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  const chromiumPath = debianProgram('chromium'); // never a downloaded browser
  embedded = await startTestEmbedded();
  // Recording lets the test find each page's Genesys session; a quicker agent keeps the test short.
  embedded.simulator.setOptions({ record: true, agent: { typingDelayMs: 50, replyDelayMs: 150 } });
  service = await startService(loadConfig(embedded.env), captureLogger('info').logger);
  embedded.serviceStarted(service.url);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await embedded?.stop();
});

/** A fresh context (its own sessionStorage) on the demo, connected, with what the page reports captured. */
async function openDemo(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 760, height: 980 }, locale: 'en-US' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`error: ${e.message}`));
  // A blocked script or handler is a console error naming the policy: something tried to run.
  page.on(
    'console',
    (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && problems.push(m.text()),
  );
  await page.goto(embedded.demo.url);
  await page.locator('#status', { hasText: 'Connected' }).waitFor();
  await page.locator('#messages li.from-bot .bubble', { hasText: 'scripted bot' }).waitFor();
  return { page, problems };
}

/** The Genesys guest token of the newest session the simulator saw configured. */
function newestGuestToken(): string {
  const frame = [...embedded.simulator.received].reverse().find((f) => f.frame.action === 'configureSession');
  if (!frame) throw new Error('no configureSession frame recorded');
  return frame.frame.token as string;
}

const HOSTILE = [
  'Hostile: <script>window.ran = "script"</script>',
  '<img src=x onerror="window.ran = \'onerror\'">',
  '<a href="javascript:window.ran=\'raw link\'">raw link</a>',
  "[click me](javascript:window.ran='markdown link')",
  '![pixel](https://tracker.example/p.png)',
  '<svg onload="window.ran = \'svg\'"></svg>',
].join('\n\n');

test('agent Markdown: bold, lists and safe links; a hostile message runs nothing; axe-core finds no violation', async () => {
  const { page, problems } = await openDemo();
  const gt = newestGuestToken();
  embedded.simulator.agent.say(
    gt,
    '**Your parcel** is on its way:\n\n- shipped today\n- arrives *Friday*\n\nTrack it [on the carrier site](https://carrier.example/track).',
  );
  const bubble = page.locator('#messages li.from-bot .bubble.markdown', { hasText: 'Your parcel' });
  await bubble.waitFor();
  expect(await bubble.locator('strong').textContent()).toBe('Your parcel');
  expect(await bubble.locator('ul > li').allTextContents()).toEqual(['shipped today', 'arrives Friday']);
  const link = bubble.getByRole('link', { name: 'on the carrier site (opens in a new tab)' });
  expect(await link.getAttribute('href')).toBe('https://carrier.example/track');
  expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
  expect(await link.getAttribute('target')).toBe('_blank');

  // The guest's own text is never Markdown.
  const composer = page.getByLabel('Your message');
  await composer.fill('**not bold**');
  await composer.press('Enter');
  await page.locator('#messages li.from-guest p.bubble', { hasText: '**not bold**' }).waitFor();

  embedded.simulator.agent.say(gt, HOSTILE);
  const hostile = page.locator('#messages li.from-bot .bubble.markdown', { hasText: 'Hostile:' });
  await hostile.waitFor();
  // Click whatever looks like a link in it: none goes anywhere that runs code.
  for (const anchor of await hostile.locator('a').all()) await anchor.click({ force: true, noWaitAfter: true });
  const inside = await hostile.evaluate((element) => ({
    elements: Array.from(element.querySelectorAll('*')).map((e) => e.tagName.toLowerCase()),
    handlers: Array.from(element.querySelectorAll('*')).flatMap((e) =>
      Array.from(e.attributes)
        .map((a) => a.name)
        .filter((name) => name.startsWith('on') || name === 'src' || name === 'style'),
    ),
    hrefs: Array.from(element.querySelectorAll('a')).map((a) => a.getAttribute('href')),
    ran: (window as { ran?: string }).ran,
  }));
  expect(inside.elements.filter((tag) => !['p', 'br', 'a', 'span'].includes(tag))).toEqual([]);
  expect(inside.handlers).toEqual([]);
  expect(inside.hrefs.every((href) => href === null || /^https?:/.test(href))).toBe(true);
  expect(inside.ran).toBeUndefined();
  // The raw HTML reads as the text it is.
  expect(await hostile.textContent()).toContain('<script>window.ran = "script"</script>');
  expect(page.url()).toBe(embedded.demo.url);

  expect(await axeViolations(page)).toEqual([]);
  expect(problems).toEqual([]);
  await page.context().close();
});

/** The next download the page offers: its file name and text. */
async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: fs.readFileSync((await download.path())!, 'utf8') };
}

test('the transcript button: the whole conversation from the service, and after End chat the same from the page', async () => {
  const { page, problems } = await openDemo();
  const gt = newestGuestToken();
  const composer = page.getByLabel('Your message');
  await composer.fill('Where is my parcel?');
  await composer.press('Enter');
  await page.locator('#messages li.from-bot .bubble', { hasText: 'You said: Where is my parcel?' }).waitFor();
  embedded.simulator.agent.say(gt, 'It left **today** <b>& soon</b>');
  await page.locator('#messages li.from-bot .bubble', { hasText: 'It left today' }).waitFor();

  const button = page.getByRole('button', { name: 'Download transcript' });
  const fromService = await downloaded(page, () => button.click());
  expect(await button.getAttribute('data-source')).toBe('service');
  expect(fromService.name).toMatch(/^chat-transcript-\d{4}-\d\d-\d\d\.html$/);
  for (const text of [
    'scripted bot',
    'Where is my parcel?',
    'You said: Where is my parcel?',
    'It left **today** &lt;b&gt;&amp; soon&lt;/b&gt;',
  ]) {
    expect(fromService.text).toContain(text);
  }

  // The guest ends the chat: the service refuses the transcript now, and the page builds it from what it shows.
  await page.locator('#end-chat').click();
  await page.getByRole('button', { name: 'Start a new chat' }).waitFor();
  const fromPage = await downloaded(page, () => button.click());
  expect(await button.getAttribute('data-source')).toBe('page');
  const strip = (html: string) => html.replace(/Saved <time[^>]*>[^<]*<\/time>/, '');
  expect(strip(fromPage.text)).toBe(strip(fromService.text));

  // The page it made opens as a page of its own: accessible, and nothing in it runs or loads.
  const opened = await page.context().newPage();
  const requests: string[] = [];
  opened.on('request', (r) => requests.push(r.url()));
  await opened.setContent(fromPage.text);
  expect(await opened.locator('html').getAttribute('lang')).toBe('en');
  expect(await opened.locator('ol > li.message').count()).toBe(await page.locator('#messages > li').count());
  expect(await axeViolations(opened)).toEqual([]);
  expect(requests).toEqual([]);
  expect(problems).toEqual([]);
  await page.context().close();
});

test("in German the transcript is the reader's: Chatverlauf, their time zone, the same from the service and the page", async () => {
  const context = await browser.newContext({
    viewport: { width: 760, height: 980 },
    locale: 'de-DE',
    timezoneId: 'Europe/Berlin',
  });
  const page = await context.newPage();
  await page.goto(`${embedded.demo.url}?lang=de`);
  await page.locator('#status[data-state=open]').waitFor({ timeout: 15_000 });
  const composer = page.locator('#text');
  await composer.fill('Wo ist mein Paket?');
  await composer.press('Enter');
  await page.locator('#messages li.from-bot .bubble', { hasText: 'Wo ist mein Paket?' }).waitFor();

  const button = page.getByRole('button', { name: 'Verlauf herunterladen' });
  const fromService = await downloaded(page, () => button.click());
  expect(await button.getAttribute('data-source')).toBe('service');
  const opened = await context.newPage();
  await opened.setContent(fromService.text);
  expect(await opened.locator('html').getAttribute('lang')).toBe('de');
  expect((await opened.locator('body').innerText()).startsWith('Chatverlauf')).toBe(true);
  // Every moment in the browser's zone, none in UTC.
  const times = await opened.locator('time').allTextContents();
  expect(times.length).toBeGreaterThan(1);
  for (const time of times) expect(time).toMatch(/ Europe\/Berlin$/);

  // Ended, the service refuses it: the page builds the same file, in the same language and zone.
  await page.locator('#end-chat').click();
  await page.getByRole('button', { name: 'Neuen Chat starten' }).waitFor();
  const fromPage = await downloaded(page, () => button.click());
  expect(await button.getAttribute('data-source')).toBe('page');
  const strip = (html: string) => html.replace(/Gespeichert <time[^>]*>[^<]*<\/time>/, '');
  expect(strip(fromPage.text)).toBe(strip(fromService.text));
  await context.close();
});
