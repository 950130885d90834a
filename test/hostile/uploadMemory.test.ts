import { spawn, type ChildProcess } from 'node:child_process';
import nock from 'nock';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { demoPng } from '../../simulator/richReplies';
import { captureLogger } from '../support/app';
import { PAGE_ORIGIN } from '../support/stack';

/**
 * A 10 MB upload is streamed: spooled to disk on the way in and to Genesys on
 * the way out, never held whole in memory. The simulator (which keeps what it
 * stores) runs as its own process; the service runs here, and its live memory
 * (heap and buffers, after a garbage collection) is sampled throughout the
 * upload. Peak resident memory would also count buffers already dropped and
 * not yet collected, which says nothing about buffering.
 *
 * @lane full — a 10 MB upload with the heap sampled after forced garbage collections throughout
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const live = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

let sim: ChildProcess;
let service: RunningService;

beforeAll(async () => {
  // nock (test/setup/env.ts) records every outgoing request body, the 10 MB PUT to Genesys included:
  // a test artifact that production does not have. Plain http here, as in production.
  nock.restore();
  sim = spawn(process.execPath, ['--import', 'tsx', 'simulator/main.ts'], {
    cwd: path.join(__dirname, '../..'),
    env: { ...process.env, SIM_PORT: '0', SIM_PROFILE: 'strict' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  // The simulator's environment, once it prints it; a simulator that exits first fails the suite, saying so.
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    sim.once('exit', (code) => reject(new Error(`the simulator exited with ${code} before it listened: ${out}`)));
    sim.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('SESSION_SECRET=')) return;
      resolve(
        Object.fromEntries(
          out
            .split('\n')
            .filter((l) => /^[A-Z_]+=/.test(l))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        ),
      );
    });
  });
  const config = loadConfig({
    ...env,
    CORS_ALLOWED_ORIGINS: PAGE_ORIGIN,
    GENESYS_ORIGIN: PAGE_ORIGIN,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  service = await startService(config, captureLogger('warn').logger);
  // A bound on a hang: tsx compiles the simulator as it starts, a minute and more of a loaded machine's time.
}, 180_000);

afterAll(async () => {
  await service?.stop();
  sim?.kill('SIGTERM');
});

/**
 * The upload from another process (a multipart/form-data body with one `file` part, as a browser
 * sends it), so only the service's memory is measured here. The body goes out 512 KB at a time; after
 * each piece the client prints `sent` and waits for a line on stdin, so the test can take a sample
 * with that much more of the file inside the service, however fast or slow this machine is.
 */
const CLIENT = `
const fs = require('node:fs');
const http = require('node:http');
const readline = require('node:readline');
const [url, token, file] = process.argv.slice(1);
const boundary = 'upload-memory-' + Date.now();
const head = Buffer.from('--' + boundary + '\\r\\nContent-Disposition: form-data; name="file"; filename="big.png"\\r\\nContent-Type: image/png\\r\\n\\r\\n');
const tail = Buffer.from('\\r\\n--' + boundary + '--\\r\\n');
const size = fs.statSync(file).size;
const go = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const req = http.request(url, { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'multipart/form-data; boundary=' + boundary, 'Content-Length': head.length + size + tail.length } }, (res) => {
  res.resume();
  res.on('end', () => { process.stdout.write('status ' + res.statusCode + '\\n'); process.exit(0); });
});
req.on('error', (e) => { process.stdout.write('status 0 ' + e.message + '\\n'); process.exit(0); });
(async () => {
  req.write(head);
  const fd = fs.openSync(file, 'r');
  const piece = Buffer.alloc(512 * 1024);
  for (let at = 0; at < size; ) {
    const n = fs.readSync(fd, piece, 0, piece.length, at);
    at += n;
    if (!req.write(piece.subarray(0, n))) await new Promise((r) => req.once('drain', r));
    process.stdout.write('sent\\n');
    await go.next();
  }
  req.end(tail);
})();`;

/** Uploads `file`; `onPiece` runs after each piece the client sent (it waits for it). Resolves with the status. */
function upload(token: string, file: string, onPiece: () => void = () => undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = spawn(process.execPath, ['-e', CLIENT, `${service.url}/attachments`, token, file]);
    let out = '';
    client.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line === 'sent') {
          onPiece();
          client.stdin.write('go\n');
        } else if (line.startsWith('status ')) resolve(Number(line.split(' ')[1]));
      }
    });
    client.on('error', reject);
    client.on('exit', () => resolve(0));
  });
}

/**
 * A file of a PNG header and then `padding` zero bytes, written 64 KB at a time: no large buffer
 * is ever allocated here (its backing store could be swept late, after a collection, and be counted).
 */
function fileWith(head: Buffer, padding = 0): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'upload-')), 'big.png');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, head);
  const chunk = Buffer.alloc(64 * 1024);
  for (let left = padding; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  fs.closeSync(fd);
  return file;
}

test("a 10 MB upload raises the service's live memory by a few MB at most", async () => {
  const started = await fetch(`${service.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  expect(await upload(sessionToken, fileWith(demoPng(8, 8)))).toBe(201); // every code path warm
  const head = demoPng(8, 8);
  // 10 MB as Genesys counts it (KB = 1000 bytes), which the deployment's 10240 KB allows.
  const big = fileWith(head, 10 * 1000 * 1000 - head.length);
  const base = live();
  let peak = base;
  let samples = 0;
  const sample = () => {
    peak = Math.max(peak, live());
    samples++;
  };
  // While the file comes in: a sample after every piece the client sent (the client waits for it, and
  // its writes wait for the service to read, so each sample finds more of the file taken in). Once
  // all of it is in, while it goes out to Genesys: samples that leave the event loop to the upload
  // five times as long as each took (each collects garbage first, which is slow on a busy machine).
  const pieces = Math.ceil(fs.statSync(big).size / (512 * 1024));
  let sent = 0;
  let sampling = false;
  const keepSampling = () => {
    if (!sampling) return;
    const started = performance.now();
    sample();
    setTimeout(keepSampling, Math.max(10, 5 * (performance.now() - started)));
  };
  try {
    expect(
      await upload(sessionToken, big, () => {
        sample();
        sent++;
        if (sent === pieces) {
          sampling = true;
          keepSampling();
        }
      }),
    ).toBe(201);
  } finally {
    sampling = false;
  }
  expect(samples).toBeGreaterThanOrEqual(20);
  const grewMb = (peak - base) / 1024 / 1024;
  // eslint-disable-next-line no-console -- the figure the README quotes
  console.log(`live memory grew at most ${grewMb.toFixed(2)} MB during a 10 MB upload (${samples} samples)`);
  expect(grewMb).toBeLessThan(4);
}, 180_000);
