import type { Page } from 'playwright-core';
import { scrape } from './metrics';
import { waitFor } from './wait';

/**
 * The checks the browser suites make on any chat page built on the React kit's `MessageList` (a `role="log"`
 * region that scrolls): how far it is from its newest message, a reader scrolling up, the sessions a page
 * starts, and the live streams the service holds. The React kit's own page, the Vite app built from the
 * client README's snippet and the Next.js example are held to the same ones.
 */

/** How far the conversation is from its end, in pixels (0: showing the newest message). */
export const belowTheFold = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const log = document.querySelector('[role=log]')!;
    return log.scrollHeight - log.scrollTop - log.clientHeight;
  });

/** Waits until the list shows its newest message, and has more than fits (so the check means something). */
export async function atTheNewest(page: Page, timeoutMs = 10_000): Promise<void> {
  const measure = () =>
    page.evaluate(() => {
      const log = document.querySelector('[role=log]')!;
      return { scrollHeight: log.scrollHeight, scrollTop: log.scrollTop, clientHeight: log.clientHeight };
    });
  await waitFor(
    async () => {
      const { scrollHeight, scrollTop, clientHeight } = await measure();
      return scrollHeight > clientHeight && scrollHeight - scrollTop - clientHeight <= 1;
    },
    timeoutMs,
    50,
  ).catch(async () => {
    throw new Error(`the list is not at its newest message: ${JSON.stringify(await measure())}`);
  });
}

/** The list's scroll position now. */
export const scrollTopOf = (page: Page): Promise<number> =>
  page.evaluate(() => document.querySelector('[role=log]')!.scrollTop);

/**
 * Scrolls the list up to `top` as a reader does: the page has seen the scroll (its event) before anything
 * else arrives.
 */
export const scrollListTo = (page: Page, top: number): Promise<unknown> =>
  page.evaluate(
    (to) =>
      new Promise((resolve) => {
        const log = document.querySelector('[role=log]')!;
        log.addEventListener('scroll', resolve, { once: true });
        log.scrollTop = to;
      }),
    top,
  );

/**
 * Every `POST /guest-session` the page sends from now on, reloads included: `new` starts a session, `resume` (with
 * the stored token) resumes one.
 */
export function sessionStarts(page: Page): ('new' | 'resume')[] {
  const starts: ('new' | 'resume')[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/guest-session')
      starts.push(r.headers().authorization ? 'resume' : 'new');
  });
  return starts;
}

/** Live streams the service holds open now, from its own gauge. */
export const streamsAtService = async (metricsUrl: string): Promise<number> =>
  (await scrape(metricsUrl)).value('genesys_bff_streams_open');

/**
 * The message bubble saying `text` is in view: whole inside the list's visible part, and the list's part inside the
 * window (the customer sees it without scrolling anything).
 */
export async function replyInView(page: Page, text: string): Promise<void> {
  const where = await page.evaluate((wanted) => {
    const log = document.querySelector('[role=log]')!;
    const bubble = Array.from(log.querySelectorAll('.bubble')).find((b) => b.textContent?.includes(wanted));
    if (!bubble) return undefined;
    const shown = bubble.getBoundingClientRect();
    const list = log.getBoundingClientRect();
    return {
      inList: shown.top >= list.top && shown.bottom <= list.bottom,
      inWindow: shown.top >= 0 && shown.bottom <= window.innerHeight,
      bubble: [shown.top, shown.bottom],
      list: [list.top, list.bottom],
      window: window.innerHeight,
    };
  }, text);
  expect(where).toMatchObject({ inList: true, inWindow: true });
}
