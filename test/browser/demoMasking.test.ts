import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import type { EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { launchChromium } from '../support/browser';

/**
 * The demo page with masking on (docs/api.md#masking), in a real browser against the embedded default: a card
 * number the customer types reaches the chat masked, and the page tells them once that it was hidden.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;

beforeAll(async () => {
  embedded = await startTestEmbedded();
  service = await startService(loadConfig({ ...embedded.env, MASKING: 'card,iban' }), captureLogger('info').logger);
  embedded.serviceStarted(service.url);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await embedded?.stop();
});

test('a card number is shown masked, and the customer is told once per message that it was hidden', async () => {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(embedded.demo.url);
  await page.locator('#status', { hasText: 'Connected' }).waitFor();

  // The stream's notice can beat the send's answer (a busy machine does this by itself): the answer is held
  // here until the notice shows, and the notice must outlive it.
  const notice = page.locator('#notice-text', {
    hasText: 'a card or account number in this message was hidden before it was sent',
  });
  let answered!: () => void;
  const sendAnswered = new Promise<void>((resolve) => (answered = resolve));
  let held = false;
  await page.route(
    (url) => url.pathname === '/messages',
    async (route) => {
      if (held || route.request().method() !== 'POST') return route.fallback();
      held = true;
      const response = await route.fetch();
      await notice.waitFor();
      await route.fulfill({ response });
      answered();
    },
  );

  const composer = page.getByLabel('Your message');
  await composer.fill('My card is 4111 1111 1111 1111');
  await composer.press('Enter');
  await page.locator('#messages li.from-guest .bubble', { hasText: 'My card is •••• •••• •••• 1111' }).waitFor();
  await sendAnswered;
  await page.waitForFunction(() => sessionStorage.getItem('chat-guest-spoke') === '1');
  expect(await notice.isVisible()).toBe(true);

  // Told once: dismissed, it does not come back for the same message; a plain message says nothing.
  await page.evaluate(() => {
    document.querySelector<HTMLElement>('#notice')!.hidden = true;
  });
  await composer.fill('thanks');
  await composer.press('Enter');
  await page.locator('#messages li.from-guest .bubble', { hasText: 'thanks' }).waitFor();
  expect(await page.locator('#notice').isHidden()).toBe(true);
  expect(await page.locator('#messages').textContent()).not.toContain('4111 1111');
  expect(pageErrors).toEqual([]);
  await context.close();
});
