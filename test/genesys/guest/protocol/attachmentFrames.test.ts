import {
  attachmentFailureSchema,
  deleteAttachmentFrame,
  getAttachmentFrame,
  onAttachmentFrame,
  presignedUrlSchema,
  uploadSuccessSchema,
} from '../../../../src/genesys/guest/protocol/attachmentFrames';

/**
 * The attachment frames this service sends and the replies it reads, in the shapes
 * docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment records from the official SDK.
 */
const token = '5b1e2c4a-0d7f-4c8e-9a3b-6f2d1e0c9b8a';
const tracingId = 't-1';
const attachmentId = '0f9e8d7c-6b5a-4f3e-8d2c-1b0a9f8e7d6c';

describe('frames sent', () => {
  test('onAttachment names the file, its type and size, and asks for errors as JSON as the SDK always does', () => {
    expect(
      onAttachmentFrame({ token, tracingId, attachmentId, fileName: 'a.png', fileType: 'image/png', fileSize: 4242 }),
    ).toEqual({
      action: 'onAttachment',
      token,
      attachmentId,
      fileName: 'a.png',
      fileType: 'image/png',
      fileSize: 4242,
      errorsAsJson: true,
      tracingId,
    });
  });

  test('getAttachment and deleteAttachment carry the token, the id and the tracing id alone', () => {
    expect(getAttachmentFrame({ token, tracingId, attachmentId })).toEqual({
      action: 'getAttachment',
      token,
      attachmentId,
      tracingId,
    });
    expect(deleteAttachmentFrame({ token, tracingId, attachmentId })).toEqual({
      action: 'deleteAttachment',
      token,
      attachmentId,
      tracingId,
    });
  });
});

describe('replies read', () => {
  const url = 'https://uploads.example.com/put?sig=1';

  test('a presigned upload keeps its headers and the size Genesys echoes', () => {
    expect(
      presignedUrlSchema.parse({
        attachmentId,
        url,
        headers: { 'x-amz-tagging': 'a=b' },
        fileName: 'a.png',
        fileType: 'image/png',
        fileSize: 4242,
      }),
    ).toMatchObject({ headers: { 'x-amz-tagging': 'a=b' }, fileName: 'a.png', fileType: 'image/png', fileSize: 4242 });
  });

  test('a refreshed link has no headers: null and absent both read as none, and nulls as absent', () => {
    for (const headers of [null, undefined]) {
      const parsed = presignedUrlSchema.parse({ attachmentId, url, headers, fileName: null, fileSize: null });
      expect(parsed.headers).toEqual({});
      expect(parsed.fileName).toBeUndefined();
      expect(parsed.fileSize).toBeUndefined();
    }
  });

  test('a link that is no URL is not a presigned upload', () => {
    expect(presignedUrlSchema.safeParse({ attachmentId, url: 'not a url' }).success).toBe(false);
  });

  test('an upload success and a failure read their optional members as absent when null', () => {
    expect(uploadSuccessSchema.parse({ attachmentId, downloadUrl: null, timestamp: null })).toEqual({
      attachmentId,
      downloadUrl: undefined,
      timestamp: undefined,
    });
    expect(attachmentFailureSchema.parse({ attachmentId, errorCode: 4002, errorMessage: 'too big' })).toMatchObject({
      errorCode: 4002,
      errorMessage: 'too big',
    });
    expect(attachmentFailureSchema.parse({ attachmentId, errorCode: null })).toMatchObject({ errorCode: undefined });
  });
});
