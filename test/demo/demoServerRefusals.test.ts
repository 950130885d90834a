import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoServer } from '../../src/demo/demoServer';

/** The demo server's answer for a client module the build does not have: a plain-text 404, like every other it gives. */
it('answers a missing client module with a plain-text 404', async () => {
  const pageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-demo-refusals-'));
  const server = await startDemoServer({ port: 0, host: '127.0.0.1', pageDir, clientModule: async () => undefined, serviceUrlFor: () => 'http://127.0.0.1:1' });
  try {
    const answer = await fetch(`http://127.0.0.1:${server.port}/bff-client/missing.js`);
    expect({ status: answer.status, type: answer.headers.get('content-type'), nosniff: answer.headers.get('x-content-type-options'), text: await answer.text() }).toEqual({
      status: 404,
      type: 'text/plain; charset=utf-8',
      nosniff: 'nosniff',
      text: 'Not found',
    });
  } finally {
    await server.stop();
    fs.rmSync(pageDir, { recursive: true, force: true });
  }
});
