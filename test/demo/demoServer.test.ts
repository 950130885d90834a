import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDemoServer, type DemoServer } from '../../src/demo/demoServer';

/**
 * The demo page's own server (src/demo/demoServer.ts) over a page folder of the test's: what it
 * serves, with which headers and policy, and what it refuses; a path is served only when all of it
 * names a file (nothing may follow the name), and the page's settings replace whatever its meta
 * tags held before, not only empty ones; its own faults surface, never answered quietly, never
 * swallowed. embeddedDefault.test.ts serves the real page through it.
 */

describe('what it serves', () => {
  const PAGE = `<!doctype html><html><head>
<meta name="bff-url" content="">
<meta name="sign-in-authorize-url" content="">
<meta name="sign-in-client-id" content="">
</head><body>chat</body></html>`;

  let pageDir: string;
  const servers: DemoServer[] = [];

  beforeAll(() => {
    pageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-demo-page-'));
    fs.writeFileSync(path.join(pageDir, 'index.html'), PAGE);
    fs.writeFileSync(path.join(pageDir, 'app.js'), 'console.log("app");');
    fs.writeFileSync(path.join(pageDir, 'style.css'), 'body{}');
    fs.writeFileSync(path.join(pageDir, 'logo.svg'), '<svg/>');
    fs.writeFileSync(path.join(pageDir, 'logo.png'), 'png');
    fs.writeFileSync(path.join(pageDir, 'favicon.ico'), 'ico');
    fs.writeFileSync(path.join(pageDir, 'a.min.css'), 'a{}');
    fs.writeFileSync(path.join(pageDir, 'notes.txt'), 'not served');
    fs.mkdirSync(path.join(pageDir, 'folder.css'));
  });

  afterAll(() => fs.rmSync(pageDir, { recursive: true, force: true }));

  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
  });

  interface Options {
    pageDir?: string;
    clientModule?: (file: string) => Promise<string | undefined>;
    vendorModule?: (name: 'markdown-it' | 'dompurify') => Promise<string | undefined>;
    serviceWorker?: () => Promise<string | undefined>;
    imageOrigins?: string[];
    signIn?: { authorizeUrl: string; clientId: string };
    serviceUrlFor?: (hostname: string) => string;
  }

  async function demo(options: Options = {}): Promise<DemoServer & { base: string; hostnames: string[] }> {
    const hostnames: string[] = [];
    const server = await startDemoServer({
      port: 0,
      host: '127.0.0.1',
      pageDir: options.pageDir ?? pageDir,
      clientModule:
        options.clientModule ?? (async (file) => (file === 'index.js' ? 'export const client = 1;' : undefined)),
      serviceUrlFor:
        options.serviceUrlFor ??
        ((hostname) => {
          hostnames.push(hostname);
          return 'http://127.0.0.1:8080';
        }),
      vendorModule: options.vendorModule,
      serviceWorker: options.serviceWorker,
      imageOrigins: options.imageOrigins,
      signIn: options.signIn,
    });
    servers.push(server);
    return Object.assign(server, { base: `http://127.0.0.1:${server.port}`, hostnames });
  }

  /** A GET with a Host header fetch would not send. */
  function getWithHost(port: number, host: string, path = '/'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const COMMON = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  const headersOf = (answer: Response, names: string[]) =>
    Object.fromEntries(names.map((name) => [name, answer.headers.get(name)]));

  describe('the page', () => {
    it('names the service for the hostname the browser used, under a policy that allows only it and images', async () => {
      const server = await demo({ imageOrigins: ['http://127.0.0.1:9999', 'http://localhost:9999'] });
      expect(server.url).toBe(`http://localhost:${server.port}/`);
      const answer = await fetch(`${server.base}/`);
      expect(answer.status).toBe(200);
      expect(headersOf(answer, ['content-type', ...Object.keys(COMMON)])).toEqual({
        'content-type': 'text/html; charset=utf-8',
        ...COMMON,
      });
      expect(answer.headers.get('content-security-policy')).toBe(
        "default-src 'self'; connect-src 'self' http://127.0.0.1:8080; img-src 'self' data: https: http://127.0.0.1:8080 http://127.0.0.1:9999 http://localhost:9999; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      );
      const html = await answer.text();
      expect(html).toBe(PAGE.replace('name="bff-url" content=""', 'name="bff-url" content="http://127.0.0.1:8080"'));
      expect(server.hostnames).toEqual(['127.0.0.1']);

      expect(await (await fetch(`${server.base}/index.html`)).text()).toBe(html);
      await fetch(`http://localhost:${server.port}/`);
      expect(server.hostnames).toEqual(['127.0.0.1', '127.0.0.1', 'localhost']);
    });

    it('allows https: images and the service alone when no other image origin is given', async () => {
      const server = await demo();
      expect((await fetch(`${server.base}/`)).headers.get('content-security-policy')).toContain(
        "img-src 'self' data: https: http://127.0.0.1:8080; base-uri",
      );
    });

    it('takes ?bff= when it is an http(s) URL, as its origin only', async () => {
      const server = await demo();
      const bffOf = async (query: string) =>
        /name="bff-url" content="([^"]*)"/.exec(
          await (await fetch(`${server.base}/?bff=${encodeURIComponent(query)}`)).text(),
        )?.[1];
      expect(await bffOf('https://chat.example.com:8443/a/path?x=1')).toBe('https://chat.example.com:8443');
      expect(await bffOf('http://chat.example.com')).toBe('http://chat.example.com');
      for (const refused of ['', 'ftp://chat.example.com', 'javascript:alert(1)', 'not a url']) {
        expect({ refused, bff: await bffOf(refused) }).toEqual({ refused, bff: 'http://127.0.0.1:8080' });
      }
      const header = (
        await fetch(`${server.base}/?bff=${encodeURIComponent('https://chat.example.com/x')}`)
      ).headers.get('content-security-policy');
      expect(header).toContain("connect-src 'self' https://chat.example.com;");
    });

    it('takes ?bff= only for a page on a loopback origin', async () => {
      const server = await demo({ serviceUrlFor: (hostname) => `https://chat-api.for.${hostname}` });
      const query = `/?bff=${encodeURIComponent('https://elsewhere.example')}`;
      const bffAt = async (host: string) =>
        /name="bff-url" content="([^"]*)"/.exec((await getWithHost(server.port, host, query)).body)?.[1];
      for (const host of [
        'localhost',
        'localhost:3000',
        'demo.localhost',
        '127.0.0.1:3000',
        '127.1.2.3',
        '127.100.200.255',
        '[::1]:3000',
      ])
        expect({ host, bff: await bffAt(host) }).toEqual({ host, bff: 'https://elsewhere.example' });
      for (const host of [
        'shop.example.com',
        '127.0.0.1.example.com',
        'shop.example.com:3000',
        '192.0.2.10',
        '[2001:db8::1]',
        'localhost.example',
      ])
        expect({ host, bff: await bffAt(host) }).toEqual({
          host,
          bff: `https://chat-api.for.${host.replace(/:\d+$/, '')}`,
        });
    });

    it('writes the sign-in button’s settings, each escaped as an attribute', async () => {
      const server = await demo({
        signIn: { authorizeUrl: 'https://idp.example/authorize?a=1&b="2"', clientId: '<client>&"id"' },
        serviceUrlFor: () => 'http://127.0.0.1:8080/?q="<x>"&y',
      });
      const html = await (await fetch(`${server.base}/`)).text();
      expect(html).toContain(
        '<meta name="sign-in-authorize-url" content="https://idp.example/authorize?a=1&amp;b=&quot;2&quot;">',
      );
      expect(html).toContain('<meta name="sign-in-client-id" content="&lt;client&gt;&amp;&quot;id&quot;">');
      expect(html).toContain('<meta name="bff-url" content="http://127.0.0.1:8080/?q=&quot;&lt;x&gt;&quot;&amp;y">');
    });

    it('reads a Host it cannot parse as localhost', async () => {
      const server = await demo();
      expect((await getWithHost(server.port, '[not-a-host')).status).toBe(200);
      expect(server.hostnames).toEqual(['localhost']);
    });

    it('answers HEAD like GET, without a body', async () => {
      const server = await demo();
      const answer = await fetch(`${server.base}/`, { method: 'HEAD' });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await answer.text()).toBe('');
    });

    it('is a 500 that says why when the page cannot be read', async () => {
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bff-demo-empty-'));
      try {
        const server = await demo({ pageDir: empty });
        const answer = await fetch(`${server.base}/`);
        expect(answer.status).toBe(500);
        expect(answer.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        // (Under jest, fs's errors come from another realm and print as `Error: ...`.)
        expect(await answer.text()).toMatch(
          /^The demo page could not be served: (Error: )?ENOENT: no such file or directory, open '.*index\.html'$/,
        );
      } finally {
        fs.rmSync(empty, { recursive: true, force: true });
      }
    });
  });

  describe('the client modules', () => {
    it('serves the entry that re-exports the package, and the package’s modules by name', async () => {
      const asked: string[] = [];
      const server = await demo({
        clientModule: async (file) => (asked.push(file), file === 'index.js' ? 'export const client = 1;' : undefined),
      });
      const entry = await fetch(`${server.base}/bffClient.js`);
      expect(headersOf(entry, ['content-type', ...Object.keys(COMMON)])).toEqual({
        'content-type': 'text/javascript; charset=utf-8',
        ...COMMON,
      });
      expect(await entry.text()).toBe("export * from './bff-client/index.js';\n");
      const module = await fetch(`${server.base}/bff-client/index.js`);
      expect({ status: module.status, type: module.headers.get('content-type'), text: await module.text() }).toEqual({
        status: 200,
        type: 'text/javascript; charset=utf-8',
        text: 'export const client = 1;',
      });
      const missing = await fetch(`${server.base}/bff-client/other.js`);
      expect({ status: missing.status, text: await missing.text() }).toEqual({ status: 404, text: 'Not found' });
      for (const p of ['/bff-client/react/index.js', '/bff-client/index.css', '/x/bff-client/index.js'])
        expect({ p, status: (await fetch(`${server.base}${p}`)).status }).toEqual({ p, status: 404 });
      expect(asked).toEqual(['index.js', 'other.js']);
    });

    it('serves the Markdown libraries by name under /vendor/, and nothing else there', async () => {
      const asked: string[] = [];
      const server = await demo({
        vendorModule: async (name) => (
          asked.push(name),
          name === 'dompurify' ? undefined : `export default '${name}';`
        ),
      });
      const parser = await fetch(`${server.base}/vendor/markdown-it.js`);
      expect({ status: parser.status, type: parser.headers.get('content-type'), text: await parser.text() }).toEqual({
        status: 200,
        type: 'text/javascript; charset=utf-8',
        text: "export default 'markdown-it';",
      });
      expect((await fetch(`${server.base}/vendor/dompurify.js`)).status).toBe(404);
      for (const p of [
        '/vendor/react.js',
        '/vendor/markdown-it.mjs',
        '/vendor/dompurify.js.map',
        '/x/vendor/dompurify.js',
      ])
        expect({ p, status: (await fetch(`${server.base}${p}`)).status }).toEqual({ p, status: 404 });
      expect(asked).toEqual(['markdown-it', 'dompurify']);
      const without = await demo();
      expect((await fetch(`${without.base}/vendor/markdown-it.js`)).status).toBe(404);
    });

    it('closes the connection when it fails after the answer began, rather than answer twice', async () => {
      // A module that is no text: the head is written, then writing the body throws.
      const server = await demo({ clientModule: async () => ({ not: 'text' }) as unknown as string });
      await expect(fetch(`${server.base}/bff-client/index.js`)).rejects.toThrow('fetch failed');
      expect((await fetch(`${server.base}/bffClient.js`)).status).toBe(200);
    });

    it('is a 500 naming the failure when a module cannot be read', async () => {
      const server = await demo({
        clientModule: async (file) => {
          if (file === 'thrown.js') throw 'a plain reason';
          throw new Error('the build is broken');
        },
      });
      const failed = await fetch(`${server.base}/bff-client/index.js`);
      expect({ status: failed.status, text: await failed.text() }).toEqual({
        status: 500,
        text: 'The demo page could not be served: the build is broken',
      });
      expect(await (await fetch(`${server.base}/bff-client/thrown.js`)).text()).toBe(
        'The demo page could not be served: a plain reason',
      );
    });
  });

  describe('the service worker', () => {
    it('serves the kit’s worker as the page’s own /chat-sw.js, and nothing there without one', async () => {
      const server = await demo({ serviceWorker: async () => 'self.addEventListener("push", () => {});' });
      const worker = await fetch(`${server.base}/chat-sw.js`);
      expect({
        status: worker.status,
        ...headersOf(worker, ['content-type', ...Object.keys(COMMON)]),
        text: await worker.text(),
      }).toEqual({
        status: 200,
        'content-type': 'text/javascript; charset=utf-8',
        ...COMMON,
        text: 'self.addEventListener("push", () => {});',
      });
      for (const without of [await demo({ serviceWorker: async () => undefined }), await demo()]) {
        const answer = await fetch(`${without.base}/chat-sw.js`);
        expect({ status: answer.status, type: answer.headers.get('content-type'), text: await answer.text() }).toEqual({
          status: 404,
          type: 'text/plain; charset=utf-8',
          text: 'Not found',
        });
      }
    });
  });

  describe('the page folder', () => {
    it.each([
      ['/app.js', 'text/javascript; charset=utf-8', 'console.log("app");'],
      ['/style.css', 'text/css; charset=utf-8', 'body{}'],
      ['/a.min.css', 'text/css; charset=utf-8', 'a{}'],
      ['/logo.svg', 'image/svg+xml', '<svg/>'],
      ['/logo.png', 'image/png', 'png'],
      ['/favicon.ico', 'image/x-icon', 'ico'],
    ])('serves %s as %s', async (file, type, body) => {
      const server = await demo();
      const answer = await fetch(`${server.base}${file}`);
      expect({
        status: answer.status,
        ...headersOf(answer, ['content-type', ...Object.keys(COMMON)]),
        body: await answer.text(),
      }).toEqual({
        status: 200,
        'content-type': type,
        ...COMMON,
        body,
      });
    });

    it('serves nothing else: another extension, a missing file, a folder, a path outside or below it', async () => {
      const server = await demo();
      for (const p of [
        '/notes.txt',
        '/missing.css',
        '/folder.css',
        '/index',
        '/.css',
        '/a..css',
        '/sub/app.js',
        '/..%2fapp.js',
      ]) {
        const answer = await fetch(`${server.base}${p}`);
        expect({
          p,
          status: answer.status,
          type: answer.headers.get('content-type'),
          text: await answer.text(),
        }).toEqual({ p, status: 404, type: 'text/plain; charset=utf-8', text: 'Not found' });
      }
    });

    it('allows GET and HEAD only', async () => {
      const server = await demo();
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const answer = await fetch(`${server.base}/app.js`, { method });
        expect({
          method,
          status: answer.status,
          allow: answer.headers.get('allow'),
          type: answer.headers.get('content-type'),
          nosniff: answer.headers.get('x-content-type-options'),
          text: await answer.text(),
        }).toEqual({
          method,
          status: 405,
          allow: 'GET, HEAD',
          type: 'text/plain; charset=utf-8',
          nosniff: 'nosniff',
          text: 'Method not allowed',
        });
      }
    });
  });

  describe('its life', () => {
    it('refuses a port in use, and stops once however often it is told', async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      try {
        const port = (blocker.address() as net.AddressInfo).port;
        await expect(
          startDemoServer({
            port,
            host: '127.0.0.1',
            pageDir,
            clientModule: async () => undefined,
            serviceUrlFor: () => 'http://127.0.0.1:1',
          }),
        ).rejects.toMatchObject({ code: 'EADDRINUSE' });
      } finally {
        blocker.close();
      }
      const server = await demo();
      const keptAlive = new http.Agent({ keepAlive: true });
      await new Promise<void>((resolve) =>
        http.get(`${server.base}/app.js`, { agent: keptAlive }, (res) => res.resume().on('end', resolve)),
      );
      const first = server.stop();
      expect(server.stop()).toBe(first);
      // A kept-alive connection does not hold the stop.
      await first;
      keptAlive.destroy();
      await expect(fetch(`${server.base}/`)).rejects.toThrow();
    });
  });
});

describe('a path names a whole file, and the settings replace what the page held', () => {
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
});

describe('what it refuses, and its own faults', () => {
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
        await expect(startDemoServer({ port, ...options(pageDir) })).rejects.toMatchObject({
          code: 'EADDRINUSE',
          port,
        });
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
});
