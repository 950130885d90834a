import { PassThrough } from 'node:stream';
import { answerClientError } from '../../../src/http/server/clientError';
import { CLOSE_GRACE_MS, endAndClose } from '../../../src/http/server/connectionCaps';

/**
 * What src/http/server/clientError.ts writes for a request Node's parser refused, byte for byte, and when it
 * writes nothing; and that endAndClose's grace timer never outlives its socket.
 * connectionCaps.test.ts shows the same answers over real sockets.
 */

/** A socket stand-in: what the answer wrote, and whether it was destroyed. */
function socket(state: { writable?: boolean; bytesWritten?: number } = {}) {
  const s = new PassThrough();
  let written = '';
  s.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  const destroy = jest.spyOn(s, 'destroy');
  if (state.writable === false) s.end();
  if (state.bytesWritten !== undefined) Object.assign(s, { bytesWritten: state.bytesWritten });
  return { s, written: () => written, destroyed: () => destroy.mock.calls.length > 0 };
}

const error = (code: string) => Object.assign(new Error(code), { code });

afterEach(() => jest.useRealTimers());

describe('the answer to a request Node could not parse', () => {
  it.each([
    [
      'HPE_HEADER_OVERFLOW',
      431,
      'Request Header Fields Too Large',
      'The request headers are larger than this service accepts.',
    ],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout', 'The request did not arrive in time.'],
    ['HPE_INVALID_METHOD', 400, 'Bad Request', 'The request is not valid HTTP/1.1.'],
    ['HPE_INVALID_HEADER_TOKEN', 400, 'Bad Request', 'The request is not valid HTTP/1.1.'],
  ])('%s is a %i problem+json that closes the connection', async (code, status, reason, detail) => {
    const { s, written } = socket();
    answerClientError(error(code), s);
    await new Promise((resolve) => setImmediate(resolve));
    const body = JSON.stringify({
      type: '/problems/validation_failed',
      title: 'The request is not valid',
      status,
      detail,
      code: 'validation_failed',
    });
    expect(JSON.parse(body)).toEqual(JSON.parse(written().split('\r\n\r\n')[1]!));
    expect(written()).toBe(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        'X-Content-Type-Options: nosniff\r\n' +
        `Content-Length: ${Buffer.byteLength(written().split('\r\n\r\n')[1]!)}\r\n` +
        'Connection: close\r\n\r\n' +
        written().split('\r\n\r\n')[1],
    );
    expect(s.writableEnded).toBe(true);
  });

  it.each([
    ['a reset by the client', error('ECONNRESET'), {}],
    ['a socket no longer writable', error('HPE_INVALID_METHOD'), { writable: false }],
    ['a socket that already wrote part of an answer', error('HPE_INVALID_METHOD'), { bytesWritten: 17 }],
  ])('is nothing on %s: the socket is destroyed', async (_what, failure, state) => {
    const { s, written, destroyed } = socket(state);
    answerClientError(failure, s);
    expect(destroyed()).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written()).toBe('');
  });

  it('is written to a socket that wrote nothing yet', async () => {
    const { s, written, destroyed } = socket({ bytesWritten: 0 });
    answerClientError(error('HPE_INVALID_METHOD'), s);
    // (A stream ended and read destroys itself later: only what the call did at once is its own.)
    expect(destroyed()).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

describe('endAndClose', () => {
  it('destroys a socket the client keeps open after CLOSE_GRACE_MS, and not sooner', () => {
    jest.useFakeTimers();
    const { s, destroyed } = socket();
    endAndClose(s, 'bye');
    jest.advanceTimersByTime(CLOSE_GRACE_MS - 1);
    expect(destroyed()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(destroyed()).toBe(true);
  });

  it('leaves no timer behind once the socket closes', () => {
    jest.useFakeTimers();
    const { s } = socket();
    endAndClose(s, 'bye');
    expect(jest.getTimerCount()).toBe(1);
    s.emit('close');
    expect(jest.getTimerCount()).toBe(0);
  });
});
