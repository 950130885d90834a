import type { Request, Response } from 'express';
import { z } from 'zod';
import { attachmentIdSchema, attachmentViewSchema } from '../../domain/api';
import { AppError } from '../../domain/errors';
import { attachments as attachmentsCounted } from '../../observability/metrics';
import {
  checkEnabled,
  MULTIPART_OVERHEAD_BYTES,
  type GuestAttachments,
  type Revocations,
  ROUTING_KEY,
  type SessionTokens,
} from '../../session';
import { claimsOf, guestOf, type Guest } from '../middleware';
import { checkDeclaredLength, discardRestOfBody, IncomingUpload, type UploadPace, type UploadSpool } from '../uploads';
import type { AnyRouteSpec, RouteSpec } from '../spec';

export interface AttachmentRouteDeps {
  attachments: GuestAttachments;
  tokens: SessionTokens;
  revocations: Revocations;
  /** PUBLIC_URL when set: the base of the links this service hands out. */
  publicUrl?: string;
  /** Where files in transit are spooled, and the slowest pace a body may arrive at. */
  uploads: { spool: UploadSpool; pace: UploadPace };
  /** The client's address as the per-address limits count it (UPLOADS_PER_IP keys on it). */
  limits: { clientAddress(req: Request): string };
}

const UPLOAD_FIELD = 'file';
const contentQuery = z.object({ link: z.string().max(6144).optional(), routingKey: z.string().optional() });

/**
 * Where this service is reached, for absolute links: PUBLIC_URL, else what the request says (behind TRUST_PROXY, the
 * proxy's view).
 */
function publicBase(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.host}`;
}

/** The session's routing key as the client sent it, so links come back to the same instance. */
function routingKeyOf(req: Request, fallback: string | undefined): string | undefined {
  const sent = req.query.routingKey ?? req.headers['x-chat-session'];
  return typeof sent === 'string' && ROUTING_KEY.test(sent) ? sent : fallback;
}

/**
 * Presents messages to this request's client: every attachment's `url` becomes an always-fresh link on this service.
 */
export function presenter(
  { attachments, publicUrl }: Pick<AttachmentRouteDeps, 'attachments' | 'publicUrl'>,
  req: Request,
  owner: Guest & { routingKey?: string },
) {
  return attachments.present({ ...owner, routingKey: routingKeyOf(req, owner.routingKey) }, publicBase(req, publicUrl));
}

/** Upload, delete, and always-fresh links to attachments (docs/api.md#attachments). */
export function attachmentRoutes({
  attachments,
  tokens,
  revocations,
  publicUrl,
  uploads,
  limits,
}: AttachmentRouteDeps): AnyRouteSpec[] {
  const upload: AnyRouteSpec = {
    method: 'post',
    path: '/attachments',
    summary: 'Upload a file for the next message',
    description:
      'multipart/form-data with one `file` part (a FormData, an HTML form, `curl -F file=@photo.png`). Checked ' +
      "before Genesys sees it, as Genesys's own SDK checks it: uploads on and the conversation open (409 once it " +
      "has ended), the deployment's types (wildcards included; the declared type, else the one the name implies), " +
      'its size limit (a KB is 1000 bytes; a larger Content-Length is refused before the body is read) and blocked ' +
      'extensions (judged on the name as a file system shows it: Unicode spaces, format characters, trailing dots ' +
      'and `::$DATA` ignored, any case). The content is looked at only to refuse a program or script whose name or ' +
      'type says it is something else. Uploads at once are capped per instance (UPLOADS_MAX) and per client address ' +
      '(UPLOADS_PER_IP); a body slower than UPLOAD_MIN_BYTES_PER_SECOND is cut off with 408. A refusal decided ' +
      'before the body is read is still delivered: the rest of the body is read and thrown away. Send the returned ' +
      'id in `attachmentIds` of POST /messages; DELETE it to drop it.',
    auth: 'session',
    body: {
      kind: 'multipart',
      field: UPLOAD_FIELD,
      description: 'The file, with its name (its extension is checked) and media type',
    },
    responses: { 201: { description: 'Uploaded to Genesys', schema: attachmentViewSchema } },
    errors: [
      'upload_too_slow',
      'conflict',
      'attachment_too_large',
      'attachment_type_not_allowed',
      'attachments_disabled',
      // MASKING_MODE=refuse: the file's name holds what a detector finds; nothing is uploaded.
      'sensitive_data',
      // One upload at a time per session, a few per address and per instance.
      'rate_limited',
      'upstream_unavailable',
    ],
    handle: uploadHandler(attachments, publicUrl, uploads, limits.clientAddress),
  };

  const remove: RouteSpec<unknown, unknown> = {
    method: 'delete',
    path: '/attachments/:id',
    summary: 'Drop an uploaded file that was not sent',
    auth: 'session',
    responses: { 204: { description: 'Deleted at Genesys' } },
    errors: ['not_found', 'upstream_unavailable'],
    async handle(req, res) {
      await attachments.remove(claimsOf(res), idOf(req));
      res.status(204).end();
    },
  };

  const content: RouteSpec<unknown, z.infer<typeof contentQuery>> = {
    method: 'get',
    path: '/attachments/:id/content',
    summary: 'Redirect to a valid Genesys download URL',
    description:
      'The `url` of every attachment this service shows. Authorized by its `link` parameter (so `<img src>` works), ' +
      "or by the session token. Answers 302 to Genesys's own download URL while it is valid (read from its " +
      'signature), to one Genesys signs anew (`getAttachment`) once it has expired, or, when Genesys will not sign ' +
      'one (a file the agent sent, on some deployments), to the last one it gave. Asking Genesys counts against the ' +
      "session's share of Genesys requests: when it is spent, 429 with Retry-After.",
    auth: 'none',
    query: contentQuery,
    responses: { 302: { description: 'To the file at Genesys' } },
    errors: ['not_found', 'rate_limited', 'upstream_unavailable'],
    async handle(req, res, { query }) {
      const id = idOf(req);
      let owner: Pick<Guest, 'guestToken' | 'signIn'>;
      if (query.link !== undefined) {
        owner = tokens.openAttachmentLink(query.link, id, req.headers.origin);
        if (await revocations.isEnded(owner.guestToken))
          throw new AppError('session_expired', 'This chat was ended; its files are no longer served.');
      } else {
        owner = guestOrNone(res);
      }
      const url = await attachments.freshUrl(owner, id);
      // Not cached by the browser: the target expires, and the next look must come here for a valid one.
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(302, url);
    },
  };

  return [upload, remove, content];
}

/**
 * POST /attachments: checks, spools, uploads; the spool and the upload slot are always released, and a refusal always
 * reaches the client.
 */
function uploadHandler(
  attachments: GuestAttachments,
  publicUrl: string | undefined,
  { spool, pace }: AttachmentRouteDeps['uploads'],
  clientAddress: (req: Request) => string,
) {
  return async (req: Request, res: Response): Promise<void> => {
    const claims = claimsOf(res);
    let release: (() => void) | undefined;
    let incoming: IncomingUpload | undefined;
    let cancelled = false;
    res.on('close', () => (cancelled ||= !res.writableFinished));
    try {
      const limits = await attachments.limits(claims);
      checkEnabled(limits);
      checkDeclaredLength(req, limits, MULTIPART_OVERHEAD_BYTES);
      release = attachments.reserve(claims, clientAddress(req));
      incoming = new IncomingUpload(req, { field: UPLOAD_FIELD, limits, spool, pace });
      const file = await incoming.receive();
      const base = publicBase(req, publicUrl);
      const attachment = await attachments.upload(
        { ...claims, routingKey: routingKeyOf(req, claims.routingKey) ?? claims.routingKey },
        { fileName: file.fileName, mediaType: file.mediaType, size: file.size, open: file.open },
        base,
      );
      // Gone before the answer: a client that sees it finds nothing of its file left here.
      await incoming.discard();
      // The guest cancelled while Genesys took the file: nobody will send it, so it is not left there.
      if (cancelled) await attachments.remove(claims, attachment.id).catch(() => undefined);
      else res.status(201).json({ attachment });
      attachmentsCounted.inc({ result: cancelled ? 'cancelled' : 'uploaded' });
    } catch (error) {
      attachmentsCounted.inc({ result: cancelled ? 'cancelled' : uploadFailure(error) });
      if (!req.complete) {
        // A client too slow to finish is not waited for; any other gets to finish sending, so that it reads the
        // refusal.
        if (error instanceof AppError && error.code === 'upload_too_slow') res.setHeader('Connection', 'close');
        else discardRestOfBody(req, res, pace);
      }
      throw error;
    } finally {
      release?.();
      await incoming?.discard();
    }
  };
}

/**
 * A refused upload is the guest's file or limits (4xx); anything else failed on the way (Genesys, the store, this
 * service).
 */
function uploadFailure(error: unknown): 'refused' | 'failed' {
  return error instanceof AppError && error.status < 500 ? 'refused' : 'failed';
}

function idOf(req: Request): string {
  const parsed = attachmentIdSchema.safeParse(req.params.id);
  if (!parsed.success) {
    throw new AppError(
      'validation_failed',
      'The attachment id must be 1 to 128 letters, digits, "-" or "_", as Genesys issued it.',
    );
  }
  return parsed.data;
}

function guestOrNone(res: Response): Guest {
  if (!res.locals.guest)
    throw new AppError(
      'unauthorized',
      "Use the attachment's `url` (it carries its own link), or send the session token.",
    );
  return guestOf(res);
}
