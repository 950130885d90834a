import { BffError } from '../../client/src';
import { deleteAttachment, uploadAttachment } from '../../client/src/attachments';
import { Transport } from '../../client/src/transport';
import type { UploadedAttachment } from '../../client/src/types';

/**
 * An upload as client/src/attachments.ts sends it and reads its answer, against a recorded fetch and (for progress)
 * a scripted XMLHttpRequest: what goes out (the form, the URL, the request's options), and what each answer becomes.
 * bffClient.test.ts runs the same calls against the real service.
 */

const BASE = 'https://chat.example';
const attachment: UploadedAttachment = {
  id: 'att-1',
  fileName: 'photo.png',
  mediaType: 'image/png',
  size: 3,
  url: `${BASE}/attachments/att-1/content?sig=x`,
};

interface Sent {
  url: string;
  init: RequestInit;
}

/** A fetch that records each call and answers the upload with `answer` (the health probe: unreachable). */
function recordingFetch(answer: () => Promise<Response>, sent: Sent[] = []): typeof fetch {
  return async (input, init = {}) => {
    const url = String(input);
    if (url.endsWith('/healthz')) throw new TypeError('Failed to fetch');
    sent.push({ url, init });
    return answer();
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}) =>
  async () =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

function transportWith(fetchImpl: typeof fetch): Transport {
  return new Transport({ baseUrl: BASE, fetch: fetchImpl, pageOrigin: 'https://shop.example' });
}

const bytes = () => new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });

function fileSent(sent: Sent[]): File {
  return (sent[0]!.init.body as FormData).get('file') as File;
}

describe('what goes out', () => {
  test('a POST of a multipart form to /attachments, with the headers, CORS and no cookies, and the signal', async () => {
    const sent: Sent[] = [];
    const fetchImpl = recordingFetch(json(201, { attachment }), sent);
    const cancel = new AbortController();
    await expect(
      uploadAttachment(transportWith(fetchImpl), fetchImpl, bytes(), { fileName: 'photo.png', signal: cancel.signal }),
    ).resolves.toEqual(attachment);
    expect(sent).toHaveLength(1);
    const { url, init } = sent[0]!;
    expect(url).toBe(`${BASE}/attachments`);
    expect(init).toMatchObject({
      method: 'POST',
      headers: { Accept: 'application/json' },
      mode: 'cors',
      credentials: 'omit',
      signal: cancel.signal,
    });
    expect(init.body).toBeInstanceOf(FormData);
    const file = fileSent(sent);
    expect(file.name).toBe('photo.png');
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('the file’s name: the one given, else the File’s own, else "file"', async () => {
    const names: string[] = [];
    for (const [file, fileName] of [
      [new File([bytes()], 'own.png'), 'given.png'],
      [new File([bytes()], 'own.png'), undefined],
      [bytes(), undefined],
    ] as const) {
      const sent: Sent[] = [];
      const fetchImpl = recordingFetch(json(201, { attachment }), sent);
      await uploadAttachment(transportWith(fetchImpl), fetchImpl, file, { fileName });
      names.push(fileSent(sent).name);
    }
    expect(names).toEqual(['given.png', 'own.png', 'file']);
  });

  test('deleteAttachment sends DELETE to the attachment’s own address, its id encoded', async () => {
    const sent: Sent[] = [];
    const fetchImpl = recordingFetch(async () => new Response(null, { status: 204 }), sent);
    await deleteAttachment(transportWith(fetchImpl), 'a/b c');
    expect(sent.map(({ url, init }) => [init.method, url])).toEqual([['DELETE', `${BASE}/attachments/a%2Fb%20c`]]);
  });
});

describe('what an answer becomes', () => {
  async function failure(answer: () => Promise<Response>, signal?: AbortSignal): Promise<BffError> {
    const fetchImpl = recordingFetch(answer);
    const error = await uploadAttachment(transportWith(fetchImpl), fetchImpl, bytes(), { signal }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(BffError);
    return error as BffError;
  }

  test('a refusal carries the problem’s code, detail, Retry-After and the problem itself', async () => {
    const problem = { type: 'about:blank', title: 'Too many', status: 429, code: 'rate_limited', detail: 'Slow down.' };
    const error = await failure(json(429, problem, { 'Retry-After': '7' }));
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limited',
      message: 'Slow down.',
      retryAfterSeconds: 7,
      problem,
    });
  });

  test('an answer that is no problem document (a proxy’s page) is worded by its status', async () => {
    const error = await failure(async () => new Response('<html>Bad gateway</html>', { status: 502 }));
    expect(error).toMatchObject({ status: 502, code: 'http_502', message: 'The chat service answered 502.' });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  test('a problem whose code and detail are not strings is worded by its status', async () => {
    const error = await failure(json(400, { code: 7, detail: ['no'] }));
    expect(error).toMatchObject({ status: 400, code: 'http_400', message: 'The chat service answered 400.' });
  });

  test('a 201 without an attachment in it (empty, or something else) is a failure, not an upload', async () => {
    const empty = await failure(async () => new Response(null, { status: 201 }));
    expect(empty).toMatchObject({ status: 201, code: 'http_201' });
    const other = await failure(json(201, { id: 'att-1' }));
    expect(other).toMatchObject({ status: 201, code: 'http_201' });
  });

  test('an attachment in an answer other than 201 is not taken as uploaded', async () => {
    const error = await failure(json(200, { attachment }));
    expect(error).toMatchObject({ status: 200, code: 'http_200' });
  });

  test('no answer at all (the network) is the service unreachable', async () => {
    const error = await failure(async () => Promise.reject(new TypeError('Failed to fetch')));
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });

  test('no answer because the page cancelled is "aborted"', async () => {
    const cancel = new AbortController();
    cancel.abort();
    const error = await failure(async () => Promise.reject(new DOMException('aborted', 'AbortError')), cancel.signal);
    expect(error).toMatchObject({ status: 0, code: 'aborted', message: 'The upload was cancelled.' });
  });
});

/** XMLHttpRequest as a browser gives it, scripted by the test. */
class ScriptedXhr {
  static made: ScriptedXhr[] = [];
  opened: [string, string] | undefined;
  headers: Record<string, string> = {};
  sent: unknown = undefined;
  aborted = false;
  status = 0;
  responseText = '';
  answerHeaders: Record<string, string> = {};
  readonly upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } =
    { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    ScriptedXhr.made.push(this);
  }
  open(method: string, url: string) {
    this.opened = [method, url];
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.sent = body;
  }
  abort() {
    this.aborted = true;
    this.status = 0;
    this.onabort?.();
  }
  getResponseHeader(name: string): string | null {
    return this.answerHeaders[name] ?? null;
  }
  progress(loaded: number, total: number, lengthComputable = true) {
    this.upload.onprogress?.({ lengthComputable, loaded, total });
  }
  answer(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.answerHeaders = headers;
    this.onload?.();
  }
  fail() {
    this.onerror?.();
  }
}

describe('with onProgress where XMLHttpRequest exists (a browser)', () => {
  const sent: Sent[] = [];
  const fetchImpl = recordingFetch(json(201, { attachment }), sent);
  const transport = transportWith(fetchImpl);

  beforeEach(() => {
    sent.length = 0;
    ScriptedXhr.made = [];
    (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = ScriptedXhr;
  });
  afterEach(() => {
    delete (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest;
  });

  test('the upload goes through XMLHttpRequest, and reports the fraction of the bytes sent when it is known', async () => {
    const progress: number[] = [];
    const uploading = uploadAttachment(transport, fetchImpl, bytes(), {
      fileName: 'photo.png',
      onProgress: (fraction) => progress.push(fraction),
    });
    const xhr = ScriptedXhr.made[0]!;
    expect(xhr.opened).toEqual(['POST', `${BASE}/attachments`]);
    expect(xhr.headers).toEqual({ Accept: 'application/json' });
    expect(((xhr.sent as FormData).get('file') as File).name).toBe('photo.png');
    xhr.progress(1, 4);
    xhr.progress(2, 0, false);
    xhr.progress(3, 4);
    xhr.answer(201, { attachment });
    await expect(uploading).resolves.toEqual(attachment);
    expect(progress).toEqual([0.25, 0.75]);
    expect(sent).toEqual([]);
  });

  test('a refusal through XMLHttpRequest reads its Retry-After', async () => {
    const uploading = uploadAttachment(transport, fetchImpl, bytes(), { onProgress: () => undefined });
    ScriptedXhr.made[0]!.answer(503, { code: 'unavailable', detail: 'Later.' }, { 'Retry-After': '9' });
    await expect(uploading).rejects.toMatchObject({ status: 503, code: 'unavailable', retryAfterSeconds: 9 });
  });

  test('a network failure through XMLHttpRequest is the service unreachable', async () => {
    const uploading = uploadAttachment(transport, fetchImpl, bytes(), { onProgress: () => undefined });
    ScriptedXhr.made[0]!.fail();
    await expect(uploading).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  test('cancelling while the bytes go out aborts the request: "aborted"', async () => {
    const cancel = new AbortController();
    const uploading = uploadAttachment(transport, fetchImpl, bytes(), {
      onProgress: () => undefined,
      signal: cancel.signal,
    });
    const xhr = ScriptedXhr.made[0]!;
    expect(xhr.sent).toBeInstanceOf(FormData);
    cancel.abort();
    expect(xhr.aborted).toBe(true);
    await expect(uploading).rejects.toMatchObject({ status: 0, code: 'aborted' });
  });

  test('a signal already aborted sends nothing: "aborted"', async () => {
    const cancel = new AbortController();
    cancel.abort();
    const uploading = uploadAttachment(transport, fetchImpl, bytes(), {
      onProgress: () => undefined,
      signal: cancel.signal,
    });
    await expect(uploading).rejects.toMatchObject({ status: 0, code: 'aborted' });
    expect(ScriptedXhr.made[0]!.sent).toBeUndefined();
  });

  test('without onProgress, the upload goes through fetch all the same', async () => {
    await expect(uploadAttachment(transport, fetchImpl, bytes())).resolves.toEqual(attachment);
    expect(ScriptedXhr.made).toEqual([]);
    expect(sent).toHaveLength(1);
  });
});

test('with onProgress where there is no XMLHttpRequest (Node, a worker), the upload goes through fetch', async () => {
  expect(typeof XMLHttpRequest).toBe('undefined');
  const sent: Sent[] = [];
  const fetchImpl = recordingFetch(json(201, { attachment }), sent);
  const progress: number[] = [];
  await expect(
    uploadAttachment(transportWith(fetchImpl), fetchImpl, bytes(), {
      onProgress: (fraction) => progress.push(fraction),
    }),
  ).resolves.toEqual(attachment);
  expect(sent).toHaveLength(1);
  expect(progress).toEqual([]);
});
