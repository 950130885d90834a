/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, renderHook } from '../../support/dom';
import { BffError, type BffClient, type UploadOptions, type UploadedAttachment } from '../../../client/src';
import { useUploads, type Uploads } from '../../../client/src/react';

/**
 * useUploads (client/src/react/useUploads.ts) against a client whose uploads the test answers one by one: what each
 * pending file shows as it goes, what a failure and a cancel leave, and which files are ready to send. useChat.test.tsx
 * runs it against the service.
 */

interface UploadCall {
  file: Blob;
  options: UploadOptions;
  resolve(attachment: UploadedAttachment): void;
  reject(error: unknown): void;
}

function stubClient() {
  const calls: UploadCall[] = [];
  const deleted: string[] = [];
  const client = {
    uploadAttachment: (file: Blob, options: UploadOptions) =>
      new Promise<UploadedAttachment>((resolve, reject) => {
        calls.push({ file, options, resolve, reject });
        // As the real client: an abort through the signal rejects with "aborted".
        options.signal?.addEventListener('abort', () =>
          reject(new BffError({ status: 0, code: 'aborted', message: 'The upload was cancelled.' })),
        );
      }),
    deleteAttachment: async (id: string) => {
      deleted.push(id);
    },
  };
  return { client: client as unknown as BffClient, calls, deleted };
}

const attachment = (id: string, fileName = `${id}.png`): UploadedAttachment => ({
  id,
  fileName,
  mediaType: 'image/png',
  size: 1,
  url: `https://chat.example/attachments/${id}/content`,
});

const png = (name: string) => new File([new Uint8Array([1])], name, { type: 'image/png' });

function mount() {
  const stub = stubClient();
  const errors: BffError[] = [];
  const hook = renderHook(() => useUploads(stub.client, (error) => errors.push(error)));
  const now = (): Uploads => hook.result.current;
  /** Starts an upload inside act, as a file chosen on the page does. */
  const start = (file: Blob, fileName?: string) => {
    let done!: ReturnType<Uploads['upload']>;
    act(() => {
      done = now().upload(file, fileName);
    });
    return done;
  };
  return { ...stub, errors, now, start };
}

afterEach(cleanup);

describe('a file on its way', () => {
  test('shows as uploading at 0 under its name, keeps the chat busy, and is handed to the client by name with a signal', () => {
    const { now, start, calls } = mount();
    expect(now().busy).toBe(false);
    void start(png('parcel.png'));
    expect(now().uploads).toEqual([
      { key: expect.any(String), fileName: 'parcel.png', progress: 0, state: 'uploading' },
    ]);
    expect(now().busy).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.options.fileName).toBe('parcel.png');
    expect(calls[0]!.options.signal).toBeInstanceOf(AbortSignal);
    expect(now().readyIds()).toEqual([]);
  });

  test('its name: the one given, else the File’s own, else "file"', () => {
    const { now, start, calls } = mount();
    void start(png('own.png'), 'given.png');
    void start(png('own.png'));
    void start(new Blob([new Uint8Array([1])]));
    expect(now().uploads.map((u) => u.fileName)).toEqual(['given.png', 'own.png', 'file']);
    expect(calls.map((c) => c.options.fileName)).toEqual(['given.png', 'own.png', 'file']);
  });

  test('each of several files has its own key and its own progress', () => {
    const { now, start, calls } = mount();
    void start(png('a.png'));
    void start(png('b.png'));
    act(() => calls[1]!.options.onProgress!(0.5));
    const [a, b] = now().uploads;
    expect(a!.key).not.toBe(b!.key);
    expect([a!.progress, b!.progress]).toEqual([0, 0.5]);
  });
});

describe('an upload done', () => {
  test('is ready to send, at progress 1, and its upload() resolves to it', async () => {
    const { now, start, calls } = mount();
    const done = start(png('a.png'));
    void start(png('b.png'));
    await act(async () => calls[0]!.resolve(attachment('att-a')));
    const ready = {
      key: expect.any(String),
      fileName: 'a.png',
      progress: 1,
      state: 'done',
      attachment: attachment('att-a'),
    };
    await expect(done).resolves.toEqual(ready);
    expect(now().uploads).toEqual([ready, expect.objectContaining({ fileName: 'b.png', state: 'uploading' })]);
    expect(now().readyIds()).toEqual(['att-a']);
    expect(now().busy).toBe(true);
  });

  test('clear forgets the files done or failed, and keeps those still on their way', async () => {
    const { now, start, calls } = mount();
    void start(png('done.png'));
    void start(png('failed.png'));
    void start(png('going.png'));
    await act(async () => {
      calls[0]!.resolve(attachment('att-1'));
      calls[1]!.reject(new BffError({ status: 415, code: 'attachment_type_not_allowed', message: 'No.' }));
    });
    act(() => now().clear());
    expect(now().uploads.map((u) => [u.fileName, u.state])).toEqual([['going.png', 'uploading']]);
    expect(now().readyIds()).toEqual([]);
  });
});

describe('an upload that fails', () => {
  test('stays, failed, with the refusal, which is also reported; it is not ready to send', async () => {
    const { now, start, calls, errors } = mount();
    const done = start(png('photo.exe'));
    const refusal = new BffError({ status: 415, code: 'attachment_type_not_allowed', message: 'No.' });
    await act(async () => calls[0]!.reject(refusal));
    await expect(done).resolves.toMatchObject({ fileName: 'photo.exe', state: 'failed', error: refusal });
    expect(now().uploads).toEqual([expect.objectContaining({ state: 'failed', error: refusal, progress: 0 })]);
    expect(errors).toEqual([refusal]);
    expect(now().busy).toBe(false);
    expect(now().readyIds()).toEqual([]);
  });

  test('something thrown that is no BffError becomes one: "upload_failed", with its words', async () => {
    const { now, start, calls, errors } = mount();
    void start(png('a.png'));
    await act(async () => calls[0]!.reject(new TypeError('boom')));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(BffError);
    expect(errors[0]).toMatchObject({ status: 0, code: 'upload_failed', message: 'TypeError: boom' });
    expect(now().uploads[0]!.error).toBe(errors[0]);
  });
});

describe('cancel', () => {
  test('a file on its way: its request is aborted, it is gone, nothing is reported or deleted', async () => {
    const { now, start, calls, errors, deleted } = mount();
    const done = start(png('a.png'));
    void start(png('b.png'));
    const { key } = now().uploads[0]!;
    act(() => now().cancel(key));
    expect(calls[0]!.options.signal!.aborted).toBe(true);
    expect(calls[1]!.options.signal!.aborted).toBe(false);
    expect(now().uploads.map((u) => u.fileName)).toEqual(['b.png']);
    await expect(done).resolves.toEqual({ key, fileName: 'a.png', progress: 0, state: 'failed' });
    expect(now().uploads.map((u) => u.fileName)).toEqual(['b.png']);
    expect(errors).toEqual([]);
    expect(deleted).toEqual([]);
  });

  test('a file uploaded but not sent: it is gone and deleted at Genesys', async () => {
    const { now, start, calls, deleted } = mount();
    void start(png('a.png'));
    await act(async () => calls[0]!.resolve(attachment('att-a')));
    act(() => now().cancel(now().uploads[0]!.key));
    expect(now().uploads).toEqual([]);
    expect(deleted).toEqual(['att-a']);
  });

  test('of two files uploaded, the one cancelled is the one deleted', async () => {
    const { now, start, calls, deleted } = mount();
    void start(png('a.png'));
    void start(png('b.png'));
    await act(async () => {
      calls[0]!.resolve(attachment('att-a'));
      calls[1]!.resolve(attachment('att-b'));
    });
    act(() => now().cancel(now().uploads[1]!.key));
    expect(deleted).toEqual(['att-b']);
    expect(now().uploads.map((u) => u.fileName)).toEqual(['a.png']);
  });

  test('an unknown key changes nothing', () => {
    const { now, start, deleted } = mount();
    void start(png('a.png'));
    act(() => now().cancel('no-such-upload'));
    expect(now().uploads.map((u) => u.fileName)).toEqual(['a.png']);
    expect(deleted).toEqual([]);
  });
});

test('a page that renders with another client and onError: uploads, reports and deletes go to the new ones', async () => {
  const first = stubClient();
  const second = stubClient();
  const reported: string[] = [];
  const hook = renderHook(
    ({ client, onError }: { client: BffClient; onError: (error: BffError) => void }) => useUploads(client, onError),
    { initialProps: { client: first.client, onError: () => reported.push('first') } },
  );
  hook.rerender({ client: second.client, onError: () => reported.push('second') });
  let done!: Promise<unknown>;
  act(() => {
    done = hook.result.current.upload(png('a.png'));
    void hook.result.current.upload(png('b.png'));
  });
  expect([first.calls.length, second.calls.length]).toEqual([0, 2]);
  await act(async () => second.calls[0]!.reject(new BffError({ status: 413, code: 'too_large', message: 'No.' })));
  await done;
  expect(reported).toEqual(['second']);
  await act(async () => second.calls[1]!.resolve(attachment('att-b')));
  act(() => hook.result.current.cancel(hook.result.current.uploads.find((u) => u.fileName === 'b.png')!.key));
  expect([first.deleted, second.deleted]).toEqual([[], ['att-b']]);
});
