import net from 'node:net';
import { startTestService, type TestService } from '../support/app';

/**
 * src/server.ts's listening socket: a port in use fails the start, a fault after listening is not
 * swallowed by the start's own listener, and the URL it reports is one a local client can call.
 */
jest.setTimeout(30_000);

let service: TestService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

it('fails to start on a port in use', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  try {
    const port = (blocker.address() as net.AddressInfo).port;
    await expect(startTestService({ env: { PORT: String(port), HOST: '127.0.0.1' } })).rejects.toMatchObject({ code: 'EADDRINUSE', port });
  } finally {
    blocker.close();
  }
});

it('lets a fault after listening reach the process, rather than a start that finished long ago', async () => {
  service = await startTestService();
  // An accept failure (EMFILE, say) arrives as the server's 'error' event: with no listener left, it is thrown.
  expect(() => service!.server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).toThrow('accept EMFILE');
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
