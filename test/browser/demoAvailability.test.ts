import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemoServer, type DemoServer } from '../../src/demo/demoServer';
import { demoAssets } from '../../src/demo/embeddedDefault';
import {
  DEFAULT_EMERGENCY_GROUP_ID,
  DEFAULT_QUEUE_ID,
  DEFAULT_SCHEDULE_GROUP_ID,
  setAvailabilityState,
} from '../../simulator';
import { axeViolations } from '../support/axe';
import { debianProgram } from '../support/programs';
import { startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The demo page's availability line in a real browser (Debian's Chromium driven by playwright-core), against the
 * service and the strict simulator, whose availability controls set the state: closed by a schedule (the page waits
 * to start a chat, says when it opens, and starts once it does) and open with every agent busy (the estimated wait,
 * gone once a person answers). The page is on its own origin, so CORS applies; axe-core checks each state.
 * Screenshots of each state go to test-output/browser/.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

const HOUR = 3_600_000;
const OUT = path.resolve(__dirname, '../../test-output/browser');

const shoot = (page: Page, name: string) => page.screenshot({ path: path.join(OUT, `demo-availability-${name}.png`) });

let stack: Stack;
let demo: DemoServer;
let browser: Browser;
let servicePort = 0;

beforeAll(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  demo = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    ...demoAssets(),
    serviceUrlFor: () => `http://localhost:${servicePort}`,
  });
  stack = await startStack({
    sim: { record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } },
    env: {
      CORS_ALLOWED_ORIGINS: `http://localhost:${demo.port}`,
      GENESYS_QUEUE_ID: DEFAULT_QUEUE_ID,
      GENESYS_SCHEDULE_GROUP_ID: DEFAULT_SCHEDULE_GROUP_ID,
      GENESYS_EMERGENCY_GROUP_ID: DEFAULT_EMERGENCY_GROUP_ID,
      // Read Genesys every second, so a change shows at once; every page here asks from 127.0.0.1.
      AVAILABILITY_REFRESH_SECONDS: '1',
      AVAILABILITY_READS_PER_IP_PER_MINUTE: '100000',
    },
  });
  servicePort = Number(new URL(stack.service.url).port);
  browser = await chromium.launch({
    executablePath: debianProgram('chromium'), // never a downloaded browser
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await demo?.stop();
});

beforeEach(() => {
  stack.sim.availability.reset();
  stack.sim.faults.clear();
});

interface DemoPage {
  page: Page;
  /** Every call the page made to the service, as `METHOD path`. */
  calls: string[];
  pageErrors: string[];
}

/** The demo page in a fresh context (its own sessionStorage), in UTC, its calls to the service recorded. */
async function openDemo(options: { whenClosed?: string } = {}): Promise<DemoPage> {
  const context = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 760, height: 900 },
  });
  const page = await context.newPage();
  const opened: DemoPage = { page, calls: [], pageErrors: [] };
  page.on('pageerror', (e) => opened.pageErrors.push(e.message));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.port === String(servicePort) && r.method() !== 'OPTIONS')
      opened.calls.push(`${r.method()} ${url.pathname}`);
  });
  // The page's owner may choose another behaviour (window.CHAT_WHEN_CLOSED, or the page's meta tag).
  if (options.whenClosed)
    await page.addInitScript((value) => Reflect.set(window, 'CHAT_WHEN_CLOSED', value), options.whenClosed);
  await page.goto(demo.url);
  return opened;
}

const line = (page: Page) => page.locator('#availability');
const lineText = async (page: Page) => (await line(page).textContent()) ?? '';

/** Waits until the service's answer (as a page would get it) matches. */
async function serviceSays(check: (answer: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> = {};
  await waitFor(async () => {
    answer = (await stack.http.get('/availability').set('Origin', `http://localhost:${demo.port}`)).body;
    return check(answer);
  }, 10_000);
  return answer;
}

/** A local date-time in Berlin (the schedule group's zone), as Architect writes a schedule's start and end. */
function berlinLocal(ms: number): string {
  const text = new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Berlin',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(ms);
  return `${text.replace(' ', 'T')}.000`;
}

test('closed by the schedule: no chat starts, the line says when it opens, the composer waits; once open, the chat starts', async () => {
  // Open an hour a day, starting a whole hour at least two hours from now (Berlin is whole hours off UTC).
  const opensAt = Math.ceil((Date.now() + 2 * HOUR) / HOUR) * HOUR;
  stack.sim.availability.setSchedules({
    timeZone: 'Europe/Berlin',
    open: [
      { name: 'An hour a day', start: berlinLocal(opensAt), end: berlinLocal(opensAt + HOUR), rrule: 'FREQ=DAILY' },
    ],
  });
  const closed = await serviceSays((a) => a.open === false);
  expect(closed).toMatchObject({ configured: true, reason: 'closed' });
  expect(Date.parse(closed.nextOpenAt as string)).toBe(opensAt);

  const { page, calls, pageErrors } = await openDemo();
  await line(page).filter({ hasText: 'Closed, back at' }).waitFor();
  // The reader's clock (UTC here) in the page's language: 12-hour English, "09:00 AM" or "Tuesday 09:00 PM".
  const hour = new Date(opensAt).getUTCHours();
  expect(await lineText(page)).toMatch(
    new RegExp(`^Closed, back at .*\\b${String(hour % 12 || 12).padStart(2, '0')}:00`),
  );
  expect(await line(page).getAttribute('role')).toBe('status');
  expect(await page.locator('#status').textContent()).toBe('Not started');
  expect(await page.getByLabel('Your message').isDisabled()).toBe(true);
  expect(await page.locator('#send').isDisabled()).toBe(true);
  expect(await page.locator('#composer').isVisible()).toBe(true);
  expect(calls).not.toContain('POST /guest-session');
  await shoot(page, 'closed');
  expect(await axeViolations(page)).toEqual([]);

  // Told to hide the chat while closed, the page shows no composer at all.
  const hidden = await openDemo({ whenClosed: 'hide' });
  await line(hidden.page).filter({ hasText: 'Closed, back at' }).waitFor();
  expect(await hidden.page.locator('#composer').isVisible()).toBe(false);
  expect(await axeViolations(hidden.page)).toEqual([]);

  // The centre opens: the page, asking again when each answer's max-age ran out, starts the chat by itself.
  stack.sim.availability.reset();
  await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
  await line(page).filter({ hasText: 'An agent is available' }).waitFor();
  expect(await page.getByLabel('Your message').isDisabled()).toBe(false);
  expect(calls.filter((c) => c === 'POST /guest-session')).toHaveLength(1);
  await hidden.page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
  expect(await hidden.page.locator('#composer').isVisible()).toBe(true);
  expect(calls.filter((c) => c === 'GET /availability').length).toBeGreaterThan(1);
  expect(pageErrors).toEqual([]);
  await page.context().close();
  await hidden.page.context().close();
});

test('every agent busy: the chat starts, the line gives the estimated wait as it moves, and goes once a person answers', async () => {
  stack.sim.availability.setAgents({ INTERACTING: 3 });
  stack.sim.availability.setWaiting(4);
  stack.sim.availability.setEstimatedWait(240);
  await serviceSays((a) => a.agentsAvailable === 0 && a.estimatedWaitSeconds === 240);

  const { page, pageErrors } = await openDemo();
  await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
  await line(page).filter({ hasText: 'All lines are busy (about 4 minutes)' }).waitFor();
  expect(await line(page).getAttribute('data-state')).toBe('busy');
  await shoot(page, 'busy');
  expect(await axeViolations(page)).toEqual([]);

  stack.sim.availability.setEstimatedWait(60);
  await line(page).filter({ hasText: 'All lines are busy (about 1 minute)' }).waitFor({ timeout: 15_000 });

  await page.getByLabel('Your message').fill('human');
  await page.getByLabel('Your message').press('Enter');
  await page.locator('#messages li.from-agent').first().waitFor({ timeout: 15_000 });
  await waitFor(async () => (await lineText(page)) === '', 10_000);
  expect(await line(page).isVisible()).toBe(false);
  expect(await axeViolations(page)).toEqual([]);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

describe('each state the demo names (DEMO_AVAILABILITY, and the bot keywords that set it)', () => {
  test.each([
    ['closed', 'Closed, back at'],
    ['busy', 'All lines are busy (about 15 minutes)'],
    ['holiday', 'Closed for a holiday, back at'],
    ['emergency', 'Closed because of an emergency'],
    ['no_agents', 'No agent is available right now'],
  ] as const)('%s: the page says so, accessibly', async (state, says) => {
    setAvailabilityState(stack.sim.availability, state);
    const { page, pageErrors } = await openDemo();
    await line(page).filter({ hasText: says }).waitFor({ timeout: 15_000 });
    await shoot(page, `state-${state}`);
    expect(await axeViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });

  test('a keyword in the chat sets the state, and the page follows', async () => {
    const { page, pageErrors } = await openDemo();
    await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Your message').fill('busy');
    await page.getByLabel('Your message').press('Enter');
    await page.locator('#messages li', { hasText: 'The contact centre is now open and busy' }).waitFor();
    await line(page).filter({ hasText: 'All lines are busy' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Your message').fill('emergency');
    await page.getByLabel('Your message').press('Enter');
    await line(page).filter({ hasText: 'Closed because of an emergency' }).waitFor({ timeout: 15_000 });
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('Your message').fill('open');
    await page.getByLabel('Your message').press('Enter');
    await line(page).filter({ hasText: 'An agent is available' }).waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
