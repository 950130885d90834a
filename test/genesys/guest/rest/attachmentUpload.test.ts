import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { putToPresignedUrl, type UploadBody } from '../../../../src/genesys/guest/rest/attachmentUpload';
import type { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';

/**
 * The PUT of a file to the presigned URL Genesys gave
 * (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment),
 * against a local server standing in for the storage: what a refusal, a
 * storage that never answers, an unreachable one or a URL this service will
 * not use become. test/api/attachments.test.ts drives the whole upload.
 */

const bytes = Buffer.from('%PDF-1.4 a small file');
const body: UploadBody = { open: () => Readable.from([bytes]), size: bytes.length, mediaType: 'application/pdf' };

let server: http.Server;
let base: string;
/** How the storage answers the next PUT (after reading the body): a status and a body, or nothing at all. */
let answer: { status: number; text: string } | 'never' = { status: 200, text: '' };
const received: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (answer === 'never') return;
      res.writeHead(answer.status, { 'Content-Type': 'application/xml' }).end(answer.text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  answer = { status: 200, text: '' };
  received.length = 0;
});

const presigned = (url: string) => ({
  attachmentId: 'a-1',
  url,
  headers: { 'x-amz-tagging': 'abc=1' },
  fileName: undefined,
  fileType: undefined,
  fileSize: undefined,
});
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as unknown as GuestApiError,
    (error: GuestApiError) => error,
  );

test('the bytes go out in a PUT with the headers Genesys listed, the type and the length', async () => {
  await putToPresignedUrl(presigned(`${base}/upload?sig=1`), body, { timeoutMs: 5000, allowHttp: true });
  expect(received).toHaveLength(1);
  expect(received[0]).toMatchObject({ method: 'PUT', body: bytes.toString() });
  expect(received[0]!.headers).toMatchObject({
    'x-amz-tagging': 'abc=1',
    'content-type': 'application/pdf',
    'content-length': String(bytes.length),
  });
});

test.each([
  ['plain http, Genesys itself is not', 'http://storage.example/upload', false, 'http:'],
  ['another scheme', 'ftp://storage.example/upload', true, 'ftp:'],
])(
  'a URL this service will not use (%s) is refused before anything is sent, its scheme for the log',
  async (_, url, allowHttp, scheme) => {
    const error = await failure(putToPresignedUrl(presigned(url), body, { timeoutMs: 5000, allowHttp }));
    expect(error).toMatchObject({
      failure: 'bad_request',
      code: 'upstream_unavailable',
      status: 502,
      message: 'Genesys gave an upload URL this service will not use.',
    });
    expect(error.logDetail).toMatchObject({ genesysText: `scheme ${scheme}` });
  },
);

test('a refusal by the storage keeps its status and the start of its answer (2048 characters) for the log', async () => {
  const long = `<Error><Code>AccessDenied</Code>${'x'.repeat(5000)}</Error>`;
  answer = { status: 403, text: long };
  const error = await failure(
    putToPresignedUrl(presigned(`${base}/upload`), body, { timeoutMs: 5000, allowHttp: true }),
  );
  expect(error).toMatchObject({ failure: 'bad_request', status: 502, message: 'Genesys refused the file upload.' });
  expect(error.logDetail).toMatchObject({ genesysCode: 403, genesysText: long.slice(0, 2048) });
});

test('a storage that takes the file and never answers fails the upload as a timeout', async () => {
  answer = 'never';
  const error = await failure(
    putToPresignedUrl(presigned(`${base}/upload`), body, { timeoutMs: 200, allowHttp: true }),
  );
  expect(error).toMatchObject({
    failure: 'timeout',
    status: 504,
    message: 'The file upload to Genesys did not finish in time.',
  });
});

test('a storage that cannot be reached fails the upload as unavailable, with the network error for the log', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const error = await failure(
    putToPresignedUrl(presigned(`http://127.0.0.1:${port}/upload`), body, { timeoutMs: 5000, allowHttp: true }),
  );
  expect(error).toMatchObject({
    name: 'GuestApiError',
    failure: 'unavailable',
    status: 503,
    message: 'The file could not be uploaded to Genesys.',
  });
  expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  expect(error.logDetail).toMatchObject({ genesysText: expect.stringContaining('ECONNREFUSED') });
});

test('an https URL is used whether or not plain http is allowed, over TLS', async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  for (const allowHttp of [false, true]) {
    // Nothing listens: the TLS client's connection is refused (a URL refused, or sent by plain HTTP, fails otherwise).
    const error = await failure(
      putToPresignedUrl(presigned(`https://127.0.0.1:${port}/upload`), body, { timeoutMs: 5000, allowHttp }),
    );
    expect(error).toMatchObject({ name: 'GuestApiError', failure: 'unavailable', status: 503 });
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  }
});

test('a storage answer of 300 or more is a refusal, a redirect included', async () => {
  answer = { status: 300, text: 'moved' };
  const error = await failure(
    putToPresignedUrl(presigned(`${base}/upload`), body, { timeoutMs: 5000, allowHttp: true }),
  );
  expect(error).toMatchObject({ failure: 'bad_request', message: 'Genesys refused the file upload.' });
  expect(error.logDetail).toMatchObject({ genesysCode: 300, genesysText: 'moved' });
});
