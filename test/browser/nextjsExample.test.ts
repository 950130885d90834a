import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoPng } from '../../simulator/richReplies';
import {
  atTheNewest,
  replyInView,
  scrollListTo,
  scrollTopOf,
  sessionStarts,
  streamsAtService,
} from '../support/chatPage';
import { chromiumOnADesktop } from '../support/desktopNotifications';
import { browserKeys, decryptPush, startPushReceiver } from '../support/pushReceiver';
import { freePort } from '../support/ports';
import { englishLeftIn } from '../support/untranslated';
import { waitFor } from '../support/wait';
import { launchChromium } from '../support/browser';
import { lastCharacterSide } from '../support/bidi';

/**
 * examples/nextjs as its README says to run it: the service with `npm start` in the repository
 * (the embedded default: service, simulator and demo page), the example's own dependencies (npm ci),
 * `next build`, then `next start` on its own origin, pointed at the service by BFF_URL, and a chat
 * through it in Chromium, CORS enforced by the browser, driving the simulator's scripted bot (“quick
 * replies”, “card”, “carousel”, “date picker”, “send image”, “disconnect”). Only the ports are moved
 * to free ones. The example installs the client package as a tarball the README's build block packs.
 * Replies are pushed once no page has shown the chat for a second (NOTIFY_AFTER_SECONDS, set for the test; the
 * embedded default makes its own VAPID keys).
 *
 * @needs chromium dbus-daemon python3-gi
 */

const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE = path.join(ROOT, 'examples/nextjs');
// Next's build runs its own jest-worker pool, whose children take a JEST_WORKER_ID they inherit for their own and hang.
const { JEST_WORKER_ID: _worker, NODE_ENV: _mode, ...outside } = process.env;
const ENV = { ...outside, NEXT_TELEMETRY_DISABLED: '1' };

jest.setTimeout(240_000);
// Each test's contexts, closed after it (a failed test leaves no tab holding a stream).
const contexts: BrowserContext[] = [];
afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

let service: ChildProcess | undefined;
let serviceOutput = '';
let browser: Browser;
let next: ChildProcess | undefined;
let nextOutput = '';
let pageUrl: string;
let port: number;
/** `npm run dev` (next dev, StrictMode mounting twice) on the same example, pointed at the same service. */
let dev: ChildProcess | undefined;
let devOutput = '';
let devUrl: string;
let metricsUrl: string;
/** Where the service answers (BFF_URL). */
let serviceUrl: string;

/** Runs a README command in its own process group (npm and what it starts), collecting its output. */
function run(command: string, cwd: string, env: NodeJS.ProcessEnv, output: (text: string) => void): ChildProcess {
  const child = spawn('bash', ['-euc', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (chunk: Buffer) => output(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output(chunk.toString()));
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    process.kill(-child.pid!, 'SIGTERM');
  });
}

/** The example README's `sh` blocks, in order: 0 starts the service, 1 installs and builds, 2 starts the page. */
function readmeBlocks(): string[] {
  const readme = fs.readFileSync(path.join(EXAMPLE, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

// Building the service, packing, installing and building the example take minutes on a busy two-core machine: the
// bound says when it hangs, no verdict on its speed.
beforeAll(async () => {
  const [serviceBlock, buildBlock, startBlock] = readmeBlocks();
  let servicePort: number, demoPort: number, devPort: number, metricsPort: number;
  [port, servicePort, demoPort, devPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  pageUrl = `http://127.0.0.1:${port}/`;
  devUrl = `http://127.0.0.1:${devPort}/`;
  metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  serviceUrl = `http://127.0.0.1:${servicePort}`;

  // The service as the README starts it, in the repository root, from a newcomer's shell (no Genesys
  // variables, no .env); this page's origins (next start, next dev) and the demo page's port are this test's free
  // ones, and its metrics listener counts the live streams the tabs hold.
  const origins = `http://127.0.0.1:${port},http://127.0.0.1:${devPort}`;
  const serviceCommand = serviceBlock!
    .replace('DEMO_PORT=3001', `DEMO_PORT=${demoPort}`)
    .replace('http://localhost:3000', origins);
  expect(serviceCommand).toBe(`DEMO_PORT=${demoPort} CORS_ALLOWED_ORIGINS=${origins} npm start`);
  service = run(
    serviceCommand,
    ROOT,
    {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(servicePort),
      METRICS_PORT: String(metricsPort),
      NOTIFY_AFTER_SECONDS: '1',
      DOTENV_CONFIG_PATH: path.join(ROOT, 'test/demo/no-such.env'),
    },
    (text) => (serviceOutput += text),
  );
  await waitFor(
    () => {
      if (service!.exitCode !== null) throw new Error(`npm start exited: ${serviceOutput}`);
      return serviceOutput.includes('Open the demo chat');
    },
    180_000,
    200,
  );
  // Packed, installed and built as the README says, in this folder (after npm start's own build of the client).
  execFileSync('bash', ['-euc', buildBlock!], {
    cwd: EXAMPLE,
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 420_000,
  });
  expect(fs.existsSync(path.join(EXAMPLE, 'node_modules/@genesys-bff/client/dist/react/index.js'))).toBe(true);
  // Installed, not linked: the example compiles nothing from outside its folder.
  expect(fs.lstatSync(path.join(EXAMPLE, 'node_modules/@genesys-bff/client')).isSymbolicLink()).toBe(false);

  // Started as the README says, pointed at this test's service, on a free loopback port.
  const start = startBlock!.replace('BFF_URL=http://localhost:8080', `BFF_URL=http://127.0.0.1:${servicePort}`);
  expect(start).not.toBe(startBlock);
  next = run(start, EXAMPLE, { ...ENV, HOST: '127.0.0.1', PORT: String(port) }, (text) => (nextOutput += text));
  await waitFor(
    async () => {
      if (next!.exitCode !== null) throw new Error(`next start exited: ${nextOutput}`);
      return (await fetch(pageUrl)).ok;
    },
    60_000,
    200,
  );
  // And `npm run dev`, as the README says it works the same way, beside it (next dev builds into .next/dev).
  dev = run(
    start.replace('npm start', 'npm run dev'),
    EXAMPLE,
    { ...ENV, HOST: '127.0.0.1', PORT: String(devPort) },
    (text) => (devOutput += text),
  );
  await waitFor(
    async () => {
      if (dev!.exitCode !== null) throw new Error(`next dev exited: ${devOutput}`);
      return (await fetch(devUrl)).ok;
    },
    120_000,
    500,
  );
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await stop(dev);
  await stop(next);
  await stop(service);
});

test('the Next.js example chats through the service: session, history, a message and the reply, in a real browser', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(pageUrl);
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  // The embedded default reads availability from its simulator: open, with agents free.
  await page.locator('.availability[role=status]', { hasText: 'An agent is available' }).waitFor();
  // The autostart greeting, from history or the stream.
  await page.locator('.from-bot .bubble', { hasText: 'scripted bot' }).first().waitFor();

  await page.getByLabel('Your message').fill('Hello from Next.js');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).waitFor();
  await page.locator('.from-bot .bubble', { hasText: 'You said: Hello from Next.js' }).waitFor();

  // The kit's service worker, copied into public/ by the example's build, registers from the example's origin.
  const worker = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.register('/chat-sw.js');
    await navigator.serviceWorker.ready;
    return registration.active?.scriptURL ?? registration.installing?.scriptURL ?? registration.waiting?.scriptURL;
  });
  expect(worker).toBe(new URL('/chat-sw.js', pageUrl).href);
  expect(await (await fetch(worker!)).text()).toBe(fs.readFileSync(path.join(ROOT, 'client/sw.js'), 'utf8'));

  // A reload resumes the same chat (the token is in localStorage) and shows it from history.
  await page.reload();
  await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).waitFor();
  expect(await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).count()).toBe(1);
  fs.mkdirSync(path.resolve(__dirname, '../../test-output/browser'), { recursive: true });
  await page.screenshot({ path: path.resolve(__dirname, '../../test-output/browser/nextjs-example.png') });
  expect(errors).toEqual([]);
  await context.close();
});

/** A fresh context (its own storage) on the example, connected, the greeting shown; errors collected. */
async function openChat(url = pageUrl): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url);
  return { page, errors };
}

const say = async (page: Page, text: string) => {
  await page.getByLabel('Your message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.from-guest .bubble', { hasText: text }).first().waitFor();
};
const reply = (page: Page, text: string) =>
  page.locator('.message:not(.from-guest) .bubble', { hasText: text }).first();

/** axe-core (pinned in package.json) injected into the page: the WCAG 2.1 A and AA rules. */
async function axeViolations(page: Page): Promise<{ id: string; nodes: string[] }[]> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: object,
          ): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

test('rich messages in the Next.js example: quick replies that answer, a card’s button, a carousel, a date picker, the bot typing, an image each way, no axe-core violations, then End chat', async () => {
  const { page, errors } = await openChat();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  await reply(page, 'scripted bot').waitFor();

  await say(page, 'Can I get some quick replies?');
  // The typing line (for the durationMs Genesys gives, until the reply), then the buttons, which answer.
  await page.locator('.typing', { hasText: 'is typing' }).waitFor();
  const yes = page.locator('.quick-replies button', { hasText: 'Yes' });
  await yes.waitFor();
  expect(await page.locator('.typing').textContent()).toBe('');
  await yes.click();
  await page.locator('.from-guest .bubble', { hasText: 'Yes' }).waitFor();
  await reply(page, 'You chose: Yes').waitFor();
  // Only the newest message can be answered.
  expect(await yes.isDisabled()).toBe(true);

  await say(page, 'show me a card');
  const track = page.locator('.card button', { hasText: 'Track order' });
  await track.waitFor();
  await track.click();
  await reply(page, 'You chose: Track order').waitFor();

  await say(page, 'a carousel please');
  await page.locator('.cards.carousel').waitFor();
  expect(await page.locator('.cards.carousel .card').count()).toBeGreaterThan(1);

  await say(page, 'a date picker please');
  const slot = page.locator('.date-picker button.slot').first();
  await slot.waitFor();
  const label = (await slot.textContent())!;
  await slot.click();
  await page.locator('.from-guest .bubble', { hasText: label }).waitFor();
  await reply(page, `You chose: ${label}`).waitFor();

  // An image upload: its progress, then sent with text; and one from the agent.
  await page.setInputFiles('input[type=file]', { name: 'parcel.png', mimeType: 'image/png', buffer: demoPng(120, 80) });
  await page.locator('.pending-file[data-state="done"]', { hasText: 'parcel.png' }).waitFor();
  await say(page, 'here is my parcel');
  await page.locator('.from-guest img.thumb[alt="parcel.png"]').waitFor();
  expect(await page.locator('.pending-file').count()).toBe(0);
  await page.getByLabel('Your message').fill('send image');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.message:not(.from-guest) img.thumb').waitFor();

  // The list followed every message down to the image that arrived last (the package's MessageList).
  await atTheNewest(page);
  fs.mkdirSync(path.resolve(__dirname, '../../test-output/browser'), { recursive: true });
  await page.screenshot({ path: path.resolve(__dirname, '../../test-output/browser/nextjs-rich.png'), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  await page.getByRole('button', { name: 'End chat' }).click();
  await page.getByRole('alert').filter({ hasText: 'You ended this chat.' }).waitFor();
  expect(await page.getByLabel('Your message').isDisabled()).toBe(true);
  await page.getByRole('button', { name: 'Start a new chat' }).click();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  expect(await page.locator('.from-guest').count()).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('the agent ends the chat: the Next.js example says so and offers a new one', async () => {
  const { page, errors } = await openChat();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  await say(page, 'disconnect');
  await page.getByRole('alert').filter({ hasText: 'The agent has ended this conversation.' }).waitFor();
  expect(await page.locator('.status[role=status]').textContent()).toContain('Chat ended');
  expect(await page.getByLabel('Your message').isDisabled()).toBe(true);
  await page.getByRole('button', { name: 'Start a new chat' }).click();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  expect(await page.getByLabel('Your message').isDisabled()).toBe(false);
  expect(errors).toEqual([]);
  await page.context().close();
});

test("the Next.js page on an origin the service does not allow says so in the customer's words; the console names the origin", async () => {
  // The same page through another host name: another origin, not on the service's allowlist.
  const refused = `http://localhost:${port}`;
  const { page, errors } = await openChat(`${refused}/`);
  const alert = page.getByRole('alert').filter({ hasText: 'Chat is not available on this page' });
  await alert.waitFor();
  expect(await alert.textContent()).not.toContain('CORS_ALLOWED_ORIGINS');
  expect(await page.locator('.status[role=status]').textContent()).toBe('Not connected');
  // For the page's developer: which origin to allow, in the console.
  expect(errors).toContainEqual(
    expect.stringContaining(`does not allow calls from ${refused}: add ${refused} to its CORS_ALLOWED_ORIGINS`),
  );
  await page.context().close();
});

test('the Next.js example switches to German and Arabic (right to left): every word translated, 0 axe violations', async () => {
  const { page, errors } = await openChat();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  for (const [language, dir, send, connected] of [
    ['de', 'ltr', 'Senden', 'Verbunden'],
    ['ar', 'rtl', 'إرسال', 'متصل'],
  ] as const) {
    await page.getByRole('combobox').selectOption(language);
    await page.getByRole('button', { name: send }).waitFor();
    expect(await page.locator('main.chat').getAttribute('dir')).toBe(dir);
    await page.locator('[role=status]', { hasText: new RegExp(`^${connected}`) }).waitFor();
    await page.locator('textarea').fill(`quick replies ${language}`);
    await page.getByRole('button', { name: send }).click();
    await page.locator('.quick-replies button').last().waitFor();
    // The bot's English sentence keeps its question mark at its end in the right-to-left page too.
    expect(await lastCharacterSide(page, 'What would you like to do?')).toBe('end');
    expect(await englishLeftIn(page, language)).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);
  }
  // The pick outlives a reload.
  await page.reload();
  await page.getByRole('button', { name: 'إرسال' }).waitFor();
  expect(errors).toEqual([]);
  await page.context().close();
});

test('?lang=de opens the Next.js example in German; a pick on the switch in one tab reaches the other tabs of the chat', async () => {
  const context = await site();
  const first = await context.newPage();
  await first.goto(`${pageUrl}?lang=de`);
  // In German from the server's HTML on: the address's language needs no pick.
  await first.locator('[role=status]', { hasText: /^Verbunden/ }).waitFor({ timeout: 60_000 });
  expect(await first.getByRole('combobox').inputValue()).toBe('de');
  const { page: second } = await openTab(context);
  // The second tab has no ?lang and nothing picked yet: English.
  expect(await second.getByRole('combobox').inputValue()).toBe('en');
  await second.getByRole('combobox').selectOption('ar');
  await second.getByRole('button', { name: 'إرسال' }).waitFor();
  // A third tab of the same chat opens in the language picked in the second.
  const third = await context.newPage();
  await third.goto(pageUrl);
  await third.getByRole('button', { name: 'إرسال' }).waitFor({ timeout: 60_000 });
  expect(await third.locator('main.chat').getAttribute('dir')).toBe('rtl');
  // A pick in the third reaches every open tab, the one opened in German by its address too: one guest, one chat.
  await third.getByRole('combobox').selectOption('fr');
  await second.getByRole('button', { name: 'Envoyer' }).waitFor();
  await first.getByRole('button', { name: 'Envoyer' }).waitFor();
  await context.close();
});

test('?prechat=on: the PreChatForm asks first, and its details start the chat', async () => {
  const { page } = await openChat(`${pageUrl}?prechat=on`);
  await page.getByRole('heading', { name: 'Before we start' }).waitFor();
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByText('Please fill in Your name.').waitFor();
  expect(await axeViolations(page)).toEqual([]);
  await page.getByLabel('Your name').fill('Ada');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
  await say(page, 'hello after the form');
  await reply(page, 'You said: hello after the form').waitFor();
  await page.context().close();
});

/** A tab on the example (in a site's context, whose tabs share storage), connected; its session POSTs written down. */
async function openTab(context: BrowserContext, url = pageUrl): Promise<{ page: Page; starts: ('new' | 'resume')[] }> {
  const page = await context.newPage();
  const starts = sessionStarts(page);
  await page.goto(url);
  await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor({ timeout: 60_000 });
  return { page, starts };
}

async function site(): Promise<BrowserContext> {
  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 800, height: 600 },
  });
  contexts.push(context);
  return context;
}

/** Sends and waits for the bot's echo. */
async function exchange(page: Page, text: string): Promise<void> {
  await say(page, text);
  await reply(page, `You said: ${text}`).waitFor();
}

test.each([
  ['next dev', 'development: StrictMode mounts twice', () => devUrl],
  ['next start', 'production', () => pageUrl],
])(
  'under %s (%s) a load sends one POST /guest-session, and a reload resumes the chat at its newest message',
  async (server, _mode, url) => {
    // StrictMode is on, as create-next-app sets it.
    expect(fs.readFileSync(path.join(EXAMPLE, 'next.config.ts'), 'utf8')).toContain('reactStrictMode: true');
    const { page, starts } = await openTab(await site(), url());
    expect(starts).toEqual(['new']);
    for (let i = 1; i <= 8; i++) await exchange(page, `${server} line ${i}`);
    await atTheNewest(page);

    await page.reload();
    await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
    await reply(page, `You said: ${server} line 8`).waitFor();
    expect(starts).toEqual(['new', 'resume']);
    await atTheNewest(page);
  },
);

test('two tabs share one chat on one stream held at the service; a tab scrolled up keeps its place while the other sends', async () => {
  await waitFor(async () => (await streamsAtService(metricsUrl)) === 0, 15_000, 200);
  const context = await site();
  const first = await openTab(context);
  for (let i = 1; i <= 8; i++) await exchange(first.page, `first tab line ${i}`);
  await atTheNewest(first.page);
  const second = await openTab(context);
  expect([first.starts, second.starts]).toEqual([['new'], ['resume']]);
  await reply(second.page, 'You said: first tab line 8').waitFor();
  await waitFor(async () => (await streamsAtService(metricsUrl)) === 1, 10_000, 100);

  // The first tab's reader scrolls up; the other tab sends: both show it, the first keeps its place.
  await scrollListTo(first.page, 40);
  await exchange(second.page, 'from the second tab');
  await reply(first.page, 'You said: from the second tab').waitFor();
  await first.page.getByRole('button', { name: '2 new messages' }).waitFor();
  expect(await scrollTopOf(first.page)).toBe(40);
  for (const { page } of [first, second]) {
    expect(await page.locator('.from-guest .bubble', { hasText: 'from the second tab' }).count()).toBe(1);
    expect(await page.locator('.bubble', { hasText: 'You said: from the second tab' }).count()).toBe(1);
  }
  expect(await streamsAtService(metricsUrl)).toBe(1);

  await first.page.getByRole('button', { name: '2 new messages' }).click();
  await atTheNewest(first.page);
  await atTheNewest(second.page);
});

/** How often the service has logged that it started watching a chat no page shows: an event to wait on. */
const watchesStarted = () =>
  serviceOutput.split('watching a chat nobody is looking at, for replies to push').length - 1;

/**
 * The example's reply notifications, end to end: its `ReplyNotifications` registers the worker its build copied into
 * public/, the service pushes the simulator's reply once the customer has left, and clicking the notification opens
 * a tab that resumes the chat with the reply in view. The desktop (test/support/desktopNotifications.ts) shows the
 * notification and clicks it, so the worker's `notificationclick` is trusted, as a customer's click makes it.
 *
 * What stands in, and why: Chromium's push service is out of this test's reach, so the kit's
 * `pushManager.subscribe()` (after the registration asserted here) cannot complete; the service is handed the
 * subscription the kit hands it (`PUT /notifications/push`, the chat's token, this page as `url`), its endpoint a
 * push service on loopback (test/support/pushReceiver.ts), and the push that reaches it is delivered to the browser
 * through the DevTools protocol, as Chromium's push service would deliver it. The simulator's bot answers only what
 * the customer says, so once the customer has left the test says something through the service's API (no page
 * open), and the bot's answer is the reply pushed.
 */
test('the example registers the kit’s worker; a pushed reply is a notification whose click opens the chat at the reply', async () => {
  const receiver = await startPushReceiver();
  const desktop = await chromiumOnADesktop();
  try {
    const origin = new URL(pageUrl).origin;
    await desktop.context.grantPermissions(['notifications'], { origin });
    // The browser's first tab watches its service workers through the DevTools protocol.
    const cdp = await desktop.context.newCDPSession(desktop.context.pages()[0]!);
    const registrations = new Map<string, string>();
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
      for (const r of updated as { scopeURL: string; registrationId: string }[])
        registrations.set(r.scopeURL, r.registrationId);
    });
    await cdp.send('ServiceWorker.enable');

    const page = await desktop.context.newPage();
    await page.goto(pageUrl);
    await page.locator('[role=status]', { hasText: /^Connected/ }).waitFor();
    // Enough of a conversation that the reply is below the fold unless the page scrolls to it.
    for (let i = 1; i <= 6; i++) {
      await say(page, `Where is my parcel? (${i})`);
      await reply(page, `You said: Where is my parcel? (${i})`).waitFor();
    }
    await page.getByRole('button', { name: 'Notify me when there is a reply' }).click();
    const registered = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return { scope: registration.scope, script: registration.active!.scriptURL };
    });
    expect(registered.scope).toBe(`${origin}/`);
    const script = new URL(registered.script);
    expect([`${script.origin}${script.pathname}`, Object.fromEntries(script.searchParams)]).toEqual([
      `${origin}/chat-sw.js`,
      { replyFrom: 'New reply from {from}', reply: 'New reply in your chat', lang: 'en', dir: 'ltr' },
    ]);
    expect(await (await fetch(registered.script)).text()).toBe(
      fs.readFileSync(path.join(ROOT, 'client/sw.js'), 'utf8'),
    );

    const keys = browserKeys();
    const token = await page.evaluate(() => localStorage.getItem('genesys-bff.sessionToken'));
    const asGuest = { authorization: `Bearer ${token}`, origin, 'content-type': 'application/json' };
    const subscribed = await fetch(`${serviceUrl}/notifications/push`, {
      method: 'PUT',
      headers: asGuest,
      body: JSON.stringify({
        endpoint: `${receiver.origin}/next`,
        expirationTime: null,
        keys: { p256dh: keys.p256dh, auth: keys.auth },
        url: page.url(),
      }),
    });
    expect(subscribed.status).toBe(204);

    // The customer leaves; once the service watches the chat, the bot answers a question it is asked.
    const watching = watchesStarted();
    await page.close();
    await waitFor(() => watchesStarted() > watching);
    const asked = await fetch(`${serviceUrl}/messages`, {
      method: 'POST',
      headers: asGuest,
      body: JSON.stringify({ text: 'Has it left the depot?' }),
    });
    expect(asked.status).toBe(201);
    const pushed = JSON.parse(decryptPush((await receiver.nth('/next', 1)).body, keys)) as { from: string };
    expect(pushed).toEqual({ type: 'reply', from: expect.any(String), url: pageUrl });
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: registrations.get(`${origin}/`)!,
      data: JSON.stringify(pushed),
    });
    const shown = await desktop.nthShown(1);
    expect(shown.summary).toBe(`New reply from \u2068${pushed.from}\u2069`);

    // The customer clicks it: a tab opens on the chat page, resumes the same chat, and shows the reply.
    const starts: string[] = [];
    desktop.context.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session')
        starts.push(r.headers().authorization ? 'resume' : 'new');
    });
    const opened = desktop.context.waitForEvent('page');
    await desktop.click(shown.id);
    const chat = await opened;
    expect(chat.url()).toBe(pageUrl);
    await reply(chat, 'You said: Has it left the depot?').waitFor();
    await chat.locator('.from-guest .bubble', { hasText: 'Where is my parcel? (6)' }).waitFor();
    expect(starts).toEqual(['resume']);
    await atTheNewest(chat);
    await replyInView(chat, 'You said: Has it left the depot?');
  } finally {
    await desktop.close();
    await receiver.close();
  }
});
