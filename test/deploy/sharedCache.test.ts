import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { startNginxWith, type Nginx } from '../support/nginx';
import { simProfile } from '../support/stack';

/**
 * An answer that depends on the deployment varies on whatever chose the deployment, so a shared cache in front of a
 * service of several deployments never hands one deployment's answer to another's client. Debian's nginx caches
 * `GET /availability` (`Cache-Control: public`) in front of two deployments whose answers differ: one reads a
 * schedule group, the other reads nothing.
 *
 * @needs nginx
 */

const SHOP = 'https://shop.example';
const CLINIC = 'https://clinic.example';

let shopSim: Simulator;
let clinicSim: Simulator;
let service: RunningService;
let nginx: Nginx;
let dir: string;

beforeAll(async () => {
  shopSim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
  clinicSim = await startSimulator({
    profile: simProfile(),
    agent: { enabled: false },
    deploymentId: '0f1e2d3c-4b5a-4697-8877-665544332211',
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shared-cache-'));
  const file = path.join(dir, 'deployments.json');
  const clinic = {
    ...deploymentEntryFor(clinicSim, 'clinic', [CLINIC]),
    availability: { scheduleGroupId: clinicSim.availability.ids.scheduleGroupId },
  };
  fs.writeFileSync(file, JSON.stringify({ deployments: [deploymentEntryFor(shopSim, 'shop', [SHOP]), clinic] }));
  service = await startService(await readConfig(deploymentsFileEnv(file)), captureLogger().logger);
  const upstream = new URL(service.url).host;
  // nginx's workers may run as another user (nginx started by root): the cache must be theirs to write.
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  fs.chmodSync(dir, 0o755);
  fs.chmodSync(cache, 0o777);
  nginx = await startNginxWith((port) =>
    [
      `proxy_cache_path ${cache} levels=1:2 keys_zone=shared:1m max_size=10m;`,
      'server {',
      `  listen 127.0.0.1:${port};`,
      '  location / {',
      `    proxy_pass http://${upstream};`,
      '    proxy_cache shared;',
      `    proxy_temp_path ${cache}/temp;`,
      '    proxy_cache_key $request_uri;',
      '    add_header X-Cache-Status $upstream_cache_status always;',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await nginx?.stop();
  await service?.stop();
  await shopSim?.stop();
  await clinicSim?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the cache gives for GET /availability with these headers: whether it is the clinic's, and from where. */
async function availability(headers: Record<string, string>): Promise<{ configured: boolean; cache: string }> {
  const res = await fetch(`${nginx.url}/availability`, { headers });
  expect({ status: res.status, body: res.status === 200 ? '' : await res.clone().text() }).toEqual({
    status: 200,
    body: '',
  });
  expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  const body = (await res.json()) as { configured: boolean };
  return { configured: body.configured, cache: res.headers.get('x-cache-status') ?? '' };
}

test('the answers vary on Origin, X-Deployment and Authorization, whatever chose the deployment', async () => {
  const res = await fetch(`${service.url}/availability`, { headers: { 'X-Deployment': 'clinic' } });
  expect(
    (res.headers.get('vary') ?? '')
      .split(',')
      .map((v) => v.trim())
      .sort(),
  ).toEqual(expect.arrayContaining(['Authorization', 'Origin', 'X-Deployment']));
});

test("a shared cache keeps each deployment's answer for that deployment's clients", async () => {
  // Chosen by X-Deployment (a server's request, without Origin): the same URL, two answers.
  expect(await availability({ 'X-Deployment': 'shop' })).toEqual({ configured: false, cache: 'MISS' });
  expect(await availability({ 'X-Deployment': 'clinic' })).toEqual({ configured: true, cache: 'MISS' });
  // Each is then served from the cache, to its own deployment's clients only.
  expect(await availability({ 'X-Deployment': 'clinic' })).toEqual({ configured: true, cache: 'HIT' });
  expect(await availability({ 'X-Deployment': 'shop' })).toEqual({ configured: false, cache: 'HIT' });
  // Chosen by Origin (a page's request).
  expect((await availability({ Origin: CLINIC })).configured).toBe(true);
  expect((await availability({ Origin: SHOP })).configured).toBe(false);
  expect(await availability({ Origin: CLINIC })).toEqual({ configured: true, cache: 'HIT' });
});
