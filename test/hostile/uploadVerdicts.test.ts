import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import supertest from 'supertest';
import { startSimulator, type Simulator } from '../../simulator';
import { demoPng } from '../../simulator/richReplies';
import { freePort } from '../support/ports';
import { bearer, PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * Storage answers an upload's PUT and Genesys pushes its verdict on the file
 * independently, in either order. The service runs here as it does in
 * production, `src/main.ts` in a process of its own (where an unhandled
 * rejection ends the process, which jest would not show), against the strict
 * simulator, which pushes the verdict before it answers the PUT.
 * GENESYS_TIMEOUT_MS is 2 s: the PUT may take six times that, and the
 * verdict may come three times that after the PUT.
 *
 * @lane full — src/main.ts as its own process, waiting out slow and unanswered PUTs (about 25 s)
 */
const ROOT = path.resolve(__dirname, '../..');
const PNG = demoPng(8, 8);

let sim: Simulator;
let child: ChildProcess;
let exited: Promise<number | null>;
let output = '';
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { enabled: false } });
  const port = await freePort();
  const env = simulatorEnv(sim, {
    PORT: String(port),
    LOG_LEVEL: 'info',
    NODE_ENV: 'production',
    GENESYS_TIMEOUT_MS: '2000',
  });
  child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), 'src/main.ts'], {
    cwd: ROOT,
    env: { ...env, PATH: process.env.PATH, DOTENV_CONFIG_PATH: path.join(ROOT, 'test/hostile/no-such.env') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    () =>
      fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      ),
    30_000,
    100,
  );
  http = supertest(url);
}, 60_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await exited;
  await sim?.stop();
});

/** The service process is still running and serving. */
async function expectAlive(): Promise<void> {
  expect({ exitCode: child.exitCode, output: child.exitCode === null ? '' : output }).toEqual({
    exitCode: null,
    output: '',
  });
  expect((await http.get('/healthz')).status).toBe(200);
}

async function newSession(): Promise<string> {
  const res = await http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
  expect(res.status).toBe(201);
  return res.body.sessionToken as string;
}

const upload = (token: string) =>
  http.post('/attachments').set(bearer(token)).attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
const deleted = () =>
  sim.received.filter((f) => f.frame?.action === 'deleteAttachment').map((f) => f.frame.attachmentId as string);
const lastPresigned = () =>
  sim.received.filter((f) => f.frame?.action === 'onAttachment').at(-1)!.frame.attachmentId as string;

test('Genesys refuses the file before storage answered its PUT: 415, nothing to delete, and the service carries on', async () => {
  const token = await newSession();
  sim.faults.failNextUpload();
  const refused = await upload(token);
  expect([refused.status, refused.body.code]).toEqual([415, 'attachment_type_not_allowed']);
  // Genesys has no file: as its SDK, no deleteAttachment for it.
  expect(deleted()).not.toContain(lastPresigned());
  await expectAlive();
  expect((await upload(token)).status).toBe(201);
}, 30_000);

test('a PUT that takes longer than three times GENESYS_TIMEOUT_MS, within its own deadline, is a success', async () => {
  const token = await newSession();
  sim.faults.delayRest('upload', 8_000, { times: 1 });
  const res = await upload(token);
  expect([res.status, res.body.code]).toEqual([201, undefined]);
  expect(res.body.attachment.id).toBe(lastPresigned());
  expect(deleted()).not.toContain(res.body.attachment.id);
  await expectAlive();
}, 30_000);

test('a PUT storage does not answer within six times GENESYS_TIMEOUT_MS: 504 upstream_unavailable; the file is deleted at Genesys once Genesys confirms it after all', async () => {
  const token = await newSession();
  sim.faults.delayRest('upload', 15_000, { times: 1 });
  const res = await upload(token);
  expect([res.status, res.body.code]).toEqual([504, 'upstream_unavailable']);
  const id = lastPresigned();
  // Not before Genesys has it (deleteAttachment only for an uploaded file, as Genesys's SDK).
  expect(deleted()).not.toContain(id);
  await waitFor(() => deleted().includes(id), 15_000, 50);
  await expectAlive();
}, 45_000);
