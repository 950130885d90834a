import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { AttachmentTransfer } from '../../../../src/genesys/guest/desk/attachmentTransfer';
import type { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import type { RequestDesk } from '../../../../src/genesys/guest/desk/requestDesk';

/**
 * A guest session's uploads (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * onAttachment, the PUT to a local stand-in for the storage, and Genesys's
 * verdict, here handed in by the test. What is decided when the verdict does
 * not come in time or comes after the upload was given up on: a file Genesys
 * confirms late is deleted (nobody will send it), one it refuses is not there
 * to delete. Timers are fake (the verdict's wait); the HTTP PUT is real.
 */

let server: http.Server;
let base: string;
/** Called when a PUT arrives, before the storage answers it. */
let onPut: () => void = () => undefined;
let putStatus = 200;
/** How long the storage stays silent after a PUT's body before it answers (real time). */
let putSilenceMs = 0;
/** The real timer: the test's fake timers are the service's, not the storage's. */
const { setTimeout: realSetTimeout } = jest.requireActual<typeof import('node:timers')>('node:timers');

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      onPut();
      if (putSilenceMs === 0) res.writeHead(putStatus).end();
      else realSetTimeout(() => res.writeHead(putStatus).end(), putSilenceMs);
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
  // Only the service's own timers are fake: the HTTP client and the server run on real I/O.
  jest.useFakeTimers({
    doNotFake: [
      'nextTick',
      'setImmediate',
      'clearImmediate',
      'queueMicrotask',
      'setInterval',
      'clearInterval',
      'Date',
      'hrtime',
      'performance',
    ],
  });
  onPut = () => undefined;
  putStatus = 200;
  putSilenceMs = 0;
});
afterEach(() => jest.useRealTimers());

const REQUEST_TIMEOUT_MS = 1000;
const bytes = Buffer.from('%PDF-1.4 a small file');
const file = {
  fileName: 'a.pdf',
  open: () => Readable.from([bytes]),
  size: bytes.length,
  mediaType: 'application/pdf',
};

function transfer(uploadUrl: () => string = () => `${base}/upload`) {
  /** The attachment frames sent to Genesys, in order. */
  const frames: { action: string; attachmentId: string; about?: unknown }[] = [];
  const desk = {
    request: (
      _kind: string,
      build: (tracingId: string) => { action: string; attachmentId: string },
      about?: unknown,
    ) => {
      const frame = build(`trace-${frames.length}`);
      frames.push({ ...frame, about });
      return Promise.resolve(
        frame.action === 'onAttachment'
          ? { attachmentId: frame.attachmentId, url: uploadUrl(), headers: {} }
          : { attachmentId: frame.attachmentId },
      );
    },
  } as unknown as RequestDesk;
  const t = new AttachmentTransfer({
    token: 'token-1',
    desk,
    ready: () => Promise.resolve(),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    allowHttpUploads: true,
  });
  const idOf = (n: number) => frames.filter((f) => f.action === 'onAttachment')[n]!.attachmentId;
  const deleted = () => frames.filter((f) => f.action === 'deleteAttachment').map((f) => f.attachmentId);
  return { t, frames, idOf, deleted };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined as unknown as GuestApiError,
    (error: GuestApiError) => error,
  );
const turn = () => new Promise((resolve) => setImmediate(resolve));
/** Lets real I/O run (a bounded number of event-loop turns) until `done` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 5000 && !done(); i++) await turn();
}
/** An upload's failure, once it has one. */
function watch(upload: Promise<unknown>) {
  const seen: { error?: GuestApiError } = {};
  void failure(upload).then((error) => (seen.error = error));
  return seen;
}

test('a verdict that comes with the PUT settles the upload, and leaves no timer behind', async () => {
  const { t, idOf } = transfer();
  onPut = () => expect(t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' })).toBe(true);
  const uploaded = await t.upload(file);
  expect(uploaded).toEqual({ attachmentId: idOf(0), downloadUrl: 'https://files.example/a.pdf' });
  expect(jest.getTimerCount()).toBe(0);
});

test('each request about a file names it to the desk, so that a reply without a tracingId still finds its request', async () => {
  const { t, frames, idOf } = transfer();
  onPut = () => t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' });
  await t.upload(file);
  await t.freshUrl(idOf(0));
  await t.remove(idOf(0));
  expect(frames.map((f) => [f.action, f.about])).toEqual([
    ['onAttachment', { attachmentId: idOf(0) }],
    ['getAttachment', { attachmentId: idOf(0) }],
    ['deleteAttachment', { attachmentId: idOf(0) }],
  ]);
});

test('a storage silent for half a request timeout before it answers the PUT is waited for: the PUT has six', async () => {
  const { t, idOf } = transfer();
  putSilenceMs = REQUEST_TIMEOUT_MS / 2;
  onPut = () => t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' });
  const uploaded = await t.upload(file).catch((error: GuestApiError) => error.message);
  expect(uploaded).toEqual({ attachmentId: idOf(0), downloadUrl: 'https://files.example/a.pdf' });
});

test('no verdict within three request timeouts of the PUT: the upload fails as a timeout; a success after that is deleted, a failure is not', async () => {
  const { t, idOf, deleted } = transfer();
  const first = watch(t.upload(file));
  await until(() => jest.getTimerCount() > 0);
  jest.advanceTimersByTime(3 * REQUEST_TIMEOUT_MS - 1);
  await until(() => first.error !== undefined);
  expect(first.error).toBeUndefined();
  jest.advanceTimersByTime(1);
  await until(() => first.error !== undefined);
  expect(first.error).toMatchObject({
    failure: 'timeout',
    status: 504,
    message: 'Genesys did not confirm the upload in time.',
  });

  expect(t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' })).toBe(true);
  await turn();
  expect(deleted()).toEqual([idOf(0)]);

  const second = watch(t.upload(file));
  await until(() => jest.getTimerCount() > 0);
  jest.advanceTimersByTime(3 * REQUEST_TIMEOUT_MS);
  await until(() => second.error !== undefined);
  expect(
    t.uploadSettled(idOf(1), { failure: { attachmentId: idOf(1), errorCode: 4003, errorMessage: 'infected' } }),
  ).toBe(true);
  await turn();
  expect(deleted()).toEqual([idOf(0)]);
});

test('a verdict for an upload this session never made, or one already settled, is not its own', async () => {
  const { t, idOf, deleted } = transfer();
  expect(t.uploadSettled('not-ours', { downloadUrl: 'https://files.example/x' })).toBe(false);
  onPut = () => t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' });
  await t.upload(file);
  expect(t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/a.pdf' })).toBe(false);
  await turn();
  expect(deleted()).toEqual([]);
});

test('a session remembers its last 64 uploads given up on: the late success of an older one is no longer known', async () => {
  // A URL this service will not use: each upload is given up on at once, before any verdict.
  const { t, idOf, deleted } = transfer(() => 'ftp://storage.example/upload');
  for (let i = 0; i < 65; i++) await failure(t.upload(file));
  expect(t.uploadSettled(idOf(0), { downloadUrl: 'https://files.example/0' })).toBe(false);
  expect(t.uploadSettled(idOf(1), { downloadUrl: 'https://files.example/1' })).toBe(true);
  expect(t.uploadSettled(idOf(64), { downloadUrl: 'https://files.example/64' })).toBe(true);
  await turn();
  expect(deleted()).toEqual([idOf(1), idOf(64)]);
});
