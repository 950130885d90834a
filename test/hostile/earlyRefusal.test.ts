import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { demoPng } from '../../simulator/richReplies';
import { rawUpload } from '../support/rawUpload';
import { bearer, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * An upload refused before its body is read (the instance busy, the type
 * refused, the declared size too large) still reaches the client as its
 * status. Node's `fetch` (undici) writes the whole 5 MB body before it
 * reads an answer; closing the connection while it writes would make it
 * report a network error (EPIPE, a reset) instead of the 429/415/413.
 * A client that reads only once it has sent everything shows it on any
 * network: a reset while it writes throws away the answer it has not read.
 * test/browser/uploadRefusals.test.ts does the same from Chromium.
 */
let stack: Stack;
const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-early-refusal-'));

beforeAll(async () => {
  stack = await startStack({
    sim: {
      profile: simProfile(),
      agent: { enabled: false },
      enableAttachments: true,
      allowedMedia: { inbound: { fileTypes: [{ type: 'image/*' }], maxFileSizeKB: 10240 } },
    },
    env: { UPLOADS_MAX: '1', UPLOAD_MIN_BYTES_PER_SECOND: '0', UPLOAD_TMP_DIR: spool },
  });
});

afterAll(async () => {
  await stack.close();
});

const FIVE_MB = 5 * 1000 * 1000;

/** A 5 MB file as a page would send it with fetch and FormData; the status, or the network error's name. */
async function uploadWithFetch(
  token: string,
  fileName: string,
  type: string,
  size = FIVE_MB,
): Promise<{ status: number; code?: string; retryAfter?: string | null } | { error: string }> {
  const head = demoPng(8, 8);
  const bytes = new Uint8Array(size);
  bytes.set(head);
  const form = new FormData();
  form.append('file', new File([bytes], fileName, { type }));
  try {
    const res = await fetch(`${stack.service.url}/attachments`, { method: 'POST', headers: bearer(token), body: form });
    const body = (await res.json()) as { code?: string };
    return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') };
  } catch (error) {
    return { error: `${(error as Error).message}: ${String((error as { cause?: unknown }).cause)}` };
  }
}

/**
 * A client that sends its whole 5 MB body before it reads a byte of the answer (the answer waits in
 * the kernel meanwhile): its status line, or the error that ended it.
 */
async function sendAllThenRead(token: string, fileName: string, type: string): Promise<string> {
  const boundary = 'send-then-read';
  const file = Buffer.alloc(FIVE_MB);
  demoPng(8, 8).copy(file);
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const socket = net.connect(Number(new URL(stack.service.url).port), '127.0.0.1');
  socket.pause();
  let failed: Error | undefined;
  socket.on('error', (error) => (failed = error));
  try {
    socket.write(
      `POST /attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    for (let at = 0; at < body.length && !failed; at += 64 * 1024) {
      if (!socket.write(body.subarray(at, at + 64 * 1024))) {
        await new Promise<void>((resolve) => {
          socket.once('drain', resolve);
          socket.once('error', () => resolve());
          socket.once('close', () => resolve());
        });
      }
    }
    let answer = '';
    socket.setEncoding('latin1').on('data', (d: string) => (answer += d));
    socket.resume();
    await waitFor(() => failed !== undefined || /\r\n\r\n/.test(answer));
    return answer ? answer.slice(0, answer.indexOf('\r\n')) : `error ${(failed as NodeJS.ErrnoException).code}`;
  } finally {
    socket.destroy();
  }
}

test('a client that reads only after sending everything still reads its 429 and 415', async () => {
  const holder = rawUpload(stack, (await stack.newSession()).token, { contentLength: FIVE_MB });
  try {
    holder.write(demoPng(8, 8));
    await waitFor(() => fs.readdirSync(spool).length === 1);
    expect(await sendAllThenRead((await stack.newSession()).token, 'photo.png', 'image/png')).toBe(
      'HTTP/1.1 429 Too Many Requests',
    );
  } finally {
    holder.socket.destroy();
  }
  await waitFor(() => fs.readdirSync(spool).length === 0);
  expect(await sendAllThenRead((await stack.newSession()).token, 'report.pdf', 'application/pdf')).toBe(
    'HTTP/1.1 415 Unsupported Media Type',
  );
}, 60_000);

test('a busy instance: the 5 MB upload gets its 429 with Retry-After, not a network error', async () => {
  const holder = rawUpload(stack, (await stack.newSession()).token, { contentLength: FIVE_MB });
  try {
    holder.write(demoPng(8, 8));
    // The one upload slot is taken once that upload is spooling.
    await waitFor(() => fs.readdirSync(spool).length === 1);
    const { token } = await stack.newSession();
    for (let i = 0; i < 3; i++) {
      expect(await uploadWithFetch(token, 'photo.png', 'image/png')).toEqual({
        status: 429,
        code: 'rate_limited',
        retryAfter: expect.stringMatching(/^\d+$/),
      });
    }
  } finally {
    holder.socket.destroy();
  }
}, 60_000);

test('a type the deployment refuses: the 5 MB upload gets its 415, not a network error', async () => {
  const { token } = await stack.newSession();
  for (let i = 0; i < 3; i++) {
    expect(await uploadWithFetch(token, 'report.pdf', 'application/pdf')).toMatchObject({
      status: 415,
      code: 'attachment_type_not_allowed',
    });
  }
}, 60_000);

test('a declared size over the limit: 413 before the body is read, and the client still sees it', async () => {
  const { token } = await stack.newSession();
  expect(await uploadWithFetch(token, 'photo.png', 'image/png', 11 * 1000 * 1000)).toMatchObject({
    status: 413,
    code: 'attachment_too_large',
  });
}, 60_000);

test('after the refusals, the same connection pool uploads normally', async () => {
  const { token } = await stack.newSession();
  expect(await uploadWithFetch(token, 'photo.png', 'image/png', 100_000)).toMatchObject({ status: 201 });
}, 60_000);
