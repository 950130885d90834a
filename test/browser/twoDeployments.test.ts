import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { launchChromium } from '../support/browser';
import { simProfile } from '../support/stack';

/**
 * What a browser loads without an `Origin` or a token works with several deployments: on each deployment's page in
 * Chromium, an agent's image renders from its attachment link, the link opens as a page of its own, and a problem's
 * `type` page opens. Two deployments, each on its own simulator, served by one process; two pages of one test server
 * (at `localhost` and at `127.0.0.1`, two origins), one per deployment.
 *
 * @needs chromium
 */

jest.setTimeout(120_000);

let sims: Simulator[] = [];
let service: RunningService;
let pages: http.Server;
let origins: string[];
let browser: Browser;
let context: BrowserContext;
let dir: string;

beforeAll(async () => {
  pages = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>chat</title><p>chat</p>'),
  );
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  const { port } = pages.address() as AddressInfo;
  origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  sims = [
    await startSimulator({ profile: simProfile() }),
    await startSimulator({ profile: simProfile(), deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211' }),
  ];
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'two-deployments-browser-'));
  const file = path.join(dir, 'deployments.json');
  const deployments = sims.map((sim, i) => deploymentEntryFor(sim, ['shop', 'clinic'][i]!, [origins[i]!]));
  fs.writeFileSync(file, JSON.stringify({ deployments }));
  service = await startService(await readConfig(deploymentsFileEnv(file)), captureLogger().logger);
  browser = await launchChromium();
  context = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  for (const sim of sims) await sim.stop();
  await new Promise((resolve) => pages?.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each([0, 1])("deployment %i's page", (index) => {
  let imageUrl: string;

  test("an agent's image renders from its attachment link, which the browser loads with no token", async () => {
    const page = await context.newPage();
    await page.goto(`${origins[index]}/`);
    // The page chats as a chat UI does: fetch with its session token, cross-origin.
    imageUrl = await page.evaluate(async (api) => {
      const post = (path: string, body: unknown, token?: string) =>
        fetch(`${api}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
      const { sessionToken } = (await (await post('/guest-session', {})).json()) as { sessionToken: string };
      await post('/messages', { text: 'send image' }, sessionToken);
      for (let i = 0; i < 200; i++) {
        const history = (await (
          await fetch(`${api}/messages`, { headers: { Authorization: `Bearer ${sessionToken}` } })
        ).json()) as { messages: { attachments?: { url?: string }[] }[] };
        const url = history.messages.flatMap((m) => m.attachments ?? []).find((a) => a.url)?.url;
        if (url) return url;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error('no agent image in history');
    }, service.url);
    expect(imageUrl.startsWith(`${service.url}/attachments/`)).toBe(true);
    const rendered = await page.evaluate(
      (src) =>
        new Promise<{ width: number; height: number }>((resolve, reject) => {
          const img = document.createElement('img');
          img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
          img.onerror = () => reject(new Error(`the image did not load: ${src}`));
          img.src = src;
          document.body.append(img);
        }),
      imageUrl,
    );
    expect(rendered.width).toBeGreaterThan(0);
    expect(rendered.height).toBeGreaterThan(0);
    await page.close();
  });

  test('the attachment link opens as a page of its own', async () => {
    const page = await context.newPage();
    const response = await page.goto(imageUrl);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^image\/png/);
    await page.close();
  });

  test("a problem's type page opens", async () => {
    const page = await context.newPage();
    await page.goto(`${origins[index]}/`);
    // A problem as the page meets it: its `type` resolves against the service's URL.
    const type = await page.evaluate(async (api) => {
      const res = await fetch(`${api}/messages`, { headers: { Authorization: 'Bearer not-a-token' } });
      return ((await res.json()) as { type: string }).type;
    }, service.url);
    const response = await page.goto(new URL(type, service.url).href);
    expect(response?.status()).toBe(200);
    expect(await page.locator('h1').innerText()).toMatch(/^unauthorized \(401\)$/);
    await page.close();
  });
});
