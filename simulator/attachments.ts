import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CODES, errorFrame, ERRORS, type ServerFrame } from './frames';
import type { ResolvedOptions } from './options';
import type { SimulatedSession } from './sessions';

/**
 * Files, as the Guest API handles them (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * `onAttachment` answers a presigned upload URL (or GenerateUrlError), the
 * client PUTs the bytes there with every header it was given, the server
 * pushes UploadSuccessEvent (or UploadFailureEvent), and `onMessage` sends it
 * by id. Download URLs are presigned too and expire, like S3's; `getAttachment`
 * signs a fresh one. The HTTP side (PUT /uploads/:id, GET /downloads/:id)
 * is served through rest.ts, so REST faults apply to it.
 */

interface StoredAttachment {
  id: string;
  sessionToken: string;
  fileName: string;
  fileType: string;
  fileSize: number;
  state: 'presigned' | 'uploaded' | 'sent' | 'deleted';
  /** Sent by the agent, not uploaded by the guest. */
  fromAgent?: boolean;
  tagging: string;
  bytes?: Buffer;
}

type Send = (frame: ServerFrame) => void;

const frame = (type: 'response' | 'message', cls: string, body: unknown, tracingId?: string): ServerFrame => ({
  type,
  class: cls,
  code: 200,
  body,
  ...(tracingId ? { tracingId } : {}),
});

/** How Genesys names a file's kind in `attachment.mediaType`. */
export function mediaTypeOf(mime: string): 'Image' | 'Video' | 'Audio' | 'File' {
  if (mime.startsWith('image/')) return 'Image';
  if (mime.startsWith('video/')) return 'Video';
  if (mime.startsWith('audio/')) return 'Audio';
  return 'File';
}

export class SimulatedAttachments {
  private readonly byId = new Map<string, StoredAttachment>();
  private readonly secret = randomBytes(32);
  /** Opaque download links (`downloadLinks: 'opaque'`): the link's token → its file and when it stops working. */
  private readonly links = new Map<string, { id: string; expiresAt: number }>();
  private failNext = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly base: () => string,
  ) {}

  reset(): void {
    this.byId.clear();
    this.links.clear();
    this.failNext = 0;
  }

  /** The next `times` uploads are refused by Genesys's scan after the PUT (UploadFailureEvent 4003). */
  failNextUploads(times = 1): void {
    this.failNext += times;
  }

  /** `onAttachment`: checks the file's name, type and size as Genesys does, then presigns its upload. */
  presign(
    session: SimulatedSession,
    f: { attachmentId?: string; fileName?: string; fileType?: string; fileSize?: number },
    tracingId: string | undefined,
    send: Send,
  ): void {
    const id = f.attachmentId ?? randomUUID();
    const refuse = (errorCode: number, errorMessage: string) =>
      send(frame('message', 'GenerateUrlError', { attachmentId: id, errorCode, errorMessage }, tracingId));
    // An ended conversation takes no more files in the strict profile (unverified: the stricter plausible behaviour, docs/genesys-protocol.md).
    if (this.options.profile === 'strict' && session.conversation.readOnly)
      return send(errorFrame(CODES.forbidden, ERRORS.readOnly, tracingId));
    const name = f.fileName ?? '';
    const dot = name.lastIndexOf('.');
    if (name.length === 0 || dot <= 0) return refuse(4004, 'File name is invalid');
    if (name.length >= 1024) return refuse(4005, 'File name is too long');
    if (this.options.blockedExtensions.includes(name.slice(dot).toLowerCase()))
      return refuse(4001, 'File type is not allowed');
    if (!this.allowedType(f.fileType ?? '')) return refuse(4001, 'File type is not allowed');
    const size = f.fileSize ?? 0;
    // A KB is 1000 bytes in Genesys's SDK; the default profile allows 1024 (the kinder reading), the strict one 1000.
    const kb = this.options.profile === 'strict' ? 1000 : 1024;
    const maxKB = this.options.allowedMedia === 'absent' ? undefined : this.options.allowedMedia.inbound.maxFileSizeKB;
    if (size <= 0 || (maxKB !== undefined && size > maxKB * kb)) return refuse(4002, 'File size is invalid');
    const stored: StoredAttachment = {
      id,
      sessionToken: session.token,
      fileName: name,
      fileType: f.fileType!,
      fileSize: size,
      state: 'presigned',
      tagging: `deployment=${this.options.deploymentId}`,
    };
    this.byId.set(id, stored);
    const headers = { 'x-amz-tagging': stored.tagging };
    send(
      frame(
        'response',
        'PresignedUrlResponse',
        { attachmentId: id, headers, url: this.sign('uploads', id, this.options.uploadUrlTtlSeconds) },
        tracingId,
      ),
    );
  }

  /**
   * `getAttachment`: a fresh download URL, with empty headers and the file's details (the SDK's `isRefreshUrl()`).
   * Whether it works for a file the agent sent is unverified: the strict profile (`agentFilesRefused`) takes the
   * unkinder case and answers "not found", as a plain error frame.
   */
  refresh(
    session: SimulatedSession,
    attachmentId: string,
    tracingId: string | undefined,
    send: Send,
    agentFilesRefused = false,
  ): void {
    const a = this.byId.get(attachmentId);
    if (
      !a ||
      a.sessionToken !== session.token ||
      a.state === 'presigned' ||
      a.state === 'deleted' ||
      (agentFilesRefused && a.fromAgent)
    ) {
      return send(errorFrame(4009, 'Attachment not found', tracingId));
    }
    send(
      frame(
        'response',
        'PresignedUrlResponse',
        {
          attachmentId,
          headers: {},
          url: this.downloadUrl(a),
          fileName: a.fileName,
          fileSize: a.fileSize,
          fileType: a.fileType,
        },
        tracingId,
      ),
    );
  }

  /**
   * `deleteAttachment`: only an uploaded file that was not sent (guess: an already sent one is "not found" too, unverified).
   * The strict profile refuses a file that was presigned and never uploaded, as Genesys's SDK never asks for it (docs/genesys-protocol.md).
   */
  remove(session: SimulatedSession, attachmentId: string, tracingId: string | undefined, send: Send): void {
    const a = this.byId.get(attachmentId);
    const deletable = a?.state === 'uploaded' || (a?.state === 'presigned' && this.options.profile !== 'strict');
    if (!a || a.sessionToken !== session.token || !deletable) {
      return send(errorFrame(4009, 'Attachment not found', tracingId));
    }
    a.state = 'deleted';
    a.bytes = undefined;
    send(frame('message', 'AttachmentDeletedResponse', { attachmentId }));
  }

  /**
   * The content of a guest message that names attachments: each must be an
   * uploaded, unsent file of the session. Returns the full attachment
   * content for the stored message and its echo, or the error code.
   */
  attach(session: SimulatedSession, content: unknown[]): { content: unknown[] } | { error: number } {
    const out: unknown[] = [];
    for (const item of content) {
      const id = (item as { contentType?: string; attachment?: { id?: string } }).attachment?.id;
      if ((item as { contentType?: string }).contentType !== 'Attachment' || !id) {
        out.push(item);
        continue;
      }
      const a = this.byId.get(id);
      if (!a || a.sessionToken !== session.token || a.state === 'deleted') return { error: 4009 };
      if (a.state !== 'uploaded') return { error: 4010 };
      out.push(this.contentOf(a));
    }
    for (const item of out) {
      const id = (item as { attachment?: { id?: string } }).attachment?.id;
      const a = id ? this.byId.get(id) : undefined;
      if (a) a.state = 'sent';
    }
    return { content: out };
  }

  /** A file the agent sends: stored as sent, with a download URL like any other. */
  agentFile(session: SimulatedSession, fileName: string, fileType: string, bytes: Buffer): unknown {
    const a: StoredAttachment = {
      id: this.opaqueIds() ? `att_${randomBytes(16).toString('base64url')}` : randomUUID(),
      sessionToken: session.token,
      fileName,
      fileType,
      fileSize: bytes.length,
      state: 'sent',
      tagging: '',
      bytes,
      fromAgent: true,
    };
    this.byId.set(a.id, a);
    return this.contentOf(a);
  }

  /** PUT /uploads/:id as S3 would answer it; on success Genesys's verdict is pushed to the session. */
  upload(
    id: string,
    query: URLSearchParams,
    headers: IncomingHttpHeaders,
    body: Buffer,
    push: (sessionToken: string, f: ServerFrame) => void,
  ): { status: number; body?: string; headers?: Record<string, string> } {
    const a = this.byId.get(id);
    if (!a || a.state !== 'presigned') return s3Error(404, 'NoSuchUpload', 'The upload does not exist.');
    const refused = this.checkSignature('uploads', id, query);
    if (refused) return refused;
    if (headers['x-amz-tagging'] !== a.tagging)
      return s3Error(403, 'SignatureDoesNotMatch', 'A signed header is missing or different: x-amz-tagging.');
    if ((headers['content-type'] ?? '').split(';')[0]!.trim() !== a.fileType)
      return s3Error(403, 'SignatureDoesNotMatch', 'Content-Type differs from the presigned one.');
    if (headers['content-length'] === undefined)
      return s3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    if (Number(headers['content-length']) !== a.fileSize || body.length !== a.fileSize)
      return s3Error(403, 'SignatureDoesNotMatch', 'The size differs from the presigned one.');
    const timestamp = new Date().toISOString();
    if (this.failNext > 0) {
      this.failNext -= 1;
      a.state = 'deleted';
      push(
        a.sessionToken,
        frame('message', 'UploadFailureEvent', {
          attachmentId: id,
          errorCode: 4003,
          errorMessage: 'File content is invalid',
          timestamp,
        }),
      );
    } else {
      a.bytes = body;
      a.state = 'uploaded';
      push(
        a.sessionToken,
        frame('message', 'UploadSuccessEvent', { attachmentId: id, downloadUrl: this.downloadUrl(a), timestamp }),
      );
    }
    return { status: 200, headers: { etag: `"${randomUUID()}"` } };
  }

  /** GET /downloads/:id: the bytes while the URL is valid, S3's AccessDenied after. */
  download(
    id: string,
    query: URLSearchParams,
  ): { status: number; body?: string | Buffer; headers?: Record<string, string> } {
    const a = this.byId.get(id);
    if (!a || !a.bytes || a.state === 'deleted') return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    const link = query.get('link');
    if (link !== null) return this.followLink(id, link);
    return (
      this.checkSignature('downloads', id, query) ?? {
        status: 200,
        body: a.bytes,
        headers: { 'content-type': a.fileType },
      }
    );
  }

  private allowedType(type: string): boolean {
    const allowed =
      this.options.allowedMedia === 'absent' ? ['*/*'] : this.options.allowedMedia.inbound.fileTypes.map((t) => t.type);
    return (
      type !== '' &&
      allowed.some((t) => t === '*/*' || t === type || (t.endsWith('/*') && type.startsWith(t.slice(0, -1))))
    );
  }

  private contentOf(a: StoredAttachment): unknown {
    return {
      contentType: 'Attachment',
      attachment: {
        id: a.id,
        url: this.downloadUrl(a),
        filename: a.fileName,
        fileSize: a.fileSize,
        mediaType: mediaTypeOf(a.fileType),
        mime: a.fileType,
      },
    };
  }

  private downloadUrl(a: StoredAttachment): string {
    if (!this.opaqueLinks()) return this.sign('downloads', a.id, this.options.downloadUrlTtlSeconds);
    const token = randomBytes(18).toString('base64url');
    this.links.set(token, { id: a.id, expiresAt: this.options.clock() + this.options.downloadUrlTtlSeconds * 1000 });
    return `${this.base()}/downloads/${a.id}?link=${token}`;
  }

  /**
   * No source shows the shape of Genesys's download links: a CDN link that states no expiry and redirects to storage
   * is as likely as a readable S3 signature, so the strict profile gives that kind (options.ts `downloadLinks`).
   */
  private opaqueLinks(): boolean {
    const { downloadLinks, profile } = this.options;
    return downloadLinks === 'opaque' || (downloadLinks === 'auto' && profile === 'strict');
  }

  /** No source says the ids Genesys gives the agent's files are UUIDs: the strict profile's are not (`agentAttachmentIds`). */
  private opaqueIds(): boolean {
    const { agentAttachmentIds, profile } = this.options;
    return agentAttachmentIds === 'opaque' || (agentAttachmentIds === 'auto' && profile === 'strict');
  }

  /** An opaque link: while valid, a redirect to a freshly signed storage URL; after, S3's AccessDenied. */
  private followLink(id: string, token: string) {
    const link = this.links.get(token);
    if (!link || link.id !== id) return s3Error(403, 'AccessDenied', 'Access Denied');
    if (link.expiresAt <= this.options.clock()) return s3Error(403, 'AccessDenied', 'Request has expired');
    return { status: 302, headers: { location: this.sign('downloads', id, REDIRECT_TTL_SECONDS) } };
  }

  /**
   * Signed like S3's SigV4 query strings: `X-Amz-Date` (when signed, `YYYYMMDDTHHMMSSZ`) and `X-Amz-Expires`
   * (seconds of validity); the signature covers path, date and lifetime. The date is rounded up to the second, so a
   * URL lives at least its whole TTL; a TTL of 0 signs one that has already expired.
   */
  private sign(kind: 'uploads' | 'downloads', id: string, ttlSeconds: number): string {
    const now = this.options.clock();
    const signedAt = ttlSeconds > 0 ? Math.ceil(now / 1000) : Math.floor(now / 1000);
    const date = new Date(signedAt * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const expires = Math.max(0, ttlSeconds);
    const signature = createHmac('sha256', this.secret).update(`${kind}/${id}/${date}/${expires}`).digest('hex');
    return `${this.base()}/${kind}/${id}?X-Amz-Date=${date}&X-Amz-Expires=${expires}&X-Amz-Signature=${signature}`;
  }

  private checkSignature(kind: 'uploads' | 'downloads', id: string, query: URLSearchParams) {
    const date = query.get('X-Amz-Date') ?? '';
    const expires = query.get('X-Amz-Expires') ?? '';
    const expected = createHmac('sha256', this.secret).update(`${kind}/${id}/${date}/${expires}`).digest('hex');
    if (query.get('X-Amz-Signature') !== expected)
      return s3Error(403, 'SignatureDoesNotMatch', 'The request signature does not match.');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    const signedAt = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : 0;
    if (signedAt + Number(expires) * 1000 <= this.options.clock())
      return s3Error(403, 'AccessDenied', 'Request has expired');
    return undefined;
  }
}

/** How long the storage URL an opaque link redirects to is valid: only long enough to be followed. */
const REDIRECT_TTL_SECONDS = 30;

function s3Error(status: number, code: string, message: string) {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    headers: { 'content-type': 'application/xml' },
  };
}
