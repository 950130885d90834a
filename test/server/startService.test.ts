import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as chatStack from '../../src/chatStack';
import * as platform from '../../src/genesys/platform';
import { tracingOn } from '../../src/observability/tracing';
import { startService } from '../../src/server';
import { captureLogger, startTestService, testConfig, type TestService } from '../support/app';
import { freePort } from '../support/ports';

/**
 * What src/server.ts sets up around the app, beyond the drain lifecycle.test.ts shows: the warning
 * for a proxy setting that trusts any client, a start whose upload spool is unusable (nothing left
 * open), the metrics listener and the tracing it starts and stops, and the answer to a request Node
 * cannot parse.
 */
jest.setTimeout(30_000);

const TRUST_ALL =
  'TRUST_PROXY=true trusts every X-Forwarded-For hop: a client that reaches this instance directly can pick its own address and walk past the per-address limits. Set it to the number of proxies in front (e.g. 1) or their addresses.';

let service: TestService | undefined;
afterEach(async () => {
  jest.restoreAllMocks();
  await service?.stop();
  service = undefined;
});

const refusedAt = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve('connected')));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });

it('warns once when TRUST_PROXY trusts every hop, and not for a counted proxy', async () => {
  service = await startTestService({ env: { TRUST_PROXY: 'true' } });
  expect(service.log.lines().filter((l) => l.msg === TRUST_ALL)).toEqual([expect.objectContaining({ level: 40 })]);
  await service.stop();
  service = await startTestService({ env: { TRUST_PROXY: '1' } });
  expect(service.log.messages('warn')).not.toContain(TRUST_ALL);
});

it('reports its configuration as a passed readiness check', async () => {
  service = await startTestService();
  expect(service.readiness.report().checks.config).toEqual(
    expect.objectContaining({ ok: true, detail: 'Configuration is valid.' }),
  );
});

it('fails to start on an unusable upload spool, closing what it built, listening nowhere', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bff-start-')), 'a-file');
  fs.writeFileSync(file, '');
  const closed: string[] = [];
  const realStack = chatStack.buildChatStack;
  jest.spyOn(chatStack, 'buildChatStack').mockImplementation((...args) => {
    const stack = realStack(...args);
    const close = stack.close;
    return { ...stack, close: async () => (closed.push('chat'), close()) };
  });
  const realPlatform = platform.createGenesysPlatform;
  jest.spyOn(platform, 'createGenesysPlatform').mockImplementation((...args) => {
    const built = realPlatform(...args);
    const close = built.close.bind(built);
    return Object.assign(built, { close: async () => (closed.push('platform'), close()) });
  });
  const port = await freePort();
  const start = startService(
    testConfig({ PORT: String(port), UPLOAD_TMP_DIR: path.join(file, 'spool') }),
    captureLogger().logger,
  );
  await expect(start).rejects.toThrow(
    `UPLOAD_TMP_DIR ${path.join(file, 'spool')} cannot hold uploads (ENOTDIR): set it to a writable directory.`,
  );
  expect(closed).toEqual(['chat', 'platform']);
  expect(await refusedAt(port)).toBe('ECONNREFUSED');
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
});

it('serves metrics on METRICS_PORT while it runs, and stops serving them with it', async () => {
  service = await startTestService({ env: { METRICS_PORT: '0' } });
  const url = service.metricsUrl!;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect((await fetch(url)).status).toBe(200);
  await service.stop();
  service = undefined;
  expect(await refusedAt(Number(new URL(url).port))).toBe('ECONNREFUSED');
});

it('has no metrics listener without METRICS_PORT', async () => {
  service = await startTestService();
  expect(service.metricsUrl).toBeUndefined();
});

it('starts tracing when an OTLP endpoint is set, and stops it with the service', async () => {
  expect(tracingOn()).toBe(false);
  service = await startTestService({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
  expect(tracingOn()).toBe(true);
  await service.stop();
  service = undefined;
  expect(tracingOn()).toBe(false);
});

it('answers a request Node cannot parse with a problem+json 400', async () => {
  service = await startTestService();
  const socket = net.connect({ port: Number(new URL(service.url).port), host: '127.0.0.1' });
  let answer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('NOT HTTP AT ALL\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/problem\+json\r\n/);
});
