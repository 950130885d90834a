import { ConfigError, readConfig } from '../../src/config/schema';
import { startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startService, type RunningService } from '../../src/server';
import { captureLogger } from '../support/app';

/**
 * DEMO_DEPLOYMENTS=2 (src/demo/embeddedDefault.ts): the embedded demo serves two deployments from one install, the
 * page at `localhost` chatting with the first simulator and the same page at `127.0.0.1` with the second, whose
 * deployment takes PDF files only and has sign-in off. (The demo's simulators run the default profile, as `npm
 * start` does.)
 */
jest.setTimeout(60_000);

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

async function chat(origin: string) {
  const started = await fetch(`${service.url}/guest-session`, {
    method: 'POST',
    headers: { Origin: origin, 'Content-Type': 'application/json' },
    body: '{}',
  });
  expect(started.status).toBe(201);
  const { sessionToken } = (await started.json()) as { sessionToken: string };
  const capabilities = await fetch(`${service.url}/capabilities`, {
    headers: { Origin: origin, Authorization: `Bearer ${sessionToken}` },
  });
  const body = (await capabilities.json()) as {
    attachments: { mediaTypes: string[] };
    authentication: { enabled: boolean };
  };
  return { types: body.attachments.mediaTypes, signIn: body.authentication.enabled };
}

test('serves the two deployments from a deployments file, one per page origin', async () => {
  const config = await readConfig(embedded.env);
  expect(embedded.env.GENESYS_DEPLOYMENT_ID).toBeUndefined();
  expect(config.deployments.map((d) => [d.name, d.allowedOrigins])).toEqual([
    ['first', [embedded.demoOrigins[0]]],
    ['second', [embedded.demoOrigins[1]]],
  ]);
  expect(embedded.serviceStarted(service.url).join('\n')).toMatch(/Two deployments/);
});

test('the page at localhost chats with the first deployment, at 127.0.0.1 with the second', async () => {
  const [localhost, loopback] = embedded.demoOrigins as [string, string];
  const first = await chat(localhost);
  const second = await chat(loopback);
  expect(first.signIn).toBe(true);
  expect(second).toEqual({ types: ['application/pdf'], signIn: false });
  expect(first.types).not.toEqual(second.types);
});

test('DEMO_DEPLOYMENTS takes 1 or 2', async () => {
  await expect(startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0', DEMO_DEPLOYMENTS: '3' })).rejects.toThrow(ConfigError);
});
