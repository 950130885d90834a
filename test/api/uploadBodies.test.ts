import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { demoPng } from '../../simulator/richReplies';
import { DISCARD_MAX_BYTES } from '../../src/http/uploads/multipart';
import { peExecutable } from '../support/fileSamples';
import { scrape } from '../support/metrics';
import { rawUpload } from '../support/rawUpload';
import { bearer, startStack, type Stack } from '../support/stack';
import { EVENT_WAIT_MS, waitFor } from '../support/wait';

/**
 * What an upload body may be, as POST /attachments holds it (http/multipart.ts and
 * routes/attachments.ts): every body that is not one named `file` part is refused with its
 * own words and leaves nothing spooled; a body that arrives slowly but above the floor is
 * taken; a refusal keeps the connection (the rest of the body is read) unless the body is
 * too large to read through; the service's own file system failing is its fault, not the
 * guest's; each outcome is counted; and the link route's refusals say what is wrong.
 */
const PNG = demoPng(8, 8);
const BOUNDARY = 'upload-bodies';
const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
/** UPLOAD_MIN_BYTES_PER_SECOND over windows of one second. */
const FLOOR = 1000;

let stack: Stack;
const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-bodies-spool-'));
const spooled = () => fs.readdirSync(spool);

beforeAll(async () => {
  stack = await startStack({
    sim: { agent: { enabled: false } },
    env: {
      METRICS_PORT: '0',
      UPLOAD_TMP_DIR: spool,
      UPLOAD_MIN_BYTES_PER_SECOND: String(FLOOR),
      UPLOAD_RATE_WINDOW_SECONDS: '1',
    },
  });
});
afterAll(async () => {
  try {
    await stack?.close();
  } finally {
    fs.rmSync(spool, { recursive: true, force: true });
  }
});
/** The sockets a test opened by hand: destroyed after it, passed or failed. */
const sockets: net.Socket[] = [];
afterEach(() => {
  stack.sim.faults.clear();
  for (const socket of sockets.splice(0)) socket.destroy();
});
/** An upload written by hand (support/rawUpload.ts), its socket destroyed after the test. */
function rawUploadHere(...args: Parameters<typeof rawUpload>) {
  const upload = rawUpload(...args);
  sockets.push(upload.socket);
  return upload;
}

const part = (headers: string, content: Buffer | string) =>
  Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
const filePart = (name = 'file', fileName = 'photo.png', content: Buffer | string = PNG) =>
  part(`Content-Disposition: form-data; name="${name}"; filename="${fileName}"\r\nContent-Type: image/png`, content);
const END = Buffer.from(`--${BOUNDARY}--\r\n`);

async function post(token: string, body: Uint8Array | string, contentType = MULTIPART) {
  const res = await fetch(`${stack.service.url}/attachments`, {
    method: 'POST',
    headers: { ...bearer(token), 'Content-Type': contentType },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, problem: (await res.json()) as { code: string; detail: string } };
}

describe('a body that is not one named file part is refused with its own words, and leaves nothing spooled', () => {
  test.each([
    [
      'not multipart at all',
      '{}',
      'application/json',
      415,
      'unsupported_media_type',
      'Send the file as multipart/form-data with one "file" part.',
    ],
    [
      'a text field instead of the file',
      Buffer.concat([part('Content-Disposition: form-data; name="note"', 'hello'), END]),
      MULTIPART,
      400,
      'validation_failed',
      'Send only the "file" part.',
    ],
    [
      'a text field, then the file',
      Buffer.concat([part('Content-Disposition: form-data; name="note"', 'hello'), filePart(), END]),
      MULTIPART,
      400,
      'validation_failed',
      'Send only the "file" part.',
    ],
    [
      'two files',
      Buffer.concat([filePart(), filePart('file', 'other.png'), END]),
      MULTIPART,
      400,
      'validation_failed',
      'Send one file per upload.',
    ],
    [
      'the file under another name',
      Buffer.concat([filePart('upload'), END]),
      MULTIPART,
      400,
      'validation_failed',
      'The file must be sent in a part named "file".',
    ],
    [
      'a file part without a file name',
      Buffer.concat([
        part('Content-Disposition: form-data; name="file"\r\nContent-Type: application/octet-stream', PNG),
        END,
      ]),
      MULTIPART,
      400,
      'validation_failed',
      'The file name must be 1 to 1023 characters, without path separators or control characters.',
    ],
    [
      'no multipart framing inside',
      'hello there',
      MULTIPART,
      400,
      'validation_failed',
      'The multipart body is malformed.',
    ],
    [
      'a part with a malformed header',
      `--${BOUNDARY}\r\nnot a header\r\n\r\nabc\r\n--${BOUNDARY}--\r\n`,
      MULTIPART,
      400,
      'validation_failed',
      'The multipart body is malformed.',
    ],
    [
      'the file, then a part that names nothing',
      Buffer.concat([filePart(), part('Content-Type: text/plain', 'x'), END]),
      MULTIPART,
      400,
      'validation_failed',
      'Send one "file" part and nothing else.',
    ],
    ['no part at all', END, MULTIPART, 400, 'validation_failed', 'The body has no "file" part.'],
    [
      'an empty file',
      Buffer.concat([filePart('file', 'photo.png', ''), END]),
      MULTIPART,
      400,
      'validation_failed',
      'The file is empty.',
    ],
  ])('%s', async (_how, body, contentType, status, code, detail) => {
    const { token } = await stack.newSession();
    const res = await post(token, body, contentType);
    expect([res.status, res.problem.code, res.problem.detail]).toEqual([status, code, detail]);
    expect(spooled()).toEqual([]);
  });
});

test('a program whose first bytes arrive a few at a time is judged on them all: 415, nothing spooled', async () => {
  const { token } = await stack.newSession();
  const upload = rawUploadHere(stack, token, { fileName: 'photo.png', type: 'image/png' });
  const program = Buffer.concat([peExecutable(), Buffer.alloc(2_000)]);
  // One byte, then the rest: the file's first read holds `M` alone.
  upload.write(program.subarray(0, 1));
  await waitFor(() => spooled().length === 1);
  await sleep(20);
  upload.write(program.subarray(1));
  upload.finish();
  expect(await upload.status()).toBe(415);
  upload.socket.destroy();
  await waitFor(() => spooled().length === 0);
});

test.each([
  [1008, 415],
  [1024, 201],
])(
  'a file is judged on its first KiB alone, however its body is split: a marker at byte %i is answered %i',
  async (at, status) => {
    const { token } = await stack.newSession();
    const upload = rawUploadHere(stack, token, { fileName: 'photo.png', type: 'image/png' });
    upload.write(Buffer.alloc(1000, 'a'));
    await waitFor(() => spooled().length === 1);
    // Most likely a read of its own: what a window counted per read would let grow past the first KiB.
    await sleep(20);
    // An HTML application's marker (16 bytes found): within the first KiB when it ends by byte 1024.
    upload.write(
      Buffer.concat([Buffer.alloc(at - 1000, 'a'), Buffer.from('<hta:application>'), Buffer.alloc(1000, 'a')]),
    );
    upload.finish();
    expect(await upload.status()).toBe(status);
  },
);

describe('the pace floor (UPLOAD_MIN_BYTES_PER_SECOND)', () => {
  test('a body that takes several windows but keeps above the floor is taken', async () => {
    const { token } = await stack.newSession();
    const upload = rawUploadHere(stack, token);
    upload.write(PNG);
    // Three times the floor, for three windows.
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      upload.write(Buffer.alloc((3 * FLOOR) / 4));
    }
    upload.finish();
    expect(await upload.status()).toBe(201);
    upload.socket.destroy();
  });

  test('a body below it is cut off with 408, the floor named, and the connection closed', async () => {
    const { token } = await stack.newSession();
    const upload = rawUploadHere(stack, token);
    upload.write(PNG);
    const drip = setInterval(() => upload.write('x'), 100);
    try {
      expect(await upload.status()).toBe(408);
      await upload.closed;
    } finally {
      clearInterval(drip);
    }
    const answer = upload.answer();
    const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^connection: close$/im);
    expect(JSON.parse(answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1))).toMatchObject({
      code: 'upload_too_slow',
      detail: `The upload arrived slower than ${FLOOR} bytes a second and was cut off.`,
      minBytesPerSecond: FLOOR,
    });
    expect(spooled()).toEqual([]);
  });
});

/** One HTTP/1.1 connection written by hand: the test decides when each byte goes, and reads every answer on it. */
function connection() {
  const socket = net.connect(Number(new URL(stack.service.url).port), '127.0.0.1');
  sockets.push(socket);
  let text = '';
  socket.setEncoding('latin1').on('data', (d: string) => (text += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const heads = () => [...text.matchAll(/HTTP\/1\.1 \d{3}[^]*?\r\n\r\n/g)].map((m) => m[0]);
  return {
    socket,
    closed,
    isClosed: () => socket.destroyed,
    /** Settles once the kernel took the bytes, or the connection is gone. */
    write: (data: Buffer | string) =>
      new Promise<void>((resolve) => {
        if (socket.destroyed || socket.write(data)) return resolve();
        socket.once('drain', () => resolve());
        socket.once('close', () => resolve());
      }),
    /** The head (status line and headers) of the n-th answer on the connection, once it is in. */
    async head(n: number): Promise<string> {
      await waitFor(() => heads().length >= n);
      return heads()[n - 1]!;
    },
  };
}

const uploadHead = (token: string, length: number | 'chunked') =>
  `POST /attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${MULTIPART}\r\n${length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n`;
const HEALTH = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

describe('a refused upload and its connection', () => {
  test('refused on its part headers, mid-body: the answer keeps the connection, the rest is read, and the next request on it is answered', async () => {
    const { token } = await stack.newSession();
    const body = Buffer.concat([filePart('upload', 'photo.png', Buffer.concat([PNG, Buffer.alloc(40_000)])), END]);
    const c = connection();
    await c.write(uploadHead(token, body.length));
    await c.write(body.subarray(0, 1_000));
    const refused = await c.head(1);
    expect(refused).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused).toMatch(/^connection: keep-alive$/im);
    await c.write(body.subarray(1_000));
    await c.write(HEALTH);
    expect(await c.head(2)).toMatch(/^HTTP\/1\.1 200 /);
    c.socket.destroy();
  });

  test('a declared body of DISCARD_MAX_BYTES is read through after its 413; one byte more is refused with the connection closed', async () => {
    const { token } = await stack.newSession();
    const readThrough = connection();
    await readThrough.write(uploadHead(token, DISCARD_MAX_BYTES));
    const kept = await readThrough.head(1);
    expect(kept).toMatch(/^HTTP\/1\.1 413 /);
    expect(kept).toMatch(/^connection: keep-alive$/im);
    readThrough.socket.destroy();

    const tooLarge = connection();
    await tooLarge.write(uploadHead(token, DISCARD_MAX_BYTES + 1));
    const closing = await tooLarge.head(1);
    expect(closing).toMatch(/^HTTP\/1\.1 413 /);
    expect(closing).toMatch(/^connection: close$/im);
    await tooLarge.closed;
  });

  test('a refused body of no declared length is read up to DISCARD_MAX_BYTES, then cut off', async () => {
    const { token } = await stack.newSession();
    const c = connection();
    await c.write(uploadHead(token, 'chunked'));
    const first = filePart('upload').subarray(0, 200);
    await c.write(`${first.length.toString(16)}\r\n`);
    await c.write(first);
    await c.write('\r\n');
    expect(await c.head(1)).toMatch(/^HTTP\/1\.1 400 /);
    const chunk = Buffer.alloc(1024 * 1024);
    const most = 2 * DISCARD_MAX_BYTES;
    let sent = 0;
    while (sent < most && !c.isClosed()) {
      await c.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      sent += chunk.length;
    }
    // Cut off while the test writes: well before twice the bound (the kernel's buffers hold a few MB), never before it.
    // (Once the writing stops, the pace floor would cut the connection off too: so it must be closed before.)
    expect(sent).toBeLessThan(most);
    expect(sent).toBeGreaterThanOrEqual(DISCARD_MAX_BYTES - chunk.length);
    await c.closed;
  });
});

describe('each outcome counted (genesys_bff_attachments_total)', () => {
  const counted = async () => {
    const s = await scrape(stack.service.metricsUrl!);
    const of = (result: string) => s.value('genesys_bff_attachments_total', { result });
    return { uploaded: of('uploaded'), refused: of('refused'), failed: of('failed'), cancelled: of('cancelled') };
  };
  const form = () => new Uint8Array(Buffer.concat([filePart(), END]));

  test('an upload taken, one refused and one the guest cancelled while Genesys took the file', async () => {
    const { token } = await stack.newSession();
    const before = await counted();
    expect((await post(token, form())).status).toBe(201);
    expect((await post(token, Buffer.concat([filePart('upload'), END]))).status).toBe(400);
    stack.sim.faults.delayRest('upload', 1_000, { times: 1 });
    const puts = stack.sim.requests.filter((r) => r.target === 'upload').length;
    const cancel = new AbortController();
    const cancelled = fetch(`${stack.service.url}/attachments`, {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': MULTIPART },
      body: form(),
      signal: cancel.signal,
    }).catch(() => 'cancelled');
    await waitFor(() => stack.sim.requests.filter((r) => r.target === 'upload').length > puts, EVENT_WAIT_MS, 20);
    cancel.abort();
    expect(await cancelled).toBe('cancelled');
    await waitFor(async () => (await counted()).cancelled > before.cancelled);
    expect(await counted()).toEqual({
      uploaded: before.uploaded + 1,
      refused: before.refused + 1,
      failed: before.failed,
      cancelled: before.cancelled + 1,
    });
  });

  test('a client that vanishes mid-file is counted as cancelled', async () => {
    const { token } = await stack.newSession();
    const before = await counted();
    const upload = rawUploadHere(stack, token, { contentLength: 60_000 });
    upload.write(PNG);
    await waitFor(() => spooled().length === 1);
    upload.socket.destroy();
    await waitFor(async () => (await counted()).cancelled > before.cancelled);
    expect(await counted()).toEqual({ ...before, cancelled: before.cancelled + 1 });
  });

  test("the spool directory gone: the service's fault (500), counted as failed and logged; uploads work again once it is back", async () => {
    const { token } = await stack.newSession();
    const before = await counted();
    fs.rmSync(spool, { recursive: true });
    try {
      const res = await post(token, form());
      expect([res.status, res.problem.code]).toEqual([500, 'internal_error']);
    } finally {
      fs.mkdirSync(spool);
    }
    expect(await counted()).toEqual({ ...before, failed: before.failed + 1 });
    // Logged as an error with what the file system said.
    const logged = stack.log.lines().find((l) => l.level >= 50 && /could not be held/.test(String(l.msg)));
    expect(JSON.stringify(logged)).toContain('ENOENT');
    expect((await post(token, form())).status).toBe(201);
  });
});

test("a file of exactly the deployment's limit is taken; one byte more is 413", async () => {
  // A spool of its own: a start sweeps its directory of this process's files, and the other stack's are in `spool`.
  const ownSpool = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-limit-spool-'));
  const limited = await startStack({
    sim: { agent: { enabled: false }, allowedMedia: { inbound: { fileTypes: [{ type: '*/*' }], maxFileSizeKB: 20 } } },
    env: { UPLOAD_TMP_DIR: ownSpool },
  });
  try {
    const { token } = await limited.newSession();
    const file = (size: number) => {
      const bytes = Buffer.alloc(size);
      PNG.copy(bytes);
      return new Uint8Array(Buffer.concat([filePart('file', 'photo.png', bytes), END]));
    };
    const send = (size: number) =>
      fetch(`${limited.service.url}/attachments`, {
        method: 'POST',
        headers: { ...bearer(token), 'Content-Type': MULTIPART },
        body: file(size),
      });
    expect((await send(20_000)).status).toBe(201);
    const over = await send(20_001);
    expect([over.status, ((await over.json()) as { code: string }).code]).toEqual([413, 'attachment_too_large']);
  } finally {
    await limited.close();
    fs.rmSync(ownSpool, { recursive: true, force: true });
  }
});

describe('an attachment link', () => {
  /** The `url` of a file the session just uploaded. */
  const uploadedLink = async (
    token: string,
    { query = '', headers = {} }: { query?: string; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(`${stack.service.url}/attachments${query}`, {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': MULTIPART, ...headers },
      body: new Uint8Array(Buffer.concat([filePart(), END])),
    });
    return ((await res.json()) as { attachment: { url: string } }).attachment.url;
  };
  const routingKeyIn = (link: string) => new URL(link).searchParams.get('routingKey');

  test('a link names the routing key the client sent (?routingKey=, else X-Chat-Session), so it comes back to the instance of the session', async () => {
    const { token, body } = await stack.newSession();
    const own = body.routingKey as string;
    const proposed = 'proposed-by-client_01';
    expect(routingKeyIn(await uploadedLink(token))).toBe(own);
    expect(
      routingKeyIn(
        await uploadedLink(token, {
          query: `?routingKey=${proposed}`,
          headers: { 'X-Chat-Session': 'the-header-loses-to-the-query' },
        }),
      ),
    ).toBe(proposed);
    expect(routingKeyIn(await uploadedLink(token, { headers: { 'X-Chat-Session': proposed } }))).toBe(proposed);
    // A malformed one is not written into a link: the session's own is.
    expect(routingKeyIn(await uploadedLink(token, { headers: { 'X-Chat-Session': 'short' } }))).toBe(own);
  });

  test('an id outside the safe set or too long, and an id with neither a link nor a session token', async () => {
    const refusal = [400, 'The attachment id must be 1 to 128 letters, digits, "-" or "_", as Genesys issued it.'];
    const notAnId = await stack.http.get('/attachments/not%20an%20id/content');
    expect([notAnId.status, notAnId.body.detail]).toEqual(refusal);
    const tooLong = await stack.http.get(`/attachments/${'a'.repeat(129)}/content`);
    expect([tooLong.status, tooLong.body.detail]).toEqual(refusal);
    // Not a UUID, but an id Genesys may issue: what is missing is the link.
    const opaque = await stack.http.get('/attachments/att_Zm9v-YmFy/content');
    expect(opaque.status).toBe(401);
    const bare = await stack.http.get('/attachments/5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30/content');
    expect([bare.status, bare.body.detail]).toEqual([
      401,
      "Use the attachment's `url` (it carries its own link), or send the session token.",
    ]);
  });

  test('a link answers with a redirect the browser does not keep (its target expires)', async () => {
    const { token } = await stack.newSession();
    const res = await fetch(await uploadedLink(token), { redirect: 'manual' });
    expect([res.status, res.headers.get('cache-control')]).toEqual([302, 'no-store']);
  });

  test('the link of a chat ended with DELETE: 410, because the chat was ended', async () => {
    const { token } = await stack.newSession();
    const link = await uploadedLink(token);
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    const res = await fetch(link, { redirect: 'manual' });
    const problem = (await res.json()) as { code: string; detail: string };
    expect([res.status, problem.code, problem.detail]).toEqual([
      410,
      'session_expired',
      'This chat was ended; its files are no longer served.',
    ]);
  });
});
