import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { demoPng } from '../../simulator/richReplies';
import { rawUpload } from '../support/rawUpload';
import { simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { launchChromium } from '../support/browser';

/**
 * A page in Chromium uploads 5 MB with fetch and FormData, as a chat UI
 * does, to an instance that refuses it before reading the body: busy (429)
 * or the type refused (415). The page sees the status and the problem, not
 * "TypeError: Failed to fetch". The page has an origin of its own (an
 * allowed one), so its fetch to the service is cross-origin, CORS and all.
 *
 * @needs chromium
 */

jest.setTimeout(90_000);

let stack: Stack;
let browser: Browser;
let page: Page;
let pages: http.Server;
let pageOrigin: string;
const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-browser-refusal-'));

beforeAll(async () => {
  pages = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>chat</title><p>chat</p>'),
  );
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  stack = await startStack({
    sim: {
      profile: simProfile(),
      agent: { enabled: false },
      enableAttachments: true,
      allowedMedia: { inbound: { fileTypes: [{ type: 'image/*' }], maxFileSizeKB: 10240 } },
    },
    env: {
      UPLOADS_MAX: '1',
      UPLOAD_MIN_BYTES_PER_SECOND: '0',
      UPLOAD_TMP_DIR: spool,
      CORS_ALLOWED_ORIGINS: `http://localhost:3000,${pageOrigin}`,
    },
  });
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  await page.goto(`${pageOrigin}/`);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((resolve) => pages?.close(resolve));
});

/** A session started from the page's origin (a session token is bound to the origin that created it). */
async function pageSession(): Promise<string> {
  const res = await stack.http.post('/guest-session').set('Origin', pageOrigin).send({});
  expect(res.status).toBe(201);
  return res.body.sessionToken as string;
}

/** What the page's fetch makes of a 5 MB upload: the status and problem code, or the error it threw. */
function uploadFromPage(
  token: string,
  fileName: string,
  type: string,
): Promise<{ status?: number; code?: string; retryAfter?: string | null; error?: string }> {
  return page.evaluate(
    async ({ url, token, fileName, type, head }) => {
      const bytes = new Uint8Array(5 * 1000 * 1000);
      bytes.set(head);
      const form = new FormData();
      form.append('file', new File([bytes], fileName, { type }));
      try {
        const res = await fetch(`${url}/attachments`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}` },
          body: form,
        });
        const body = (await res.json()) as { code?: string };
        return { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after') };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url: stack.service.url, token, fileName, type, head: [...demoPng(8, 8)] },
  );
}

test('a busy instance: the page sees 429 with Retry-After, not a network error', async () => {
  const holder = rawUpload(stack, (await stack.newSession()).token, { contentLength: 5_000_000 });
  try {
    holder.write(demoPng(8, 8));
    await waitFor(() => fs.readdirSync(spool).length === 1, 5_000);
    const token = await pageSession();
    for (let i = 0; i < 3; i++) {
      expect(await uploadFromPage(token, 'photo.png', 'image/png')).toEqual({
        status: 429,
        code: 'rate_limited',
        retryAfter: expect.stringMatching(/^\d+$/),
      });
    }
  } finally {
    holder.socket.destroy();
  }
});

test('a type the deployment refuses: the page sees 415, not a network error', async () => {
  await waitFor(() => fs.readdirSync(spool).length === 0, 5_000);
  const token = await pageSession();
  for (let i = 0; i < 3; i++) {
    expect(await uploadFromPage(token, 'report.pdf', 'application/pdf')).toMatchObject({
      status: 415,
      code: 'attachment_type_not_allowed',
    });
  }
});

test('an allowed file from the same page is uploaded', async () => {
  expect(await uploadFromPage(await pageSession(), 'photo.png', 'image/png')).toMatchObject({ status: 201 });
});
