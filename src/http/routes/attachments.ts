import type { Request, Response } from 'express';
import { z } from 'zod';
import { attachmentViewSchema } from '../../domain/api';
import { AppError } from '../../domain/errors';
import { checkEnabled, effectiveMediaType } from '../../session/attachmentPolicy';
import type { GuestAttachments } from '../../session/attachments';
import type { Revocations } from '../../session/revocations';
import { ROUTING_KEY, type SessionTokens } from '../../session/sessionToken';
import { claimsOf, guestOf, type Guest } from '../authenticate';
import { receiveFile } from '../multipart';
import type { AnyRouteSpec, RouteSpec } from '../routeSpec';

export interface AttachmentRouteDeps {
  attachments: GuestAttachments;
  tokens: SessionTokens;
  revocations: Revocations;
  /** PUBLIC_URL when set: the base of the links this service hands out. */
  publicUrl?: string;
}

const attachmentId = z.uuid();
const contentQuery = z.object({ link: z.string().max(6144).optional(), routingKey: z.string().optional() });

/** Where this service is reached, for absolute links: PUBLIC_URL, else what the request says (behind TRUST_PROXY, the proxy's view). */
export function publicBase(req: Request, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.host}`;
}

/** The session's routing key as the client sent it, so links come back to the same instance. */
export function routingKeyOf(req: Request, fallback: string | undefined): string | undefined {
  const sent = req.headers['x-chat-session'] ?? req.query.routingKey;
  return typeof sent === 'string' && ROUTING_KEY.test(sent) ? sent : fallback;
}

/** Upload, delete, and always-fresh links to attachments (README.md#attachments). */
export function attachmentRoutes({ attachments, tokens, revocations, publicUrl }: AttachmentRouteDeps): AnyRouteSpec[] {
  const upload: AnyRouteSpec = {
    method: 'post',
    path: '/attachments',
    summary: 'Upload a file for the next message',
    description:
      'multipart/form-data with one `file` part (a FormData, an HTML form, `curl -F file=@photo.png`). Checked before Genesys sees it: the deployment\'s types (judged by the content, not only the name), its size limit and blocked extensions. Send the returned id in `attachmentIds` of POST /messages; DELETE it to drop it.',
    auth: 'session',
    upload: { field: 'file', description: 'The file, with its name (its extension is checked) and media type' },
    responses: { 201: { description: 'Uploaded to Genesys', schema: attachmentViewSchema } },
    errors: [
      'validation_failed',
      'unauthorized',
      'session_expired',
      'attachment_too_large',
      'attachment_type_not_allowed',
      'unsupported_media_type',
      'attachments_disabled',
      'rate_limited',
      'upstream_unavailable',
      'store_unavailable',
    ],
    handle: uploadHandler(attachments, publicUrl),
  };

  const remove: RouteSpec<unknown, unknown> = {
    method: 'delete',
    path: '/attachments/:id',
    summary: 'Drop an uploaded file that was not sent',
    auth: 'session',
    responses: { 204: { description: 'Deleted at Genesys' } },
    errors: ['validation_failed', 'unauthorized', 'session_expired', 'not_found', 'upstream_unavailable', 'store_unavailable'],
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
      "The `url` of every attachment this service shows. Authorized by its `link` parameter (so `<img src>` works), or by the session token. Answers 302 to Genesys's own download URL while it is valid (read from its signature), to one Genesys signs anew (`getAttachment`) once it has expired, or, when Genesys will not sign one (a file the agent sent, on some deployments), to the last one it gave. Asking Genesys counts against the session's share of Genesys requests: when it is spent, 429 with Retry-After.",
    auth: 'none',
    query: contentQuery,
    responses: { 302: { description: 'To the file at Genesys' } },
    errors: ['validation_failed', 'unauthorized', 'session_expired', 'not_found', 'rate_limited', 'upstream_unavailable', 'store_unavailable'],
    async handle(req, res, { query }) {
      const id = idOf(req);
      let owner: Pick<Guest, 'guestToken' | 'signIn'>;
      if (query.link !== undefined) {
        owner = tokens.openAttachmentLink(query.link, id, req.headers.origin);
        if (await revocations.isEnded(owner.guestToken)) throw new AppError('session_expired', 'This chat was ended; its files are no longer served.');
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

/** POST /attachments: checks, spools, uploads; the spool and the session's upload slot are always released. */
function uploadHandler(attachments: GuestAttachments, publicUrl: string | undefined) {
  return async (req: Request, res: Response): Promise<void> => {
    const claims = claimsOf(res);
    let release: (() => void) | undefined;
    let file;
    let cancelled = false;
    res.on('close', () => (cancelled ||= !res.writableFinished));
    try {
      const limits = await attachments.limits(claims);
      checkEnabled(limits);
      release = attachments.reserve(claims);
      file = await receiveFile(req, 'file', limits);
      const mediaType = effectiveMediaType(file.declaredType, file.head, limits);
      const base = publicBase(req, publicUrl);
      const attachment = await attachments.upload({ ...claims, routingKey: routingKeyOf(req, claims.routingKey) ?? claims.routingKey }, { fileName: file.fileName, mediaType, size: file.size, open: file.open }, base);
      // The guest cancelled while Genesys took the file: nobody will send it, so it is not left there.
      if (cancelled) await attachments.remove(claims, attachment.id).catch(() => undefined);
      else res.status(201).json({ attachment });
    } catch (error) {
      // A refusal may come before the body was read: close the connection rather than read the rest.
      if (!req.complete) res.setHeader('Connection', 'close');
      throw error;
    } finally {
      release?.();
      await file?.discard();
    }
  };
}

function idOf(req: Request): string {
  const parsed = attachmentId.safeParse(req.params.id);
  if (!parsed.success) throw new AppError('validation_failed', 'The attachment id must be a UUID.');
  return parsed.data;
}

function guestOrNone(res: Response): Guest {
  if (!res.locals.guest) throw new AppError('unauthorized', 'Use the attachment\'s `url` (it carries its own link), or send the session token.');
  return guestOf(res);
}
