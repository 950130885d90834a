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
import { captureLogger } from '../support/app';
import { launchChromium } from '../support/browser';

/**
 * The kit's events for the site's analytics (client/README.md#analytics-events) in Chromium, on a site's own page
 * next to bffClient.js, against the embedded default: a chat that reads the availability, opens, sends, meets an
 * agent, is refused once and ends tells each of `genesys-bff:chat-opened`, `message-sent`, `message-received`,
 * `agent-joined`, `chat-ended`, `availability` and `error` once (a reply once per message), as a CustomEvent on
 * `window` and, asked for, in `window.dataLayer`; asked for nothing, the page gets no `dataLayer`.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let site: DemoServer;
let browser: Browser;
let dir: string;
let origin: string;
let bff: string;

beforeAll(async () => {
  embedded = await startTestEmbedded();
  // A quick agent keeps the chat short.
  embedded.simulator.setOptions({ agent: { typingDelayMs: 20, replyDelayMs: 50 } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-events-site-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Shop</title><body></body>');
  fs.writeFileSync(path.join(dir, 'page.html'), '<!doctype html><title>Shop</title><body></body>');
  site = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    pageDir: dir,
    clientModule: demoAssets().clientModule,
    serviceUrlFor: () => '',
  });
  origin = `http://localhost:${site.port}`;
  // The kit is compiled (tsc) on the first request for one of its modules: done here, so the chats below wait on
  // the chat alone.
  expect((await fetch(`${origin}/bff-client/index.js`)).status).toBe(200);
  service = await startService(
    loadConfig({ ...embedded.env, PORT: '0', CORS_ALLOWED_ORIGINS: origin }),
    captureLogger('info').logger,
  );
  embedded.serviceStarted(service.url);
  bff = `http://localhost:${new URL(service.url).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await site?.stop();
  await embedded?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Heard {
  type: string;
  detail: Record<string, unknown>;
}

/** A page of the site with a listener for each of the kit's events, each heard kept in `window.heard`. */
async function listeningPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext()).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/page.html`);
  await page.evaluate(
    (names) => {
      const heard: Heard[] = [];
      for (const name of names)
        window.addEventListener(`genesys-bff:${name}`, (e) =>
          heard.push({ type: e.type, detail: (e as CustomEvent).detail as Record<string, unknown> }),
        );
      Object.assign(window, { heard });
    },
    [...PAGE_EVENT_NAMES],
  );
  return { page, errors };
}

/**
 * A whole chat, as a module on the page: the availability, a start, a send that asks for a person (the simulator's
 * agent joins and answers), a send the service refuses (an empty text), and the end once the agent has answered.
 * `pageEvents` is the client's option as written (`undefined`: left out).
 */
async function chatOn(page: Page, pageEvents: string | undefined): Promise<void> {
  const module = `import { BffClient, BffError } from './bffClient.js';
const client = new BffClient({ baseUrl: ${JSON.stringify(bff)}${pageEvents ? `, pageEvents: ${pageEvents}` : ''} });
window.__step = 'availability';
await client.availability();
window.__step = 'start';
await client.startSession();
const told = (type) => window.heard.some((h) => h.type === type);
const agentAnswered = new Promise((resolve) => {
  const stream = client.stream({
    message: (m) => {
      if (m.direction === 'outbound' && m.originatingEntity !== 'bot' && m.type !== 'event') resolve(stream);
    },
  });
});
window.__step = 'send';
await client.send('talk to a person');
window.__step = 'agent';
const stream = await agentAnswered;
for (let n = 0; n < 200 && !(told('genesys-bff:agent-joined') && told('genesys-bff:message-received')); n++)
  await new Promise((r) => setTimeout(r, 20));
window.__step = 'refused';
try {
  await client.send('');
  throw new Error('an empty text was sent');
} catch (error) {
  if (!(error instanceof BffError)) throw error;
}
window.__step = 'history';
window.history_ = (await client.history({ pageSize: 100 })).messages;
stream.close();
window.__step = 'end';
await client.endSession();`;
  await page.evaluate((source) => {
    const w = window as unknown as { __chat: string };
    w.__chat = 'running';
    window.addEventListener('error', (e) => (w.__chat = `failed: ${e.message}`), { once: true });
    window.addEventListener(
      'unhandledrejection',
      (e) => (w.__chat = `failed: ${(e.reason as Error)?.message ?? String(e.reason)}`),
      { once: true },
    );
    const script = document.createElement('script');
    script.type = 'module';
    script.textContent = `${source}\nwindow.__chat = 'done';`;
    document.body.append(script);
  }, module);
  // On a hang, the step it hung at and what the page heard so far.
  const state = () =>
    page.evaluate(() => {
      const w = window as unknown as { __chat: string; __step: string; heard: Heard[] };
      return `${w.__chat} at ${w.__step}; heard ${JSON.stringify(w.heard.map((h) => h.type))}`;
    });
  await page
    .waitForFunction(() => (window as unknown as { __chat: string }).__chat !== 'running', undefined, {
      timeout: 60_000,
    })
    .catch(async () => {
      throw new Error(`the chat did not finish: ${await state()}`);
    });
  expect(await state()).toMatch(/^done /);
}

const toldOn = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as {
      heard: Heard[];
      dataLayer?: unknown;
      history_: Array<{ id: string; direction: string; type: string }>;
    };
    return { heard: w.heard, layer: w.dataLayer, hasLayer: 'dataLayer' in window, history: w.history_ };
  });

test('each event once as a CustomEvent on window, and the same in dataLayer when the site asks', async () => {
  const { page, errors } = await listeningPage();
  await chatOn(page, '{ dataLayer: true }');
  const { heard, layer, history } = await toldOn(page);
  const count = (name: string) => heard.filter((h) => h.type === `genesys-bff:${name}`).length;
  expect(
    Object.fromEntries(PAGE_EVENT_NAMES.filter((n) => n !== 'message-received').map((n) => [n, count(n)])),
  ).toEqual({
    'chat-opened': 1,
    'message-sent': 1,
    'agent-joined': 1,
    'chat-ended': 1,
    availability: 1,
    error: 1,
  });
  const detailOf = (name: string) => heard.find((h) => h.type === `genesys-bff:${name}`)!.detail;
  expect(detailOf('chat-opened')).toEqual({ resumed: false });
  expect(detailOf('message-sent')).toEqual({ messageId: expect.any(String), kind: 'text', attachments: 0 });
  expect(detailOf('agent-joined')).toEqual({ name: expect.any(String) });
  expect(detailOf('chat-ended')).toEqual({ by: 'guest' });
  expect(detailOf('availability')).toMatchObject({ open: expect.any(Boolean), reason: expect.any(String) });
  expect(Object.keys(detailOf('availability')).sort()).toEqual(['estimatedWaitSeconds', 'open', 'reason']);
  expect(detailOf('error')).toEqual({ code: 'validation_failed', status: 400, during: 'send' });
  // Each reply the chat's history holds up to then, once: the bot's and the agent's.
  const replies = heard.filter((h) => h.type === 'genesys-bff:message-received').map((h) => h.detail);
  const answered = history.filter((m) => m.direction === 'outbound' && m.type !== 'event').map((m) => m.id);
  expect(replies.map((r) => r.messageId).sort()).toEqual([...answered].sort());
  expect(replies.some((r) => r.from === 'agent')).toBe(true);
  // The same, in the same order, in the data layer; no message text in either.
  expect(layer).toEqual(heard.map((h) => ({ event: h.type, ...h.detail })));
  expect(JSON.stringify(heard)).not.toContain('talk to a person');
  expect(errors).toEqual([]);
  await page.context().close();
});

test('without the dataLayer option the events are told on window and window.dataLayer stays undefined', async () => {
  const { page, errors } = await listeningPage();
  await chatOn(page, undefined);
  const { heard, layer, hasLayer } = await toldOn(page);
  expect(new Set(heard.map((h) => h.type))).toEqual(new Set(PAGE_EVENT_NAMES.map((n) => `genesys-bff:${n}`)));
  expect([layer, hasLayer]).toEqual([undefined, false]);
  expect(errors).toEqual([]);
  await page.context().close();
});
