import { randomUUID } from 'node:crypto';
import {
  deleteAttachmentFrame,
  getAttachmentFrame,
  onAttachmentFrame,
  type AttachmentFailure,
  type PresignedUrl,
  attachmentRefusal,
  GuestApiError,
} from '../protocol';
import { putToPresignedUrl, type UploadBody } from '../rest';
import type { UploadVerdict, UploadVerdicts } from './inboundDispatch';
import type { RequestDesk } from './requestDesk';

/**
 * A guest session's files (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * upload is `onAttachment` → PresignedUrlResponse → HTTP PUT → UploadSuccessEvent
 * (or UploadFailureEvent); `getAttachment` gives a fresh download URL;
 * `deleteAttachment` removes an uploaded file not yet sent. Every reply names
 * the `attachmentId` this side chose, which is how a reply without a
 * tracingId still finds its request.
 */

interface TransferOptions {
  token: string;
  desk: RequestDesk;
  ready(): Promise<unknown>;
  requestTimeoutMs: number;
  /** Plain-HTTP upload URLs are accepted only against a plain-HTTP Genesys (a local simulator). */
  allowHttpUploads: boolean;
}

/** Genesys's attachment error codes, in this product's terms (docs/genesys-protocol.md#error-codes). */
function failureError(f: AttachmentFailure): GuestApiError {
  return attachmentRefusal(f.errorCode ?? 0, f.errorMessage);
}

/** Uploads given up on that one session remembers, waiting for a late verdict. */
const MAX_ABANDONED = 64;

export class AttachmentTransfer implements UploadVerdicts {
  /** Uploads waiting for Genesys's verdict, by attachment id. */
  private readonly waiting = new Map<
    string,
    { resolve(downloadUrl: string | undefined): void; reject(error: Error): void }
  >();
  /** Uploads given up on whose verdict may still come: a late success is deleted, as nobody will send it. */
  private readonly abandoned = new Set<string>();

  constructor(private readonly options: TransferOptions) {}

  /** Presign, PUT and wait for Genesys's verdict. Returns the attachment id. */
  async upload(file: { fileName: string } & UploadBody): Promise<{ attachmentId: string; downloadUrl?: string }> {
    await this.options.ready();
    const attachmentId = randomUUID();
    const presigned = await this.options.desk.request<PresignedUrl>(
      'attachment',
      (t) =>
        onAttachmentFrame({
          token: this.options.token,
          tracingId: t,
          attachmentId,
          fileName: file.fileName,
          fileType: file.mediaType,
          fileSize: file.size,
        }),
      { attachmentId },
    );
    // Awaited from before the PUT: Genesys may give its verdict before storage answers the PUT.
    const verdict = this.verdict(attachmentId);
    try {
      await putToPresignedUrl(presigned, file, {
        timeoutMs: this.options.requestTimeoutMs * 6,
        allowHttp: this.options.allowHttpUploads,
      });
      return { attachmentId, downloadUrl: await this.within(verdict, attachmentId, this.options.requestTimeoutMs * 3) };
    } catch (error) {
      this.waiting.delete(attachmentId);
      // As Genesys's SDK does, deleteAttachment only for a file Genesys has: a refused or failed one is not there,
      // and one whose confirmation comes after all is deleted then (uploadSettled).
      this.abandon(attachmentId);
      throw error;
    }
  }

  /** A fresh download URL for an attachment of this session (the guest's or the agent's). */
  async freshUrl(attachmentId: string): Promise<string> {
    await this.options.ready();
    const presigned = await this.options.desk.request<PresignedUrl>(
      'attachment',
      (t) => getAttachmentFrame({ token: this.options.token, tracingId: t, attachmentId }),
      { attachmentId },
    );
    return presigned.url;
  }

  /** Deletes an uploaded attachment that was not sent. */
  async remove(attachmentId: string): Promise<void> {
    await this.options.ready();
    await this.options.desk.request(
      'attachment',
      (t) => deleteAttachmentFrame({ token: this.options.token, tracingId: t, attachmentId }),
      { attachmentId },
    );
  }

  /** UploadSuccessEvent or UploadFailureEvent for one of this session's uploads. */
  uploadSettled(attachmentId: string, outcome: UploadVerdict): boolean {
    if (this.abandoned.delete(attachmentId)) {
      if (!('failure' in outcome)) void this.remove(attachmentId).catch(() => undefined);
      return true;
    }
    const waiter = this.waiting.get(attachmentId);
    if (!waiter) return false;
    this.waiting.delete(attachmentId);
    if ('failure' in outcome) waiter.reject(failureError(outcome.failure));
    else waiter.resolve(outcome.downloadUrl);
    return true;
  }

  /** Remembers an upload given up on before Genesys confirmed it (the oldest forgotten past a bound). */
  private abandon(attachmentId: string): void {
    this.abandoned.add(attachmentId);
    if (this.abandoned.size > MAX_ABANDONED) this.abandoned.delete(this.abandoned.values().next().value!);
  }

  /** Genesys's verdict on an upload, however long the PUT takes. */
  private verdict(attachmentId: string): Promise<string | undefined> {
    const settled = new Promise<string | undefined>((resolve, reject) =>
      this.waiting.set(attachmentId, { resolve, reject }),
    );
    // A refusal that comes while the PUT is still going is acted on once
    // the PUT is done; until then it is not an unhandled rejection.
    settled.catch(() => undefined);
    return settled;
  }

  /** The verdict, given `ms` from the end of the PUT to come. */
  private async within(
    verdict: Promise<string | undefined>,
    attachmentId: string,
    ms: number,
  ): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.waiting.delete(attachmentId);
        reject(new GuestApiError('timeout', 'Genesys did not confirm the upload in time.'));
      }, ms);
      timer.unref();
    });
    try {
      return await Promise.race([verdict, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
