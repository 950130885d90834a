import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { AppError } from '../../../src/domain/errors';
import type { Request, Response } from 'express';
import {
  checkDeclaredLength,
  DISCARD_MAX_BYTES,
  discardRestOfBody,
  IncomingUpload,
  spoolFailure,
  UploadSpool,
} from '../../../src/http/uploads/multipart';
import { waitFor } from '../../support/wait';

/**
 * multipart.ts where a socket cannot show it. The upload spool first. The sweep a start runs over its directory:
 * a process of another user (kill answers EPERM: it runs, its files stay), a stale file of
 * another user in a sticky /tmp (rm answers EPERM: it stays, and the start goes on), a file
 * another instance's sweep removed between this one's listing and its removal (no error), a
 * directory that happens to bear a spool file's name (not one of ours: left alone). And whose
 * fault a failed spool is: the file system's is the service's (500), any other the client's.
 * Last, the rest of a refused body is read only while there is a rest to read.
 * test/hostile/uploadSpool.test.ts holds the rest: a dead process's files go, a running one's stay.
 */
const dirs: string[] = [];
function spoolDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-sweep-test-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => jest.restoreAllMocks());
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Pids jest's process.kill answers for as the kernel would: EPERM (runs, as another user) or ESRCH (gone). */
function killAnswers(answers: Record<number, 'EPERM' | 'ESRCH'>): void {
  const kill = process.kill.bind(process);
  jest.spyOn(process, 'kill').mockImplementation((pid: number, signal?: string | number) => {
    const code = answers[pid];
    if (code === undefined) return kill(pid, signal);
    throw Object.assign(new Error(`kill ${code}`), { code, syscall: 'kill' });
  });
}

test("a process of another user (kill answers EPERM) runs: its files stay; a gone one's (ESRCH) are removed", async () => {
  const dir = spoolDir();
  const otherUser = 4_000_001;
  const gone = 4_000_002;
  killAnswers({ [otherUser]: 'EPERM', [gone]: 'ESRCH' });
  const kept = `bff-upload-${otherUser}-${randomUUID()}`;
  const stale = `bff-upload-${gone}-${randomUUID()}`;
  for (const name of [kept, stale]) fs.writeFileSync(path.join(dir, name), 'x');

  expect(await new UploadSpool(dir).sweep()).toBe(1);
  expect(fs.readdirSync(dir)).toEqual([kept]);
});

test('a pid is read only straight after the prefix: a name with a running pid further on is no spool file, and goes', async () => {
  const dir = spoolDir();
  const otherUser = 4_000_005;
  killAnswers({ [otherUser]: 'EPERM' });
  fs.writeFileSync(path.join(dir, `bff-upload-x-bff-upload-${otherUser}-${randomUUID()}`), 'x');
  expect(await new UploadSpool(dir).sweep()).toBe(1);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('a file another instance removed between the listing and the removal: no error, counted as swept', async () => {
  const dir = spoolDir();
  const vanished = `bff-upload-${4_000_003}-${randomUUID()}`;
  killAnswers({ [4_000_003]: 'ESRCH' });
  // The listing still shows the file; another instance sharing the directory has removed it since.
  const readdir = fs.promises.readdir;
  const listed = { name: vanished, isFile: () => true } as fs.Dirent;
  jest
    .spyOn(fs.promises, 'readdir')
    .mockImplementation((async (dir: fs.PathLike) => [
      ...(await readdir(dir, { withFileTypes: true })),
      listed,
    ]) as unknown as typeof readdir);

  await expect(new UploadSpool(dir).sweep()).resolves.toBe(1);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('a directory named like a spool file is not one of ours: it stays, and the sweep goes on', async () => {
  const dir = spoolDir();
  // /tmp is the default UPLOAD_TMP_DIR, shared with whatever else makes directories there.
  const notOurs = path.join(dir, `bff-upload-${randomUUID()}`);
  fs.mkdirSync(notOurs);
  const stale = `bff-upload-${randomUUID()}`;
  fs.writeFileSync(path.join(dir, stale), 'x');

  expect(await new UploadSpool(dir).sweep()).toBe(1);
  expect(fs.readdirSync(dir)).toEqual([path.basename(notOurs)]);
});

/** A stale file (of a gone pid) that `rm` refuses with `code`, beside one it removes. */
function staleFileRmRefuses(code: string) {
  const dir = spoolDir();
  killAnswers({ [4_000_004]: 'ESRCH' });
  const refused = `bff-upload-${4_000_004}-${randomUUID()}`;
  const ours = `bff-upload-${4_000_004}-${randomUUID()}`;
  for (const name of [refused, ours]) fs.writeFileSync(path.join(dir, name), 'x');
  const rm = fs.promises.rm;
  jest.spyOn(fs.promises, 'rm').mockImplementation(async (file, options) => {
    if (path.basename(String(file)) === refused) throw Object.assign(new Error(`rm ${code}`), { code, syscall: 'rm' });
    return rm(file, options);
  });
  return { dir, refused };
}

test.each(['EPERM', 'EACCES'])(
  'a stale file of another user that this one may not remove (rm: %s, a sticky /tmp) stays, and the sweep goes on',
  async (code) => {
    const { dir, refused } = staleFileRmRefuses(code);
    expect(await new UploadSpool(dir).sweep()).toBe(1);
    expect(fs.readdirSync(dir)).toEqual([refused]);
  },
);

test('any other failure to remove a stale file (rm: EIO) stops the sweep, and with it the start: the spool is not usable', async () => {
  const { dir } = staleFileRmRefuses('EIO');
  await expect(new UploadSpool(dir).sweep()).rejects.toMatchObject({ code: 'EIO' });
});

test('closing the spool removes every file still in transit, and only those', async () => {
  const dir = spoolDir();
  const spool = new UploadSpool(dir);
  const [first, second, done] = [spool.newFile(), spool.newFile(), spool.newFile()];
  for (const file of [first, second, done]) fs.writeFileSync(file, 'part of an upload');
  await spool.remove(done);
  fs.writeFileSync(path.join(dir, 'not-ours.txt'), 'kept');
  await spool.close();
  expect(fs.readdirSync(dir)).toEqual(['not-ours.txt']);
});

test('a Content-Length of exactly the limit and the framing is read; one byte more is refused before the body is read', () => {
  const limits = { maxBytes: 1000 } as Parameters<typeof checkDeclaredLength>[1];
  const declaring = (length: number) => ({ headers: { 'content-length': String(length) } }) as unknown as Request;
  expect(() => checkDeclaredLength(declaring(1200), limits, 200)).not.toThrow();
  expect(() => checkDeclaredLength(declaring(1201), limits, 200)).toThrow(
    expect.objectContaining({ code: 'attachment_too_large' }),
  );
});

test("a spool failure naming its system call is the service's (500, with its cause); any other is the client's part cut short (400)", () => {
  const disk = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  const service = spoolFailure(disk);
  expect([service.code, service.status, service.cause]).toEqual(['internal_error', 500, disk]);
  const client = spoolFailure(new Error('Unexpected end of form'));
  expect([client.code, client.status, client.message]).toEqual([
    'validation_failed',
    400,
    'The upload was interrupted.',
  ]);
  const refusal = new AppError('attachment_too_large', 'too large');
  expect(spoolFailure(refusal)).toBe(refusal);
});

describe('the rest of a refused body is read only while there is a rest to read', () => {
  /** A request in the state `discardRestOfBody` finds it in; a pace of 1 byte a second over 20 ms would cut it off at once. */
  function refused(
    state: { complete: boolean; destroyed: boolean },
    pace: { minBytesPerSecond: number; windowMs: number } = { minBytesPerSecond: 1, windowMs: 20 },
  ) {
    const req = Object.assign(new EventEmitter(), state, {
      headers: { 'content-length': '100' },
      socket: { destroy: jest.fn() },
      unpipe: jest.fn(),
      resume: jest.fn(),
    });
    const res = { setHeader: jest.fn() };
    discardRestOfBody(req as unknown as Request, res as unknown as Response, pace);
    return { req, res };
  }

  test.each([
    ['read to its end (a kept-alive connection stays)', { complete: true, destroyed: false }],
    ['whose client is already gone', { complete: false, destroyed: true }],
  ])('a body %s: nothing is read, no pace is watched, nothing is cut off', async (_name, state) => {
    const { req, res } = refused(state);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(req.unpipe).toHaveBeenCalled();
    expect([req.resume, req.socket.destroy, res.setHeader].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
    expect(req.listenerCount('data')).toBe(0);
  });

  test.each(['end', 'close'])(
    'a body that ends by its %s event while it is read is not cut off afterwards: the pace watch stops',
    async (event) => {
      const { req } = refused({ complete: false, destroyed: false });
      const listening = req.listenerCount('data');
      req.emit(event);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(req.socket.destroy).not.toHaveBeenCalled();
      // The watch lets go of the body: only the reader that throws it away still listens.
      expect(req.listenerCount('data')).toBe(listening - 1);
    },
  );

  test('a body still arriving is read and thrown away, and cut off when it arrives too slowly', async () => {
    const { req } = refused({ complete: false, destroyed: false });
    expect(req.resume).toHaveBeenCalled();
    await waitFor(() => expect(req.socket.destroy).toHaveBeenCalled());
  });

  test('a window that brings exactly the floor is not too slow; one byte less is', () => {
    jest.useFakeTimers();
    try {
      // 1000 bytes a second, looked at every 100 ms: 100 bytes a window.
      const { req } = refused({ complete: false, destroyed: false }, { minBytesPerSecond: 1000, windowMs: 100 });
      req.emit('data', Buffer.alloc(100));
      jest.advanceTimersByTime(100);
      expect(req.socket.destroy).not.toHaveBeenCalled();
      req.emit('data', Buffer.alloc(99));
      jest.advanceTimersByTime(100);
      expect(req.socket.destroy).toHaveBeenCalledTimes(1);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a refused body is read up to DISCARD_MAX_BYTES; the byte after it cuts the connection', () => {
    const { req } = refused({ complete: false, destroyed: false }, { minBytesPerSecond: 0, windowMs: 100 });
    req.emit('data', Buffer.alloc(DISCARD_MAX_BYTES));
    expect(req.socket.destroy).not.toHaveBeenCalled();
    req.emit('data', Buffer.alloc(1));
    expect(req.socket.destroy).toHaveBeenCalledTimes(1);
  });
});

describe('one upload as its body arrives', () => {
  const BOUNDARY = 'b0undary';
  const part = (headers: string, body: string) => `--${BOUNDARY}\r\n${headers}\r\n\r\n${body}\r\n`;
  const filePart = (body: string) =>
    part('Content-Disposition: form-data; name="file"; filename="note.txt"\r\nContent-Type: text/plain', body);
  const END = `--${BOUNDARY}--\r\n`;

  /** Every upload begun here: each is discarded after its test, as every receive() must be followed. */
  const begun: IncomingUpload[] = [];
  afterEach(async () => {
    for (const upload of begun.splice(0)) await upload.discard();
  });

  /** An upload of a request that is a bare stream, into a spool of its own. */
  function incoming() {
    const dir = spoolDir();
    const spool = new UploadSpool(dir);
    const newFile = jest.spyOn(spool, 'newFile');
    const req = Object.assign(new PassThrough(), {
      headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      complete: false,
    });
    const upload = new IncomingUpload(req as unknown as Request, {
      field: 'file',
      limits: { enabled: true, mediaTypes: ['*/*'], maxBytes: 1000, blockedExtensions: [] },
      spool,
      pace: { minBytesPerSecond: 0, windowMs: 1000 },
    });
    begun.push(upload);
    const received = upload.receive();
    received.catch(() => undefined);
    return { dir, newFile, req, upload, received };
  }

  test('a field before the file is refused, and the file after it is never spooled', async () => {
    const { req, newFile, received } = incoming();
    req.end(part('Content-Disposition: form-data; name="note"', 'hi') + filePart('hello') + END);
    await expect(received).rejects.toMatchObject({ code: 'validation_failed', message: 'Send only the "file" part.' });
    expect(newFile).not.toHaveBeenCalled();
  });

  test('a body cut off before its end is refused as interrupted', async () => {
    const { req, received } = incoming();
    req.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\n\r\nhel`);
    req.emit('close');
    await expect(received).rejects.toMatchObject({ code: 'validation_failed', message: 'The upload was interrupted.' });
  });

  test('discarded while its file is still being written: the writing stops, the file goes', async () => {
    const { dir, req, upload, received } = incoming();
    req.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="note.txt"\r\n\r\n`);
    req.write('x'.repeat(100));
    await waitFor(() => fs.readdirSync(dir).length === 1);
    await upload.discard();
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(received).rejects.toMatchObject({ message: 'The upload was discarded.' });
  });
});
