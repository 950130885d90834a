import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimulatedAttachments } from './attachments';
import type { Faults } from './faults';
import type { ServerFrame } from './frames';
import type { Recorder } from './recorder';

/**
 * The storage side of attachments, as S3 answers it: `PUT /uploads/:id` and
 * `GET|HEAD /downloads/:id` on presigned URLs (attachments.ts). Requests are
 * recorded (targets `upload` and `download`) and REST faults and delays apply to them.
 *
 * Storage answers the PUT and Genesys pushes its verdict (UploadSuccessEvent
 * or UploadFailureEvent) independently; nothing says which reaches a client
 * first. The default profile answers the PUT first; the strict one pushes
 * the verdict first and answers the PUT a moment later, so a client must be
 * ready for either order.
 */
const PATH = /^\/(uploads|downloads)\/([A-Za-z0-9_-]{1,128})$/;
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

interface FileServerDeps {
  attachments: SimulatedAttachments;
  recorder: Recorder;
  faults: Faults;
  push(sessionToken: string, frame: ServerFrame): void;
  /** The strict profile's order: the verdict before the PUT's answer. */
  verdictFirst(): boolean;
}

/** How long the strict profile holds the PUT's answer after the verdict went out. */
const ANSWER_AFTER_VERDICT_MS = 50;

export function fileRoute(req: IncomingMessage): { kind: 'uploads' | 'downloads'; id: string; url: URL } | undefined {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const m = PATH.exec(url.pathname);
  if (!m) return undefined;
  if (m[1] === 'uploads' && req.method !== 'PUT') return undefined;
  if (m[1] === 'downloads' && req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  return { kind: m[1] as 'uploads' | 'downloads', id: m[2]!, url };
}

export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  route: NonNullable<ReturnType<typeof fileRoute>>,
  deps: FileServerDeps,
): Promise<void> {
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
  const wait = deps.faults.takeRestDelay(target) + (fault?.delayMs ?? 0);
  if (wait > 0) await sleep(wait, undefined, { ref: false });
  const verdicts: (() => void)[] = [];
  const reply = fault
    ? {
        status: fault.status,
        body: typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? ''),
        headers: fault.headers,
      }
    : target === 'upload'
      ? deps.attachments.upload(route.id, route.url.searchParams, req.headers, body, (token, frame) =>
          verdicts.push(() => deps.push(token, frame)),
        )
      : deps.attachments.download(route.id, route.url.searchParams);
  const pushVerdicts = () => verdicts.splice(0).forEach((push) => push());
  if (verdicts.length > 0 && deps.verdictFirst()) {
    pushVerdicts();
    await sleep(ANSWER_AFTER_VERDICT_MS, undefined, { ref: false });
  }
  const payload =
    reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body);
  res.writeHead(reply.status, { 'content-length': payload.length, ...reply.headers });
  res.end(req.method === 'HEAD' ? undefined : payload, pushVerdicts);
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
