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
    env: { ...process.env, SIM_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const env = await new Promise<Record<string, string>>((resolve) => {
    sim.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!out.includes('SESSION_SECRET=')) return;
      resolve(Object.fromEntries(out.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
    });
  });
  const config = loadConfig({ ...env, CORS_ALLOWED_ORIGINS: PAGE_ORIGIN, GENESYS_ORIGIN: PAGE_ORIGIN, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn' });
  service = await startService(config, captureLogger('warn').logger);
}, 60_000);

afterAll(async () => {
  await service?.stop();
  sim?.kill('SIGTERM');
});

/** The upload from another process (a file-backed FormData, as a browser sends it), so only the service's memory is measured here. */
const CLIENT = `
const fs = require('node:fs');
const [url, token, file] = process.argv.slice(1);
fs.openAsBlob(file, { type: 'image/png' }).then(async (blob) => {
  const form = new FormData();
  form.append('file', blob, 'big.png');
  const res = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer ' + token }, body: form });
  await res.arrayBuffer();
  process.stdout.write(String(res.status));
});`;

function upload(token: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = spawn(process.execPath, ['-e', CLIENT, `${service.url}/attachments`, token, file]);
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    client.on('error', reject);
    client.on('exit', () => resolve(Number(out)));
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
  const started = await fetch(`${service.url}/guest-session`, { method: 'POST', headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' }, body: '{}' });
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  expect(await upload(sessionToken, fileWith(demoPng(8, 8)))).toBe(201); // every code path warm
  const head = demoPng(8, 8);
  const big = fileWith(head, 10 * 1024 * 1024 - head.length);
  const base = live();
  let peak = base;
  // Each sample collects garbage first, which takes a while on a busy machine: the next one waits
  // for the event loop to have served the upload in between, however slow the machine is.
  let sampling = true;
  const sample = () => {
    if (!sampling) return;
    peak = Math.max(peak, live());
    setTimeout(sample, 10);
  };
  sample();
  try {
    expect(await upload(sessionToken, big)).toBe(201);
  } finally {
    sampling = false;
  }
  const grewMb = (peak - base) / 1024 / 1024;
  // eslint-disable-next-line no-console -- the figure the README quotes
  console.log(`live memory grew at most ${grewMb.toFixed(2)} MB during a 10 MB upload`);
  expect(grewMb).toBeLessThan(4);
}, 180_000);
