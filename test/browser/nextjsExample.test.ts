import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

/**
 * examples/nextjs as its README says to run it: the service with `npm start` in the repository
 * (the embedded default: service, simulator and demo page), the example's own dependencies (npm ci),
 * `next build`, then `next start` on its own origin, pointed at the service by BFF_URL, and a chat
 * through it in Chromium, CORS enforced by the browser. Only the ports are moved to free ones.
 *
 * @needs chromium
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE = path.join(ROOT, 'examples/nextjs');
// Next's build runs its own jest-worker pool, whose children take a JEST_WORKER_ID they inherit for their own and hang.
const { JEST_WORKER_ID: _worker, NODE_ENV: _mode, ...outside } = process.env;
const ENV = { ...outside, NEXT_TELEMETRY_DISABLED: '1' };

jest.setTimeout(240_000);

let service: ChildProcess | undefined;
let serviceOutput = '';
let browser: Browser;
let next: ChildProcess | undefined;
let nextOutput = '';
let pageUrl: string;

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

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (this test never downloads a browser).`);
  const [serviceBlock, buildBlock, startBlock] = readmeBlocks();
  const [port, servicePort, demoPort] = [await freePort(), await freePort(), await freePort()];
  pageUrl = `http://127.0.0.1:${port}/`;

  // The service as the README starts it, in the repository root, from a newcomer's shell (no Genesys
  // variables, no .env); this page's origin and the demo page's port are this test's free ones.
  const serviceCommand = serviceBlock!.replace('DEMO_PORT=3001', `DEMO_PORT=${demoPort}`).replace('http://localhost:3000', `http://127.0.0.1:${port}`);
  expect(serviceCommand).toBe(`DEMO_PORT=${demoPort} CORS_ALLOWED_ORIGINS=http://127.0.0.1:${port} npm start`);
  service = run(
    serviceCommand,
    ROOT,
    { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(servicePort), DOTENV_CONFIG_PATH: path.join(ROOT, 'test/demo/no-such.env') },
    (text) => (serviceOutput += text),
  );
  // Installed and built as the README says, in this folder.
  execFileSync('bash', ['-euc', buildBlock!], { cwd: EXAMPLE, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 180_000 });
  await waitFor(() => {
    if (service!.exitCode !== null) throw new Error(`npm start exited: ${serviceOutput}`);
    return serviceOutput.includes('Open the demo chat');
  }, 180_000, 200);

  // Started as the README says, pointed at this test's service, on a free loopback port.
  const start = startBlock!.replace('BFF_URL=http://localhost:8080', `BFF_URL=http://127.0.0.1:${servicePort}`);
  expect(start).not.toBe(startBlock);
  next = run(start, EXAMPLE, { ...ENV, HOST: '127.0.0.1', PORT: String(port) }, (text) => (nextOutput += text));
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
