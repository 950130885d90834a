import { z } from 'zod';

/**
 * The Guest API's attachment frames (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * what this service sends to upload, refresh and delete a file, and the
 * replies, each of which names its `attachmentId`.
 */

export function onAttachmentFrame(p: {
  token: string;
  tracingId: string;
  attachmentId: string;
  fileName: string;
  fileType: string;
  fileSize: number;
}) {
  return {
    action: 'onAttachment',
    token: p.token,
    attachmentId: p.attachmentId,
    fileName: p.fileName,
    fileType: p.fileType,
    fileSize: p.fileSize,
    // Always sent by the official SDK: errors come back as GenerateUrlError bodies.
    errorsAsJson: true,
    tracingId: p.tracingId,
  };
}

export function getAttachmentFrame(p: { token: string; tracingId: string; attachmentId: string }) {
  return { action: 'getAttachment', token: p.token, attachmentId: p.attachmentId, tracingId: p.tracingId };
}

export function deleteAttachmentFrame(p: { token: string; tracingId: string; attachmentId: string }) {
  return { action: 'deleteAttachment', token: p.token, attachmentId: p.attachmentId, tracingId: p.tracingId };
}

const nullableString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

/**
 * `headers` empty means a refreshed download link (the SDK's
 * `isRefreshUrl()`); otherwise where and how to PUT the file.
 */
export const presignedUrlSchema = z.looseObject({
  attachmentId: z.string(),
  url: z.string().url(),
  headers: z
    .record(z.string(), z.string())
    .nullish()
    .transform((v) => v ?? {}),
  fileName: nullableString,
  fileType: nullableString,
  fileSize: z
    .number()
    .nullish()
    .transform((v) => v ?? undefined),
});
export type PresignedUrl = z.infer<typeof presignedUrlSchema>;

export const uploadSuccessSchema = z.looseObject({
  attachmentId: z.string(),
  downloadUrl: nullableString,
  timestamp: nullableString,
});

/** UploadFailureEvent and GenerateUrlError: the Genesys code (4001 type, 4002 size, …) is in the body. */
export const attachmentFailureSchema = z.looseObject({
  attachmentId: z.string(),
  errorCode: z
    .number()
    .nullish()
    .transform((v) => v ?? undefined),
  errorMessage: nullableString,
});
export type AttachmentFailure = z.infer<typeof attachmentFailureSchema>;

export const attachmentDeletedSchema = z.looseObject({ attachmentId: z.string() });
