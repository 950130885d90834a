import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { listen } from '../http';

/**
 * A tiny static server for the demo chat page (examples/static-chat) and the
 * built browser client package, on its own port: the page's origin differs from the
 * service's, so the browser applies CORS exactly as it will on a real site.
 */
interface DemoServerOptions {
  port: number;
  host: string;
  /** The page's folder; only its direct children with a known extension are served. */
  pageDir: string;
  /**
   * A file of the client package's build (`@genesys-bff/client`, client/dist), served under
   * /bff-client/ (its core modules import each other by relative path); undefined when there is none.
   */
  clientModule(file: string): Promise<string | undefined>;
  /**
   * The browser build (one ES module, no imports) of a library the page loads itself, served as
   * /vendor/NAME.js: `markdown-it` and `dompurify`, for agent Markdown. None, no such path.
   */
  vendorModule?(name: 'markdown-it' | 'dompurify'): Promise<string | undefined>;
  /** The kit's service worker (client/sw.js), served as the page's own `/chat-sw.js`. */
  serviceWorker?(): Promise<string | undefined>;
  /** The service URL the page should call, for the hostname the browser used (localhost or 127.0.0.1). */
  serviceUrlFor(hostname: string): string;
  /**
   * Where attachment images come from once the service redirects
   * (Genesys's storage; the simulator here). Any https: host is allowed.
   */
  imageOrigins?: string[];
  /** The identity provider the page's "Sign in" button goes to (authenticated messaging); none, no button. */
  signIn?: { authorizeUrl: string; clientId: string };
}

export interface DemoServer {
  /** http://localhost:PORT/ */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

const PAGE_FILE = /^\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)$/;
/** The package's core modules (not its /react subpath, which needs a bundler for React itself). */
/** A core module, or one of its word catalogues (wording/de.js…). */
const CLIENT_FILE = /^\/bff-client\/((?:wording\/)?[A-Za-z0-9_-]+\.js)$/;
const VENDOR_FILE = /^\/vendor\/(markdown-it|dompurify)\.js$/;
/** Pages written before the package split import one module, `./bffClient.js`: it re-exports the package. */
const CLIENT_ENTRY = "export * from './bff-client/index.js';\n";
const BFF_META = /<meta name="bff-url" content="[^"]*">/;
const AUTHORIZE_META = /<meta name="sign-in-authorize-url" content="[^"]*">/;
const CLIENT_ID_META = /<meta name="sign-in-client-id" content="[^"]*">/;

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An http(s) origin-like base URL, or undefined. */
function httpUrl(value: string | null): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** `localhost` (and `*.localhost`), 127.0.0.0/8 or `::1`: a page only this machine's browser can open. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function hostnameOf(req: IncomingMessage): string {
  try {
    return new URL(`http://${req.headers.host ?? 'localhost'}`).hostname;
  } catch {
    return 'localhost';
  }
}

/**
 * The client module a path names: its text, null when there is no such module, undefined for a path outside the client.
 */
async function clientModuleAt(pathname: string, options: DemoServerOptions): Promise<string | null | undefined> {
  if (pathname === '/bffClient.js') return CLIENT_ENTRY;
  const vendor = VENDOR_FILE.exec(pathname);
  if (vendor) return (await options.vendorModule?.(vendor[1] as 'markdown-it' | 'dompurify')) ?? null;
  const file = CLIENT_FILE.exec(pathname);
  if (!file) return undefined;
  return (await options.clientModule(file[1]!)) ?? null;
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      ...headers,
    });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      // ?bff= only for a page on a loopback origin: a link must not point a page served elsewhere at another service.
      const hostname = hostnameOf(req);
      const asked = isLoopbackHost(hostname) ? httpUrl(url.searchParams.get('bff')) : undefined;
      const bff = asked ?? options.serviceUrlFor(hostname);
      const { signIn } = options;
      const html = (await readFile(path.join(options.pageDir, 'index.html'), 'utf8'))
        .replace(BFF_META, `<meta name="bff-url" content="${escapeAttribute(bff)}">`)
        .replace(
          AUTHORIZE_META,
          `<meta name="sign-in-authorize-url" content="${escapeAttribute(signIn?.authorizeUrl ?? '')}">`,
        )
        .replace(
          CLIENT_ID_META,
          `<meta name="sign-in-client-id" content="${escapeAttribute(signIn?.clientId ?? '')}">`,
        );
      // The page runs under a strict policy: its own scripts and styles only, and fetch/EventSource to the service.
      // Images: attachments load from the service, which redirects
      // to Genesys's storage (https, or the local simulator).
      const images = ['https:', bff, ...(options.imageOrigins ?? [])].join(' ');
      const csp =
        `default-src 'self'; connect-src 'self' ${bff}; img-src 'self' data: ${images}; base-uri 'none'; ` +
        `form-action 'none'; frame-ancestors 'none'`;
      send(res, 200, TYPES['.html']!, html, { 'Content-Security-Policy': csp });
      return;
    }
    if (url.pathname === '/chat-sw.js') {
      const worker = await options.serviceWorker?.();
      if (worker === undefined) send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      else send(res, 200, TYPES['.js']!, worker);
      return;
    }
    const client = await clientModuleAt(url.pathname, options);
    if (client !== undefined) {
      if (client === null) send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      else send(res, 200, TYPES['.js']!, client);
      return;
    }
    const match = PAGE_FILE.exec(url.pathname);
    const type = match ? TYPES[path.extname(match[1]!)] : undefined;
    if (!match || !type) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      return;
    }
    let body: Buffer;
    try {
      body = await readFile(path.join(options.pageDir, match[1]!));
    } catch {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found');
      return;
    }
    send(res, 200, type, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        send(
          res,
          500,
          'text/plain; charset=utf-8',
          `The demo page could not be served: ${error instanceof Error ? error.message : String(error)}`,
        );
      else res.destroy();
    });
  });
  await listen(server, options.port, options.host);
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://localhost:${port}/`,
    port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
