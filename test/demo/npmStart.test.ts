import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dataOf, openStream } from '../support/sse';
import { freePort } from '../support/ports';

/**
 * The README's run command, exactly: `npm start` (which builds, then runs the
 * service) in a clean environment with no Genesys configuration, so it brings
 * up the embedded default. The test waits for the printed URL, chats through
 * it as the demo page would (same origin, same calls), and stops the process
 * with SIGTERM, expecting a clean exit.
 *
 * @lane full — a full `tsc` build of the project when dist/ is stale, then the service: minutes of CPU on a 2-core machine
 */

const ROOT = path.resolve(__dirname, '../..');
jest.setTimeout(240_000);

let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
});

test('`npm start` with no configuration: the printed URL serves a working chat, and SIGTERM stops it with exit 0', async () => {
  const [port, demoPort] = [await freePort(), await freePort()];
  child = spawn('npm', ['start'], {
    cwd: ROOT,
    // A newcomer's shell: no Genesys variables and no .env file; only the ports moved off 8080/3000.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DEMO_PORT: String(demoPort),
      DOTENV_CONFIG_PATH: path.join(ROOT, 'test/demo/no-such.env'),
    },
    detached: true, // its own process group, so a stray process can be cleaned up after a failure
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child!.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const pageUrl = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /Open the demo chat:\s+(http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 100);
    void exited.then(({ code }) => {
      clearInterval(timer);
      reject(new Error(`npm start exited (${code}) before printing the URL.\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
  expect(pageUrl).toBe(`http://localhost:${demoPort}/`);
  expect(stdout).toContain(`http://localhost:${port}`);

  // The page, as a browser gets it: HTML naming the service, and the client module it imports.
  const page = await fetch(pageUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  const bff = /<meta name="bff-url" content="([^"]+)">/.exec(html)?.[1];
  expect(bff).toBe(`http://localhost:${port}`);
  const client = await fetch(new URL('bffClient.js', pageUrl));
  expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await client.text()).toContain("from './bff-client/index.js'");
  // The client package as `npm start` built it (client/dist).
  expect(await (await fetch(new URL('bff-client/client.js', pageUrl))).text()).toContain('export class BffClient');

  // Chat through it, from the page's origin.
  const origin = new URL(pageUrl).origin;
  const post = (p: string, body: unknown, token?: string) =>
    fetch(`${bff}${p}`, {
      method: 'POST',
      headers: {
        Origin: origin,
        'Content-Type': 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  const started = await post('/guest-session', {});
  expect(started.status).toBe(201);
  expect(started.headers.get('access-control-allow-origin')).toBe(origin);
  let token = ((await started.json()) as { sessionToken: string }).sessionToken;

  const ticket = ((await (await post('/messages/stream-ticket', {}, token)).json()) as { ticket: string }).ticket;
  const stream = await openStream(`${bff}/messages/stream?ticket=${encodeURIComponent(ticket)}`, { Origin: origin });
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  const sent = await post('/messages', { text: 'Hello from npm start' }, token);
  expect(sent.status).toBe(201);
  token = ((await sent.json()) as { sessionToken: string }).sessionToken;
  const reply = await stream.next(
    (e) => e.event === 'message' && dataOf(e).text === 'You said: Hello from npm start',
    10_000,
  );
  expect(dataOf(reply)).toMatchObject({ direction: 'outbound', originatingEntity: 'bot' });
  stream.close();

  const history = await fetch(`${bff}/messages`, { headers: { Origin: origin, Authorization: `Bearer ${token}` } });
  const texts = ((await history.json()) as { messages: { text?: string }[] }).messages.map((m) => m.text);
  expect(texts).toEqual(expect.arrayContaining(['Hello from npm start', 'You said: Hello from npm start']));

  child.kill('SIGTERM');
  expect(await exited).toEqual({ code: 0, signal: null });
  expect(stdout).toContain('"msg":"stopped"');
  // Both ports are free again: the demo page and the simulator stopped with the service.
  await expect(fetch(pageUrl)).rejects.toThrow();
  await expect(fetch(`${bff}/healthz`)).rejects.toThrow();
});

test('a second `npm start` with nothing changed skips the build, and a changed source builds again', async () => {
  const run = () =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const build = spawn(process.execPath, ['scripts/build-if-changed.mjs'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      build.stdout.on('data', (d: Buffer) => (output += d.toString()));
      build.stderr.on('data', (d: Buffer) => (output += d.toString()));
      build.on('exit', (code) => resolve({ code, output }));
    });
  // The test above ran `npm start`, which built.
  expect(await run()).toEqual({ code: 0, output: '' });
  const source = path.join(ROOT, 'src/main.ts');
  // Touched now: newer than the last build's stamp, older than the stamp the rebuild writes when it ends
  // (a time in the future would stay newer than that stamp when the rebuild takes less than the gap).
  const now = new Date();
  fs.utimesSync(source, now, now);
  const rebuilt = await run();
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.output).toContain('tsc -p tsconfig.build.json');
  expect(await run()).toEqual({ code: 0, output: '' });
});
