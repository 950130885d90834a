import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../simulator';
import { demoPng } from '../../simulator/richReplies';
import { peExecutable } from '../support/fileSamples';
import { rawUpload } from '../support/rawUpload';
import { bearer, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Files in transit, tried as an attacker would: every refused, aborted or
 * cut-off upload leaves nothing in the spool directory (each stack here
 * spools to a directory of its own, UPLOAD_TMP_DIR); a client dripping bytes
 * is cut off and its slot freed; one client address cannot take every
 * upload slot; a restart sweeps what a dead process left.
 */
const PNG = demoPng(8, 8);
/** The deployment's limit here: 64 KB of 1000 bytes. */
const MAX_KB = 64;

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    enableAttachments: true,
    allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }], maxFileSizeKB: MAX_KB } },
  });
});

afterAll(async () => {
  await sim.stop();
});

const spoolDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bff-spool-test-'));
const spooled = (dir: string) => fs.readdirSync(dir);

async function stackWith(dir: string, env: Record<string, string> = {}): Promise<Stack> {
  return startStack({ simulator: sim, env: { UPLOAD_TMP_DIR: dir, ...env } });
}

describe('nothing is left behind', () => {
  let dir: string;
  let stack: Stack;

  beforeAll(async () => {
    dir = spoolDir();
    stack = await stackWith(dir, { UPLOAD_MIN_BYTES_PER_SECOND: '1000', UPLOAD_RATE_WINDOW_SECONDS: '1' });
  });
  afterAll(async () => {
    await stack.close();
  });

  async function send(token: string, form: FormData) {
    const res = await fetch(`${stack.service.url}/attachments`, { method: 'POST', headers: bearer(token), body: form });
    return { status: res.status, body: (await res.json()) as { code: string } };
  }

  test('an upload that succeeds leaves nothing', async () => {
    const { token } = await stack.newSession();
    const form = new FormData();
    form.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
    expect((await send(token, form)).status).toBe(201);
    expect(spooled(dir)).toEqual([]);
  });

  test('a spooled file is written through the handle that created it (exclusive, 0600), never opened again by name', async () => {
    const { token } = await stack.newSession();
    const writes = jest.spyOn(fs, 'createWriteStream');
    try {
      const form = new FormData();
      form.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
      expect((await send(token, form)).status).toBe(201);
      const spooling = writes.mock.calls.filter(([file]) => String(file).startsWith(dir));
      expect(spooling).toHaveLength(1);
      expect(spooling[0]![1]).toEqual({ fd: expect.objectContaining({ fd: expect.any(Number) }) });
    } finally {
      writes.mockRestore();
    }
  });

  test('a second part after the file: 400, and the spooled file is removed', async () => {
    const { token } = await stack.newSession();
    const withField = new FormData();
    withField.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
    withField.append('note', 'and another thing');
    expect((await send(token, withField)).status).toBe(400);
    expect(spooled(dir)).toEqual([]);
    const twoFiles = new FormData();
    twoFiles.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
    twoFiles.append('file', new File([new Uint8Array(PNG)], 'other.png', { type: 'image/png' }));
    expect((await send(token, twoFiles)).status).toBe(400);
    expect(spooled(dir)).toEqual([]);
  });

  test('a client that vanishes mid-file leaves nothing', async () => {
    const { token } = await stack.newSession();
    const upload = rawUpload(stack, token, { contentLength: 60_000 });
    upload.write(PNG);
    upload.write(Buffer.alloc(20_000));
    await waitFor(() => spooled(dir).length === 1);
    upload.socket.destroy();
    await waitFor(() => spooled(dir).length === 0);
  });

  test('a file over the limit, declared (413 before the body is read) or found out mid-stream (413): nothing left', async () => {
    const { token } = await stack.newSession();
    const declared = rawUpload(stack, token, { contentLength: MAX_KB * 1000 + 100_000 });
    expect(await declared.status()).toBe(413);
    declared.socket.destroy();
    const streamed = rawUpload(stack, token);
    streamed.write(PNG);
    for (let i = 0; i < 8 && !/^HTTP/.test(streamed.answer()); i++) streamed.write(Buffer.alloc(10_000));
    expect(await streamed.status()).toBe(413);
    streamed.socket.destroy();
    expect(spooled(dir)).toEqual([]);
  });

  test('a deployment limit smaller than one read: 413 while the file is still being opened, nothing left, the service unharmed', async () => {
    sim.setOptions({ allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }], maxFileSizeKB: 1 } } });
    try {
      const { token } = await stack.newSession();
      const upload = rawUpload(stack, token);
      upload.write(Buffer.concat([PNG, Buffer.alloc(5_000)]));
      expect(await upload.status()).toBe(413);
      upload.socket.destroy();
      expect(spooled(dir)).toEqual([]);
    } finally {
      sim.setOptions({ allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }], maxFileSizeKB: MAX_KB } } });
    }
    expect((await stack.http.get('/healthz')).status).toBe(200);
  });

  test('a program found out by its first bytes mid-stream: 415, nothing left', async () => {
    const { token } = await stack.newSession();
    const upload = rawUpload(stack, token, { fileName: 'photo.png', type: 'image/png' });
    upload.write(peExecutable());
    upload.write(Buffer.alloc(2_000));
    expect(await upload.status()).toBe(415);
    upload.socket.destroy();
    expect(spooled(dir)).toEqual([]);
  });

  test('a client dripping bytes is cut off with 408, its file removed and its slot freed', async () => {
    const { token } = await stack.newSession();
    const upload = rawUpload(stack, token, { contentLength: 60_000 });
    upload.write(PNG);
    await waitFor(() => spooled(dir).length === 1);
    // One byte every 100 ms: far below 1000 bytes a second.
    const drip = setInterval(() => upload.write('x'), 100);
    try {
      expect(await upload.status(15_000)).toBe(408);
      expect(upload.answer()).toContain('upload_too_slow');
      await upload.closed;
    } finally {
      clearInterval(drip);
    }
    expect(spooled(dir)).toEqual([]);
    // The session's one upload slot is free again.
    const form = new FormData();
    form.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
    expect((await send(token, form)).status).toBe(201);
  }, 30_000);
});

test('one client address cannot take every upload slot while another uploads', async () => {
  const dir = spoolDir();
  const stack = await stackWith(dir, {
    TRUST_PROXY: '1',
    UPLOADS_MAX: '3',
    UPLOADS_PER_IP: '2',
    UPLOAD_MIN_BYTES_PER_SECOND: '0',
  });
  const hogs: ReturnType<typeof rawUpload>[] = [];
  try {
    const upload = async (ip: string) => {
      const form = new FormData();
      form.append('file', new File([new Uint8Array(PNG)], 'photo.png', { type: 'image/png' }));
      const res = await fetch(`${stack.service.url}/attachments`, {
        method: 'POST',
        headers: { ...bearer((await stack.newSession()).token), 'X-Forwarded-For': ip },
        body: form,
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as { code: string },
      };
    };
    // 203.0.113.7 starts uploads and never finishes them.
    for (let i = 0; i < 2; i++) {
      const hog = rawUpload(stack, (await stack.newSession()).token, {
        contentLength: 60_000,
        forwardedFor: '203.0.113.7',
      });
      hog.write(PNG);
      hogs.push(hog);
    }
    await waitFor(() => spooled(dir).length === 2);
    const third = await upload('203.0.113.7');
    expect([third.status, third.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(third.retryAfter)).toBeGreaterThan(0);
    // Another address still gets a slot.
    expect((await upload('198.51.100.20')).status).toBe(201);
    // Once the first address lets go, its slots are free again.
    for (const hog of hogs) hog.socket.destroy();
    await waitFor(() => spooled(dir).length === 0);
    await waitFor(async () => (await upload('203.0.113.7')).status === 201);
  } finally {
    for (const hog of hogs) hog.socket.destroy();
    await stack.close();
  }
}, 30_000);

test('a shutdown removes the files of uploads still coming in', async () => {
  const dir = spoolDir();
  const stack = await stackWith(dir, { UPLOAD_MIN_BYTES_PER_SECOND: '0', SHUTDOWN_GRACE_MS: '200' });
  const upload = rawUpload(stack, (await stack.newSession()).token, { contentLength: 60_000 });
  upload.write(PNG);
  await waitFor(() => spooled(dir).length === 1);
  await stack.service.stop();
  expect(spooled(dir)).toEqual([]);
  upload.socket.destroy();
  await stack.close();
});

test("a start removes the files a stopped process left, and leaves a running one's and other files alone", async () => {
  const dir = spoolDir();
  const deadPid = 2 ** 22 + 12345; // above any pid Linux hands out
  const left = [
    `bff-upload-${deadPid}-${randomUUID()}`,
    `bff-upload-${process.pid}-${randomUUID()}`,
    `bff-upload-${randomUUID()}`,
  ];
  const kept = [`bff-upload-${process.ppid}-${randomUUID()}`, 'notes.txt'];
  for (const name of [...left, ...kept]) fs.writeFileSync(path.join(dir, name), 'x');
  const stack = await stackWith(dir);
  try {
    expect(spooled(dir).sort()).toEqual([...kept].sort());
  } finally {
    await stack.close();
  }
});

test('an UPLOAD_TMP_DIR that cannot hold files stops the start with a message naming it', async () => {
  const notADirectory = path.join(spoolDir(), 'a-file');
  fs.writeFileSync(notADirectory, 'x');
  await expect(stackWith(notADirectory)).rejects.toThrow(/UPLOAD_TMP_DIR .*a-file cannot hold uploads/);
});
