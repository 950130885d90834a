import type { Browser } from 'playwright-core';
import { loadConfig } from '../../src/config/schema';
import type { EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startTestEmbedded } from '../support/embedded';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { axeViolations } from '../support/axe';
import { launchChromium } from '../support/browser';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtpReceiver';

/**
 * The demo page's e-mail opt-in (docs/api.md#put-notificationsemail), in a real browser against the embedded
 * default with an SMTP relay on loopback: offered once the customer wrote, it sends the confirmation e-mail, and
 * the page can stop it again.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let embedded: EmbeddedDefault;
let service: RunningService;
let browser: Browser;
let smtp: SmtpReceiver;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  embedded = await startTestEmbedded();
  service = await startService(
    loadConfig({ ...embedded.env, SMTP_URL: smtp.url, EMAIL_FROM: 'chat@shop.example.com' }),
    captureLogger('info').logger,
  );
  embedded.serviceStarted(service.url);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await embedded?.stop();
  await smtp?.close();
});

test('the customer who wrote can ask for replies by e-mail, gets the confirmation, and can stop', async () => {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(embedded.demo.url);
  await page.locator('#status', { hasText: 'Connected' }).waitFor();
  // Never on page load: only once the customer wrote.
  expect(await page.locator('#email-replies').isHidden()).toBe(true);

  const composer = page.getByLabel('Your message');
  await composer.fill('hello');
  await composer.press('Enter');
  await page.locator('#email-replies').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  await page.getByLabel('Your e-mail address').fill('demo@example.com');
  await page.getByRole('button', { name: 'E-mail me replies' }).click();
  await page.locator('#notice-text', { hasText: 'Check your inbox' }).waitFor();
  const confirmation = await smtp.nth('demo@example.com', 1);
  expect(confirmation.text).toContain('/notifications/email/confirm?t=');
  expect(await page.locator('#email-replies').isHidden()).toBe(true);

  await page.getByRole('button', { name: 'Stop e-mails' }).click();
  await page.locator('#email-replies').waitFor();
  expect(await page.locator('#email-stop').isHidden()).toBe(true);
  expect(pageErrors).toEqual([]);
  await context.close();
});
