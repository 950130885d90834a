import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoServer, type DemoServer } from '../../src/demo/demoServer';

/**
 * Two more rules of the demo page's server (src/demo/demoServer.ts), each on a server started inside
 * its test: a path is served only when all of it names a file (nothing may follow the name), and
 * the page's settings replace whatever its meta tags held before, not only empty ones.
 */

let pageDir: string;
let server: DemoServer | undefined;

beforeAll(() => {
  pageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-demo-paths-'));
  fs.writeFileSync(
    path.join(pageDir, 'index.html'),
    `<!doctype html><html><head>
<meta name="bff-url" content="http://old.example:8080">
<meta name="sign-in-authorize-url" content="https://old.example/authorize">
<meta name="sign-in-client-id" content="old-client">
</head><body>chat</body></html>`,
  );
  fs.writeFileSync(path.join(pageDir, 'app.js'), 'console.log("app");');
});

afterAll(() => fs.rmSync(pageDir, { recursive: true, force: true }));

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function demo(): Promise<string> {
  server = await startDemoServer({
    port: 0,
    host: '127.0.0.1',
    pageDir,
    clientModule: async (file) => (file === 'index.js' ? 'export const client = 1;' : undefined),
    serviceUrlFor: () => 'http://127.0.0.1:8080',
    signIn: { authorizeUrl: 'https://idp.example/authorize', clientId: 'demo-client' },
  });
  return `http://127.0.0.1:${server.port}`;
}

it('serves a file only when nothing follows its name', async () => {
  const base = await demo();
  expect((await fetch(`${base}/app.js`)).status).toBe(200);
  expect((await fetch(`${base}/bff-client/index.js`)).status).toBe(200);
  for (const p of ['/app.js/more', '/app.js/', '/bff-client/index.js/more', '/bff-client/index.js/']) {
    expect({ p, status: (await fetch(`${base}${p}`)).status }).toEqual({ p, status: 404 });
  }
});

it('writes its settings over whatever the page held', async () => {
  const page = await (await fetch(await demo())).text();
  expect(page.match(/<meta [^>]*>/g)).toEqual([
    '<meta name="bff-url" content="http://127.0.0.1:8080">',
    '<meta name="sign-in-authorize-url" content="https://idp.example/authorize">',
    '<meta name="sign-in-client-id" content="demo-client">',
  ]);
});
