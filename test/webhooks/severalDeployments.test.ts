import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { deploymentEntryFor, startSimulator, type Simulator } from '../../simulator';
import { readConfig } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { captureLogger, deploymentsFileEnv } from '../support/app';
import { scrape } from '../support/metrics';
import { simProfile } from '../support/stack';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhooks of two deployments of one process (a deployments file): each deployment's events reach only its own
 * endpoints, signed with its own secret (one given inline, one by the variable holding it), named by its
 * deployment, filtered by `events`, and counted under its `deployment` label; each has its own dead-letter list.
 */

const SHOP = 'https://shop.example';
const CLINIC = 'https://clinic.example';
const CLINIC_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

let sim: Simulator;
let service: RunningService;
let dir: string;
let shopHooks: WebhookReceiver;
let clinicHooks: WebhookReceiver;

beforeAll(async () => {
  sim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
  shopHooks = await startWebhookReceiver();
  clinicHooks = await startWebhookReceiver(CLINIC_SECRET);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-deployments-'));
  const file = path.join(dir, 'deployments.json');
  const shop = {
    ...deploymentEntryFor(sim, 'shop', [SHOP]),
    webhooks: [{ url: shopHooks.url, secret: WEBHOOK_SECRET }],
  };
  const clinic = {
    ...deploymentEntryFor(sim, 'clinic', [CLINIC]),
    webhooks: [{ url: clinicHooks.url, secretEnv: 'CLINIC_WEBHOOK_SECRET', events: ['message.sent'] }],
  };
  fs.writeFileSync(file, JSON.stringify({ deployments: [shop, clinic] }));
  const env = deploymentsFileEnv(file, { CLINIC_WEBHOOK_SECRET: CLINIC_SECRET, METRICS_PORT: '0' });
  service = await startService(await readConfig(env), captureLogger().logger);
});

afterAll(async () => {
  await service?.stop();
  await sim?.stop();
  await shopHooks?.close();
  await clinicHooks?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function chatFrom(origin: string, text: string): Promise<string> {
  const started = await request(service.url).post('/guest-session').set('Origin', origin).send({});
  expect(started.status).toBe(201);
  const sent = await request(service.url)
    .post('/messages')
    .set({ Origin: origin, Authorization: `Bearer ${started.body.sessionToken}` })
    .send({ text });
  expect(sent.status).toBe(201);
  return sent.body.message.id as string;
}

test("each deployment's events reach its own endpoints, with its secret, name, events and label", async () => {
  const shopSent = await chatFrom(SHOP, 'for the shop');
  const clinicSent = await chatFrom(CLINIC, 'for the clinic');
  await waitFor(() => shopHooks.accepted().length >= 2 && clinicHooks.accepted().length >= 1);
  // Each receiver verified every delivery with its own secret.
  expect([shopHooks.unverified, clinicHooks.unverified]).toEqual([[], []]);
  expect(shopHooks.accepted().map((d) => [d.body.deployment, d.body.type])).toEqual([
    ['shop', 'chat.started'],
    ['shop', 'message.sent'],
  ]);
  expect((shopHooks.accepted()[1]!.body.data.message as { id: string }).id).toBe(shopSent);
  // The clinic's endpoint takes message.sent only.
  expect(clinicHooks.accepted().map((d) => [d.body.deployment, d.body.type])).toEqual([['clinic', 'message.sent']]);
  expect((clinicHooks.accepted()[0]!.body.data.message as { id: string }).id).toBe(clinicSent);

  const s = await scrape(service.metricsUrl!);
  const delivered = (deployment: string) =>
    s.value('genesys_bff_webhook_deliveries_total', { deployment, outcome: 'delivered' });
  expect([delivered('shop'), delivered('clinic')]).toEqual([2, 1]);
  const queued = (deployment: string) => s.value('genesys_bff_webhook_events_total', { deployment, outcome: 'queued' });
  expect([queued('shop'), queued('clinic')]).toEqual([2, 1]);
});

test('the dead-letter list is named by deployment', async () => {
  const list = async (deployment: string) =>
    (await fetch(new URL(`/webhooks/dead-letter?deployment=${deployment}`, service.metricsUrl!))).status;
  expect([await list('shop'), await list('clinic'), await list('default')]).toEqual([200, 200, 400]);
  // With several deployments, one must be named.
  expect((await fetch(new URL('/webhooks/dead-letter', service.metricsUrl!))).status).toBe(400);
});
