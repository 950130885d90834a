import request from 'supertest';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors';
import { testApp } from '../support/app';

/**
 * GET /problems/:code, the page every problem's `type` links to: its title and advice as text,
 * whatever characters they hold, and a 404 that names (a bounded part of) an unknown code.
 */

const TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const asHtmlText = (text: string) => text.replace(/[&<>"]/g, (c) => TEXT[c]!);

test.each(Object.keys(ERROR_CODES) as ErrorCode[])(
  'the page of %s shows its title and advice as text',
  async (code) => {
    const { title, advice, status } = ERROR_CODES[code];
    const res = await request(testApp().app).get(`/problems/${code}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain(`<title>${code}: ${asHtmlText(title)}</title>`);
    expect(res.text).toContain(`<h1><code>${code}</code> (${status})</h1><p>${asHtmlText(title)}.</p>`);
    expect(res.text).toContain(`<h2>What to do</h2><p>${asHtmlText(advice)}</p>`);
  },
);

test('advice that holds markup characters is escaped, never markup', async () => {
  // Both hold characters HTML would read: `<sessionToken>` and `{ "auth": ... }`.
  expect(ERROR_CODES.unauthorized.advice).toContain('<sessionToken>');
  expect(ERROR_CODES.reauthentication_required.advice).toContain('"auth"');
  const app = testApp().app;
  expect((await request(app).get('/problems/unauthorized')).text).toContain('Bearer &lt;sessionToken&gt;');
  expect((await request(app).get('/problems/reauthentication_required')).text).toContain('{ &quot;auth&quot;: ... }');
});

test('an unknown code is a 404 problem naming at most its first 60 characters', async () => {
  const code = `${'a'.repeat(60)}${'b'.repeat(40)}`;
  const res = await request(testApp().app).get(`/problems/${code}`);
  expect(res.status).toBe(404);
  expect(res.body).toMatchObject({ code: 'not_found', detail: `There is no problem code "${'a'.repeat(60)}".` });
});

test('a page is a whole HTML document in English, ending with what every problem answer holds', async () => {
  const { title, advice } = ERROR_CODES.not_found;
  const res = await request(testApp().app).get('/problems/not_found');
  expect(res.text).toBe(
    '<!doctype html>\n' +
      `<html lang="en"><head><meta charset="utf-8"><title>not_found: ${title}</title></head>\n` +
      `<body><h1><code>not_found</code> (404)</h1><p>${title}.</p><h2>What to do</h2><p>${advice}</p>\n` +
      '<p>Every problem this service answers is <code>application/problem+json</code> with this <code>code</code>; ' +
      'its <code>detail</code> says more about the one you met.</p></body></html>\n',
  );
});
