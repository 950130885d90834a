import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GuestApiError, type PresignedUrl } from '../protocol';

/** What to upload: a stream that can be opened once, and its exact size (presigned PUTs need Content-Length). */
export interface UploadBody {
  open(): Readable;
  size: number;
  mediaType: string;
}

/** How much of an error answer is kept for the log. */
const MAX_ERROR_BODY = 2048;

/**
 * The HTTP `PUT` of a file to the presigned URL Genesys gave
 * (docs/genesys-protocol.md#attachments-onattachment-getattachment-deleteattachment):
 * every header Genesys listed, the Content-Type and the Content-Length, and
 * the bytes streamed from disk (never held in memory). No credential of this
 * service goes along. Plain `http:` URLs are refused unless the Genesys API
 * itself is plain HTTP (a local simulator).
 */
export async function putToPresignedUrl(
  presigned: PresignedUrl,
  body: UploadBody,
  options: { timeoutMs: number; allowHttp: boolean },
): Promise<void> {
  const url = new URL(presigned.url);
  if (url.protocol !== 'https:' && !(options.allowHttp && url.protocol === 'http:')) {
    throw new GuestApiError('bad_request', 'Genesys gave an upload URL this service will not use.', {
      genesysText: `scheme ${url.protocol}`,
    });
  }
  const headers: Record<string, string | number> = {
    ...presigned.headers,
    'Content-Type': body.mediaType,
    'Content-Length': body.size,
  };
  const client = url.protocol === 'https:' ? https : http;
  const request = client.request(url, { method: 'PUT', headers, timeout: options.timeoutMs });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
    request.once('timeout', () =>
      request.destroy(new GuestApiError('timeout', 'The file upload to Genesys did not finish in time.')),
    );
  });
  try {
    // A refusal may come before the whole body is sent: the answer counts, not the broken pipe.
    const sent = pipeline(body.open(), request).then(
      () => undefined,
      (error: unknown) => error,
    );
    const response = await answered;
    await sent;
    const status = response.statusCode ?? 0;
    let text = '';
    for await (const chunk of response) if (text.length < MAX_ERROR_BODY) text += String(chunk);
    if (status < 200 || status >= 300) {
      throw new GuestApiError('bad_request', 'Genesys refused the file upload.', {
        genesysCode: status,
        genesysText: text.slice(0, MAX_ERROR_BODY),
      });
    }
  } catch (error) {
    request.destroy();
    if (error instanceof GuestApiError) throw error;
    throw new GuestApiError('unavailable', 'The file could not be uploaded to Genesys.', {
      cause: error,
      genesysText: (error as Error).message,
    });
  }
}
