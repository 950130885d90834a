import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { metricsText } from '../../src/observability/metrics';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { parseScrape } from '../support/metrics';
import { startGenesysSwitch, type GenesysSwitch } from '../support/genesysSwitch';
import { simProfile } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * One process serving two deployments from a deployments file (src/deployments/), each on its own simulator: one of
 * region mypurecloud.com that takes PNG files and lets customers sign in, and one of mypurecloud.ie that takes PDF
 * files and does not. Each deployment's requests reach only its Genesys; a token is good only on its own deployment;
 * an outage of one Genesys leaves the instance ready and the other deployment chatting.
 */

const SHOP = 'https://shop.example';
const CLINIC = 'https://clinic.example';

let shopSim: Simulator;
let clinicSim: Simulator;
let clinicSwitch: GenesysSwitch;
let service: RunningService;
let dir: string;
const captured = captureLogger();

beforeAll(async () => {
  shopSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    fileUploadModes: [{ fileTypes: ['image/png'], maxFileSizeKB: 100 }],
    authEnabled: true,
  });
  clinicSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211',
    clientId: 'clinic-client',
    clientSecret: 'clinic-secret',
    fileUploadModes: [{ fileTypes: ['application/pdf'], maxFileSizeKB: 2048 }],
    authEnabled: false,
  });
  clinicSwitch = await startGenesysSwitch(clinicSim.port);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'several-deployments-'));
  const file = path.join(dir, 'deployments.json');
  const clinic = {
    ...deploymentEntryFor(clinicSim, 'clinic', [CLINIC]),
    region: 'mypurecloud.ie',
    apiUrl: clinicSwitch.url,
    webMessagingUrl: clinicSwitch.wsUrl,
  };
  fs.writeFileSync(file, JSON.stringify({ deployments: [deploymentEntryFor(shopSim, 'shop', [SHOP]), clinic] }));
  const env = deploymentsFileEnv(file, { GENESYS_TIMEOUT_MS: '10000', DEPLOYMENT_CACHE_TTL_SECONDS: '1' });
  service = await startService(await readConfig(env), captured.logger);
  await waitFor(async () => (await request(service.url).get('/readyz')).body.status === 'ready');
});

afterAll(async () => {
  await service?.stop();
  await clinicSwitch?.close();
  await shopSim?.stop();
  await clinicSim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const http = () => request(service.url);

async function start(origin: string): Promise<string> {
  const res = await http().post('/guest-session').set('Origin', origin).send({});
  expect(res.status).toBe(201);
  return res.body.sessionToken as string;
}

const sent = (sim: Simulator, text: string) =>
  sim.received.some((r) => (r.frame as { message?: { text?: string } }).message?.text === text);

test("each deployment's chat reaches only its own Genesys", async () => {
  const shop = await start(SHOP);
  const clinic = await start(CLINIC);
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  expect((await http().post('/messages').set('Origin', SHOP).set(auth(shop)).send({ text: 'shop hello' })).status).toBe(
    201,
  );
  const toClinic = await http().post('/messages').set('Origin', CLINIC).set(auth(clinic)).send({ text: 'clinic hi' });
  expect(toClinic.status).toBe(201);
  expect([sent(shopSim, 'shop hello'), sent(clinicSim, 'shop hello')]).toEqual([true, false]);
  expect([sent(clinicSim, 'clinic hi'), sent(shopSim, 'clinic hi')]).toEqual([true, false]);
  // The deployment each Genesys saw is its own.
  const deploymentsSeen = (sim: Simulator) =>
    new Set(sim.received.map((r) => (r.frame as { deploymentId?: string }).deploymentId).filter(Boolean));
  expect([...deploymentsSeen(shopSim)]).toEqual([shopSim.deploymentId]);
  expect([...deploymentsSeen(clinicSim)]).toEqual([clinicSim.deploymentId]);
});

test('metrics count each deployment under its name, and its log lines name it', async () => {
  const before = parseScrape(await metricsText());
  const count = (scrape: typeof before, deployment: string) =>
    scrape.value('genesys_bff_messages_total', { direction: 'inbound', deployment });
  const shop = await start(SHOP);
  const res = await http()
    .post('/messages')
    .set('Origin', SHOP)
    .set('Authorization', `Bearer ${shop}`)
    .send({ text: 'counted' });
  expect(res.status).toBe(201);
  const after = parseScrape(await metricsText());
  expect(count(after, 'shop') - count(before, 'shop')).toBe(1);
  expect(count(after, 'clinic') - count(before, 'clinic')).toBe(0);
  // The deployment label takes only the file's names (and `default` for the process's own work).
  const values = new Set(
    after
      .series()
      .map((series) => /deployment="([^"]*)"/.exec(series)?.[1])
      .filter((value) => value !== undefined),
  );
  for (const value of values) expect(['shop', 'clinic', 'default']).toContain(value);
  expect([values.has('shop'), values.has('clinic')]).toEqual([true, true]);
  // The send's access line names its deployment.
  const line = captured.lines().find((l) => l.requestId === res.headers['x-request-id'] && l.res !== undefined);
  expect(line).toMatchObject({ deployment: 'shop' });
  // Every line of the send names it once, as written (a line with a key twice parses to one).
  const written = captured
    .text()
    .split('\n')
    .filter((l) => l.includes(String(res.headers['x-request-id'])));
  expect(written.length).toBeGreaterThan(0);
  for (const l of written) expect(l.match(/"deployment":"shop"/g)).toHaveLength(1);
});

test("a token from one deployment's origin is refused on the other's, and its own deployment still takes it", async () => {
  const shop = await start(SHOP);
  const onClinic = await http().get('/guest-session').set('Origin', CLINIC).set('Authorization', `Bearer ${shop}`);
  expect(onClinic.status).toBe(401);
  expect(onClinic.headers['content-type']).toMatch(/application\/problem\+json/);
  const onShop = await http().get('/guest-session').set('Origin', SHOP).set('Authorization', `Bearer ${shop}`);
  expect(onShop.status).toBe(200);
  // Without an Origin (a server's call), the token's own deployment serves it: each seals with keys of its own.
  expect((await http().get('/guest-session').set('Authorization', `Bearer ${shop}`)).status).toBe(200);
  const clinic = await start(CLINIC);
  const before = clinicSim.received.length;
  const noOrigin = await http().post('/messages').set('Authorization', `Bearer ${clinic}`).send({ text: 'no origin' });
  expect(noOrigin.status).toBe(201);
  expect(sent(clinicSim, 'no origin')).toBe(true);
  expect(clinicSim.received.length).toBeGreaterThan(before);
  // Naming the other deployment changes nothing: the token says whose it is.
  const misnamed = await http()
    .post('/messages')
    .set('Authorization', `Bearer ${clinic}`)
    .set('X-Deployment', 'shop')
    .send({ text: 'misnamed' });
  expect(misnamed.status).toBe(201);
  expect([sent(clinicSim, 'misnamed'), sent(shopSim, 'misnamed')]).toEqual([true, false]);
});

test('/capabilities is each deployment’s own: its file types and whether customers can sign in', async () => {
  const capabilities = async (origin: string) => {
    const res = await http()
      .get('/capabilities')
      .set('Origin', origin)
      .set('Authorization', `Bearer ${await start(origin)}`);
    expect(res.status).toBe(200);
    return { types: res.body.attachments.mediaTypes, signIn: res.body.authentication.enabled };
  };
  expect(await capabilities(SHOP)).toEqual({ types: ['image/png'], signIn: true });
  expect(await capabilities(CLINIC)).toEqual({ types: ['application/pdf'], signIn: false });
});

test('a request no deployment can be chosen for is refused with a problem naming the ways to choose', async () => {
  const res = await http().post('/guest-session').send({});
  expect(res.status).toBe(400);
  expect(res.body.detail).toMatch(/X-Deployment/);
  // Named, it is served by that deployment.
  const named = await http().post('/guest-session').set('X-Deployment', 'clinic').send({});
  expect(named.status).toBe(201);
  // An Origin no deployment allows is refused as any foreign origin is.
  const foreign = await http().post('/guest-session').set('Origin', 'https://elsewhere.example').send({});
  expect(foreign.status).toBe(403);
});

test("one deployment's Genesys outage leaves /readyz 200 and the other deployment chatting", async () => {
  const shop = await start(SHOP);
  const clinic = await start(CLINIC);
  clinicSwitch.set('refuse');
  try {
    const toClinic = await http()
      .post('/messages')
      .set('Origin', CLINIC)
      .set('Authorization', `Bearer ${clinic}`)
      .send({ text: 'clinic in the outage' });
    expect([503, 504]).toContain(toClinic.status);
    expect(Number(toClinic.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await http().get('/readyz')).body.checks['clinic/guestApi']?.ok === false);
    const ready = await http().get('/readyz');
    expect([ready.status, ready.body.status]).toEqual([200, 'degraded']);
    expect(ready.body.checks['shop/guestApi'].ok).toBe(true);
    const toShop = await http()
      .post('/messages')
      .set('Origin', SHOP)
      .set('Authorization', `Bearer ${shop}`)
      .send({ text: 'shop in the outage' });
    expect(toShop.status).toBe(201);
  } finally {
    clinicSwitch.set('pass');
  }
});
