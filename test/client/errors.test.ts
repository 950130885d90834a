import { BffError, parseJson, parseRetryAfter, problemError } from '../../client/src/errors';

/**
 * A failure as the page sees it (client/src/errors.ts): a BffError read from the service's problem+json answer, or
 * from any other answer that is not a success; its Retry-After in seconds; and which codes mean the session is gone
 * or the page's origin is refused. Against the service: bffClient.test.ts.
 */

const headers =
  (values: Record<string, string>) =>
  (name: string): string | null =>
    values[name] ?? null;

describe('problemError', () => {
  test('takes the code, the detail as its message, the request id and Retry-After from a problem document', () => {
    const body = { status: 503, code: 'upstream_unavailable', detail: 'Genesys is away', requestId: 'req-1' };
    const error = problemError(503, body, headers({ 'Retry-After': '7', 'X-Request-Id': 'req-header' }));
    expect(error).toBeInstanceOf(BffError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'BffError',
      status: 503,
      code: 'upstream_unavailable',
      message: 'Genesys is away',
      retryAfterSeconds: 7,
      requestId: 'req-1',
      problem: body,
    });
  });

  test('an answer that is no problem document: code http_<status>, a message naming it, the header’s request id', () => {
    for (const body of [undefined, null, 'Bad Gateway', 42]) {
      const error = problemError(502, body, headers({ 'X-Request-Id': 'req-2' }));
      expect(error).toMatchObject({
        code: 'http_502',
        message: 'The chat service answered 502.',
        requestId: 'req-2',
        problem: {},
      });
      expect(error.retryAfterSeconds).toBeUndefined();
    }
  });

  test('fields of the wrong type are not taken; no request id anywhere is none', () => {
    const error = problemError(400, { code: 7, detail: { text: 'x' }, requestId: 9 }, headers({}));
    expect(error).toMatchObject({ code: 'http_400', message: 'The chat service answered 400.' });
    expect(error.requestId).toBeUndefined();
  });
});

describe('what a code means', () => {
  test('session_expired and unauthorized mean the session is gone; nothing else does', () => {
    const of = (code: string) => new BffError({ status: 401, code, message: code });
    expect(
      [of('session_expired'), of('unauthorized'), of('forbidden'), of('cors_refused')].map((e) => e.sessionLost),
    ).toEqual([true, true, false, false]);
  });

  test('cors_refused means the origin is refused, and carries the origin to allow', () => {
    const refused = new BffError({
      status: 0,
      code: 'cors_refused',
      message: 'refused',
      origin: 'https://shop.example',
    });
    expect([refused.corsRefused, refused.origin]).toEqual([true, 'https://shop.example']);
    expect(new BffError({ status: 0, code: 'network_error', message: 'down' }).corsRefused).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  test('seconds, never below 0; absent or blank is none, and so is what is neither a number nor a date', () => {
    expect(['5', '1.5', '0', '-3'].map(parseRetryAfter)).toEqual([5, 1.5, 0, 0]);
    expect([null, '', '   ', 'soon'].map(parseRetryAfter)).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('an HTTP date: the whole seconds until it, rounded up; one past is 0', () => {
    const now = Date.parse('2026-03-04T15:00:00Z');
    jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      expect(parseRetryAfter(new Date(now + 90_500).toUTCString())).toBe(90);
      expect(parseRetryAfter('Wed, 04 Mar 2026 15:00:30 GMT')).toBe(30);
      expect(parseRetryAfter('Wed, 04 Mar 2026 14:59:00 GMT')).toBe(0);
    } finally {
      jest.restoreAllMocks();
    }
  });

  test('a date not yet a whole second away still waits one', () => {
    const now = Date.parse('2026-03-04T15:00:00.200Z');
    jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      expect(parseRetryAfter('Wed, 04 Mar 2026 15:00:01 GMT')).toBe(1);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

test('parseJson: the value of JSON text; nothing for an empty or broken body', () => {
  expect(parseJson('{"code":"x"}')).toEqual({ code: 'x' });
  expect(parseJson('')).toBeUndefined();
  expect(parseJson('<html>')).toBeUndefined();
});
