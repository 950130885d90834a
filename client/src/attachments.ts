import { BffError, parseJson, parseRetryAfter, type Problem } from './errors.js';
import type { Transport } from './transport.js';
import type { UploadedAttachment } from './types.js';

/** Files for the next message: upload with progress and cancel, and dropping one not sent. */

export interface UploadOptions {
  /** Default: the File's own name. */
  fileName?: string;
  /** Called with 0…1 as the bytes go out (where the browser reports upload progress). */
  onProgress?: (fraction: number) => void;
  /** Aborts the upload (the service then drops whatever reached Genesys). */
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  text: string;
  headers: { get(name: string): string | null };
}

/**
 * Uploads a file for the next message (multipart/form-data, checked by the
 * service against the deployment's types, size and blocked extensions).
 */
export async function uploadAttachment(
  transport: Transport,
  fetchImpl: typeof fetch,
  file: Blob,
  options: UploadOptions = {},
): Promise<UploadedAttachment> {
  const form = new FormData();
  const name = options.fileName ?? (file as Blob & { name?: string }).name ?? 'file';
  form.append('file', file, name);
  const headers = transport.headers();
  const url = transport.url('/attachments');
  const answer: Answer =
    options.onProgress && typeof XMLHttpRequest !== 'undefined'
      ? await xhrUpload(url, form, headers, options)
      : await fetchImpl(url, {
          method: 'POST',
          headers,
          body: form,
          mode: 'cors',
          credentials: 'omit',
          signal: options.signal,
        }).then(
          async (res) => ({ status: res.status, text: await res.text(), headers: res.headers }),
          () => ({ status: 0, text: '', headers: new Headers() }),
        );
  const body = parseJson(answer.text) as ({ attachment?: UploadedAttachment } & Problem) | undefined;
  if (answer.status === 201 && body?.attachment) return body.attachment;
  if (answer.status === 0) {
    if (options.signal?.aborted)
      throw new BffError({ status: 0, code: 'aborted', message: 'The upload was cancelled.' });
    throw await transport.unreachable();
  }
  throw new BffError({
    status: answer.status,
    code: typeof body?.code === 'string' ? body.code : `http_${answer.status}`,
    message: typeof body?.detail === 'string' ? body.detail : `The chat service answered ${answer.status}.`,
    retryAfterSeconds: parseRetryAfter(answer.headers.get('Retry-After')),
    problem: body,
  });
}

/** Drops an uploaded file that was not sent. */
export async function deleteAttachment(transport: Transport, id: string): Promise<void> {
  await transport.request('DELETE', `/attachments/${encodeURIComponent(id)}`);
}

/** An upload through XMLHttpRequest: the one browser API that reports upload progress. */
function xhrUpload(
  url: string,
  form: FormData,
  headers: Record<string, string>,
  options: UploadOptions,
): Promise<Answer> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) options.onProgress?.(e.loaded / e.total);
    };
    const done = () =>
      resolve({ status: xhr.status, text: xhr.responseText, headers: { get: (name) => xhr.getResponseHeader(name) } });
    xhr.onload = done;
    xhr.onerror = done;
    xhr.onabort = done;
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    if (options.signal?.aborted) xhr.abort();
    else xhr.send(form);
  });
}
