import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { axeViolations } from '../support/axe';
import {
  atTheNewest,
  belowTheFold,
  replyInView,
  scrollListTo,
  scrollTopOf,
  sessionStarts,
  streamsAtService,
} from '../support/chatPage';
import { launchChromium } from '../support/browser';
import { chromiumOnADesktop, type Desktop } from '../support/desktopNotifications';
import { freePort } from '../support/ports';
import { browserKeys, decryptPush, startPushReceiver, vapidPair, type PushReceiver } from '../support/pushReceiver';
import { PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * A fresh Vite + React + TypeScript app, made the way a developer new to the kit makes one: the files
 * `npm create vite` lays out (with its `<StrictMode>`), React, Vite and its React plugin installed from the
 * npm registry, the client installed from the tarball `npm pack` makes, and the React snippet of
 * client/README.md (the block after its `react-snippet` marker) pasted in as written, its service URL
 * changed to this test's, and its `vite.config.ts` (the block after its `vite-worker-snippet` marker, which
 * serves the kit's service worker) as written. Type-checked and built with `vite build` twice: a development
 * build (React's StrictMode mounts twice, as under `vite` dev) and the production one a site ships; each
 * served from its own loopback origin (allowed by CORS) against the service and the strict simulator, in
 * Chromium. The service has Web Push, pushing to a push service on loopback (test/support/pushReceiver.ts).
 *
 * @lane full — installs a Vite + React app from the npm registry and builds it (about half a minute)
 * @needs chromium dbus-daemon python3-gi
 */

jest.setTimeout(90_000);

const ROOT = path.resolve(__dirname, '../..');
/** Exact versions, as a developer's lockfile would hold them (the same as test/client/packInstall.test.ts). */
const VERSIONS = {
  react: '19.3.1',
  'react-dom': '19.3.1',
  '@types/react': '19.3.0',
  '@types/react-dom': '19.3.0',
  '@vitejs/plugin-react': '6.3.0',
  typescript: '5.9.3',
  vite: '8.3.8',
};
const SNIPPET_URL = 'https://chat-bff.example.com';
const WORKER = fs.readFileSync(path.join(ROOT, 'client/sw.js'), 'utf8');
const vapid = vapidPair();
let receiver: PushReceiver;

let dir: string;
let stack: Stack;
let browser: Browser;
const servers: http.Server[] = [];
/** The app's origin per build. */
const origin: Record<'development' | 'production', string> = { development: '', production: '' };

/** The block of client/README.md after its `<!-- marker: … -->`: what a developer copies. */
function readmeSnippet(marker: string, language: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'client/README.md'), 'utf8');
  const block = new RegExp(`<!-- ${marker}:[^>]*-->\\s*\`\`\`${language}\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!block) throw new Error(`client/README.md has no \`\`\`${language} block after its <!-- ${marker}: … --> marker`);
  return block[1]!;
}

// npm and Vite as a developer's shell runs them: not as jest's test worker, nor in its `test` mode.
const { JEST_WORKER_ID: _worker, NODE_ENV: _mode, ...outside } = process.env;
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
    env: {
      ...outside,
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      npm_config_update_notifier: 'false',
      ...env,
    },
  });
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

/** Serves a built app's folder (index.html for any other path) on a free loopback port. */
async function serve(folder: string): Promise<string> {
  const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };
  const server = http.createServer((req, res) => {
    const wanted = path.join(folder, path.normalize(new URL(req.url!, 'http://x').pathname));
    const file =
      wanted.startsWith(folder) && fs.existsSync(wanted) && fs.statSync(wanted).isFile()
        ? wanted
        : path.join(folder, 'index.html');
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-vite-app-'));
  const packed = JSON.parse(
    run('npm', ['pack', '-w', '@genesys-bff/client', '--pack-destination', base, '--json'], ROOT),
  ) as { filename: string }[];
  dir = path.join(base, 'my-chat-site');
  fs.mkdirSync(dir);

  origin.development = await serve(path.join(dir, 'dist-dev'));
  origin.production = await serve(path.join(dir, 'dist'));
  receiver = await startPushReceiver();
  stack = await startStack({
    env: {
      CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},${origin.development},${origin.production}`,
      METRICS_PORT: '0',
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:ops@example.com',
      NOTIFY_AFTER_SECONDS: '1',
      NOTIFY_PREVIEW: 'on',
    },
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
  });

  const { react, 'react-dom': reactDom, ...devDependencies } = VERSIONS;
  write(
    'package.json',
    JSON.stringify(
      {
        name: 'my-chat-site',
        private: true,
        version: '0.0.0',
        type: 'module',
        scripts: { build: 'tsc --noEmit && vite build' },
        dependencies: { '@genesys-bff/client': `file:../${packed[0]!.filename}`, react, 'react-dom': reactDom },
        devDependencies,
      },
      null,
      2,
    ),
  );
  write(
    'tsconfig.json',
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        module: 'ESNext',
        moduleResolution: 'bundler',
        jsx: 'react-jsx',
        strict: true,
        noEmit: true,
        isolatedModules: true,
        types: ['vite/client'],
      },
      include: ['src'],
    }),
  );
  write('vite.config.ts', readmeSnippet('vite-worker-snippet', 'ts'));
  write(
    'index.html',
    '<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <link rel="icon" href="data:," />\n' +
      '    <meta name="viewport" content="width=device-width, initial-scale=1.0" />\n    <title>Chat</title>\n  </head>\n' +
      '  <body>\n    <div id="root"></div>\n    <script type="module" src="/src/main.tsx"></script>\n  </body>\n</html>\n',
  );
  // The README's block as written; only its example service URL becomes this test's service.
  const snippet = readmeSnippet('react-snippet', 'tsx');
  expect(snippet).toContain(`'${SNIPPET_URL}'`);
  write('src/Chat.tsx', snippet.replace(`'${SNIPPET_URL}'`, JSON.stringify(stack.service.url)));
  // The README asks for a height on .chat; the count of effects shows whether StrictMode mounted twice.
  write('src/index.css', 'body { margin: 0; }\n.chat { height: 420px; width: min(360px, 100%); }\n');
  write(
    'src/main.tsx',
    `import { StrictMode, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import './index.css';
import { Chat } from './Chat';

function App() {
  useEffect(() => {
    const page = window as unknown as { appMounts?: number };
    page.appMounts = (page.appMounts ?? 0) + 1;
  }, []);
  return <Chat />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
`,
  );
  // Installed from the registry (its cache first), the client from its tarball.
  run('npm', ['install', '--no-package-lock', '--prefer-offline'], dir);
  // What `npm run build` runs, type-check included; then the development build into dist-dev.
  run('npm', ['run', 'build'], dir, { NODE_ENV: 'production' });
  run(path.join(dir, 'node_modules/.bin/vite'), ['build', '--outDir', 'dist-dev'], dir, { NODE_ENV: 'development' });

  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await receiver?.close();
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  if (dir) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

const contexts: BrowserContext[] = [];
afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
});

/** A site's browser (tabs of one context share storage, BroadcastChannel and locks). */
async function site(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 400, height: 600 }, locale: 'en-US' });
  contexts.push(context);
  return context;
}

/** A tab on the app, its chat open; the sessions it starts are written down. */
async function openApp(
  context: BrowserContext,
  build: keyof typeof origin = 'development',
): Promise<{ page: Page; starts: string[]; streams: string[] }> {
  const page = await context.newPage();
  const starts = sessionStarts(page);
  const streams: string[] = [];
  page.on('request', (r) => new URL(r.url()).pathname === '/messages/stream' && streams.push(r.url()));
  const said: string[] = [];
  page.on('console', (m) => said.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => said.push(`error: ${e.message}`));
  await page.goto(`${origin[build]}/`);
  await page
    .locator('[role=status]', { hasText: /^Connected$/ })
    .waitFor({ timeout: 15_000 })
    .catch((e: Error) => {
      throw new Error(`${e.message}\n${said.join('\n')}`);
    });
  return { page, starts, streams };
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

const appMounts = (page: Page) => page.evaluate(() => (window as unknown as { appMounts?: number }).appMounts);

test.each([
  ['development', 2],
  ['production', 1],
] as const)(
  'the %s build under <StrictMode> (effects run %i times) sends one POST /guest-session per load, and a reload opens at the newest message',
  async (build, mounts) => {
    const { page, starts } = await openApp(await site(), build);
    expect(await appMounts(page)).toBe(mounts);
    expect(starts).toEqual(['new']);
    for (let i = 1; i <= 6; i++) await say(page, `${build} message ${i}`);
    await atTheNewest(page);

    await page.reload();
    await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
    await page.locator('.bubble', { hasText: `You said: ${build} message 6` }).waitFor();
    expect(await appMounts(page)).toBe(mounts);
    // One POST for the reload too, which resumed the stored session: nothing new started.
    expect(starts).toEqual(['new', 'resume']);
    await atTheNewest(page);
    expect(await axeViolations(page)).toEqual([]);
  },
);

test('the list follows new messages at the bottom, keeps its place when scrolled up, and offers a jump', async () => {
  const { page } = await openApp(await site());
  const gt = newestGuestToken();
  for (let i = 1; i <= 8; i++) await say(page, `line ${i}`);
  await atTheNewest(page);
  stack.sim.agent.say(gt, 'while you look at the newest');
  await page.locator('.bubble', { hasText: 'while you look at the newest' }).waitFor();
  await atTheNewest(page);

  await scrollListTo(page, 40);
  stack.sim.agent.say(gt, 'while you were reading');
  await page.locator('.bubble', { hasText: 'while you were reading' }).waitFor();
  await page.getByRole('button', { name: '1 new message' }).waitFor();
  expect(await scrollTopOf(page)).toBe(40);
  expect(await belowTheFold(page)).toBeGreaterThan(100);

  await page.getByRole('button', { name: '1 new message' }).click();
  await atTheNewest(page);
  await page.getByRole('button', { name: /new message/ }).waitFor({ state: 'detached' });
});

test('two tabs share one chat: one session, one stream held at the service, each tab shows every message', async () => {
  await waitFor(async () => (await streamsAtService(stack.service.metricsUrl!)) === 0, 15_000);
  const framesBefore = stack.sim.received.length;
  const context = await site();
  const first = await openApp(context);
  const second = await openApp(context);
  const gt = newestGuestToken();
  // The second tab resumed the first tab's session (one POST each, StrictMode or not) and only hears its stream.
  expect([first.starts, second.starts]).toEqual([['new'], ['resume']]);
  // At Genesys: one guest configured by the two tabs.
  const guests = stack.sim.received
    .slice(framesBefore)
    .filter((f) => f.frame.action === 'configureSession')
    .map((f) => f.frame.token);
  expect(new Set(guests)).toEqual(new Set([gt]));
  await waitFor(async () => (await streamsAtService(stack.service.metricsUrl!)) === 1);

  stack.sim.agent.say(gt, 'hello to every tab');
  await say(second.page, 'sent from the second tab');
  for (const { page } of [first, second]) {
    await page.locator('.bubble', { hasText: 'hello to every tab' }).waitFor();
    await page.locator('.from-guest .bubble', { hasText: 'sent from the second tab' }).waitFor();
    await page.locator('.from-bot .bubble', { hasText: 'You said: sent from the second tab' }).waitFor();
    expect(await page.locator('.bubble', { hasText: 'hello to every tab' }).count()).toBe(1);
  }
  expect(await streamsAtService(stack.service.metricsUrl!)).toBe(1);
  expect([first.streams.length > 0, second.streams]).toEqual([true, []]);
});

test("`vite` (dev) serves the kit's service worker at /chat-sw.js, as the build does", async () => {
  const port = await freePort();
  const dev = spawn(
    path.join(dir, 'node_modules/.bin/vite'),
    ['--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: dir, env: { ...outside, NODE_ENV: 'development' }, stdio: 'ignore', detached: true },
  );
  const exited = new Promise((resolve) => dev.once('exit', resolve));
  try {
    const words = new URLSearchParams({ replyFrom: 'New reply from {from}', reply: 'New reply in your chat' });
    for (const site of [`http://127.0.0.1:${port}`, origin.production]) {
      let served: Response | undefined;
      await waitFor(async () => (served = await fetch(`${site}/chat-sw.js?${words}`)).ok, 60_000, 200);
      expect(served!.headers.get('content-type')).toMatch(/^text\/javascript/);
      expect(await served!.text()).toBe(WORKER);
    }
  } finally {
    process.kill(-dev.pid!, 'SIGTERM');
    await exited;
  }
});

/** What the service logs as it starts watching a chat no page shows: a watch starting is an event to wait on. */
const watchesStarted = () =>
  stack.log.lines().filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push').length;

/**
 * Where the customer has no tab on the chat, clicking the notification opens one. The desktop
 * (test/support/desktopNotifications.ts) shows the notification and clicks it, so the worker's `notificationclick`
 * is a trusted one, as a customer's click makes it. The push is the service's own, to a push service on loopback,
 * delivered to the browser through the DevTools protocol as Chromium's push service would deliver it.
 *
 * What stands in: Chromium's push service is out of this test's reach, so the kit's `pushManager.subscribe()`
 * (which follows the registration asserted here) cannot complete. The service is handed the subscription the kit
 * hands it (`PUT /notifications/push` with the chat's token and this page as `url`), its endpoint and keys this
 * test's push service's.
 */
describe('a reply while the customer is away, in the production build', () => {
  let desktop: Desktop | undefined;
  afterEach(() => desktop?.close());

  test('the kit registers its worker; the pushed reply is a notification whose click opens the chat at the reply', async () => {
    const app = origin.production;
    desktop = await chromiumOnADesktop();
    await desktop.context.grantPermissions(['notifications'], { origin: app });
    // The browser's first tab watches its service workers through the DevTools protocol.
    const cdp = await desktop.context.newCDPSession(desktop.context.pages()[0]!);
    const registrations = new Map<string, string>();
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
      for (const r of updated as { scopeURL: string; registrationId: string }[])
        registrations.set(r.scopeURL, r.registrationId);
    });
    await cdp.send('ServiceWorker.enable');

    const page = await desktop.context.newPage();
    await page.goto(`${app}/`);
    await page.locator('[role=status]', { hasText: /^Connected$/ }).waitFor();
    // Enough of a conversation that the reply is below the fold unless the page scrolls to it.
    for (let i = 1; i <= 6; i++) await say(page, `Where is my parcel? (${i})`);
    const gt = newestGuestToken();

    await page.getByRole('button', { name: 'Notify me when there is a reply' }).click();
    // The kit registers the site's worker, its words in the URL, for the whole site.
    const registered = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return { scope: registration.scope, script: registration.active!.scriptURL };
    });
    expect(registered.scope).toBe(`${app}/`);
    const script = new URL(registered.script);
    expect([`${script.origin}${script.pathname}`, Object.fromEntries(script.searchParams)]).toEqual([
      `${app}/chat-sw.js`,
      { replyFrom: 'New reply from {from}', reply: 'New reply in your chat', lang: 'en', dir: 'ltr' },
    ]);
    expect(await (await fetch(registered.script)).text()).toBe(WORKER);

    const keys = browserKeys();
    const token = await page.evaluate(() => localStorage.getItem('genesys-bff.sessionToken'));
    const subscribed = await fetch(`${stack.service.url}/notifications/push`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, origin: app, 'content-type': 'application/json' },
      body: JSON.stringify({
        endpoint: `${receiver.origin}/vite`,
        expirationTime: null,
        keys: { p256dh: keys.p256dh, auth: keys.auth },
        url: page.url(),
      }),
    });
    expect(subscribed.status).toBe(204);

    // The customer leaves; the agent answers.
    const watching = watchesStarted();
    await page.close();
    await waitFor(() => watchesStarted() > watching);
    stack.sim.agent.say(gt, 'Your parcel left the depot today');
    const pushed = JSON.parse(decryptPush((await receiver.nth('/vite', 1)).body, keys)) as { from: string };
    expect(pushed).toEqual({
      type: 'reply',
      from: expect.any(String),
      preview: 'Your parcel left the depot today',
      url: `${app}/`,
    });
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: app,
      registrationId: registrations.get(`${app}/`)!,
      data: JSON.stringify(pushed),
    });
    const shown = await desktop.nthShown(1);
    expect(shown.summary).toBe(`New reply from \u2068${pushed.from}\u2069`);
    expect(shown.body).toContain('Your parcel left the depot today');

    // The customer clicks it: a tab opens on the chat page, resumes the same chat, and shows the reply.
    const starts: string[] = [];
    desktop.context.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session')
        starts.push(r.headers().authorization ? 'resume' : 'new');
    });
    const opened = desktop.context.waitForEvent('page');
    await desktop.click(shown.id);
    const chat = await opened;
    expect(chat.url()).toBe(`${app}/`);
    const reply = chat.locator('.bubble', { hasText: 'Your parcel left the depot today' });
    await reply.waitFor();
    await chat.locator('.from-guest .bubble', { hasText: 'Where is my parcel? (6)' }).waitFor();
    expect(starts).toEqual(['resume']);
    await atTheNewest(chat);
    await replyInView(chat, 'Your parcel left the depot today');
  });
});
