import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Request } from 'express';
import { AppError } from '../domain/errors';
import { checkFileName, SNIFF_BYTES, tooLarge, type UploadLimits } from '../session/attachmentPolicy';

/** One file received from a multipart/form-data body, spooled to a private temporary file. */
export interface SpooledFile {
  fileName: string;
  declaredType: string;
  size: number;
  /** The first bytes, for the content sniffer. */
  head: Buffer;
  open(): fs.ReadStream;
  discard(): Promise<void>;
}

/**
 * Reads the one `field` file of a multipart body as it arrives, to a
 * temporary file (0600) that the caller discards: memory holds a chunk at a
 * time whatever the size. The name is checked before a byte is written; past
 * `limits.maxBytes` the upload stops with 413. Anything else in the body is
 * refused, so what is checked is what is sent.
 */
export function receiveFile(req: Request, field: string, limits: UploadLimits, dir = os.tmpdir()): Promise<SpooledFile> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: limits.maxBytes + 1, fields: 0, parts: 2, headerPairs: 20 } });
  } catch {
    return Promise.reject(new AppError('unsupported_media_type', `Send the file as multipart/form-data with one "${field}" part.`));
  }
  return new Promise<SpooledFile>((resolve, reject) => {
    let spooled: Promise<SpooledFile> | undefined;
    let receiving: NodeJS.ReadableStream & { destroy(error?: Error): void } | undefined;
    const fail = (error: AppError) => {
      req.unpipe(parser);
      // A file part cut off mid-way never ends by itself: end it, so its spool is removed.
      receiving?.destroy(error);
      reject(error);
    };
    parser.on('file', (name, stream, info) => {
      if (name !== field) {
        stream.resume();
        fail(new AppError('validation_failed', `The file must be sent in a part named "${field}".`));
        return;
      }
      try {
        checkFileName(info.filename ?? '', limits);
      } catch (error) {
        stream.resume();
        fail(error as AppError);
        return;
      }
      receiving = stream;
      spooled = spool(stream, info.filename!, info.mimeType, limits, dir);
      spooled.catch((error: unknown) => fail(error instanceof AppError ? error : new AppError('validation_failed', 'The upload was interrupted.')));
    });
    parser.on('field', () => fail(new AppError('validation_failed', `Send only the "${field}" part.`)));
    parser.on('partsLimit', () => fail(new AppError('validation_failed', `Send one "${field}" part and nothing else.`)));
    parser.on('fieldsLimit', () => fail(new AppError('validation_failed', `Send only the "${field}" part.`)));
    parser.on('filesLimit', () => fail(new AppError('validation_failed', 'Send one file per upload.')));
    parser.on('error', () => fail(new AppError('validation_failed', 'The multipart body is malformed.')));
    parser.on('close', () => {
      if (!spooled) fail(new AppError('validation_failed', `The body has no "${field}" part.`));
      else spooled.then(resolve, () => undefined);
    });
    req.on('close', () => {
      if (!req.complete) fail(new AppError('validation_failed', 'The upload was interrupted.'));
    });
    req.pipe(parser);
  });
}

async function spool(stream: NodeJS.ReadableStream & { truncated?: boolean }, fileName: string, declaredType: string, limits: UploadLimits, dir: string): Promise<SpooledFile> {
  const file = path.join(dir, `bff-upload-${randomUUID()}`);
  let size = 0;
  let head = Buffer.alloc(0);
  let truncated = false;
  // Past the limit (busboy's is one byte more: a file of exactly the limit is allowed) the upload stops at once.
  stream.on('limit', () => {
    truncated = true;
    (stream as NodeJS.ReadableStream & { destroy(error?: Error): void }).destroy(tooLarge(limits));
  });
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - head.length)]);
      done(null, chunk);
    },
  });
  const discard = () => fs.promises.rm(file, { force: true });
  try {
    await pipeline(stream, measure, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (error) {
    await discard();
    throw truncated ? tooLarge(limits) : error;
  }
  if (truncated || size > limits.maxBytes) {
    await discard();
    throw tooLarge(limits);
  }
  if (size === 0) {
    await discard();
    throw new AppError('validation_failed', 'The file is empty.');
  }
  return { fileName, declaredType, size, head, open: () => fs.createReadStream(file), discard };
}
