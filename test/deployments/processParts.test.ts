import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../src/config/schema';
import { buildDeployment, buildProcessParts, storeOf } from '../../src/deployments';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { SessionHub } from '../../src/genesys/guest/sessionHub';
import { Readiness } from '../../src/observability/readiness';
import type { SharedStore } from '../../src/store';
import { captureLogger, testConfig } from '../support/app';
import { startRedis, type RedisServer } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * What the process builds once (src/deployments/processParts.ts) and one deployment on it
 * (servedDeployment.ts), held to what each part is for: the upload spool prepared before the
 * service listens (a stale file removed and said, an unusable directory refused in words), the
 * streams told why they end, a failed guest socket on readiness under the guest API's name, the
 * in-memory store keeping security records apart (in a deployment's scope too), and the Redis
 * store's short command timeout.
 *
 * @needs redis-server
 */
jest.setTimeout(30_000);

// Genesys on a closed loopback port: nothing leaves the machine.
const OFFLINE = 'http://127.0.0.1:9';
const offline = (overrides: Record<string, string> = {}) =>
  testConfig({
    GENESYS_LOGIN_URL: OFFLINE,
    GENESYS_API_URL: OFFLINE,
    GENESYS_CDN_URL: OFFLINE,
    GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
    ...overrides,
  });

const stacks: { close(): Promise<void> }[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function build(config: Config) {
  const log = captureLogger();
  const readiness = new Readiness();
  const parts = buildProcessParts(config.process, log.logger, readiness);
  const deployment = buildDeployment(config.deployments[0]!, parts);
  stacks.push({ close: async () => (await deployment.close(), await parts.close()) });
  // What the hub was built with (its options are its own): the store it shares and its socket callbacks.
  const hub = deployment.chat.hub as unknown as { options: ConstructorParameters<typeof SessionHub>[0] };
  return { parts, deployment, log, readiness, hubOptions: hub.options, store: hub.options.store as SharedStore };
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-chat-stack-'));
  dirs.push(dir);
  return dir;
}

describe('prepare()', () => {
  it('removes the upload files a stopped process left behind, and says so', async () => {
    const dir = tempDir();
    // A process id above the kernel's largest: no process has it.
    fs.writeFileSync(path.join(dir, 'bff-upload-4194305-left.bin'), 'stale');
    const { parts, log } = build(offline({ UPLOAD_TMP_DIR: dir }));
    await parts.prepare();
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(log.lines().filter((l) => l.msg === 'removed upload files a stopped process left behind')).toEqual([
      expect.objectContaining({ level: 30, swept: 1, dir }),
    ]);
  });

  it('says nothing when there was nothing to remove', async () => {
    const { parts, log } = build(offline({ UPLOAD_TMP_DIR: tempDir() }));
    await parts.prepare();
    expect(log.lines().map((l) => l.msg)).not.toContain('removed upload files a stopped process left behind');
  });

  it('refuses a spool directory that cannot hold uploads, naming the setting, the directory and the cause', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    const spool = path.join(file, 'spool');
    const { parts } = build(offline({ UPLOAD_TMP_DIR: spool }));
    const refusal = await parts.prepare().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refusal?.message).toBe(
      `UPLOAD_TMP_DIR ${spool} cannot hold uploads (ENOTDIR): set it to a writable directory.`,
    );
    expect(refusal?.cause).toMatchObject({ code: 'ENOTDIR' });
  });
});

it('tells every live stream that the instance is restarting', () => {
  const { deployment } = build(offline());
  const endAll = jest.spyOn(deployment.chat.streams, 'endAll');
  deployment.endStreams();
  expect(endAll).toHaveBeenCalledWith('This instance is restarting; reconnect.');
});

it('puts a guest socket that failed on readiness, logged under the guest API', () => {
  const { hubOptions, readiness, log } = build(offline());
  hubOptions.onSocketFailed!(new GuestApiError('unavailable', 'refused by the test'));
  const report = readiness.report();
  expect(report.ready).toBe(false);
  expect(JSON.stringify(report.checks)).toContain('refused by the test');
  expect(log.lines().find((l) => String(l.msg).includes('refused by the test'))).toMatchObject({
    component: 'guest-api',
  });
});

it.each([
  ['the default deployment', 'default'],
  ['a named deployment, in its scope of the store', 'brand-a'],
])(
  'keeps security records apart in memory for %s: a flood of other records cannot refuse an ended session',
  async (_, name) => {
    const { parts } = build(offline());
    const store = storeOf(parts, name);
    let i = 0;
    await expect(
      (async () => {
        for (; i <= 200_000; i++) await store.claim(`flood:${i}`, 'x', 60_000);
      })(),
    ).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(i).toBe(200_000);
    await expect(store.claim('standing:session-1', 'ended', 60_000)).resolves.toBe(true);
    await expect(store.claim('notbefore:session-1', '1', 60_000)).resolves.toBe(true);
  },
);

describe('with REDIS_URL', () => {
  let redis: RedisServer;
  beforeAll(async () => (redis = await startRedis()));
  afterAll(async () => redis.stop());

  it.each([
    ['10000', 1000],
    ['400', 400],
  ])(
    'gives each Redis command the shorter of GENESYS_TIMEOUT_MS (%s) and one second, and logs as the shared store',
    async (timeout, expected) => {
      const { parts, log } = build(offline({ REDIS_URL: redis.url, GENESYS_TIMEOUT_MS: timeout }));
      expect(parts.store.shared).toBe(true);
      const options = (parts.store as unknown as { options: { commandTimeoutMs: number } }).options;
      expect(options.commandTimeoutMs).toBe(expected);
      // Its own lines carry its name: the durability check's warning of a Redis without persistence is one.
      const durability = () => log.lines().find((l) => String(l.msg).includes('can lose its records'));
      await waitFor(() => durability() !== undefined);
      expect(durability()).toMatchObject({ component: 'shared-store' });
    },
  );

  it("closing the parts ends the shared store's connection", async () => {
    const log = captureLogger();
    const parts = buildProcessParts(offline({ REDIS_URL: redis.url }).process, log.logger, new Readiness());
    await waitFor(() => parts.store.ping());
    await parts.close();
    await expect(parts.store.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});
