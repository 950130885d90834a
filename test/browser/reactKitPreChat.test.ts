import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { axeViolations } from '../support/axe';
import { bundleKitPage, launchChromium } from '../support/browser';
import { PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { englishLeftIn } from '../support/untranslated';

/**
 * The React kit's pre-chat form, the agent's join and leave lines and answers on older messages, in a real
 * browser: a developer's page (reactKit/preChatPage.tsx) bundled by esbuild as a development build (StrictMode
 * mounts twice), on its own loopback origin, against the service and the Genesys simulator.
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
<html__LANG__><head><meta charset="utf-8"><title>Chat</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/styles.css">
<style>body { margin: 0; } .chat { height: 560px; width: min(360px, 100%); }</style>
<script>window.BFF_URL = __SERVICE__;</script></head>
<body><div id="root"></div><script src="/kit.js"></script></body></html>`;

beforeAll(async () => {
  pageServer = http.createServer((req, res) => {
    if (req.url === '/kit.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else if (req.url === '/styles.css')
      res.writeHead(200, { 'content-type': 'text/css' }).end(fs.readFileSync(path.join(ROOT, 'client/styles.css')));
    else
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        PAGE.replace('__SERVICE__', JSON.stringify(stack.service.url)).replace(
          '__LANG__',
          // ?pagelang=none: a page that does not declare its language.
          req.url?.includes('pagelang=none') ? '' : ' lang="en"',
        ),
      );
  });
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  stack = await startStack({
    env: {
      CORS_ALLOWED_ORIGINS: `${PAGE_ORIGIN},${pageOrigin}`,
      // A service that verifies identity tokens keeps the name and email keys for them (docs/api.md): none here.
      IDENTITY_JWT_SECRET: undefined,
      IDENTITY_ISSUER: undefined,
      IDENTITY_AUDIENCE: undefined,
    },
    // The deployment speaks Spanish by default: only a page that declares no language of its own follows it.
    sim: {
      record: true,
      agent: { typingDelayMs: 5, replyDelayMs: 20 },
      languages: ['en-us', 'es-mx'],
      defaultLanguage: 'es-mx',
    },
  });
  bundle = await bundleKitPage(path.join(__dirname, 'reactKit/preChatPage.tsx'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

/** The page, with every `POST /guest-session` it sends counted. */
async function openPage(query = ''): Promise<{ page: Page; starts: string[] }> {
  const context = await browser.newContext({ viewport: { width: 400, height: 700 }, locale: 'en-US' });
  const page = await context.newPage();
  const starts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session') starts.push(r.url());
  });
  page.on('console', (m) => said.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => said.push(`error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) void r.text().then((body) => said.push(`${r.status()} ${r.url()} ${body}`));
  });
  await page.goto(`${pageOrigin}/${query}`);
  return { page, starts };
}

const said: string[] = [];
const whenOpen = (page: Page) =>
  page
    .locator('[role=status]', { hasText: 'open' })
    .waitFor({ timeout: 15_000 })
    .catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await page.locator('main').innerText()}\n${said.join('\n')}`);
    });

function newestGuestToken(): string {
  const frame = [...stack.sim.received].reverse().find((f) => f.frame.action === 'configureSession');
  return frame!.frame.token as string;
}

async function say(page: Page, text: string, answer: string, send = 'Send'): Promise<void> {
  await page.locator('textarea').fill(text);
  await page.getByRole('button', { name: send }).click();
  await page.locator('[role=log] li.message', { hasText: answer }).last().waitFor();
}

async function startWithForm(page: Page, name: string, email: string, labels = ['Your name', 'Email', 'Start chat']) {
  await page.getByLabel(labels[0]!).fill(name);
  await page.getByLabel(labels[1]!, { exact: false }).fill(email);
  await page.getByRole('button', { name: labels[2] }).click();
  await whenOpen(page);
}

/** A name as the kit puts it into a line: set apart (FSI … PDI), so it reads in its own direction. */
const ALEX = '\u2068Alex\u2069';

test("a pre-chat form's name, email and topic reach Genesys's attributes, and a reload skips the form", async () => {
  const { page, starts } = await openPage();
  await page.getByRole('heading', { name: 'Before we start' }).waitFor();
  // Under StrictMode the form waits: nothing starts until the guest submits.
  expect(starts).toHaveLength(0);

  // Submitted empty: each required field says what it needs, the first one has the focus, nothing is sent.
  await page.getByRole('button', { name: 'Start chat' }).click();
  const name = page.getByLabel('Your name');
  await page.getByText('Please fill in Your name.').waitFor();
  expect(await name.getAttribute('aria-invalid')).toBe('true');
  expect(await name.evaluate((el) => el === document.activeElement)).toBe(true);
  expect(await name.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)?.textContent)).toBe(
    'Please fill in Your name.',
  );
  await page.getByText('Please fill in Email.').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  await name.fill('Ada Lovelace');
  await page.getByLabel('Email').fill('ada@');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByText('Please enter an email address such as name@example.com.').waitFor();
  expect(await page.getByLabel('Email').evaluate((el) => el === document.activeElement)).toBe(true);
  expect(starts).toHaveLength(0);

  await page.getByLabel('Topic').selectOption('billing');
  await startWithForm(page, 'Ada Lovelace', 'ada@example.com');
  expect(starts).toHaveLength(1);
  const gt = newestGuestToken();
  await say(page, 'hello', 'You said: hello');
  expect(stack.sim.customAttributes(gt)).toMatchObject({
    firstName: 'Ada Lovelace',
    email: 'ada@example.com',
    topic: 'billing',
  });

  // The session is held: a reload resumes it without asking again.
  await page.reload();
  await whenOpen(page);
  await page.locator('.bubble', { hasText: 'You said: hello' }).waitFor();
  expect(await page.getByRole('heading', { name: 'Before we start' }).count()).toBe(0);
  expect(starts).toHaveLength(2);
  await page.context().close();
});

test("an agent's join and leave show as lines; a card's buttons stay usable, quick replies only on the newest", async () => {
  const { page } = await openPage();
  await startWithForm(page, 'Grace', 'grace@example.com');
  await say(page, 'card', 'Track order');
  await say(page, 'human', "I'm Alex");
  await page.locator('li.presence', { hasText: `${ALEX} joined the chat` }).waitFor();
  await page.locator('[role=status]', { hasText: 'agent-present' }).waitFor();
  await say(page, 'quick replies', 'What would you like to do?');
  await say(page, 'anything', 'You said: anything');

  // The quick replies are no longer the newest message's: Messenger takes them away, the kit turns them off.
  expect(await page.locator('.quick-replies button').first().isDisabled()).toBe(true);
  // The card several messages up still answers.
  const track = page.getByRole('button', { name: 'Track order' });
  expect(await track.isEnabled()).toBe(true);
  await track.click();
  await page.locator('.bubble', { hasText: 'You chose: Track order' }).last().waitFor();
  expect(await axeViolations(page)).toEqual([]);

  await say(page, 'back to the bot', "You're back with the bot");
  await page.locator('li.presence', { hasText: `${ALEX} left the chat` }).waitFor();
  await page.locator('[role=status]', { hasText: 'agent-present' }).waitFor({ state: 'detached' });
  expect(await page.locator('[role=status]').textContent()).toBe('open');
  await page.context().close();
});

test.each([
  ['de', 'ltr', ['Ihr Name', 'E-Mail', 'Chat starten'], 'Senden', `${ALEX} ist dem Chat beigetreten`],
  ['ar', 'rtl', ['اسمك', 'البريد الإلكتروني', 'بدء الدردشة'], 'إرسال', `انضم ${ALEX} إلى الدردشة`],
])('in %s (%s) the form, its errors and the join line are translated, with 0 axe violations', async (...args) => {
  const [language, dir, labels, send, joined] = args;
  const { page } = await openPage(`?lang=${language}`);
  expect(await page.locator('main.chat').getAttribute('dir')).toBe(dir);
  await page.getByRole('button', { name: labels[2] }).click();
  await page.locator('[aria-invalid=true]').first().waitFor();
  expect(await englishLeftIn(page, language)).toEqual([]);
  expect(await axeViolations(page)).toEqual([]);

  await startWithForm(page, 'Lin', 'lin@example.com', labels);
  await say(page, 'card', 'Track order', send);
  await say(page, 'human', "I'm Alex", send);
  await page.locator('li.presence', { hasText: joined }).waitFor();
  expect(await page.locator('li.presence').last().textContent()).toBe(joined);
  await say(page, 'quick replies', 'What would you like to do?', send);
  expect(await englishLeftIn(page, language)).toEqual([]);
  expect(await axeViolations(page)).toEqual([]);
  await page.context().close();
});

test("a page that declares no language follows the deployment's defaultLanguage once the chat has started", async () => {
  const { page } = await openPage('?pagelang=none');
  // Before a session there is no GET /capabilities (it needs one): the form speaks English.
  await page.getByRole('heading', { name: 'Before we start' }).waitFor();
  await startWithForm(page, 'Lin', 'lin@example.com');
  await page.getByRole('button', { name: 'Enviar' }).waitFor();
  expect(await page.locator('main.chat').getAttribute('lang')).toBe('es');
  await page.context().close();
});
