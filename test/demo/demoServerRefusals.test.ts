import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDemoServer } from '../../src/demo/demoServer';

/** What the demo server refuses, and how its own faults surface: never answered quietly, never swallowed. */

const options = (pageDir: string) => ({
  host: '127.0.0.1',
  pageDir,
  clientModule: async () => undefined,
  serviceUrlFor: () => 'http://127.0.0.1:1',
});
let pageDir: string;
beforeEach(() => (pageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-demo-refusals-'))));
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(pageDir, { recursive: true, force: true });
});

it('answers a missing client module with a plain-text 404', async () => {
  const server = await startDemoServer({ port: 0, ...options(pageDir) });
  try {
    const answer = await fetch(`http://127.0.0.1:${server.port}/bff-client/missing.js`);
    expect({
      status: answer.status,
      type: answer.headers.get('content-type'),
      nosniff: answer.headers.get('x-content-type-options'),
      text: await answer.text(),
    }).toEqual({
      status: 404,
      type: 'text/plain; charset=utf-8',
      nosniff: 'nosniff',
      text: 'Not found',
    });
  } finally {
    await server.stop();
  }
});

describe('its listening socket', () => {
  /** The http.Server startDemoServer creates. */
  function created(): () => http.Server {
    let server: http.Server | undefined;
    const real = http.createServer;
    jest
      .spyOn(http, 'createServer')
      .mockImplementation(((...args: Parameters<typeof real>) => (server = real(...args))) as typeof real);
    return () => server!;
  }

  it('rejects the start when the port is taken, and leaves no server behind', async () => {
    const server = created();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      await expect(startDemoServer({ port, ...options(pageDir) })).rejects.toMatchObject({ code: 'EADDRINUSE', port });
      expect(server().listening).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('lets a fault after listening reach the process, rather than a start that finished long ago', async () => {
    const server = created();
    const demo = await startDemoServer({ port: 0, ...options(pageDir) });
    try {
      // An accept failure (EMFILE, say) arrives as the server's 'error' event: with no listener left, it is thrown.
      expect(() => server().emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }))).toThrow(
        'accept EMFILE',
      );
    } finally {
      await demo.stop();
    }
  });
});
