import { countGenesysError, countGuestSessions, metricsText } from '../../src/observability/metrics';
import { parseScrape, type Scrape } from '../support/metrics';

/**
 * The counting rules of metrics.ts as a scrape shows them (docs/operations.md#metrics):
 * `genesys_errors_total`'s `code` comes from a closed set, a 429 or 4029 is
 * also rate limiting, and the live-chats gauge is read from its sources at
 * each scrape. metrics.test.ts shows each metric moving through the service.
 */
async function scraped(): Promise<Scrape> {
  return parseScrape(await metricsText());
}

async function moved(action: () => void): Promise<(name: string, labels?: Record<string, string>) => number> {
  const before = await scraped();
  action();
  const after = await scraped();
  return (name, labels) => after.value(name, labels) - before.value(name, labels);
}

test('a Genesys error is counted under its code when the code is known (a Guest API code, an HTTP status, timeout, unreachable), else under `other`', async () => {
  const by = await moved(() => {
    for (const code of [4006, '4006', 503, 'timeout', 'unreachable', 'ECONNRESET', undefined, 4999, 418])
      countGenesysError(code);
  });
  const errors = (code: string) => by('genesys_bff_genesys_errors_total', { code });
  expect([errors('4006'), errors('503'), errors('timeout'), errors('unreachable'), errors('other')]).toEqual([
    2, 1, 1, 1, 4,
  ]);
  // No series for a code outside the set.
  const text = (await scraped()).text;
  for (const code of ['ECONNRESET', 'undefined', '4999', '418']) expect(text).not.toContain(`code="${code}"`);
});

test('a 429 (REST) or 4029 (Guest API) is also counted as Genesys rate limiting; other errors are not', async () => {
  const by = await moved(() => {
    for (const code of [429, 4029, '4029', 500, 4006, 'timeout']) countGenesysError(code);
  });
  expect(by('genesys_bff_genesys_rate_limited_total')).toBe(3);
  expect(by('genesys_bff_genesys_errors_total', { code: '4029' })).toBe(2);
});

test('live chats: the gauge sums the session hubs at each scrape, and a hub removed no longer counts', async () => {
  const chats = async () => (await scraped()).value('genesys_bff_guest_sessions');
  let held = 3;
  const removeFirst = countGuestSessions(() => held);
  const removeSecond = countGuestSessions(() => 2);
  expect(await chats()).toBe(5);
  held = 4;
  expect(await chats()).toBe(6);
  removeFirst();
  expect(await chats()).toBe(2);
  removeSecond();
  expect(await chats()).toBe(0);
});
