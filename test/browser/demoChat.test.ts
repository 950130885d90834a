import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PAGE_EVENT_NAMES } from '../../client/src/pageEvents';
import { loadConfig } from '../../src/config/schema';
import { startDemoServer, type DemoServer } from '../../src/demo/demoServer';
import { demoAssets, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { demoPng } from '../../simulator/richReplies';
import { captureLogger, type CapturedLogger } from '../support/app';
import { axeViolations } from '../support/axe';
import { signInAt } from '../support/signIn';
import { steerableClock } from '../support/clock';
import { waitFor } from '../support/wait';
import { launchChromium } from '../support/browser';

/**
 * The demo page in a real browser (Debian's Chromium driven by
 * playwright-core; never a downloaded browser), against the embedded default
 * exactly as `npm start` builds it: the service, the Genesys simulator, and
 * the page on its own origin, so the browser enforces CORS for real.
 *
 * Screenshots go to test-output/browser/. UPDATE_DEMO_SCREENSHOT=1 also
 * refreshes docs/demo.png, the README's picture of the demo.
 *
 * @needs chromium
 */

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'test-output/browser');

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let serviceLog: CapturedLogger;
let browser: Browser;
let foreign: DemoServer | undefined;
/** The service's clock, which the test that lets Genesys's links expire moves with the simulator's (they agree in life). */
const clock = steerableClock();

beforeAll(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  embedded = await startTestEmbedded();
  // Recording lets the test find each page's Genesys session; a quicker agent keeps the test short.
  embedded.simulator.setOptions({ record: true, agent: { typingDelayMs: 150, replyDelayMs: 700 } });
  serviceLog = captureLogger('info');
  service = await startService(loadConfig(embedded.env), serviceLog.logger, { now: clock.now });
  embedded.serviceStarted(service.url);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await foreign?.stop();
  await service?.stop();
  await embedded?.stop();
});

interface OpenedPage {
  page: Page;
  console: string[];
  pageErrors: string[];
}

/** A fresh browser context (its own storage) with the page's console captured. */
async function openPage(url: string): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: { width: 760, height: 980 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  const opened: OpenedPage = { page, console: [], pageErrors: [] };
  page.on('console', (m) => opened.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => opened.pageErrors.push(e.message));
  await page.goto(url);
  return opened;
}

const bubbles = (page: Page) => page.locator('#messages li .bubble').allTextContents();
const waitForBubble = (page: Page, author: 'guest' | 'bot' | 'agent', text: string) =>
  page.locator(`#messages li.from-${author} .bubble`, { hasText: text }).first().waitFor();
const waitForStatus = (page: Page, text: string) => page.locator('#status', { hasText: text }).waitFor();

/** The Genesys guest token of the newest session the simulator saw configured. */
function newestGuestToken(): string {
  const frame = [...embedded.simulator.received].reverse().find((f) => f.frame.action === 'configureSession');
  if (!frame) throw new Error('no configureSession frame recorded');
  return frame.frame.token as string;
}

/** A message as the simulator holds it, rich content and all. */
interface Rich {
  id: string;
  content?: { contentType: string; datePicker?: { availableTimes: { dateTime: string }[] } }[];
}

/** The answers (ButtonResponse messages) a page's session sent to Genesys, oldest first. */
function answersSent(gt: string): Record<string, unknown>[] {
  return embedded.simulator
    .framesFor(gt, 'onMessage')
    .map((f) => f.frame.message as Record<string, unknown> & Rich)
    .filter((m) => m.content?.some((c) => c.contentType === 'ButtonResponse'));
}

/** Drops a file on the chat as a browser does when one is dragged in from the desktop. */
async function dropFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.evaluate(
    ([fileName, base64]) => {
      const transfer = new DataTransfer();
      transfer.items.add(
        new File([Uint8Array.from(atob(base64!), (c) => c.charCodeAt(0))], fileName!, { type: 'image/png' }),
      );
      const chat = document.querySelector('main.chat')!;
      for (const type of ['dragenter', 'dragover', 'drop'])
        chat.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    [name, bytes.toString('base64')],
  );
}

async function shoot(page: Page, name: string): Promise<string> {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

test('a page on an allowed origin: session, send with Enter, typing, the reply, a human agent on the keyword, quick replies, text as text, reload with history', async () => {
  const { page, pageErrors } = await openPage(embedded.demo.url);
  expect(embedded.demo.url).toMatch(/^http:\/\/localhost:\d+\/$/);

  // Accessible structure: a labelled composer and a live region for new messages.
  const log = page.getByRole('log', { name: 'Conversation' });
  expect(await log.locator('ol#messages').count()).toBe(1);
  expect(await log.getAttribute('aria-live')).toBe('polite');
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot'); // the autostart greeting
  expect(await page.locator('#messages li.from-bot .bubble').first().textContent()).toContain('“human”'); // the greeting names the keyword

  const composer = page.getByLabel('Your message');
  await composer.fill('Hello from Chromium');
  await composer.press('Enter');
  await waitForBubble(page, 'guest', 'Hello from Chromium');
  // The typing line names who is typing: the bot, until a human takes over.
  await page.locator('#typing', { hasText: '\u2068Simulator Bot\u2069 is typing' }).waitFor();
  await waitForBubble(page, 'bot', 'You said: Hello from Chromium');
  expect(await page.locator('#typing').textContent()).toBe('');
  expect(await composer.inputValue()).toBe('');

  // A (simulated) human agent takes over on the keyword the greeting names, as anyone running the demo can do.
  await composer.fill('May I talk to a human?');
  await composer.press('Enter');
  await waitForBubble(page, 'agent', "I'm Alex");

  await composer.fill('Can I get some quick replies?');
  await composer.press('Enter');
  // The name set apart from the line (FSI … PDI), so it reads in its own direction.
  await page.locator('#typing', { hasText: '\u2068Alex\u2069 is typing' }).waitFor();
  const yes = page.locator('.quick-replies button', { hasText: 'Yes' });
  await yes.waitFor();
  expect(await yes.isEnabled()).toBe(true);
  await yes.focus();
  const chat = await shoot(page, 'chat');
  if (process.env.UPDATE_DEMO_SCREENSHOT === '1') {
    fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    fs.copyFileSync(chat, path.join(ROOT, 'docs/demo.png'));
  }

  await yes.click();
  await waitForBubble(page, 'guest', 'Yes');
  await waitForBubble(page, 'agent', 'You chose: Yes');
  expect(await yes.isDisabled()).toBe(true);
  // After an answer the keyboard is back in the composer, not on the page's body.
  await page.waitForFunction(() => document.activeElement?.id === 'text');

  // Markup in a message is shown as text, never run.
  const markup = '<img src=x onerror="document.title=\'pwned\'"><b>bold?</b>';
  await composer.fill(markup);
  await composer.press('Enter');
  await waitForBubble(page, 'agent', `You said: ${markup}`);
  expect(await page.locator('#messages img, #messages b').count()).toBe(0);
  expect(await page.title()).not.toBe('pwned');

  const before = await bubbles(page);
  expect(before).toEqual([
    expect.stringContaining('scripted bot'),
    'Hello from Chromium',
    'You said: Hello from Chromium',
    'May I talk to a human?',
    "Hi, I'm Alex, a (simulated) human agent. I have your conversation with the bot; how can I help?",
    'Can I get some quick replies?',
    'What would you like to do?',
    'Yes',
    'You chose: Yes',
    markup,
    `You said: ${markup}`,
  ]);
  expect(await page.locator('#messages li.from-agent .who').allTextContents()).toEqual(Array(4).fill('Alex: '));
  const token = await page.evaluate(() => localStorage.getItem('genesys-bff.sessionToken'));
  expect(token).toEqual(expect.any(String));

  // Reload: the token in localStorage resumes the same conversation, and history fills the page again.
  await page.reload();
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'agent', `You said: ${markup}`);
  // The stream and the history read fill the page separately: the last bubble can come before the older ones.
  await waitFor(async () => expect(await bubbles(page)).toEqual(before));
  expect(await page.locator('#messages li.from-agent').count()).toBe(4);
  expect(await yes.isDisabled()).toBe(true);
  await shoot(page, 'after-reload');
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

test('the agent ends the chat: the header says so, and a new chat starts on a clean page', async () => {
  const { page, pageErrors } = await openPage(embedded.demo.url);
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  const composer = page.getByLabel('Your message');
  await composer.fill('Hello before the end');
  await composer.press('Enter');
  await waitForBubble(page, 'bot', 'You said: Hello before the end');

  await composer.fill('disconnect');
  await composer.press('Enter');
  await page.getByRole('alert').filter({ hasText: 'The agent has ended this conversation.' }).waitFor();
  await waitForStatus(page, 'Chat ended');
  expect(await page.locator('#status').textContent()).not.toContain('Connected');
  expect(await composer.isDisabled()).toBe(true);

  await page.getByRole('button', { name: 'Start a new chat' }).click();
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  // Only the new conversation's greeting: nothing of the old transcript is left under it.
  expect(await bubbles(page)).toEqual([expect.stringContaining('scripted bot')]);
  expect(await composer.isEnabled()).toBe(true);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

test('every error is shown in words: rate limited, then an expired session, and a new chat starts from the notice', async () => {
  // The service's second allowed origin for the page: 127.0.0.1 rather than localhost.
  const { page } = await openPage(embedded.demo.url.replace('localhost', '127.0.0.1'));
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  const gt = newestGuestToken();
  const composer = page.getByLabel('Your message');
  const notice = page.getByRole('alert');

  // Several times: the guest's typing notice (sent as the text is typed) counts against the limit too.
  embedded.simulator.faults.rateLimit({ retryAfter: 30, sessionToken: gt, times: 5 });
  await composer.fill('one message too many');
  await composer.press('Enter');
  await notice.filter({ hasText: 'too quickly' }).waitFor();
  expect(await notice.textContent()).toContain('30 seconds');
  expect(await composer.inputValue()).toBe('one message too many'); // nothing typed is lost
  await shoot(page, 'rate-limited');
  // The notice sits above the conversation, on a phone and on a desktop: it covers no message, and the newest one's
  // end stays in view below it.
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    await waitFor(async () => {
      const [box, log, newest] = await Promise.all([
        notice.boundingBox(),
        page.locator('#conversation').boundingBox(),
        page.locator('#messages li').last().boundingBox(),
      ]);
      // The notice ends where the conversation begins; the newest message's end is in the conversation's view.
      const end = newest!.y + newest!.height;
      return box!.y + box!.height <= log!.y + 0.5 && end > log!.y && end <= log!.y + log!.height + 0.5;
    }, 5_000);
  }

  embedded.simulator.faults.expireSession(gt);
  await notice.filter({ hasText: 'session has expired' }).waitFor();
  expect(await composer.isDisabled()).toBe(true);
  await shoot(page, 'session-expired');

  await page.getByRole('button', { name: 'Start a new chat' }).click();
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  expect(await notice.isHidden()).toBe(true);
  expect(await composer.isEnabled()).toBe(true);
  expect(newestGuestToken()).not.toBe(gt);
  await composer.press('Enter');
  await waitForBubble(page, 'bot', 'You said: one message too many');
  await page.context().close();
});

test('a page on an origin that is not allowed tells the customer chat is not available, its developer (the console) which origin to add, and the service logs origin_not_allowed', async () => {
  const servicePort = new URL(service.url).port;
  foreign = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    ...demoAssets(),
    serviceUrlFor: () => `http://localhost:${servicePort}`,
  });
  const origin = `http://127.0.0.1:${foreign.port}`;
  expect(embedded.demoOrigins).not.toContain(origin);

  const opened = await openPage(`${origin}/`);
  const { page } = opened;
  // Not "cannot be reached": the client asked /healthz without CORS, found the service up, and names the cause: in
  // words for the customer, and for the page's developer in the console.
  const notice = page.getByRole('alert').filter({ hasText: 'Chat is not available on this page' });
  await notice.waitFor();
  expect(await notice.textContent()).not.toContain('CORS_ALLOWED_ORIGINS');
  expect(opened.console).toContainEqual(
    expect.stringMatching(
      new RegExp(`^error: .*does not allow calls from ${origin}: add ${origin} to its CORS_ALLOWED_ORIGINS`),
    ),
  );
  await waitForStatus(page, 'Not connected');

  // The page's own fetch is refused by the browser, not by the page's code.
  const rejection = await page.evaluate(async (bff) => {
    try {
      const res = await fetch(`${bff}/guest-session`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      return `answered ${res.status}`;
    } catch (error) {
      return String(error);
    }
  }, `http://localhost:${servicePort}`);
  expect(rejection).toBe('TypeError: Failed to fetch');
  const corsErrors = opened.console.filter((line) => line.includes('has been blocked by CORS policy'));
  expect(corsErrors.length).toBeGreaterThan(0);
  expect(corsErrors[0]).toContain(`from origin '${origin}'`);
  expect(corsErrors[0]).toContain("No 'Access-Control-Allow-Origin' header is present");

  const refusals = serviceLog.lines().filter((l) => l.code === 'origin_not_allowed' && l.origin === origin);
  expect(refusals.length).toBeGreaterThan(0);
  expect(refusals[0]).toMatchObject({ status: 403 });
  await shoot(page, 'origin-not-allowed');
  await page.context().close();
});

test('attachments and rich messages: upload an image, see it, get an image and a card from the agent, answer the card, and see the images again after their Genesys links expired', async () => {
  // Genesys's download links expire on the simulator's clock, which the test moves past their lifetime
  // below, and the service's with it: the page must then get fresh ones through the service (its cache of
  // Genesys's URLs knows they are stale). Until then they work however slow the run.
  embedded.simulator.setOptions({ clock: clock.now });
  const { page, pageErrors } = await openPage(embedded.demo.url);
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  const gt = newestGuestToken();
  const composer = page.getByLabel('Your message');
  expect(await page.locator('#attach').isVisible()).toBe(true);
  expect(await page.locator('#end-chat').isVisible()).toBe(true);

  await page.setInputFiles('#file', { name: 'parcel.png', mimeType: 'image/png', buffer: demoPng(120, 80) });
  await page.locator('.pending-file[data-state="done"]').waitFor();
  await composer.fill('Here is the parcel');
  await composer.press('Enter');
  await waitForBubble(page, 'guest', 'Here is the parcel');
  const loaded = (selector: string) =>
    page.waitForFunction(
      (s) =>
        Array.from(document.querySelectorAll<HTMLImageElement>(s)).some((img) => img.complete && img.naturalWidth > 0),
      selector,
    );
  await loaded('#messages li.from-guest img.thumb');
  expect(await page.locator('.pending-file').count()).toBe(0);

  await composer.fill('send image');
  await composer.press('Enter');
  await loaded('#messages li.from-bot img.thumb');

  await composer.fill('show me a card');
  await composer.press('Enter');
  const track = page.locator('.card button', { hasText: 'Track order' });
  await track.waitFor();
  await shoot(page, 'attachments-and-card');
  await track.click();
  await waitForBubble(page, 'bot', 'You chose: Track order');
  // The answer reached Genesys as its own client sends a card's button: a Button response naming the card's message.
  const card = embedded.simulator
    .conversationMessages(gt)
    .find((m) => (m as Rich).content?.some((c) => c.contentType === 'Card')) as Rich;
  expect(answersSent(gt).at(-1)).toMatchObject({
    type: 'Structured',
    text: 'Track order',
    content: [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'Button', text: 'Track order', payload: 'track', originatingMessageId: card.id },
      },
    ],
  });

  // Every Genesys link shown so far has expired: the page, reloaded, still shows both images.
  const link = await page.locator('#messages li.from-guest img.thumb').first().getAttribute('src');
  const genesysUrl = (await fetch(link!, { redirect: 'manual' })).headers.get('location')!;
  expect((await fetch(genesysUrl)).status).toBe(200);
  clock.advance(3_600_000); // an hour: past any download link's lifetime (600 s)
  expect((await fetch(genesysUrl)).status).toBe(403);
  await page.reload();
  await waitForStatus(page, 'Connected');
  await loaded('#messages li.from-guest img.thumb');
  await loaded('#messages li.from-bot img.thumb');
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

test('the rest of the demo: the expiry warning, a dropped file with its progress, an upload cancelled (and deleted at Genesys), a date picker answered, End chat', async () => {
  // A session that Genesys ends five minutes and two seconds after its last message: the warning is due two seconds in.
  embedded.simulator.setOptions({ sessionDurationSeconds: 302 });
  try {
    const { page, pageErrors } = await openPage(embedded.demo.url);
    await waitForStatus(page, 'Connected');
    const gt = newestGuestToken();
    await page.locator('#notice-text', { hasText: 'will end soon' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#drop-hint').isVisible()).toBe(true);

    // Every value the upload's progress bar is given.
    await page.evaluate(() => {
      const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value')!;
      const seen: number[] = [];
      Object.assign(window, { progressSeen: seen });
      Object.defineProperty(HTMLProgressElement.prototype, 'value', {
        configurable: true,
        get() {
          return value.get!.call(this);
        },
        set(v: number) {
          seen.push(v);
          value.set!.call(this, v);
        },
      });
    });
    const head = demoPng(64, 64);
    await dropFile(page, 'dropped.png', Buffer.concat([head, Buffer.alloc(512 * 1024 - head.length)]));
    await page.locator('.pending-file[data-state="done"]', { hasText: 'dropped.png' }).waitFor();
    // 0 when the chip appears, the upload's own progress events (the last at 1), then 1 when it is done.
    const progress = (await page.evaluate(
      () => (window as unknown as { progressSeen: number[] }).progressSeen,
    )) as number[];
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.slice(1, -1).every((v) => v > 0 && v <= 1)).toBe(true);
    const composer = page.getByLabel('Your message');
    await composer.fill('dropped in');
    await composer.press('Enter');
    await waitForBubble(page, 'guest', 'dropped in');
    expect(embedded.simulator.framesFor(gt, 'onMessage').at(-1)!.frame.message.content).toEqual([
      { contentType: 'Attachment', attachment: { id: expect.any(String) } },
    ]);

    // Storage holds the next file's PUT for 10 s (a click takes far less, however busy the machine): the guest
    // cancels it meanwhile, and the service deletes it at Genesys once that PUT has ended.
    embedded.simulator.faults.delayRest('upload', 10_000, { times: 1 });
    const puts = embedded.simulator.requests.filter((r) => r.target === 'upload').length;
    await page.setInputFiles('#file', { name: 'unwanted.png', mimeType: 'image/png', buffer: demoPng(16, 16) });
    await waitFor(() => embedded.simulator.requests.filter((r) => r.target === 'upload').length > puts, 10_000, 20);
    await page.getByRole('button', { name: 'Cancel unwanted.png' }).click();
    await page.locator('.pending-file').waitFor({ state: 'detached' });
    const unwanted = embedded.simulator.framesFor(gt, 'onAttachment').at(-1)!.frame.attachmentId as string;
    await waitFor(
      () => embedded.simulator.framesFor(gt, 'deleteAttachment').some((f) => f.frame.attachmentId === unwanted),
      30_000,
      50,
    );
    expect(await page.locator('#notice-text').textContent()).not.toContain('unwanted.png');

    await composer.fill('a date picker please');
    await composer.press('Enter');
    const slot = page.locator('.date-picker button.slot').first();
    await slot.waitFor();
    const label = (await slot.textContent())!;
    await slot.click();
    await waitForBubble(page, 'bot', `You chose: ${label}`);
    const picker = embedded.simulator
      .conversationMessages(gt)
      .find((m) => (m as Rich).content?.some((c) => c.contentType === 'DatePicker')) as Rich;
    expect(answersSent(gt).at(-1)).toMatchObject({
      type: 'Text',
      text: '',
      content: [
        {
          contentType: 'ButtonResponse',
          buttonResponse: {
            type: 'DatePicker',
            payload: picker.content![0]!.datePicker!.availableTimes[0]!.dateTime,
            originatingMessageId: picker.id,
          },
        },
      ],
    });

    await page.locator('#end-chat').click();
    await page.locator('#notice-text', { hasText: 'You ended this chat' }).waitFor();
    const clear = embedded.simulator
      .framesFor(gt, 'onMessage')
      .map((f) => f.frame.message?.events?.[0]?.presence?.type);
    expect(clear).toContain('Clear');
    expect(pageErrors).toEqual([]);
    await page.context().close();
  } finally {
    embedded.simulator.setOptions({ sessionDurationSeconds: 259_200 });
  }
});

test('a deployment with file upload, conversation clear and sign-in off: no attach button, drop hint, End chat or Sign in, and a dropped file goes nowhere', async () => {
  embedded.simulator.setOptions({ fileUploadModes: [], conversationClear: false, authEnabled: false });
  // A service of its own, which reads the deployment's configuration afresh; the page is pointed at it with ?bff=.
  const own = await startService(loadConfig({ ...embedded.env, PORT: '0' }), serviceLog.logger);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const capabilities = page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/capabilities' && r.status() === 200,
    );
    await page.goto(`${embedded.demo.url}?bff=${encodeURIComponent(`http://localhost:${new URL(own.url).port}`)}`);
    expect(await (await capabilities).json()).toMatchObject({
      attachments: { enabled: false },
      endChat: false,
      authentication: { enabled: false },
    });
    await waitForStatus(page, 'Connected');
    for (const id of ['#attach', '#drop-hint', '#end-chat', '#sign-in'])
      expect({ id, visible: await page.locator(id).isVisible() }).toEqual({ id, visible: false });
    const presigns = embedded.simulator.received.filter((f) => f.frame.action === 'onAttachment').length;
    await dropFile(page, 'ignored.png', demoPng(8, 8));
    expect(await page.locator('.pending-file').count()).toBe(0);
    expect(embedded.simulator.received.filter((f) => f.frame.action === 'onAttachment')).toHaveLength(presigns);
    await context.close();
  } finally {
    await own.stop();
    embedded.simulator.setOptions({
      fileUploadModes: [
        { fileTypes: ['image/png', 'image/jpeg', 'image/gif', 'application/pdf'], maxFileSizeKB: 10240 },
      ],
      conversationClear: true,
      authEnabled: true,
    });
  }
});

/** A js code block of a document (relative to the repository), found by a line it contains. */
function documentBlock(document: string, containing: string): string {
  const text = fs.readFileSync(path.join(ROOT, document), 'utf8');
  const block = [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(containing));
  if (!block) throw new Error(`no ${document} js block contains ${containing}`);
  return block;
}

/**
 * Runs code as the documents say to (a `<script type="module">` on the website's own page, next to
 * bffClient.js), on a blank page of the demo's origin, against the embedded service. Resolves when
 * the module finished; rejects with its error.
 */
async function runInPage(page: Page, code: string): Promise<void> {
  const module = `${code}\nwindow.__readme = 'done';`;
  await page.evaluate((source) => {
    (window as unknown as { __readme: string }).__readme = 'running';
    const fail = (why: unknown) => ((window as unknown as { __readme: string }).__readme = `failed: ${String(why)}`);
    window.addEventListener('error', (e) => fail(e.message), { once: true });
    window.addEventListener('unhandledrejection', (e) => fail((e.reason as Error)?.message ?? e.reason), {
      once: true,
    });
    const script = document.createElement('script');
    script.type = 'module';
    script.textContent = source;
    document.body.append(script);
  }, module);
  await page.waitForFunction(() => (window as unknown as { __readme: string }).__readme !== 'running', undefined, {
    timeout: 30_000,
  });
  expect(await page.evaluate(() => (window as unknown as { __readme: string }).__readme)).toBe('done');
}

test('the documented browser examples run as pasted: the typed client, plain fetch, and an attachment upload', async () => {
  // The website's own page on its own origin, next to bffClient.js, and a service that allows that origin.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-site-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>README</title><body></body>');
  fs.writeFileSync(path.join(dir, 'page.html'), '<!doctype html><title>README</title><body></body>');
  const site = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    pageDir: dir,
    clientModule: demoAssets().clientModule,
    serviceUrlFor: () => '',
  });
  const origin = `http://localhost:${site.port}`;
  const own = await startService(
    loadConfig({ ...embedded.env, PORT: '0', CORS_ALLOWED_ORIGINS: origin }),
    serviceLog.logger,
  );
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/page.html`);
  const bff = `http://localhost:${new URL(own.url).port}`;
  const here = (code: string) => code.replaceAll('https://chat-bff.example.com', bff);

  const sentTexts = (text: string) =>
    embedded.simulator.received.filter((f) => f.frame?.action === 'onMessage' && f.frame?.message?.text === text)
      .length;
  const typedBefore = sentTexts('Where is my order?');
  await runInPage(
    page,
    here(
      documentBlock(
        'client/README.md',
        "import { BffClient, BffError, sessionStorageTokenStore } from './bff-client/index.js';",
      ),
    ),
  );
  expect(sentTexts('Where is my order?')).toBe(typedBefore + 1);
  const fetchBlock = here(documentBlock('client/README.md', "const BFF = 'https://chat-bff.example.com';"));
  const helloBefore = sentTexts('Hello');
  await runInPage(page, fetchBlock);
  expect(sentTexts('Hello')).toBe(helloBefore + 1);
  // Its comment's promise: a stored token the service no longer accepts is dropped, and a new session starts.
  await page.evaluate(() => sessionStorage.setItem('chatToken', 'a-token-from-a-chat-long-gone'));
  await runInPage(page, fetchBlock);
  expect(sentTexts('Hello')).toBe(helloBefore + 2);
  expect(await page.evaluate(() => sessionStorage.getItem('chatToken'))).not.toBe('a-token-from-a-chat-long-gone');

  // The upload example is a fragment of the plain-fetch one: it uses its BFF and token, and a file input.
  const png = demoPng(16, 16).toString('base64');
  const started = await page.evaluate(
    async ([url, origin]) => {
      const res = await fetch(`${url}/guest-session`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
      });
      const body = (await res.json()) as { sessionToken: string; routingKey: string };
      return { status: res.status, token: body.sessionToken, routingKey: body.routingKey, origin };
    },
    [bff, origin],
  );
  expect(started.status).toBe(201);
  await page.evaluate(
    ([url, token, routingKey, bytes]) => {
      const file = new File([Uint8Array.from(atob(bytes!), (c) => c.charCodeAt(0))], 'photo.png', {
        type: 'image/png',
      });
      Object.assign(window, { BFF: url, token, routingKey, input: { files: [file] } });
    },
    [bff, started.token, started.routingKey, png],
  );
  // Both requests carry the session's routing key, for a proxy that hashes on it.
  const routed: (string | undefined)[] = [];
  const onRequest = (request: { url(): string; method(): string; headers(): Record<string, string> }) => {
    if (request.method() === 'POST' && /\/(attachments|messages)(\?|$)/.test(request.url()))
      routed.push(new URL(request.url()).searchParams.get('routingKey') ?? undefined);
  };
  page.on('request', onRequest);
  const sentBefore = embedded.simulator.received.filter(
    (f) => f.frame?.action === 'onMessage' && f.frame?.message?.content?.[0]?.contentType === 'Attachment',
  ).length;
  await runInPage(page, documentBlock('docs/api.md', "form.append('file', input.files[0]);"));
  const sentAfter = embedded.simulator.received.filter(
    (f) => f.frame?.action === 'onMessage' && f.frame?.message?.content?.[0]?.contentType === 'Attachment',
  ).length;
  expect(sentAfter).toBe(sentBefore + 1);
  page.off('request', onRequest);
  expect(routed).toEqual([started.routingKey, started.routingKey]);

  // The sign-in fragment: a client that holds a session, and what the identity provider sent back.
  const grant = await signInAt(embedded.simulator, `readme-${Date.now().toString(36)}`, {
    redirectUri: `${origin}/page.html`,
  });
  await runInPage(
    page,
    `import { BffClient } from './bffClient.js';
const client = new BffClient({ baseUrl: ${JSON.stringify(bff)} });
await client.startSession();
Object.assign(window, { client }, ${JSON.stringify(grant)});`,
  );
  const revokes = embedded.simulator.requests.filter((r) => r.target === 'signInRevoke').length;
  await runInPage(page, documentBlock('docs/api.md', 'await client.signIn({ code, redirectUri, codeVerifier })'));
  expect(embedded.simulator.requests.filter((r) => r.target === 'signInRevoke').length).toBe(revokes + 1);

  // The analytics example, on a page of its own: each event once, as a CustomEvent on window and in the data layer.
  const analytics = await context.newPage();
  analytics.on('pageerror', (e) => errors.push(e.message));
  await analytics.goto(`${origin}/page.html`);
  await analytics.evaluate(
    (names) => {
      const heard: Array<{ type: string; detail: unknown }> = [];
      for (const name of names)
        window.addEventListener(`genesys-bff:${name}`, (e) =>
          heard.push({ type: e.type, detail: (e as CustomEvent).detail }),
        );
      Object.assign(window, { heard });
    },
    [...PAGE_EVENT_NAMES],
  );
  await runInPage(analytics, here(documentBlock('client/README.md', 'pageEvents: { dataLayer: true }')));
  await analytics.waitForFunction(
    () =>
      (window as unknown as { heard: { type: string }[] }).heard.some((h) => h.type === 'genesys-bff:message-received'),
    undefined,
    { timeout: 30_000 },
  );
  const told = await analytics.evaluate(() => {
    const w = window as unknown as {
      heard: Array<{ type: string; detail: Record<string, unknown> }>;
      dataLayer: unknown[];
    };
    return { heard: w.heard, layer: w.dataLayer };
  });
  const kinds = told.heard.map((h) => h.type);
  expect(kinds.filter((k) => k === 'genesys-bff:chat-opened')).toHaveLength(1);
  expect(kinds.filter((k) => k === 'genesys-bff:message-sent')).toHaveLength(1);
  const replies = told.heard.filter((h) => h.type === 'genesys-bff:message-received').map((h) => h.detail.messageId);
  expect(new Set(replies).size).toBe(replies.length);
  expect(told.layer).toEqual(told.heard.map((h) => ({ event: h.type, ...h.detail })));
  expect(JSON.stringify(told.heard)).not.toContain('Where is my order?');
  await analytics.close();
  expect(errors).toEqual([]);
  await context.close();
  await own.stop();
  await site.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('authenticated messaging: sign in mid-chat through the demo sign-in page, see the same conversation signed in from a second browser, sign out in one and the other is told', async () => {
  const customer = `dana-${Date.now().toString(36)}`;
  const signIn = async (page: Page) => {
    await page.locator('#sign-in:not([hidden])').click();
    await page.waitForURL(/\/oidc\/authorize\?/);
    await page.getByLabel('Customer').fill(customer);
    await page.getByRole('button', { name: 'Sign in as a demo customer' }).click();
    await page.locator('#signed-in:not([hidden])').waitFor();
    // Back on the chat page, and the code is gone from the address bar.
    expect(page.url()).toBe(embedded.demo.url);
  };

  const phone = await openPage(embedded.demo.url);
  await waitForStatus(phone.page, 'Connected');
  const composer = phone.page.getByLabel('Your message');
  await composer.fill('Hello before signing in');
  await composer.press('Enter');
  await waitForBubble(phone.page, 'bot', 'You said: Hello before signing in');
  await signIn(phone.page);
  // Signed in mid-chat: the conversation went on, on the same guest session.
  await waitForStatus(phone.page, 'Connected');
  await waitForBubble(phone.page, 'guest', 'Hello before signing in');
  const signedIn = embedded.simulator.received.filter((f) => f.frame.action === 'configureAuthenticatedSession');
  expect(signedIn.length).toBeGreaterThan(0);
  await composer.fill('Hello, signed in');
  await composer.press('Enter');
  await waitForBubble(phone.page, 'bot', 'You said: Hello, signed in');

  // A second browser signs in as the same customer: the same conversation, with its history.
  const laptop = await openPage(embedded.demo.url);
  await waitForStatus(laptop.page, 'Connected');
  await signIn(laptop.page);
  await waitForBubble(laptop.page, 'guest', 'Hello before signing in');
  await waitForBubble(laptop.page, 'guest', 'Hello, signed in');
  await shoot(laptop.page, 'signed-in-second-device');
  // Neither page ever holds a Genesys credential: the sign-in JWTs stay inside the service.
  for (const { page } of [phone, laptop]) {
    const stored = await page.evaluate(
      () =>
        JSON.stringify({ ...sessionStorage }) +
        JSON.stringify({ ...localStorage }) +
        document.documentElement.outerHTML,
    );
    for (const f of embedded.simulator.received.filter((r) => r.frame.action === 'configureAuthenticatedSession')) {
      expect(stored).not.toContain(f.frame.data.code as string);
    }
  }

  await phone.page.getByRole('button', { name: 'Sign out' }).click();
  await phone.page.locator('#notice-text', { hasText: 'signed out' }).waitFor();
  await laptop.page.locator('#notice-text', { hasText: 'signed out' }).waitFor();
  await shoot(laptop.page, 'signed-out-elsewhere');
  expect(await laptop.page.locator('#text').isDisabled()).toBe(true);
  expect([...phone.pageErrors, ...laptop.pageErrors]).toEqual([]);
  await phone.page.context().close();
  await laptop.page.context().close();
});

test('the service goes down: the page says so and reconnects when it is back, reloading history', async () => {
  const { page } = await openPage(embedded.demo.url);
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  const composer = page.getByLabel('Your message');

  const port = new URL(service.url).port;
  await service.stop();
  await waitForStatus(page, 'Reconnecting');
  await composer.fill('are you there?');
  await composer.press('Enter');
  await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).waitFor();
  expect(await composer.inputValue()).toBe('are you there?');
  await shoot(page, 'service-down');

  // Another instance on the same address: the sealed token still opens the session.
  service = await startService(loadConfig({ ...embedded.env, PORT: port }), serviceLog.logger);
  await waitForStatus(page, 'Connected');
  await composer.press('Enter');
  await waitForBubble(page, 'bot', 'You said: are you there?');
  expect(await page.getByRole('alert').isHidden()).toBe(true);
  await page.context().close();
});

test('WCAG 2.1 AA (axe-core): no violation in any state of the page, from the greeting through rich messages, a file to send and an error to the ended chat', async () => {
  const { page, pageErrors } = await openPage(embedded.demo.url);
  const found: string[] = [];
  const check = async (state: string) => found.push(...(await axeViolations(page)).map((v) => `${state}: ${v}`));
  const composer = page.getByLabel('Your message');
  const ask = async (text: string) => {
    await composer.fill(text);
    await composer.press('Enter');
  };

  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  await check('the greeting');

  await ask('quick replies');
  await page.locator('.quick-replies button', { hasText: 'Yes' }).waitFor();
  await check('quick replies');
  await ask('show me a card');
  await page.locator('.card button', { hasText: 'Track order' }).waitFor();
  await ask('a carousel');
  await page.locator('.carousel .card').nth(1).waitFor();
  await ask('a date picker');
  await page.locator('.date-picker button.slot').first().waitFor();
  await ask('send image');
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll<HTMLImageElement>('#messages li.from-bot img.thumb')).some(
      (img) => img.complete && img.naturalWidth > 0,
    ),
  );
  await check('a card, a carousel, a date picker and an image');

  await page.setInputFiles('#file', { name: 'parcel.png', mimeType: 'image/png', buffer: demoPng(40, 40) });
  await page.locator('.pending-file[data-state="done"]').waitFor();
  await check('a file waiting to be sent');
  await page.getByRole('button', { name: 'Remove parcel.png' }).click();
  await page.locator('.pending-file').waitFor({ state: 'detached' });

  await ask('x'.repeat(5000)); // over 4096 bytes: refused, and said so
  await page.getByRole('alert').waitFor();
  await check('an error notice');

  await composer.fill('');
  await ask('disconnect');
  await page.getByRole('button', { name: 'Start a new chat' }).waitFor();
  await check('the chat ended by the agent');

  expect(found).toEqual([]);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

/** How far the conversation is from its end, in pixels (0: showing the newest message). */
const belowTheFold = (page: Page) =>
  page.evaluate(() => {
    const log = document.getElementById('conversation')!;
    return log.scrollHeight - log.scrollTop - log.clientHeight;
  });

test('scrolling: the conversation follows new messages and a late image at the end, keeps the place when scrolled up with a jump back, and a reload opens at the newest', async () => {
  const { page, pageErrors } = await openPage(embedded.demo.url);
  await waitForStatus(page, 'Connected');
  await waitForBubble(page, 'bot', 'scripted bot');
  const gt = newestGuestToken();
  for (let i = 1; i <= 20; i++) embedded.simulator.agent.say(gt, `news ${i}`);
  await waitForBubble(page, 'bot', 'news 20');
  expect(await page.evaluate(() => document.getElementById('conversation')!.scrollHeight)).toBeGreaterThan(1000);
  await waitFor(async () => (await belowTheFold(page)) <= 1);

  // Scrolled up to read: what arrives leaves the place alone, and a button says so.
  // As a reader scrolls: the page has seen the scroll (its event) before anything else arrives.
  await page.evaluate(
    () =>
      new Promise((resolve) => {
        const log = document.getElementById('conversation')!;
        log.addEventListener('scroll', resolve, { once: true });
        log.scrollTop = 40;
      }),
  );
  embedded.simulator.agent.say(gt, 'while you were reading');
  await waitForBubble(page, 'bot', 'while you were reading');
  const jump = page.getByRole('button', { name: '1 new message' });
  await jump.waitFor();
  expect(await page.evaluate(() => document.getElementById('conversation')!.scrollTop)).toBe(40);
  expect(await axeViolations(page)).toEqual([]);
  await jump.click();
  await waitFor(async () => (await belowTheFold(page)) <= 1);
  await jump.waitFor({ state: 'hidden' });

  // An image that loads a second after its message still ends up in view.
  await page.route('**/*', async (route) => {
    if (route.request().resourceType() === 'image') await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.fallback();
  });
  embedded.simulator.setOptions({ agent: { typingDelayMs: 10, replyDelayMs: 10 } });
  try {
    await page.getByLabel('Your message').fill('send image');
    await page.getByLabel('Your message').press('Enter');
    const image = page.locator('#messages li.from-bot img').last();
    await image.waitFor();
    await waitFor(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalHeight > 0), 10_000);
    await waitFor(async () => (await belowTheFold(page)) <= 1);
  } finally {
    embedded.simulator.setOptions({ agent: { typingDelayMs: 150, replyDelayMs: 700 } });
  }

  await page.reload();
  await waitForBubble(page, 'bot', 'while you were reading');
  await waitFor(async () => (await belowTheFold(page)) <= 1);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});
