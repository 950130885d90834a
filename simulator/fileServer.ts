import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatedAttachments } from './attachments';
import type { Faults } from './faults';
import type { ServerFrame } from './frames';
import type { Recorder } from './recorder';

/**
 * The storage side of attachments, as S3 answers it: `PUT /uploads/:id` and
 * `GET|HEAD /downloads/:id` on presigned URLs (attachments.ts). Requests are
 * recorded (targets `upload` and `download`) and REST faults apply to them.
 */
const PATH = /^\/(uploads|downloads)\/([0-9a-f-]{36})$/;
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

interface FileServerDeps {
  attachments: SimulatedAttachments;
  recorder: Recorder;
  faults: Faults;
  push(sessionToken: string, frame: ServerFrame): void;
}

export function fileRoute(req: IncomingMessage): { kind: 'uploads' | 'downloads'; id: string; url: URL } | undefined {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const m = PATH.exec(url.pathname);
  if (!m) return undefined;
  if (m[1] === 'uploads' && req.method !== 'PUT') return undefined;
  if (m[1] === 'downloads' && req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  return { kind: m[1] as 'uploads' | 'downloads', id: m[2]!, url };
}

export async function serveFile(req: IncomingMessage, res: ServerResponse, route: NonNullable<ReturnType<typeof fileRoute>>, deps: FileServerDeps): Promise<void> {
  const target = route.kind === 'uploads' ? 'upload' : 'download';
  const body = await readUpTo(req, MAX_UPLOAD_BYTES);
  deps.recorder.request({
    at: Date.now(),
    method: req.method ?? 'GET',
    path: route.url.pathname,
    query: Object.fromEntries(route.url.searchParams),
    headers: req.headers,
    body: '',
    target,
  });
  if (body === undefined) {
    res.writeHead(413, { 'content-length': 0 }).end();
    return;
  }
  const fault = deps.faults.takeRestFault(target);
  const reply = fault
    ? { status: fault.status, body: typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? ''), headers: fault.headers }
    : target === 'upload'
      ? deps.attachments.upload(route.id, route.url.searchParams, req.headers, body, deps.push)
      : deps.attachments.download(route.id, route.url.searchParams);
  const payload = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
  res.writeHead(reply.status, { 'content-length': payload.length, ...reply.headers });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

/** The body, or undefined past `max` bytes (the rest is drained). */
function readUpTo(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
