'use client';

import { useCallback, useRef, useState } from 'react';
import { BffError, type BffClient, type UploadedAttachment } from '../index.js';

/** Files on their way to the next message: each with its progress, and a way to cancel or drop it. */

export interface PendingUpload {
  /** Stable for this upload (a React key). */
  key: string;
  fileName: string;
  /** 0…1 while uploading (where the browser reports progress). */
  progress: number;
  state: 'uploading' | 'done' | 'failed';
  attachment?: UploadedAttachment;
  error?: BffError;
}

export interface Uploads {
  uploads: PendingUpload[];
  /** True while any file is still on its way. */
  busy: boolean;
  upload(file: File | Blob, fileName?: string): Promise<PendingUpload>;
  /** Cancels an upload on its way, or drops one done but not sent (deleted at Genesys). */
  cancel(key: string): void;
  /** The ids of the files ready to send. */
  readyIds(): string[];
  /** The files were sent: forget them. */
  clear(): void;
}

let counter = 0;

export function useUploads(client: BffClient, onError: (error: BffError) => void): Uploads {
  const [uploads, setUploads] = useState<PendingUpload[]>([]);
  const current = useRef<PendingUpload[]>([]);
  const aborts = useRef(new Map<string, AbortController>());

  const update = useCallback((key: string, change: Partial<PendingUpload> | null) => {
    current.current =
      change === null
        ? current.current.filter((u) => u.key !== key)
        : current.current.map((u) => (u.key === key ? { ...u, ...change } : u));
    setUploads(current.current);
  }, []);

  const upload = useCallback(
    async (file: File | Blob, fileName?: string): Promise<PendingUpload> => {
      const key = `upload-${++counter}`;
      const name = fileName ?? (file as File).name ?? 'file';
      const controller = new AbortController();
      aborts.current.set(key, controller);
      current.current = [...current.current, { key, fileName: name, progress: 0, state: 'uploading' }];
      setUploads(current.current);
      try {
        const attachment = await client.uploadAttachment(file, {
          fileName: name,
          signal: controller.signal,
          onProgress: (progress) => update(key, { progress }),
        });
        update(key, { state: 'done', progress: 1, attachment });
      } catch (error) {
        const failure =
          error instanceof BffError
            ? error
            : new BffError({ status: 0, code: 'upload_failed', message: String(error) });
        if (failure.code === 'aborted') update(key, null);
        else {
          update(key, { state: 'failed', error: failure });
          onError(failure);
        }
      } finally {
        aborts.current.delete(key);
      }
      return current.current.find((u) => u.key === key) ?? { key, fileName: name, progress: 0, state: 'failed' };
    },
    [client, onError, update],
  );

  const cancel = useCallback(
    (key: string) => {
      const pending = current.current.find((u) => u.key === key);
      aborts.current.get(key)?.abort();
      update(key, null);
      // Uploaded but never sent: Genesys would keep it until it expires.
      if (pending?.attachment) client.deleteAttachment(pending.attachment.id).catch(() => undefined);
    },
    [client, update],
  );

  const readyIds = useCallback(
    () => current.current.flatMap((u) => (u.state === 'done' && u.attachment ? [u.attachment.id] : [])),
    [],
  );
  const clear = useCallback(() => {
    current.current = current.current.filter((u) => u.state === 'uploading');
    setUploads(current.current);
  }, []);

  return { uploads, busy: uploads.some((u) => u.state === 'uploading'), upload, cancel, readyIds, clear };
}
