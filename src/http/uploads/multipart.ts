import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request, Response } from 'express';
import { AppError } from '../../domain/errors';
import {
  checkFileName,
  checkNotDisguised,
  SNIFF_BYTES,
  tooLarge,
  uploadMediaType,
  type UploadLimits,
} from '../../session';

/** One file received from a multipart/form-data body, spooled to a private temporary file. */
export interface SpooledFile {
  fileName: string;
  /** The type it goes to Genesys as (attachmentPolicy.ts `uploadMediaType`). */
  mediaType: string;
  size: number;
  open(): fs.ReadStream;
}

/** The slowest a body may arrive: at least `minBytesPerSecond` over every `windowMs` (0: no floor). */
export interface UploadPace {
  minBytesPerSecond: number;
  windowMs: number;
}

const SPOOL_PREFIX = 'bff-upload-';

/**
 * The instance's files in transit: where they are spooled, which are live,
 * and the sweep of what a process that died mid-upload left behind. Each
 * name carries its process id, so a sweep leaves a running instance's files
 * alone when two share a directory (and removes its own pid's: in a
 * container every start is pid 1 again).
 */
export class UploadSpool {
  private readonly live = new Set<string>();

  constructor(readonly dir: string) {}

  /** A new private path for one upload's file. */
  newFile(): string {
    const file = path.join(this.dir, `${SPOOL_PREFIX}${process.pid}-${randomUUID()}`);
    this.live.add(file);
    return file;
  }

  async remove(file: string): Promise<void> {
    await fs.promises.rm(file, { force: true });
    this.live.delete(file);
  }

  /**
   * Removes the files of processes that are gone (and the older unnamed
   * ones) but another user's; returns how many. Run before serving.
   */
  async sweep(): Promise<number> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    // Files only: a directory of that name is not one of ours, and must not stop a start.
    const entries = await fs.promises.readdir(this.dir, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && e.name.startsWith(SPOOL_PREFIX)).map((e) => e.name);
    const stale = names.filter((n) => {
      const pid = /^bff-upload-(\d+)-/.exec(n)?.[1];
      return pid === undefined || Number(pid) === process.pid || !processRuns(Number(pid));
    });
    const removed = await Promise.all(stale.map((n) => removeUnlessAnotherUsers(path.join(this.dir, n))));
    return removed.filter(Boolean).length;
  }

  /** Removes every file still in transit (shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.live].map((f) => this.remove(f)));
  }
}

/**
 * Removes a file; false when it is another user's (a sticky /tmp): not ours to remove, and no reason to stop a start.
 */
async function removeUnlessAnotherUsers(file: string): Promise<boolean> {
  try {
    await fs.promises.rm(file, { force: true });
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'EACCES') return false;
    throw error;
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cuts off a body that arrives slower than `pace`: a client dripping bytes
 * would otherwise hold an upload slot for as long as it likes. The returned
 * function stops the watch.
 */
function watchPace(req: Request, pace: UploadPace, tooSlow: (error: AppError) => void): () => void {
  if (pace.minBytesPerSecond <= 0) return () => undefined;
  const need = (pace.minBytesPerSecond * pace.windowMs) / 1000;
  let received = 0;
  const count = (chunk: Buffer) => {
    received += chunk.length;
  };
  const timer = setInterval(() => {
    if (received < need) {
      stop();
      tooSlow(
        new AppError(
          'upload_too_slow',
          `The upload arrived slower than ${pace.minBytesPerSecond} bytes a second and was cut off.`,
          { extensions: { minBytesPerSecond: pace.minBytesPerSecond } },
        ),
      );
    }
    received = 0;
  }, pace.windowMs);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    req.off('data', count);
  };
  req.on('data', count);
  req.once('end', stop);
  req.once('close', stop);
  return stop;
}

interface IncomingUploadOptions {
  field: string;
  limits: UploadLimits;
  spool: UploadSpool;
  pace: UploadPace;
}

/**
 * One multipart upload, read as it arrives into a temporary file (0600)
 * of the spool: memory holds a chunk at a time whatever the size. The name
 * and declared type are judged on the part's headers, before a byte is
 * written; the first bytes are checked for a disguised program as soon as
 * they are in; past `limits.maxBytes` the upload stops with 413. Anything
 * else in the body is refused, so what is checked is what is sent.
 * `discard()` must follow every `receive()`, however it ended: it stops the
 * reading, waits for the file to be closed, and removes it.
 */
export class IncomingUpload {
  private writing?: Promise<unknown>;
  private fileStream?: Readable;
  private file?: string;
  private stopPace: () => void = () => undefined;

  constructor(
    private readonly req: Request,
    private readonly options: IncomingUploadOptions,
  ) {}

  receive(): Promise<SpooledFile> {
    const { req } = this;
    const { field, limits, pace } = this.options;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        defParamCharset: 'utf8',
        limits: { files: 1, fileSize: limits.maxBytes + 1, fields: 0, parts: 2, headerPairs: 20 },
      });
    } catch {
      return Promise.reject(
        new AppError('unsupported_media_type', `Send the file as multipart/form-data with one "${field}" part.`),
      );
    }
    return new Promise<SpooledFile>((resolve, reject) => {
      let spooled: Promise<SpooledFile> | undefined;
      let settled = false;
      const fail = (error: AppError) => {
        if (settled) return;
        settled = true;
        this.stopPace();
        req.unpipe(parser);
        // A file part cut off mid-way never ends by itself: end it, so its spool is closed (with an error: a pipeline
        // does not always settle for a source destroyed without one).
        this.fileStream?.destroy(error);
        reject(error);
      };
      this.stopPace = watchPace(req, pace, fail);
      parser.on('file', (name, stream, info) => {
        if (spooled || settled) {
          stream.resume();
          return;
        }
        let mediaType: string;
        try {
          if (name !== field)
            throw new AppError('validation_failed', `The file must be sent in a part named "${field}".`);
          checkFileName(info.filename ?? '', limits);
          mediaType = uploadMediaType(info.mimeType, info.filename!, limits);
        } catch (error) {
          stream.resume();
          fail(error as AppError);
          return;
        }
        this.fileStream = stream;
        spooled = this.spool(stream, info.filename!, mediaType, info.mimeType);
        spooled.catch((error: unknown) => fail(spoolFailure(error)));
      });
      // With `fields: 0` busboy reports every field as fieldsLimit
      // (never as 'field'), and any second part as partsLimit too.
      parser.on('partsLimit', () =>
        fail(new AppError('validation_failed', `Send one "${field}" part and nothing else.`)),
      );
      parser.on('fieldsLimit', () => fail(new AppError('validation_failed', `Send only the "${field}" part.`)));
      parser.on('filesLimit', () => fail(new AppError('validation_failed', 'Send one file per upload.')));
      parser.on('error', () => fail(new AppError('validation_failed', 'The multipart body is malformed.')));
      parser.on('close', () => {
        if (!spooled) fail(new AppError('validation_failed', `The body has no "${field}" part.`));
        else
          spooled.then(
            (file) => {
              if (settled) return;
              settled = true;
              this.stopPace();
              resolve(file);
            },
            () => undefined,
          );
      });
      req.on('close', () => {
        if (!req.complete) fail(new AppError('validation_failed', 'The upload was interrupted.'));
      });
      req.pipe(parser);
    });
  }

  /** Stops reading into the file, waits until it is closed, and removes it. */
  async discard(): Promise<void> {
    this.stopPace();
    if (this.fileStream?.readableEnded === false)
      this.fileStream.destroy(new AppError('validation_failed', 'The upload was discarded.'));
    await this.writing?.catch(() => undefined);
    if (this.file) await this.options.spool.remove(this.file);
  }

  private async spool(stream: Readable, fileName: string, mediaType: string, declared: string): Promise<SpooledFile> {
    const { limits, spool } = this.options;
    const file = (this.file = spool.newFile());
    let size = 0;
    let head = Buffer.alloc(0);
    let truncated = false;
    let judged = false;
    // An error on the part (the limit, a failure, a discard) is the pipeline's to report; until the pipeline takes the
    // stream (its file is still opening), and after it let go, it must not go unheard.
    stream.on('error', () => undefined);
    // Past the limit (busboy's is one byte more: a file of exactly the limit is allowed) the upload stops at once.
    stream.on('limit', () => {
      truncated = true;
      stream.destroy(tooLarge(limits));
    });
    const judge = () => {
      judged = true;
      checkNotDisguised(head, fileName, mediaType, declared);
    };
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
        try {
          if (!judged && head.length >= SNIFF_BYTES) judge();
        } catch (error) {
          done(error as Error);
          return;
        }
        done(null, chunk);
      },
      flush(done) {
        try {
          if (!judged) judge();
          done();
        } catch (error) {
          done(error as Error);
        }
      },
    });
    // The file exists before anything can stop the writing, so `discard` always finds it to remove.
    // A part stopped while its file was still opening fails the pipeline at once (a pipeline settles for a source
    // already destroyed), and the pipeline closes the file either way.
    this.writing = fs.promises
      .open(file, 'wx', 0o600)
      .then((handle) => pipeline(stream, measure, fs.createWriteStream(file, { fd: handle })));
    try {
      await this.writing;
    } catch (error) {
      throw truncated ? tooLarge(limits) : error;
    }
    if (truncated || size > limits.maxBytes) throw tooLarge(limits);
    if (size === 0) throw new AppError('validation_failed', 'The file is empty.');
    return { fileName, mediaType, size, open: () => fs.createReadStream(file) };
  }
}

/**
 * Why a file did not reach its spool: a refusal (an AppError: its size, its
 * first bytes), the service's own file system (an error naming its system
 * call: the disk full, the directory gone; a 500 the operator sees, never
 * the guest's fault), or else a part its client cut short.
 */
export function spoolFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (typeof (error as NodeJS.ErrnoException | undefined)?.syscall === 'string') {
    return new AppError('internal_error', 'The file could not be held on its way to Genesys; retry.', { cause: error });
  }
  return new AppError('validation_failed', 'The upload was interrupted.');
}

/**
 * A body too large to read through is cut off instead (its client
 * may then see the connection drop rather than the answer).
 */
export const DISCARD_MAX_BYTES = 32 * 1024 * 1024;

/**
 * The declared body is larger than any file the deployment takes,
 * with room for the multipart framing: 413 before reading it.
 */
export function checkDeclaredLength(req: Request, limits: UploadLimits, overhead: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes + overhead) throw tooLarge(limits);
}

/**
 * After a refusal decided before the whole body was read: the rest is read
 * and thrown away, and the connection kept, so that a client still sending
 * (fetch, a browser) gets to read the answer. Closing at once would reset a
 * connection the client is writing to, and it would report a network error
 * instead of the status. Bounded by DISCARD_MAX_BYTES and by the pace; a
 * body that goes past either is cut off.
 */
export function discardRestOfBody(req: Request, res: Response, pace: UploadPace): void {
  req.unpipe();
  if (req.complete || req.destroyed) return;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DISCARD_MAX_BYTES) {
    res.setHeader('Connection', 'close');
    return;
  }
  let read = 0;
  const cutOff = () => req.socket.destroy();
  const stopPace = watchPace(req, pace, cutOff);
  req.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DISCARD_MAX_BYTES) {
      stopPace();
      cutOff();
    }
  });
  req.resume();
}
