import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { freePort } from '../support/ports';
import { startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { WEBHOOK_SECRET } from '../support/webhookReceiver';

/**
 * The receivers docs/api.md#webhooks shows, run as written: each snippet (under a `<!-- receiver: … -->` comment)
 * is taken from the page, started on a free loopback port, and sent real deliveries by the service: it must
 * verify one, and refuse one signed with another secret or a stale timestamp. The Python one is skipped only where
 * python3 is missing.
 */

const ROOT = path.join(__dirname, '../..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
const snippet = (kind: string) => {
  const found = new RegExp(`<!-- receiver: ${kind} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!found) throw new Error(`docs/api.md shows no ${kind} receiver`);
  return found[1]!;
};
const hasPython = spawnSync('python3', ['--version']).status === 0;

const receivers: Array<[string, string, string[], boolean]> = [
  ['node', 'receiver.cjs', [process.execPath], true],
  ['python', 'receiver.py', ['python3'], hasPython],
];

let stack: Stack | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  await stack?.close();
  stack = undefined;
});

describe.each(receivers)('the %s receiver', (kind, file, command, available) => {
  (available ? test : test.skip)(
    'verifies a real delivery and refuses a forged or stale one',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-receiver-'));
      fs.writeFileSync(path.join(dir, file), snippet(kind));
      const port = await freePort();
      let output = '';
      child = spawn(command[0]!, [...command.slice(1), path.join(dir, file)], {
        env: { ...process.env, PORT: String(port), WEBHOOK_SECRET, NODE_PATH: path.join(ROOT, 'node_modules') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      const url = `http://127.0.0.1:${port}/hooks`;
      // Listening: an unsigned request is refused.
      await waitFor(async () => (await fetch(url, { method: 'POST', body: '{}' })).status === 400, 10_000, 50);

      stack = await startStack({ env: { WEBHOOK_URL: url, WEBHOOK_SECRET } });
      await stack.newSession();
      await waitFor(() => /^verified chat\.started msg_\S+ 1$/m.test(output), 20_000);

      const body = JSON.stringify({ type: 'chat.started', chat: { id: 'chat_x', sequence: 1 }, data: {} });
      const post = (signer: Webhook, at: Date) =>
        fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': 'msg_forged',
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': signer.sign('msg_forged', at, body),
          },
          body,
        });
      const other = new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`);
      expect((await post(other, new Date())).status).toBe(400);
      expect((await post(new Webhook(WEBHOOK_SECRET), new Date(Date.now() - 3600_000))).status).toBe(400);
      // The same body signed rightly and on time is taken: the refusals were for the signature and the time.
      expect((await post(new Webhook(WEBHOOK_SECRET), new Date())).status).toBe(204);
      expect(output).not.toMatch(/Traceback|Error/);
    },
    60_000,
  );
});
