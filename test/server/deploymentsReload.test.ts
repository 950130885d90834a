import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { runProcess, type ServiceProcess } from '../../src/processMain';
import * as server from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { BAD_DEPLOYMENTS_FILES } from '../support/badDeploymentsFiles';
import { openStream, type SseStream } from '../support/sse';
import { guestTokenOf, simProfile } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * SIGHUP reloads the deployments file in a running process (src/processMain.ts, src/deployments/reload.ts): a
 * deployment added and another's OAuth secret rotated while a chat on a third streams on, untouched; a file that fails
 * in any way (invalid, unparsable, too large, too deep, missing, changing while read) is refused with why logged, and
 * the running deployments stay serving; a deployment rebuilt keeps its records (without Redis, in the process's
 * memory).
 */
jest.setTimeout(60_000);

const SHOP = 'https://shop.example';
const CLINIC = 'https://clinic.example';
const OUTLET = 'https://outlet.example';

let shopSim: Simulator;
let clinicSim: Simulator;
let outletSim: Simulator;
let dir: string;
let file: string;
const events = new EventEmitter();
const log = captureLogger();
let service: server.RunningService;
let exited: number | undefined;
/** Fails the start of the suite when the process exits before it serves. */
let exitedEarly: (code: number) => void = () => undefined;

const entry = (sim: Simulator, name: string, origin: string, clientSecret = sim.credentials.clientSecret) => ({
  ...deploymentEntryFor(sim, name, [origin]),
  clientSecret,
});
const write = (deployments: unknown[]) => fs.writeFileSync(file, JSON.stringify({ deployments }));
const reloads = () => log.lines().filter((l) => l.msg.startsWith('SIGHUP'));

beforeAll(async () => {
  shopSim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
  // The clinic's Genesys takes only the new secret: the file starts with the old one.
  clinicSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211',
    clientId: 'clinic-client',
    clientSecret: 'clinic-new-secret',
  });
  outletSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    deploymentId: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d',
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployments-reload-'));
  file = path.join(dir, 'deployments.json');
  write([entry(shopSim, 'shop', SHOP), entry(clinicSim, 'clinic', CLINIC, 'clinic-old-secret')]);
  const env = deploymentsFileEnv(file, { DEPLOYMENT_CACHE_TTL_SECONDS: '1' });
  // The process's service, as soon as runProcess starts it; a process that exits first fails the suite, saying so.
  const started = new Promise<server.RunningService>((resolve, reject) => {
    const startService = server.startService;
    jest.spyOn(server, 'startService').mockImplementation((...args) => {
      const starting = startService(...args);
      starting.then(resolve, reject);
      return starting;
    });
    exitedEarly = (code) => reject(new Error(`the process exited with ${code} before it served`));
  });
  const proc: ServiceProcess = {
    env,
    events,
    exit: (code) => {
      exited = code;
      exitedEarly(code);
    },
    console: { log: () => undefined, error: () => undefined },
    logger: () => log.logger,
  };
  void runProcess(proc);
  service = await started;
});

afterAll(async () => {
  await service?.stop();
  for (const sim of [shopSim, clinicSim, outletSim]) await sim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(origin: string): Promise<{ status: number; token?: string }> {
  const res = await fetch(`${service.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: origin, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const body = (await res.json()) as { sessionToken?: string };
  return { status: res.status, token: body.sessionToken };
}

const readyz = async () =>
  (await (await fetch(`${service.url}/readyz`)).json()) as { checks: Record<string, { ok: boolean }> };

test('SIGHUP adds a deployment and rotates another’s secret while a chat on a third streams on', async () => {
  const before = shopSim.received.length;
  const shop = await start(SHOP);
  expect(shop.status).toBe(201);
  const gt = guestTokenOf(shopSim, before);
  let stream: SseStream | undefined;
  try {
    stream = await openStream(`${service.url}/messages/stream`, {
      Origin: SHOP,
      Authorization: `Bearer ${shop.token}`,
    });
    await stream.next((e) => e.event === 'session' && e.data.includes('"open"'));
    // The clinic's token cannot be had with the old secret; the outlet is not served yet.
    await waitFor(async () => (await readyz()).checks['clinic/token']?.ok === false);
    expect((await start(OUTLET)).status).toBe(403);

    write([
      entry(shopSim, 'shop', SHOP),
      entry(clinicSim, 'clinic', CLINIC, 'clinic-new-secret'),
      entry(outletSim, 'outlet', OUTLET),
    ]);
    events.emit('SIGHUP');
    await waitFor(() => reloads().length === 1);
    expect(reloads()[0]).toMatchObject({
      msg: 'SIGHUP: deployments reloaded',
      added: ['outlet'],
      rotated: ['clinic'],
      unchanged: ['shop'],
      removed: [],
      rebuilt: [],
    });
    // The clinic's next token came with the new secret; the outlet serves chats.
    await waitFor(async () => (await readyz()).checks['clinic/token']?.ok === true);
    expect((await start(OUTLET)).status).toBe(201);
    expect((await start(CLINIC)).status).toBe(201);

    // The shop's stream was never cut: it carries what the agent says after the reload, on the same connection.
    shopSim.agent.say(gt, 'still here after the reload');
    await stream.next((e) => e.event === 'message' && e.data.includes('still here after the reload'));
    expect(stream.events.filter((e) => e.event === 'session').map((e) => JSON.parse(e.data).state)).toEqual(['open']);
  } finally {
    stream?.close();
  }
});

test('a file that fails validation is refused with its problems logged, and nothing changes', async () => {
  const served = reloads().length;
  write([entry(shopSim, 'shop', SHOP), { ...entry(outletSim, 'outlet', OUTLET), origins: [SHOP] }]);
  events.emit('SIGHUP');
  await waitFor(() => reloads().length === served + 1);
  const refusal = reloads()[served]!;
  expect(refusal.msg).toBe('SIGHUP: the deployments file was refused; the running deployments stay');
  expect(JSON.stringify(refusal.problems)).toMatch(/overlaps/);
  // Still served as before: the clinic and the outlet chat, the process runs.
  expect((await start(CLINIC)).status).toBe(201);
  expect((await start(OUTLET)).status).toBe(201);
  expect(exited).toBeUndefined();
});

describe('a file that fails in any way is refused, and every chat goes on', () => {
  const good = () => [
    entry(shopSim, 'shop', SHOP),
    entry(clinicSim, 'clinic', CLINIC, 'clinic-new-secret'),
    entry(outletSim, 'outlet', OUTLET),
  ];

  test.each(BAD_DEPLOYMENTS_FILES)('%s', async (_, put, refusal) => {
    const shop = await start(SHOP);
    const stream = await openStream(`${service.url}/messages/stream`, {
      Origin: SHOP,
      Authorization: `Bearer ${shop.token}`,
    });
    try {
      await stream.next((e) => e.event === 'session' && e.data.includes('"open"'));
      const served = reloads().length;
      put(file);
      events.emit('SIGHUP');
      await waitFor(() => reloads().length === served + 1);
      const refused = reloads()[served]!;
      expect(refused.msg).toBe('SIGHUP: the deployments file was refused; the running deployments stay');
      expect(JSON.stringify(refused.problems)).toMatch(refusal);
      // Every deployment still serves, the open stream with them; the process runs.
      for (const origin of [SHOP, CLINIC, OUTLET]) expect((await start(origin)).status).toBe(201);
      expect(stream.events.filter((e) => e.event === 'session').map((e) => JSON.parse(e.data).state)).toEqual(['open']);
      expect(exited).toBeUndefined();
    } finally {
      stream.close();
      fs.rmSync(file, { force: true });
      write(good());
    }
  });

  test('a file rewritten while reloads read it is refused or read whole, never half', async () => {
    const text = JSON.stringify({ deployments: good() }, null, 2);
    const served = reloads().length;
    let writes = 0;
    const writer = setInterval(() => {
      // In place, in two pieces: a reader may meet it empty, half written or whole.
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, text.slice(0, text.length / 2));
      fs.writeSync(fd, text.slice(text.length / 2));
      fs.closeSync(fd);
      writes++;
    }, 1);
    try {
      for (let i = 0; i < 20; i++) {
        events.emit('SIGHUP');
        await waitFor(() => reloads().length === served + i + 1);
      }
    } finally {
      clearInterval(writer);
      write(good());
    }
    expect(writes).toBeGreaterThan(0);
    for (const reload of reloads().slice(served)) {
      if (reload.msg === 'SIGHUP: deployments reloaded')
        expect(reload).toMatchObject({ unchanged: ['shop', 'clinic', 'outlet'], removed: [], added: [] });
      else expect(reload.msg).toBe('SIGHUP: the deployments file was refused; the running deployments stay');
    }
    for (const origin of [SHOP, CLINIC, OUTLET]) expect((await start(origin)).status).toBe(201);
  });
});

test("without Redis, a deployment rebuilt by a reload keeps its ended chats ended and its sends' first answers", async () => {
  const auth = (token: string) => ({
    Origin: CLINIC,
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
  });
  const ended = (await start(CLINIC)).token!;
  expect((await fetch(`${service.url}/guest-session`, { method: 'DELETE', headers: auth(ended) })).status).toBe(204);
  const endedAnswer = (await fetch(`${service.url}/guest-session`, { headers: auth(ended) })).status;
  expect(endedAnswer).not.toBe(200);
  const sending = (await start(CLINIC)).token!;
  const send = () =>
    fetch(`${service.url}/messages`, {
      method: 'POST',
      headers: { ...auth(sending), 'Idempotency-Key': 'reload-kept' },
      body: JSON.stringify({ text: 'sent before the reload' }),
    });
  const first = await send();
  expect(first.status).toBe(201);
  const firstMessage = ((await first.json()) as { message: unknown }).message;

  // Another origin for the clinic: a change other than its OAuth client, so it is built anew.
  const served = reloads().length;
  write([
    entry(shopSim, 'shop', SHOP),
    { ...entry(clinicSim, 'clinic', CLINIC, 'clinic-new-secret'), origins: [CLINIC, 'https://clinic-two.example'] },
    entry(outletSim, 'outlet', OUTLET),
  ]);
  events.emit('SIGHUP');
  await waitFor(() => reloads().length === served + 1);
  expect(reloads()[served]).toMatchObject({ msg: 'SIGHUP: deployments reloaded', rebuilt: ['clinic'] });

  expect((await fetch(`${service.url}/guest-session`, { headers: auth(ended) })).status).toBe(endedAnswer);
  const retried = await send();
  expect(retried.status).toBe(201);
  expect(((await retried.json()) as { message: unknown }).message).toEqual(firstMessage);
  const sent = clinicSim.received.filter(
    (r) => (r.frame as { message?: { text?: string } }).message?.text === 'sent before the reload',
  );
  expect(sent).toHaveLength(1);
});
