import { ConfigError, readConfig } from '../../src/config/schema';
import { startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';
import { startService, type RunningService } from '../../src/server';
import * as simulatorModule from '../../simulator';
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
/** The simulators the embedded default started, with what each was told. */
const simulators: { options: Parameters<typeof simulatorModule.startSimulator>[0]; url: string }[] = [];

beforeAll(async () => {
  const real = simulatorModule.startSimulator;
  jest.spyOn(simulatorModule, 'startSimulator').mockImplementation(async (options) => {
    const simulator = await real(options);
    simulators.push({ options, url: simulator.url });
    return simulator;
  });
  embedded = await startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0', DEMO_DEPLOYMENTS: '2' });
  service = await startService(await readConfig(embedded.env), captureLogger().logger);
});

afterAll(async () => {
  jest.restoreAllMocks();
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

test('the second deployment is told apart: its own id, greeting and file types, no sign-in', () => {
  expect(simulators.map((s) => s.options?.deploymentId)).toEqual([undefined, '2b7e151a-628a-4d2b-9e3c-4f5a6b7c8d9e']);
  expect(simulators[1]!.options).toEqual({
    record: false,
    autoStart: true,
    deploymentId: '2b7e151a-628a-4d2b-9e3c-4f5a6b7c8d9e',
    authEnabled: false,
    fileUploadModes: [{ fileTypes: ['application/pdf'], maxFileSizeKB: 10_240 }],
    agent: {
      typingDelayMs: 300,
      replyDelayMs: 900,
      greeting:
        'Hello from the second deployment of the same install, with its own simulator. It takes PDF files only, and has sign-in off.',
    },
  });
});

test('says where each page origin chats, and lets the page show both simulators’ images', async () => {
  const [first, second] = simulators.map((s) => s.url);
  expect(embedded.serviceStarted(service.url)).toContain(
    `  Two deployments: ${embedded.demoOrigins[0]} chats with the first, ${embedded.demoOrigins[1]} with the second ` +
      `(its own simulator, ${second}: PDF files only, sign-in off)`,
  );
  const policy = (await fetch(embedded.demo.url)).headers.get('content-security-policy');
  expect(policy).toMatch(/img-src [^;]*/);
  const images = /img-src ([^;]*)/.exec(policy!)![1]!.split(' ');
  expect(images.slice(-2)).toEqual([first, second]);
});

test('DEMO_DEPLOYMENTS takes 1 or 2', async () => {
  await expect(startEmbeddedDefault({ PORT: '0', DEMO_PORT: '0', DEMO_DEPLOYMENTS: '3' })).rejects.toThrow(ConfigError);
});
