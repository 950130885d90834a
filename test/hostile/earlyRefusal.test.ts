import fs from 'node:fs';
import os from 'node:os';
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
 * test/browser/uploadRefusals.test.ts does the same from Chromium.
 */
let stack: Stack;
const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-early-refusal-'));

beforeAll(async () => {
  stack = await startStack({
    sim: { profile: simProfile(), agent: { enabled: false }, enableAttachments: true, allowedMedia: { inbound: { fileTypes: [{ type: 'image/*' }], maxFileSizeKB: 10240 } } },
    env: { UPLOADS_MAX: '1', UPLOAD_MIN_BYTES_PER_SECOND: '0', UPLOAD_TMP_DIR: spool },
  });
});

afterAll(async () => {
  await stack.close();
});

const FIVE_MB = 5 * 1000 * 1000;

/** A 5 MB file as a page would send it with fetch and FormData; the status, or the network error's name. */
async function uploadWithFetch(token: string, fileName: string, type: string, size = FIVE_MB): Promise<{ status: number; code?: string; retryAfter?: string | null } | { error: string }> {
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

test('a busy instance: the 5 MB upload gets its 429 with Retry-After, not a network error', async () => {
  const holder = rawUpload(stack, (await stack.newSession()).token, { contentLength: FIVE_MB });
  try {
    holder.write(demoPng(8, 8));
    // The one upload slot is taken once that upload is spooling.
    await waitFor(() => fs.readdirSync(spool).length === 1, 5_000);
    const { token } = await stack.newSession();
    for (let i = 0; i < 3; i++) {
      expect(await uploadWithFetch(token, 'photo.png', 'image/png')).toEqual({ status: 429, code: 'rate_limited', retryAfter: expect.stringMatching(/^\d+$/) });
    }
  } finally {
    holder.socket.destroy();
  }
}, 60_000);

test('a type the deployment refuses: the 5 MB upload gets its 415, not a network error', async () => {
  const { token } = await stack.newSession();
  for (let i = 0; i < 3; i++) {
    expect(await uploadWithFetch(token, 'report.pdf', 'application/pdf')).toMatchObject({ status: 415, code: 'attachment_type_not_allowed' });
  }
}, 60_000);

test('a declared size over the limit: 413 before the body is read, and the client still sees it', async () => {
  const { token } = await stack.newSession();
  expect(await uploadWithFetch(token, 'photo.png', 'image/png', 11 * 1000 * 1000)).toMatchObject({ status: 413, code: 'attachment_too_large' });
}, 60_000);

test('after the refusals, the same connection pool uploads normally', async () => {
  const { token } = await stack.newSession();
  expect(await uploadWithFetch(token, 'photo.png', 'image/png', 100_000)).toMatchObject({ status: 201 });
}, 60_000);
