import net from 'node:net';
import * as chatStack from '../../src/chatStack';
import * as platform from '../../src/genesys/platform';
import { EventLoopCheck } from '../../src/observability/readiness';
import { tracingOn } from '../../src/observability/tracing';
import { startTestService, type TestService } from '../support/app';
import { freePort } from '../support/ports';

/**
 * src/server.ts's listening sockets: a port in use (the service's or METRICS_PORT) fails the start and
 * closes what it built, a fault after listening is not
 * swallowed by the start's own listener, and the URL it reports is one a local client can call.
 */
jest.setTimeout(30_000);

let service: TestService | undefined;
afterEach(async () => {
  jest.restoreAllMocks();
  await service?.stop();
  service = undefined;
});

/** Records what a start closes: the chat stack, the Platform side, the event-loop check. */
function closesRecorded(): string[] {
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
  const closeCheck = EventLoopCheck.prototype.close;
  jest.spyOn(EventLoopCheck.prototype, 'close').mockImplementation(function (this: EventLoopCheck) {
    closed.push('eventLoop');
    closeCheck.call(this);
  });
  return closed;
}

/** Holds a loopback port while `body` runs. */
async function whileTaken<T>(body: (port: number) => Promise<T>): Promise<T> {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    return await body((blocker.address() as net.AddressInfo).port);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}

const connects = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

it('fails to start on a port in use, closing what it built and stopping the tracing it started', async () => {
  const closed = closesRecorded();
  await whileTaken((port) =>
    expect(
      startTestService({ env: { PORT: String(port), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE', port }),
  );
  expect(closed).toEqual(['chat', 'platform', 'eventLoop']);
  expect(tracingOn()).toBe(false);
});

it('fails to start on a METRICS_PORT in use, and leaves its public port free', async () => {
  const closed = closesRecorded();
  const port = await freePort();
  await whileTaken((metricsPort) =>
    expect(startTestService({ env: { PORT: String(port), METRICS_PORT: String(metricsPort) } })).rejects.toMatchObject({
      code: 'EADDRINUSE',
      port: metricsPort,
    }),
  );
  expect(closed).toEqual(['chat', 'platform', 'eventLoop']);
  expect(await connects(port)).toBe(false);
});

it('lets a fault after listening reach the process, rather than a start that finished long ago', async () => {
  service = await startTestService();
  // An accept failure (EMFILE, say) arrives as the server's 'error' event: with no listener left, it is thrown.
  expect(() => service!.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).toThrow(
    'accept EMFILE',
  );
});

it.each([
  ['0.0.0.0', '127.0.0.1'],
  ['::', '127.0.0.1'],
  ['127.0.0.1', '127.0.0.1'],
  ['localhost', 'localhost'],
])('reports a URL a local client can call when HOST is %s', async (host, urlHost) => {
  service = await startTestService({ env: { HOST: host, PORT: '0' } });
  const { port } = service.server.address() as net.AddressInfo;
  expect(service.url).toBe(`http://${urlHost}:${port}`);
  expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
});
