import { type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import type { EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { axeViolations } from '../support/axe';
import { launchChromium } from '../support/browser';
import { englishLeftIn } from '../support/untranslated';
import { lastCharacterSide } from '../support/bidi';

/**
 * The demo page's languages, pre-chat form, agent presence lines and older answers, in a real browser (Debian's
 * Chromium, playwright-core) against the embedded default as `npm start` builds it: the service, the Genesys
 * simulator (its kind profile, as `npm start` runs it), and the page on its own origin.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  embedded = await startTestEmbedded();
  // Recording lets the test find the page's Genesys session; a quick agent keeps the test short.
  embedded.simulator.setOptions({ record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  service = await startService(loadConfig(embedded.env), captureLogger('info').logger);
  embedded.serviceStarted(service.url);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await embedded?.stop();
});

/** A fresh context (its own sessionStorage), every `POST /guest-session` counted. */
async function openDemo(query = ''): Promise<{ page: Page; starts: string[] }> {
  const context = await browser.newContext({ viewport: { width: 760, height: 980 }, locale: 'en-US' });
  const page = await context.newPage();
  const starts: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session') starts.push(r.url());
  });
  await page.goto(`${embedded.demo.url}${query}`);
  return { page, starts };
}

function newestGuestToken(): string {
  const frame = [...embedded.simulator.received].reverse().find((f) => f.frame.action === 'configureSession');
  return frame!.frame.token as string;
}

const connected = (page: Page) => page.locator('#status[data-state=open]').waitFor({ timeout: 15_000 });

async function say(page: Page, text: string, answer: string): Promise<void> {
  await page.locator('#text').fill(text);
  await page.locator('#send').click();
  await page.locator('#messages li.message', { hasText: answer }).last().waitFor();
}

test("?prechat=on: the form asks first, its errors name each field, and the name and email reach Genesys's attributes", async () => {
  const { page, starts } = await openDemo('?prechat=on');
  await page.getByRole('heading', { name: 'Before we start' }).waitFor();
  expect(starts).toHaveLength(0);
  await page.getByRole('button', { name: 'Start chat' }).click();
  const name = page.getByLabel('Your name');
  expect(await name.getAttribute('aria-invalid')).toBe('true');
  expect(await name.evaluate((el) => el === document.activeElement)).toBe(true);
  await page.getByText('Please fill in Email.').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  await name.fill('Ada Lovelace');
  await page.getByLabel('Email').fill('ada@example.com');
  await page.getByRole('button', { name: 'Start chat' }).click();
  await connected(page);
  expect(starts).toHaveLength(1);
  expect(await page.locator('#pre-chat').isHidden()).toBe(true);
  const gt = newestGuestToken();
  await say(page, 'hello', 'You said: hello');
  expect(embedded.simulator.customAttributes(gt)).toMatchObject({
    firstName: 'Ada Lovelace',
    email: 'ada@example.com',
  });

  // A reload resumes the chat: no form.
  await page.reload();
  await connected(page);
  expect(await page.locator('#pre-chat').isHidden()).toBe(true);
  await page.context().close();
});

/** The conversation's lines from the first that reads `first` on, as the page shows them (presence lines whole). */
async function linesFrom(page: Page, first: string): Promise<string[]> {
  const lines = await page
    .locator('#messages > li')
    .evaluateAll((items) =>
      items.map((li) =>
        li.classList.contains('presence') ? li.textContent : li.querySelector('.bubble')?.textContent,
      ),
    );
  return lines.slice(lines.indexOf(first)).map((line) => line ?? '');
}

/** A name as the page puts it into a line: set apart (FSI … PDI), so it reads in its own direction. */
const ALEX = '\u2068Alex\u2069';

test.each([
  [
    'de',
    'ltr',
    'Verbunden · ein Mitarbeiter ist da',
    `${ALEX} ist dem Chat beigetreten`,
    `${ALEX} hat den Chat verlassen`,
  ],
  ['ar', 'rtl', 'متصل · يوجد موظف الآن', `انضم ${ALEX} إلى الدردشة`, `غادر ${ALEX} الدردشة`],
])(
  'in %s (%s): every string translated, Alex joins and leaves, an older card answers, 0 axe violations',
  async (language, dir, present, joined, left) => {
    const { page } = await openDemo(`?lang=${language}`);
    await connected(page);
    expect(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir])).toEqual([
      language,
      dir,
    ]);
    await say(page, 'card', 'Track order');
    await say(page, 'human', "I'm Alex");
    await page.locator('#messages li.presence', { hasText: joined }).waitFor();
    expect(await page.locator('#messages li.presence').last().textContent()).toBe(joined);
    await page.locator('#status', { hasText: present }).waitFor();
    await say(page, 'quick replies', 'What would you like to do?');
    // An English sentence keeps its question mark at its end in either direction of the page; so do the answers.
    expect(await lastCharacterSide(page, 'What would you like to do?')).toBe('end');
    expect(await englishLeftIn(page, language)).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);

    await say(page, 'anything', 'You said: anything');
    expect(await page.locator('.quick-replies button').first().isDisabled()).toBe(true);
    const track = page.locator('.card button', { hasText: 'Track order' });
    expect(await track.isEnabled()).toBe(true);
    await track.click();
    await page.locator('#messages li.message', { hasText: 'You chose: Track order' }).last().waitFor();

    await say(page, 'back to the bot', "You're back with the bot");
    await page.locator('#messages li.presence', { hasText: left }).waitFor();
    // Alex leaves, then the bot takes over: the lines in the order the stream sent them.
    expect(await linesFrom(page, left)).toEqual([left, "You're back with the bot. How can I help?"]);
    expect(await englishLeftIn(page, language)).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);
    await page.context().close();
  },
);

test('the language switch redraws the page and the conversation in the chosen language, and a reload keeps it', async () => {
  const { page } = await openDemo();
  await connected(page);
  // No <html lang> in the demo and the simulated deployment's default is en-us: English.
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
  await say(page, 'hello', 'You said: hello');
  await page.getByLabel('Language').selectOption('fr');
  await page.locator('#send', { hasText: 'Envoyer' }).waitFor();
  expect(await page.locator('#messages li.from-guest .who').first().textContent()).toMatch(/^Vous/);
  expect(await page.locator('#status').textContent()).toBe('Connecté');
  expect(await englishLeftIn(page, 'fr')).toEqual([]);

  await page.reload();
  await page.locator('#send', { hasText: 'Envoyer' }).waitFor();
  await connected(page);
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
  await page.context().close();
});
