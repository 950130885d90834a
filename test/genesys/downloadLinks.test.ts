import { linkShape, statedExpiry } from '../../src/genesys/downloadLinks';

/** src/genesys/downloadLinks.ts: when a Genesys download link says it expires, and its shape without its values. */
const BUCKET = 'https://bucket.example.com/file.png';

test('the expiry a link states, as S3 SigV4 or an Expires epoch; none when it states none or is no URL', () => {
  expect(statedExpiry(`${BUCKET}?X-Amz-Date=20261125T100000Z&X-Amz-Expires=600`)).toBe(
    Date.UTC(2026, 10, 25, 10, 0, 0) + 600_000,
  );
  expect(statedExpiry(`${BUCKET}?expires=1800000000`)).toBe(1_800_000_000_000);
  expect(statedExpiry(BUCKET)).toBeUndefined();
  expect(statedExpiry(`${BUCKET}?X-Amz-Date=yesterday&X-Amz-Expires=600`)).toBeUndefined();
  expect(statedExpiry('not a url')).toBeUndefined();
});

test('the shape names the host and the parameters, never a value', () => {
  expect(linkShape(`${BUCKET}?X-Amz-Date=20261125T100000Z&X-Amz-Signature=secret&X-Amz-Signature=again`)).toBe(
    'https://bucket.example.com/…?X-Amz-Date&X-Amz-Signature',
  );
  expect(linkShape(BUCKET)).toBe('https://bucket.example.com/…');
  expect(linkShape('not a url')).toBe('not a URL');
});

test('an X-Amz-Date counts to the second, and only in its exact form: one with more digits states nothing', () => {
  expect(statedExpiry(`${BUCKET}?X-Amz-Date=20261125T100007Z&X-Amz-Expires=600`)).toBe(
    Date.UTC(2026, 10, 25, 10, 0, 7) + 600_000,
  );
  expect(statedExpiry(`${BUCKET}?X-Amz-Date=120261125T100000Z&X-Amz-Expires=600`)).toBeUndefined();
});
