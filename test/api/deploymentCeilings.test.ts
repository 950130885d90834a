import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import request from 'supertest';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { rawUpload } from '../support/rawUpload';
import { demoPng } from '../../simulator/richReplies';
import { openStream, type SseStream } from '../support/sse';
import { simProfile } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The ceilings on what one instance holds are the instance's, however many deployments it serves
 * (docs/configuration.md#deployments): three deployments, each on its own simulator, share GUEST_SOCKET_MAX,
 * UPLOADS_MAX, and for one client address STREAMS_PER_IP and UPLOADS_PER_IP, whichever deployments the chats chose.
 */

const ORIGINS = ['https://shop.example', 'https://clinic.example', 'https://outlet.example'];
const SEED = Number(process.env.CEILINGS_SEED ?? Date.now() % 1_000_000);

let sims: Simulator[] = [];
let service: RunningService;
let dir: string;

beforeAll(async () => {
  sims = await Promise.all(
    ['1', '2', '3'].map((n) =>
      startSimulator({
        profile: simProfile(),
        agent: { enabled: false },
        deploymentId: `0f1e2d3c-4b5a-4697-8877-66554433221${n}`,
        fileUploadModes: [{ fileTypes: ['image/png'], maxFileSizeKB: 1000 }],
      }),
    ),
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployment-ceilings-'));
  const file = path.join(dir, 'deployments.json');
  const names = ['shop', 'clinic', 'outlet'];
  const deployments = sims.map((sim, i) => deploymentEntryFor(sim, names[i]!, [ORIGINS[i]!]));
  fs.writeFileSync(file, JSON.stringify({ deployments }));
  const env = deploymentsFileEnv(file, {
    GUEST_SOCKET_MAX: '4',
    STREAMS_PER_IP: '2',
    UPLOADS_MAX: '2',
    UPLOADS_PER_IP: '1',
    UPLOAD_MIN_BYTES_PER_SECOND: '0',
    UPLOAD_TMP_DIR: dir,
    // The test's connections come from loopback; each says which client it stands for.
    TRUST_PROXY: 'loopback',
    SESSIONS_PER_IP_PER_MINUTE: '1000',
  });
  service = await startService(await readConfig(env), captureLogger().logger);
  await waitFor(async () => (await request(service.url).get('/readyz')).body.status === 'ready');
});

afterAll(async () => {
  await service?.stop();
  for (const sim of sims) await sim.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

let clients = 0;
/** A client address of its own, so that no per-address limit but the one under test is met. */
const nextClient = () => `10.0.${Math.floor(++clients / 250)}.${clients % 250}`;

async function start(deployment: number, client = nextClient()): Promise<{ token: string; client: string }> {
  const res = await request(service.url)
    .post('/guest-session')
    .set('Origin', ORIGINS[deployment]!)
    .set('X-Forwarded-For', client)
    .send({});
  expect(res.status).toBe(201);
  return { token: res.body.sessionToken as string, client };
}

function stream(deployment: number, chat: { token: string; client: string }): Promise<SseStream> {
  return openStream(`${service.url}/messages/stream`, {
    Origin: ORIGINS[deployment]!,
    Authorization: `Bearer ${chat.token}`,
    'X-Forwarded-For': chat.client,
  });
}

/** Live chats (each with its stream open, so never closed to make room) on these deployments. */
async function liveChats(deployments: number[]): Promise<SseStream[]> {
  const streams: SseStream[] = [];
  for (const d of deployments) {
    const chat = await start(d);
    const live = await stream(d, chat);
    await live.next((e) => e.event === 'session');
    streams.push(live);
  }
  return streams;
}

test('GUEST_SOCKET_MAX: the fifth live chat gets 503 with Retry-After, whichever deployments the five chose', async () => {
  const choices = fc.sample(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 }), {
    seed: SEED,
    numRuns: 4,
  });
  for (const choice of choices) {
    const held = await liveChats(choice.slice(0, 4));
    try {
      const fifth = await request(service.url)
        .post('/guest-session')
        .set('Origin', ORIGINS[choice[4]!]!)
        .set('X-Forwarded-For', nextClient())
        .send({});
      expect({ choice, seed: SEED, status: fifth.status, code: fifth.body.code }).toEqual({
        choice,
        seed: SEED,
        status: 503,
        code: 'upstream_unavailable',
      });
      expect(Number(fifth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      for (const live of held) live.close();
    }
    // Once the streams are gone their sessions are idle: they make room for the next chats.
    await waitFor(async () => {
      const res = await request(service.url)
        .post('/guest-session')
        .set('Origin', ORIGINS[choice[4]!]!)
        .set('X-Forwarded-For', nextClient())
        .send({});
      return res.status === 201;
    }, 15_000);
  }
});

test('STREAMS_PER_IP: one address holds at most its streams across every deployment', async () => {
  const client = nextClient();
  const chats = [await start(0, client), await start(1, client), await start(2, client)];
  const held = [await stream(0, chats[0]!), await stream(1, chats[1]!)];
  try {
    const third = await fetch(`${service.url}/messages/stream`, {
      headers: { Origin: ORIGINS[2]!, Authorization: `Bearer ${chats[2]!.token}`, 'X-Forwarded-For': client },
    });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ detail: expect.stringMatching(/for this address/) });
    // Another address is not held to it.
    const elsewhere = await stream(2, await start(2));
    elsewhere.close();
  } finally {
    for (const live of held) live.close();
  }
});

describe('uploads', () => {
  const opened: ReturnType<typeof rawUpload>[] = [];
  afterEach(async () => {
    for (const upload of opened.splice(0)) upload.socket.destroy();
    await waitFor(() => spooled() === 0);
  });

  /** The uploads whose bodies are being spooled now. */
  const spooled = () => fs.readdirSync(dir).filter((f) => f.startsWith('bff-upload-')).length;

  /** An upload held open (its body never finished) for a chat of `deployment`, from `client`. */
  async function holding(deployment: number, client = nextClient()) {
    const { token } = await start(deployment, client);
    const upload = rawUpload({ service }, token, { forwardedFor: client, contentLength: 60_000 });
    upload.write(demoPng(4, 4));
    opened.push(upload);
    return upload;
  }

  test('UPLOADS_MAX: the instance runs at most its uploads at once, whichever deployments they are for', async () => {
    const [first, second] = [await holding(0), await holding(1)];
    // Both are in: each holds its slot and spools its body.
    await waitFor(() => spooled() === 2);
    const third = await holding(2);
    expect(await third.status()).toBe(429);
    expect(third.answer()).toMatch(/busy uploading/);
    expect(third.answer()).toMatch(/\r\nRetry-After: \d+\r\n/i);
    first.socket.destroy();
    second.socket.destroy();
    await Promise.all([first.closed, second.closed]);
    await waitFor(() => spooled() === 0);
    // Their slots are free again: a new upload is taken in.
    const { token } = await start(2);
    const form = new FormData();
    form.append('file', new File([new Uint8Array(demoPng(4, 4))], 'photo.png', { type: 'image/png' }));
    const next = await fetch(`${service.url}/attachments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, Origin: ORIGINS[2]! },
      body: form,
    });
    expect(next.status).toBe(201);
  });

  test('UPLOADS_PER_IP: one address runs at most its uploads across every deployment', async () => {
    const client = nextClient();
    await holding(0, client);
    await waitFor(() => spooled() === 1);
    const other = await holding(1, client);
    expect(await other.status()).toBe(429);
    expect(other.answer()).toMatch(/At most 1 uploads at once from one address/);
  });
});
