import { scrubText } from '../../src/observability/scrub';

/** What a log line keeps of a long text: at most 2,000 characters, and never a piece of a secret cut at that mark. */
const upTo = (n: number) => 'word '.repeat(Math.ceil(n / 5)).slice(0, n);

test.each([
  ['an email address', 'jane.doe.customer@example.com', 'jane.doe'],
  ['a long opaque token', 'Zk3qP9xW2mL7vB4nR8tY1cH6sJ5dF0gA', 'Zk3qP9xW2m'],
  ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJndWVzdCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg', 'eyJhbGciOi'],
])('%s across the 2,000-character mark is replaced whole, not cut into a piece that slips through', (_name, secret, piece) => {
  const text = `${upTo(1990)}${secret} and more text after it`;
  const out = scrubText(text);
  expect(out).not.toContain(piece);
  expect(out.length).toBeLessThanOrEqual(2001);
  expect(out.endsWith('…')).toBe(true);
});

test('a short text is scrubbed and kept whole', () => {
  expect(scrubText('mail jane@example.com with Bearer abc.def')).toBe('mail [email] with Bearer [redacted]');
});
