import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Deployment } from '../../src/config/deployment';
import type { Config } from '../../src/config/schema';
import { buildDeployment, buildProcessParts, scopeOf, storeOf } from '../../src/deployments';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { AvailabilityService } from '../../src/genesys/availability';
import type { GuestApiHealth } from '../../src/genesys/guest';
import type { SessionHub } from '../../src/genesys/guest/sessionHub';
import { Readiness } from '../../src/observability/readiness';
import type { ChatNotifications } from '../../src/session';
import type { SharedStore } from '../../src/store';
import { captureLogger, testConfig } from '../support/app';
import { startRedis, type RedisServer } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * What the process builds once (src/deployments/processParts.ts) and one deployment on it
 * (servedDeployment.ts), held to what each part is for: the upload spool prepared before the
 * service listens (a stale file removed and said, an unusable directory refused in words), the
 * streams told why they end, a failed guest socket on readiness under the guest API's name, the
 * in-memory store keeping security records apart (in a deployment's scope too), the Redis
 * store's short command timeout, and each part of a deployment wired to its own: its scope of
 * the store and of readiness, its webhooks and canary, the callbacks between its hubs, webhooks
 * and notifications, its settings, and the name each part logs under.
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

/** The parts and one deployment on them: the configuration's first, as `change` makes it. */
function build(config: Config, change: (d: Deployment) => Deployment = (d) => d) {
  const log = captureLogger();
  const readiness = new Readiness();
  const parts = buildProcessParts(config.process, log.logger, readiness);
  const deployment = buildDeployment(change(config.deployments[0]!), parts);
  stacks.push({ close: async () => (await deployment.close(), await parts.close()) });
  // What the hub was built with (its options are its own): the store it shares and its socket callbacks.
  const hub = deployment.chat.hub as unknown as { options: ConstructorParameters<typeof SessionHub>[0] };
  // The chat as the deployment built it: its notifications and availability whole, not only what the routes use.
  const chat = deployment.chat as typeof deployment.chat & {
    notifications: ChatNotifications;
    availability: AvailabilityService;
  };
  return { parts, deployment, chat, log, readiness, hubOptions: hub.options, store: hub.options.store as SharedStore };
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

  it('has its Guest API circuit shared through Redis, which it is not without', () => {
    const shared = build(offline({ REDIS_URL: redis.url }));
    expect(own(shared.hubOptions.upstream).shared).toEqual({ store: shared.deployment.store });
    expect(own(build(offline()).hubOptions.upstream).shared).toBeUndefined();
  });

  it("closing the parts ends the shared store's connection", async () => {
    const log = captureLogger();
    const parts = buildProcessParts(offline({ REDIS_URL: redis.url }).process, log.logger, new Readiness());
    await waitFor(() => parts.store.ping());
    await parts.close();
    await expect(parts.store.ping()).rejects.toMatchObject({ code: 'store_unavailable' });
  });
});

/** What a part was built with: its own options (or deps), which the deployment wires. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each part's options are its own; read as the test needs
const own = (part: unknown): any => {
  const held = part as { options?: unknown; deps?: unknown };
  return held.options ?? held.deps;
};
const bindingsOf = (logger: unknown) => (logger as { bindings(): Record<string, unknown> }).bindings();

describe('one deployment on the parts (servedDeployment.ts), each part wired to its own', () => {
  it.each([
    ['the default deployment keeps the root of the store and its checks’ names', 'default'],
    ['a named deployment is under its name in the store and in readiness', 'brand-a'],
  ])('%s', async (_, name) => {
    const { parts, hubOptions, readiness } = build(offline(), (d) => ({ ...d, name }));
    const scoped = name === 'default' ? undefined : name;
    expect(scopeOf(name)).toBe(scoped);
    const store = storeOf(parts, name);
    if (scoped === undefined) expect(store).toBe(parts.store);
    await store.claim('record', 'mine', 60_000);
    // The record is under the deployment's prefix of the one store, and nowhere else.
    await expect(parts.store.claim(scoped ? `${scoped}:record` : 'record', 'other', 60_000)).resolves.toBe(false);
    if (scoped) await expect(parts.store.claim('record', 'other', 60_000)).resolves.toBe(true);

    hubOptions.onSocketFailed!(new GuestApiError('unavailable', 'refused by the test'));
    const failed = Object.entries(readiness.report().checks).filter(([, state]) => !state.ok);
    expect(failed.map(([check]) => check).filter((check) => check.endsWith('guestApi'))).toEqual([
      scoped ? `${scoped}/guestApi` : 'guestApi',
    ]);
  });

  it('tells webhook events only with an endpoint, and never of its canary’s chats', () => {
    const endpoint = { url: 'https://hooks.example/chat', secret: `whsec_${Buffer.alloc(24, 1).toString('base64')}` };
    const attribute = { name: 'canary', value: 'yes' };
    const told = (change: (d: Deployment) => Deployment) => {
      const { deployment } = build(offline(), change);
      const publish = jest.spyOn(deployment.webhooks.events, 'publish').mockResolvedValue(undefined);
      const webhooks = own(deployment.chat.chat).webhooks;
      webhooks.started('gt-canary', false, { [attribute.name]: attribute.value });
      webhooks.started('gt-customer', false, {});
      return publish.mock.calls.map(([event]) => event.guestToken);
    };
    expect(told((d) => ({ ...d, webhooks: [] }))).toEqual([]);
    expect(told((d) => ({ ...d, webhooks: [endpoint], canary: { intervalMs: 60_000, attribute } }))).toEqual([
      'gt-customer',
    ]);
    // Without a canary, a chat carrying the attribute is a customer's.
    expect(told((d) => ({ ...d, webhooks: [endpoint], canary: { attribute } }))).toEqual(['gt-canary', 'gt-customer']);
  });

  it('hands what its sockets hear, its newest pages and its uploads to its webhooks and notifications', () => {
    const { deployment, chat, hubOptions } = build(offline());
    const webhooks = own(chat.chat).webhooks;
    const heard = jest.spyOn(webhooks, 'heard');
    const found = jest.spyOn(webhooks, 'found');
    const uploaded = jest.spyOn(webhooks, 'uploaded').mockReturnValue(undefined);
    const notified = jest.spyOn(chat.notifications, 'heard').mockReturnValue(undefined);
    const event = { kind: 'typing' } as never;
    hubOptions.observe!('gt-live', event);
    expect(heard.mock.calls).toEqual([['gt-live', event]]);
    expect(notified.mock.calls).toEqual([['gt-live', event]]);
    // A watch's socket tells the webhooks too, not the notifications it serves.
    const notifications = own(chat.notifications);
    own(notifications.watchHub).observe('gt-watched', event);
    expect(heard.mock.calls[1]).toEqual(['gt-watched', event]);
    expect(notified).toHaveBeenCalledTimes(1);
    expect(own(notifications.history.hub).observe).toBeUndefined();
    const page = { messages: [], receipts: [] } as never;
    hubOptions.onNewestPage!('gt-live', page);
    expect(found.mock.calls).toEqual([['gt-live', page]]);
    const attachment = { id: 'a-1' } as never;
    own(deployment.chat.attachments).uploaded('gt-live', attachment);
    expect(uploaded.mock.calls).toEqual([['gt-live', attachment]]);
    const succeeded = jest.spyOn(hubOptions.upstream as GuestApiHealth, 'succeeded');
    hubOptions.onSocketOpened!();
    expect(succeeded).toHaveBeenCalledTimes(1);
  });

  it('stops watching and closes through each of its parts', async () => {
    const { deployment, chat, hubOptions } = build(offline());
    const stopWatching = jest.spyOn(chat.notifications, 'stopWatching');
    deployment.stopWatching();
    expect(stopWatching).toHaveBeenCalledTimes(1);
    const closed = [
      jest.spyOn(chat.hub, 'close'),
      jest.spyOn(chat.notifications, 'close'),
      jest.spyOn(chat.availability, 'close'),
      jest.spyOn(deployment.webhooks, 'close'),
      jest.spyOn(deployment.platform, 'close'),
      jest.spyOn(hubOptions.upstream as GuestApiHealth, 'close'),
      jest.spyOn(own(chat.notifications).watchHub as SessionHub, 'close'),
      jest.spyOn(own(chat.notifications).history.hub as SessionHub, 'close'),
    ];
    await deployment.close();
    for (const close of closed) expect(close).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['10000', 3_000],
    ['400', 400],
  ])(
    'with GENESYS_TIMEOUT_MS %s, waits %i ms for the first availability and leases its reads for three timeouts',
    (timeout, wait) => {
      const { chat } = build(offline({ GENESYS_TIMEOUT_MS: timeout }));
      const availability = own(chat.availability);
      expect(availability.firstAnswerWaitMs).toBe(wait);
      expect(availability.leaseMs).toBe(3 * Number(timeout));
    },
  );

  it('watches chats for notifications as long as a token lives, and only while a socket is free', () => {
    const { chat, parts } = build(offline());
    const notifications = own(chat.notifications);
    expect(notifications.recordMs).toBe(chat.tokens.lifetimeMs + 120_000);
    expect(notifications.production).toBe(false);
    const held = { busy: true, retire: () => undefined };
    for (const [ceiling, room] of [
      [parts.notifySockets, notifications.room],
      [parts.notifyJwtSockets, notifications.history.room],
    ] as const) {
      expect(room()).toBe(true);
      for (let i = 0; i < ceiling.max - 1; i++) ceiling.hold({ ...held }, () => undefined);
      expect(room()).toBe(true);
      ceiling.hold({ ...held }, () => undefined);
      expect(room()).toBe(false);
    }
  });

  it('in production, its notifications know they run in production', () => {
    const { chat } = build(offline({ NODE_ENV: 'production' }));
    expect(own(chat.notifications).production).toBe(true);
  });

  it('logs each part under its own name', () => {
    const { chat } = build(offline());
    const notifications = own(chat.notifications);
    expect(bindingsOf(own(notifications.watchHub).logger)).toMatchObject({ component: 'guest-api', hub: 'watch' });
    expect(bindingsOf(own(notifications.history.hub).logger)).toMatchObject({ component: 'guest-api', hub: 'jwt' });
    const guestChat = own(chat.chat);
    expect(bindingsOf(own(guestChat.signIns).logger)).toMatchObject({ component: 'guest-api' });
    expect(bindingsOf((guestChat.mask as { logger: unknown }).logger)).toMatchObject({ component: 'masking' });
    expect(bindingsOf(own(chat.availability).logger)).toMatchObject({ component: 'availability' });
  });

  it.each([
    [60_000, 10_000],
    [4_000, 2_000],
  ])(
    'runs a canary every %i ms that waits %i ms for its answer, and reads its deployment with its OAuth client',
    async (intervalMs, wait) => {
      const credentials = { GENESYS_CLIENT_ID: 'canary-client', GENESYS_CLIENT_SECRET: 'canary-secret' };
      const { deployment } = build(offline(credentials), (d) => ({ ...d, canary: { ...d.canary, intervalMs } }));
      const canary = own(deployment.canary);
      expect(canary.parts.answerWaitMs).toBe(wait);
      expect(bindingsOf(canary.logger)).toMatchObject({ component: 'canary' });
      const request = jest.spyOn(deployment.platform.platform!, 'request').mockResolvedValue({} as never);
      await canary.parts.platformCheck();
      expect(request).toHaveBeenCalledWith({
        method: 'GET',
        path: `/api/v2/webdeployments/deployments/${deployment.deployment.genesys.deploymentId}`,
      });
    },
  );
});
