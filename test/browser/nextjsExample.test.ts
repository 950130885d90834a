import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import { startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

/**
 * examples/nextjs as its README says to run it: its own dependencies (npm ci), `next build`, then
 * `next start` on its own origin, pointed at the service by BFF_URL, and a chat through it in
 * Chromium against the embedded default (service and simulator), CORS enforced by the browser.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLE = path.resolve(__dirname, '../../examples/nextjs');
// Next's build runs its own jest-worker pool, whose children take a JEST_WORKER_ID they inherit for their own and hang.
const { JEST_WORKER_ID: _worker, NODE_ENV: _mode, ...outside } = process.env;
const ENV = { ...outside, NEXT_TELEMETRY_DISABLED: '1' };

jest.setTimeout(240_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;
let next: ChildProcess | undefined;
let nextOutput = '';
let pageUrl: string;

/** The example README's `sh` blocks, in order: 0 starts the service, 1 installs and builds, 2 starts the page. */
function readmeBlocks(): string[] {
  const readme = fs.readFileSync(path.join(EXAMPLE, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (this test never downloads a browser).`);
  const [serviceBlock, buildBlock, startBlock] = readmeBlocks();
  expect(serviceBlock).toBe('CORS_ALLOWED_ORIGINS=http://localhost:3000 npm start');
  // Installed and built as the README says, in this folder.
  execFileSync('bash', ['-euc', buildBlock!], { cwd: EXAMPLE, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });

  const port = await freePort();
  pageUrl = `http://127.0.0.1:${port}/`;
  embedded = await startEmbeddedDefault({ NODE_ENV: 'test', PORT: '0', DEMO_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', CORS_ALLOWED_ORIGINS: `http://127.0.0.1:${port}` });
  embedded.simulator.setOptions({ agent: { typingDelayMs: 100, replyDelayMs: 300 } });
  service = await startService(loadConfig(embedded.env), captureLogger('warn').logger);
  embedded.serviceStarted(service.url);

  // Started as the README says, pointed at this test's service, on a free loopback port, in its own process group.
  const start = startBlock!.replace('BFF_URL=http://localhost:8080', `BFF_URL=${service.url}`);
  expect(start).not.toBe(startBlock);
  next = spawn('bash', ['-euc', start], {
    cwd: EXAMPLE,
    env: { ...ENV, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  next.stdout!.on('data', (chunk: Buffer) => (nextOutput += chunk.toString()));
  next.stderr!.on('data', (chunk: Buffer) => (nextOutput += chunk.toString()));
  await waitFor(async () => {
    if (next!.exitCode !== null) throw new Error(`next start exited: ${nextOutput}`);
    return (await fetch(pageUrl)).ok;
  }, 60_000, 200);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (next && next.exitCode === null) {
    await new Promise<void>((resolve) => {
      next!.once('exit', () => resolve());
      // npm and Next run as one process group: stop them all.
      process.kill(-next!.pid!, 'SIGTERM');
    });
  }
  await service?.stop();
  await embedded?.stop();
});

test('the Next.js example chats through the service: session, history, a message and the reply, in a real browser', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  await page.goto(pageUrl);
  await page.locator('[role=status]', { hasText: 'Connected' }).waitFor();
  // The autostart greeting, from history or the stream.
  await page.locator('.from-agent .bubble', { hasText: 'scripted bot' }).first().waitFor();

  await page.getByLabel('Your message').fill('Hello from Next.js');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).waitFor();
  await page.locator('.from-agent .bubble', { hasText: 'You said: Hello from Next.js' }).waitFor();

  // A reload resumes the same chat (the token is in sessionStorage) and shows it from history.
  await page.reload();
  await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).waitFor();
  expect(await page.locator('.from-guest .bubble', { hasText: 'Hello from Next.js' }).count()).toBe(1);
  fs.mkdirSync(path.resolve(__dirname, '../../test-output/browser'), { recursive: true });
  await page.screenshot({ path: path.resolve(__dirname, '../../test-output/browser/nextjs-example.png') });
  expect(errors).toEqual([]);
  await context.close();
});
