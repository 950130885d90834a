import { type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import type { EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { setAvailabilityState } from '../../simulator';
import { captureLogger } from '../support/app';
import { axeViolations } from '../support/axe';
import { launchChromium } from '../support/browser';

/**
 * `DEMO_AVAILABILITY=closed npm start`, in a real browser (Debian's Chromium, playwright-core): the embedded default
 * as `npm start` builds it, its simulator started closed. The demo page says so with the next opening and starts no
 * chat; once the centre opens, the bot's keywords ("closed", "holiday", "no agents", "open") each switch the state the
 * page shows, with no axe violation.
 *
 * @needs chromium
 */

jest.setTimeout(120_000);

const HOUR = 3_600_000;

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  embedded = await startTestEmbedded({
    DEMO_AVAILABILITY: 'closed',
    // Genesys read every second, so a keyword's state shows at once; every page here asks from 127.0.0.1.
    AVAILABILITY_REFRESH_SECONDS: '1',
    AVAILABILITY_READS_PER_IP_PER_MINUTE: '100000',
  });
  // A quick agent keeps the test short.
  embedded.simulator.setOptions({ agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  service = await startService(loadConfig(embedded.env), captureLogger('info').logger);
  embedded.serviceStarted(service.url);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await embedded?.stop();
});

const line = (page: Page) => page.locator('#availability');

async function say(page: Page, text: string, answer: string): Promise<void> {
  await page.getByLabel('Your message').fill(text);
  await page.getByLabel('Your message').press('Enter');
  await page.locator('#messages li', { hasText: answer }).last().waitFor();
}

test('started closed, the page reads the closed notice with its next opening; each keyword then switches the state', async () => {
  const { nextOpenAt } = (await (await fetch(`${service.url}/availability`)).json()) as { nextOpenAt: string };
  const opensAt = Date.parse(nextOpenAt);
  expect(opensAt - Date.now()).toBeGreaterThan(HOUR);

  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 760, height: 900 },
  });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const starts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session') starts.push(r.url());
  });
  await page.goto(embedded.demo.url);

  // The next opening, on the reader's clock (UTC here) in 12-hour English: "Closed, back at 09:00 PM".
  await line(page).filter({ hasText: 'Closed, back at' }).waitFor({ timeout: 15_000 });
  const hour = new Date(opensAt).getUTCHours();
  expect(await line(page).textContent()).toMatch(
    new RegExp(`^Closed, back at .*\\b${String(hour % 12 || 12).padStart(2, '0')}:00`),
  );
  expect(await line(page).getAttribute('role')).toBe('status');
  expect(await page.getByLabel('Your message').isDisabled()).toBe(true);
  expect(starts).toEqual([]);
  expect(await axeViolations(page)).toEqual([]);

  // The centre opens: the page starts the chat by itself, and the keywords take over.
  setAvailabilityState(embedded.simulator.availability, 'open');
  await page.locator('#status[data-state=open]').waitFor({ timeout: 20_000 });
  expect(starts).toHaveLength(1);
  for (const [keyword, bot, says] of [
    ['closed', 'The contact centre is now closed', 'Closed, back at'],
    ['holiday', 'The contact centre is now closed for a holiday', 'Closed for a holiday, back at'],
    ['no agents', 'The contact centre is now open with nobody on the queue', 'No agent is available right now'],
    ['open', 'The contact centre is now open, with agents free', 'An agent is available'],
  ] as const) {
    await say(page, keyword, bot);
    await line(page).filter({ hasText: says }).waitFor({ timeout: 15_000 });
    expect(await axeViolations(page)).toEqual([]);
  }
  expect(pageErrors).toEqual([]);
  await context.close();
});
