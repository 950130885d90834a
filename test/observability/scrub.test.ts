import { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { createLogger } from '../../src/observability/logger';
import { loggableUrlOf, scrubDetail, scrubText } from '../../src/observability/scrub';

/**
 * What reaches a log line from text the service does not control (scrub.ts):
 * no credential, token, email or customer's text, and still what an operator
 * needs to act (an error's type, code, status, the Genesys correlation id, the
 * URL without its query).
 */
const upTo = (n: number) => 'word '.repeat(Math.ceil(n / 5)).slice(0, n);
const TOKEN = 'Zk3qP9xW2mL7vB4nR8tY1cH6sJ5dF0gA';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJndWVzdCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const EMAIL = 'jane.doe.customer@example.com';

describe('scrubText (Genesys error texts, Redis errors, any text the service does not write)', () => {
  test.each([
    ['an email address', EMAIL, 'jane.doe'],
    ['a long opaque token', TOKEN, 'Zk3qP9xW2m'],
    ['a JWT', JWT, 'eyJhbGciOi'],
  ])(
    '%s across the 2,000-character mark is replaced whole, not cut into a piece that slips through',
    (_name, secret, piece) => {
      const text = `${upTo(1990)}${secret} and more text after it`;
      const out = scrubText(text);
      expect(out).not.toContain(piece);
      expect(out.length).toBeLessThanOrEqual(2001);
      expect(out.endsWith('…')).toBe(true);
    },
  );

  test('a short text is scrubbed and kept whole', () => {
    expect(scrubText('mail jane@example.com with Bearer abc.def')).toBe('mail [email] with Bearer [redacted]');
  });

  test.each([
    ['a UUID', 'session 9f8e7d6c-5b4a-4321-8fed-cba987654321 ended', 'session [uuid] ended'],
    ['a Basic credential', 'sent Basic dXNlcjpwYXNz, refused', 'sent Basic [redacted], refused'],
    ['a JWT', `invalid token ${JWT}`, 'invalid token [jwt]'],
    ['a long opaque token', `key ${TOKEN}`, 'key [token]'],
    ['a short word or number', 'code 4006 after 3 tries', 'code 4006 after 3 tries'],
  ])('%s', (_name, text, logged) => {
    expect(scrubText(text)).toBe(logged);
  });

  test('up to 2,000 characters are kept whole; one more and the text is cut there, marked as cut', () => {
    expect(scrubText(upTo(2000))).toBe(upTo(2000));
    expect(scrubText(upTo(2001))).toBe(`${upTo(2000)}…`);
  });

  /**
   * Scrubbing a text full of secrets shortens it: 97 tokens, 3,976 characters, come out as 97 × `[token] `.
   * Only the first 4,000 characters are scrubbed, so the cut there can land in a secret too.
   */
  const TOKENS = Array.from({ length: 97 }, (_, i) => `${String(i).padStart(4, '0')}${'Q'.repeat(36)}`).join(' ');
  const SCRUBBED_TOKENS = Array.from({ length: 97 }, () => '[token]').join(' ');

  test.each([
    ['a space', ' '],
    ['a line break', '\n'],
    ['a quote', '"'],
    ['an apostrophe', "'"],
    ['a comma', ','],
  ])(
    'a text cut at the 4,000 characters scrubbed: a secret across the cut after %s is dropped, not logged in part, and the line says it was cut',
    (_name, before) => {
      for (const secret of [EMAIL, TOKEN]) {
        const text = `${TOKENS} ${before}${secret} said the customer`;
        expect(text.indexOf(secret) + 10).toBeLessThan(4000);
        expect(text.indexOf(secret) + secret.length).toBeGreaterThan(4000);

        expect(scrubText(text)).toBe(`${SCRUBBED_TOKENS} ${before}…`);
      }
    },
  );

  test('one word longer than the window is not logged in part', () => {
    expect(scrubText(`${TOKENS} ${'x'.repeat(5000)}`)).toBe(`${SCRUBBED_TOKENS} …`);
    expect(scrubText('ab.'.repeat(2000))).toBe('…');
  });

  test('a text of exactly 4,000 characters is scrubbed whole, nothing cut', () => {
    const text = `${TOKENS} ${'tail '.repeat(5).slice(0, 4000 - TOKENS.length - 1)}`;
    expect(text).toHaveLength(4000);
    expect(scrubText(text)).toBe(`${SCRUBBED_TOKENS} ${text.slice(TOKENS.length + 1)}`);
  });
});

describe('loggableUrlOf (the access log and an HTTP client error: no query values, no credentials, no tokens)', () => {
  const KEEP = new Set(['page', 'pageSize']);

  test('a path is kept, a token-shaped segment of it is not', () => {
    expect(loggableUrlOf('/messages/stream', KEEP)).toBe('/messages/stream');
    expect(loggableUrlOf(`/attachments/${TOKEN}/content`, KEEP)).toBe('/attachments/[token]/content');
    expect(loggableUrlOf(undefined)).toBeUndefined();
  });

  test('every query value is redacted but those of the named parameters, which are scrubbed; names stay, in their order', () => {
    expect(loggableUrlOf('/messages?page=2&pageSize=50&sessionToken=abc&debug', KEEP)).toBe(
      '/messages?page=2&pageSize=50&sessionToken=[redacted]&debug',
    );
    expect(loggableUrlOf('/messages?page=jane@example.com', KEEP)).toBe('/messages?page=[email]');
    expect(loggableUrlOf(`/messages?${TOKEN}`, KEEP)).toBe('/messages?[token]');
    expect(loggableUrlOf('/messages?page=2')).toBe('/messages?page=[redacted]');
  });

  test('a parameter is named as Express decodes it: %70age is page, page+Size is "page Size", not pageSize', () => {
    expect(loggableUrlOf('/messages?%70age=3&page+Size=hunter2', KEEP)).toBe('/messages?%70age=3&page+Size=[redacted]');
  });

  test('a value without a name, or a URL that is only a query, is redacted all the same', () => {
    expect(loggableUrlOf('/messages?=hunter2', KEEP)).toBe('/messages?=[redacted]');
    expect(loggableUrlOf('?sessionToken=hunter2', KEEP)).toBe('?sessionToken=[redacted]');
  });

  test('credentials in the URL are redacted', () => {
    expect(loggableUrlOf('https://bff:s3cret@api.example.com/api/v2/x?a=1')).toBe(
      'https://[redacted]@api.example.com/api/v2/x?a=[redacted]',
    );
    expect(loggableUrlOf('https://s@api.example.com/x')).toBe('https://[redacted]@api.example.com/x');
  });
});

describe('errors as logged (the `err` serializer)', () => {
  /** The `err` field of the line a real logger writes for `err`, and the line as written. */
  function logged(err: unknown): { err?: Record<string, unknown>; raw: string } {
    let raw = '';
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void (raw += line) } });
    logger.error({ err }, 'failed');
    return { err: (JSON.parse(raw) as { err?: Record<string, unknown> }).err, raw };
  }

  test("an HTTP client's error: type, message, code, status, method, the URL without its query, the Genesys correlation id; never its headers or the body", () => {
    const config = {
      url: 'https://api.mypurecloud.ie/api/v2/webmessaging/messages?pageNumber=1&token=abc',
      method: 'get',
      headers: new AxiosHeaders({ Authorization: `bearer ${JWT}` }),
    } as InternalAxiosRequestConfig;
    const response = {
      status: 503,
      statusText: 'Service Unavailable',
      headers: { 'inin-correlation-id': 'c0ffee-42' },
      data: { message: `echo ${EMAIL}` },
      config,
    };
    const { err, raw } = logged(
      new AxiosError('Request failed with status code 503', 'ERR_BAD_RESPONSE', config, {}, response),
    );

    expect(err).toEqual({
      type: 'AxiosError',
      message: 'Request failed with status code 503',
      code: 'ERR_BAD_RESPONSE',
      status: 503,
      method: 'GET',
      url: 'https://api.mypurecloud.ie/api/v2/webmessaging/messages?pageNumber=[redacted]&token=[redacted]',
      correlationId: 'c0ffee-42',
    });
    for (const secret of ['eyJ', 'uthorization', EMAIL]) expect(raw).not.toContain(secret);
  });

  test("a status on the error itself (the service's own errors), or on its response", () => {
    expect(
      logged(Object.assign(new Error('Genesys is unavailable.'), { status: 503, failure: 'unavailable' })).err,
    ).toEqual({ type: 'Error', message: 'Genesys is unavailable.', status: 503, failure: 'unavailable' });
    expect(logged({ name: 'HTTPError', message: 'Bad Gateway', response: { status: 502 } }).err).toEqual({
      type: 'HTTPError',
      message: 'Bad Gateway',
      status: 502,
    });
  });

  test('a code is kept: a number as it is, a string scrubbed', () => {
    expect(logged(Object.assign(new Error('socket closed'), { code: 4006 })).err).toEqual({
      type: 'Error',
      message: 'socket closed',
      code: 4006,
    });
    expect(logged(Object.assign(new Error('read'), { code: 'ECONNRESET' })).err).toEqual({
      type: 'Error',
      message: 'read',
      code: 'ECONNRESET',
    });
    expect(logged(Object.assign(new Error('odd'), { code: `for ${EMAIL}` })).err).toEqual({
      type: 'Error',
      message: 'odd',
      code: 'for [email]',
    });
  });

  test('causes are logged three deep, each reduced the same way', () => {
    const chain = ['first', 'second', 'third', 'fourth', 'fifth'].reduceRight<Error | undefined>(
      (cause, message) => new Error(`${message} ${EMAIL}`, { cause }),
      undefined,
    );
    expect(logged(chain).err).toEqual({
      type: 'Error',
      message: 'first [email]',
      cause: {
        type: 'Error',
        message: 'second [email]',
        cause: { type: 'Error', message: 'third [email]', cause: { type: 'Error', message: 'fourth [email]' } },
      },
    });
  });

  test('what was thrown that is not an Error: its type, and its text scrubbed', () => {
    expect(logged(`token ${TOKEN}`).err).toEqual({ type: 'string', message: 'token [token]' });
    expect(logged({ message: 'plain object', code: 'E1' }).err).toEqual({
      type: 'Object',
      message: 'plain object',
      code: 'E1',
    });
    expect(logged(Object.assign(Object.create(null) as object, { message: 'no prototype' })).err).toEqual({
      type: 'Error',
      message: 'no prototype',
    });
    class GenesysHiccup {
      readonly message = 7;
    }
    expect(logged(new GenesysHiccup()).err).toEqual({ type: 'GenesysHiccup', message: '' });
  });

  test('`throw null` logs the line without an error', () => {
    const { err, raw } = logged(null);
    expect(err).toBeUndefined();
    expect(JSON.parse(raw)).toMatchObject({ msg: 'failed' });
  });

  test("an error's log detail: strings scrubbed, numbers, booleans and null kept, objects not logged, undefined left out", () => {
    const error = Object.assign(new Error('Genesys refused the message.'), {
      logDetail: {
        genesysText: `Invalid text from ${EMAIL}`,
        genesysCode: 4011,
        retried: false,
        lastSeen: null,
        body: { text: 'the customer wrote this' },
        skipped: undefined,
      },
    });
    const { err, raw } = logged(error);
    expect(err).toEqual({
      type: 'Error',
      message: 'Genesys refused the message.',
      detail: {
        genesysText: 'Invalid text from [email]',
        genesysCode: 4011,
        retried: false,
        lastSeen: null,
        body: '[object]',
      },
    });
    expect(raw).not.toContain('the customer wrote this');
    expect(scrubDetail({ skipped: undefined })).toEqual({});
    expect(Object.keys(scrubDetail({ skipped: undefined, kept: 0 }))).toEqual(['kept']);
  });
});
