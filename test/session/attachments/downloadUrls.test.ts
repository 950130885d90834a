import { DownloadUrls, expiryOf, UNKNOWN_LIFETIME_MS } from '../../../src/session/attachments/downloadUrls';

/**
 * How long a download URL Genesys gave is served again (src/session/attachments/downloadUrls.ts): its lifetime as
 * its own signature states it, the fallback when it states none, and the margin kept so the browser
 * reaches it in time. The API suite (test/api/attachmentLinks.test.ts) shows a link reused or renewed.
 */
const NOW = Date.UTC(2026, 10, 25, 10, 0, 0);
const BUCKET = 'https://files.example.com/a/photo.png';

test('a SigV4 URL lives from its X-Amz-Date for X-Amz-Expires seconds, whatever the case of the names', () => {
  expect(expiryOf(`${BUCKET}?X-Amz-Date=20261125T095900Z&X-Amz-Expires=600&X-Amz-Signature=s`, NOW)).toBe(
    NOW - 60_000 + 600_000,
  );
  expect(expiryOf(`${BUCKET}?x-amz-date=20261125T095900Z&x-amz-expires=600`, NOW)).toBe(NOW - 60_000 + 600_000);
});

test('a SigV2 or CloudFront URL lives until its Expires epoch', () => {
  expect(expiryOf(`${BUCKET}?Expires=${NOW / 1000 + 300}&Signature=s`, NOW)).toBe(NOW + 300_000);
  expect(expiryOf(`${BUCKET}?expires=${NOW / 1000 + 300}`, NOW)).toBe(NOW + 300_000);
});

test('a URL that states no lifetime, or one it cannot read, is trusted for a minute; one that is no URL not at all', () => {
  expect(UNKNOWN_LIFETIME_MS).toBe(60_000);
  expect(expiryOf(BUCKET, NOW)).toBe(NOW + UNKNOWN_LIFETIME_MS);
  expect(expiryOf(`${BUCKET}?Expires=soon`, NOW)).toBe(NOW + UNKNOWN_LIFETIME_MS);
  expect(expiryOf(`${BUCKET}?X-Amz-Date=yesterday&X-Amz-Expires=600`, NOW)).toBe(NOW + UNKNOWN_LIFETIME_MS);
  expect(expiryOf('not a url', NOW)).toBe(NOW);
});

test('the unknown lifetime is the setting (DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS); a stated one wins over it', () => {
  expect(expiryOf(BUCKET, NOW, 240_000)).toBe(NOW + 240_000);
  expect(expiryOf(`${BUCKET}?Expires=${NOW / 1000 + 300}`, NOW, 240_000)).toBe(NOW + 300_000);
  let clock = NOW;
  const urls = new DownloadUrls(() => clock, 240_000);
  urls.remember('guest', 'a1', BUCKET);
  clock = NOW + 240_000 - 5_001;
  expect(urls.fresh('guest', 'a1')).toBe(BUCKET);
  clock = NOW + 240_000 - 5_000;
  expect(urls.fresh('guest', 'a1')).toBeUndefined();
  // 0: never reused, Genesys is asked each time.
  const never = new DownloadUrls(() => NOW, 0);
  never.remember('guest', 'a1', BUCKET);
  expect(never.fresh('guest', 'a1')).toBeUndefined();
});

test('a remembered URL is handed out while more than its margin is left: five seconds, or a quarter of its lifetime when shorter', () => {
  let clock = NOW;
  const urls = new DownloadUrls(() => clock);
  const long = `${BUCKET}?Expires=${NOW / 1000 + 300}`;
  urls.remember('guest', 'a1', long);
  clock = NOW + 300_000 - 5_001;
  expect(urls.fresh('guest', 'a1')).toBe(long);
  clock = NOW + 300_000 - 5_000;
  expect(urls.fresh('guest', 'a1')).toBeUndefined();
  expect(urls.last('guest', 'a1')).toBe(long);

  clock = NOW;
  const short = `${BUCKET}?Expires=${NOW / 1000 + 8}`;
  urls.remember('guest', 'a2', short);
  clock = NOW + 8_000 - 2_001;
  expect(urls.fresh('guest', 'a2')).toBe(short);
  clock = NOW + 8_000 - 2_000;
  expect(urls.fresh('guest', 'a2')).toBeUndefined();
});

test('URLs are kept per session and attachment', () => {
  const urls = new DownloadUrls(() => NOW);
  urls.remember('guest', 'a1', BUCKET);
  urls.remember('guest', 'a1', undefined);
  expect(urls.fresh('guest', 'a1')).toBe(BUCKET);
  expect(urls.fresh('other', 'a1')).toBeUndefined();
  expect(urls.fresh('guest', 'a2')).toBeUndefined();
});

test('a URL seen again keeps the lifetime it was first trusted for: one that states none is not trusted anew each time it comes back', () => {
  let clock = NOW;
  const urls = new DownloadUrls(() => clock);
  urls.remember('guest', 'a1', BUCKET);
  clock = NOW + 50_000;
  urls.remember('guest', 'a1', BUCKET); // the same message again, in history or on the stream
  clock = NOW + UNKNOWN_LIFETIME_MS;
  expect(urls.fresh('guest', 'a1')).toBeUndefined();
  expect(urls.last('guest', 'a1')).toBe(BUCKET);
});

test('an X-Amz-Date with anything after its Z is not read: the URL is trusted for the unknown lifetime', () => {
  expect(expiryOf(`${BUCKET}?X-Amz-Date=20261125T100000Zjunk&X-Amz-Expires=3600`, NOW)).toBe(NOW + UNKNOWN_LIFETIME_MS);
});

test('at most 10,000 URLs are remembered: past that, the oldest is forgotten', () => {
  const urls = new DownloadUrls(() => NOW);
  for (let i = 0; i < 10_000; i += 1) urls.remember('guest', `a${i}`, `${BUCKET}?n=${i}`);
  expect(urls.last('guest', 'a0')).toBe(`${BUCKET}?n=0`);
  urls.remember('guest', 'a10000', `${BUCKET}?n=10000`);
  expect(urls.last('guest', 'a0')).toBeUndefined();
  expect(urls.last('guest', 'a1')).toBe(`${BUCKET}?n=1`);
  expect(urls.last('guest', 'a10000')).toBe(`${BUCKET}?n=10000`);
});
