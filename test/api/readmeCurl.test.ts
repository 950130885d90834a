import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig } from '../../src/config/schema';
import { startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';
import { debianProgram } from '../support/programs';
import { startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * The README's "First five minutes with curl", run as written by one bash, a
 * line at a time, against the service and the simulator: only the `BFF=` line
 * points at this test's service. The one thing added is a bounded wait, after
 * the line that opens the stream in the background, until the stream is open
 * (the README's `sleep 1`, which a busy machine may outlast).
 *
 * @needs curl
 */
const ROOT = path.resolve(__dirname, '../..');
const BFF_LINE = 'BFF=http://localhost:8080';

/** The section's sh block, one command per entry (comments and blank lines dropped). */
function curlBlock(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## First five minutes with curl\n');
  if (start < 0) throw new Error('README.md has no "## First five minutes with curl" section');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
  if (!block) throw new Error('the curl section has no sh block');
  return block.split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
}

let stack: Stack;
let dir = '';
/** PATH for the block's bash, with the curl the full run installs (CURL_BINARY moves it) first. */
let shellPath: string;
beforeAll(async () => {
  const curl = debianProgram('curl');
  if (spawnSync(curl, ['--version']).status !== 0)
    throw new Error(`${curl} does not run: the README block is curl commands`);
  shellPath = `${path.dirname(curl)}:${process.env.PATH ?? ''}`;
  stack = await startStack();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-curl-'));
});
afterAll(async () => {
  await stack?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the README's curl block starts a session, streams, sends once with an Idempotency-Key sent twice, reads history and ends the chat", async () => {
  const lines = curlBlock();
  expect(lines[0]).toBe(BFF_LINE);
  lines[0] = `BFF=${stack.service.url}`;

  const shell = spawn('bash', ['--noprofile', '--norc'], {
    cwd: dir,
    env: { PATH: shellPath, HOME: dir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let transcript = '';
  shell.stdout.on('data', (chunk: Buffer) => (transcript += chunk.toString()));
  shell.stderr.on('data', (chunk: Buffer) => (transcript += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => shell.on('exit', resolve));
  const sends = () =>
    stack.sim.received.filter(
      (r) => r.frame.action === 'onMessage' && (r.frame.message as { text?: string })?.text === 'Hello from curl',
    ).length;
  try {
    for (const [i, line] of lines.entries()) {
      const marker = `@@ line ${i} exited `;
      shell.stdin.write(`${line}\necho; echo "${marker}$?"\n`);
      await waitFor(() => transcript.includes(marker), 30_000, 20).catch(() => {
        throw new Error(`\`${line}\` did not finish:\n${transcript}`);
      });
      expect({ line, exit: new RegExp(`${marker}(\\d+)`).exec(transcript)![1] }).toEqual({ line, exit: '0' });
      if (line.endsWith('&')) {
        await waitFor(() => transcript.includes('data: {"state":"open"}'), 30_000, 20).catch(() => {
          throw new Error(`the stream did not open:\n${transcript}`);
        });
      }
    }
    shell.stdin.end();
    expect(await exited).toBe(0);
  } finally {
    if (shell.exitCode === null) shell.kill('SIGKILL');
  }

  // 1. The session, kept in the file the block reads its token from.
  const session = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown>;
  expect(session).toMatchObject({
    sessionToken: expect.any(String),
    newSession: true,
    attributes: { page: '/pricing' },
  });
  // 3. Sent twice with one key, the message reached Genesys once, and both answers name the same message.
  expect(sends()).toBe(1);
  const answers = [...transcript.matchAll(/^\{"message":\{"id":"([^"]+)"/gm)].map((m) => m[1]);
  expect(answers).toHaveLength(2);
  expect(new Set(answers).size).toBe(1);
  // 2. The stream: open, the guest's own message as Genesys echoed it, the bot's answer, and the end.
  expect(transcript).toContain('event: session\ndata: {"state":"open"}');
  expect(transcript).toMatch(/event: message\n(id: .*\n)?data: \{[^\n]*"text":"Hello from curl"/);
  expect(transcript).toMatch(/event: message\n(id: .*\n)?data: \{[^\n]*"text":"You said: Hello from curl"/);
  expect(transcript).toMatch(/event: session\n(id: .*\n)?data: \{"state":"[a-z_]+"[^\n]*"reconnect":false\}\n/);
  // 4. The history holds the message; 5. the end answered 204.
  expect(transcript).toMatch(
    /^\{"messages":\[[^\n]*"text":"Hello from curl"[^\n]*\],"page":1,"pageSize":10,"total":\d+\}/m,
  );
  expect(transcript).toMatch(/^204$/m);
});

describe('under DEMO_DEPLOYMENTS=2, as the note below the block says', () => {
  let embedded: EmbeddedDefault;
  let service: RunningService;
  beforeAll(async () => {
    embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0', DEMO_DEPLOYMENTS: '2' });
    service = await startService(await readConfig(embedded.env), captureLogger().logger);
  });
  afterAll(async () => {
    await service?.stop();
    await embedded?.stop();
  });

  /**
   * Step 1 of the block, run by bash against this test's two-deployment service: its status and session.json. Not
   * spawnSync: the service answers from this process, whose event loop must stay free.
   */
  async function stepOne(extra = ''): Promise<{ status: string; session: Record<string, unknown> }> {
    const step = curlBlock()[1]!;
    expect(step).toMatch(/^curl .* \$BFF\/guest-session /);
    const shell = spawn(
      'bash',
      ['--noprofile', '--norc', '-c', `BFF=${service.url}\n${step} ${extra} --max-time 30 -w '%{http_code}'`],
      { cwd: dir, env: { PATH: shellPath, HOME: dir }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let status = '';
    shell.stdout.on('data', (chunk: Buffer) => (status += chunk.toString()));
    expect(await new Promise((resolve) => shell.on('exit', resolve))).toBe(0);
    const session = JSON.parse(fs.readFileSync(path.join(dir, 'session.json'), 'utf8')) as Record<string, unknown>;
    return { status, session };
  }

  test('step 1 answers 400 without X-Deployment, and starts a session with the header the README names', async () => {
    const refused = await stepOne();
    expect(refused.status).toBe('400');
    expect(refused.session).not.toHaveProperty('sessionToken');

    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const header = /add\s+`(-H 'X-Deployment: [^`']+')`\s+to\s+step\s+1/.exec(readme)?.[1];
    expect(header).toBe("-H 'X-Deployment: first'");
    const started = await stepOne(header);
    expect(started.status).toBe('201');
    expect(started.session).toMatchObject({ sessionToken: expect.any(String), attributes: { page: '/pricing' } });
  });
});
