'use client';

import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Wording } from '../wording/index.js';
import type { PendingUpload } from './useUploads.js';
import { useWording } from './wording.js';

export interface ComposerProps {
  /** Sends the text (with any files ready); resolves false when it failed, and the text is given back. */
  onSubmit(text: string): Promise<boolean>;
  onTyping?(): void;
  disabled?: boolean;
  /** Offer the attach button (the deployment accepts files: `capabilities.attachments.enabled`). */
  attachments?: { enabled: boolean; mediaTypes?: string[] };
  uploads?: PendingUpload[];
  onFiles?(files: File[]): void;
  onCancelUpload?(key: string): void;
  /** Wait for files still on their way. */
  busy?: boolean;
  label?: string;
  className?: string;
  /** The words to use (default: `ChatWording`'s, else the page's language or English). */
  wording?: Wording;
}

/** The guest's text box: Enter sends, Shift+Enter starts a new line; files with their progress and a way to cancel each. */
export function Composer({
  onSubmit,
  onTyping,
  disabled,
  attachments,
  uploads = [],
  onFiles,
  onCancelUpload,
  busy,
  label,
  className = 'composer',
  wording,
}: ComposerProps) {
  const { t } = useWording(wording);
  const [text, setText] = useState('');
  const form = useRef<HTMLFormElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const id = useId();
  const ready = uploads.some((u) => u.state === 'done');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (disabled || busy || (text.trim() === '' && !ready)) return;
    const sending = text;
    setText('');
    void onSubmit(sending).then((sent) => !sent && setText((now) => (now === '' ? sending : now)));
  };
  const keyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      form.current?.requestSubmit();
    }
  };

  return (
    <form ref={form} className={className} onSubmit={submit}>
      <label htmlFor={`${id}-text`}>{label ?? t('yourMessage')}</label>
      {uploads.length > 0 && (
        <ul className="pending-files" aria-label={t('filesToSend')}>
          {uploads.map((u) => (
            <li className="pending-file" key={u.key} data-state={u.state}>
              <span>{u.fileName}</span>
              {u.state === 'uploading' && (
                <progress max={1} value={u.progress} aria-label={t('uploading', { file: u.fileName })} />
              )}
              {u.state === 'failed' && <span className="upload-error">{u.error?.message ?? t('notUploaded')}</span>}
              <button
                type="button"
                onClick={() => onCancelUpload?.(u.key)}
                aria-label={t(u.state === 'uploading' ? 'cancelFile' : 'removeFile', { file: u.fileName })}
              >
                {t(u.state === 'uploading' ? 'cancel' : 'remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        {attachments?.enabled && (
          <>
            <button type="button" className="attach" onClick={() => file.current?.click()} disabled={disabled}>
              {t('attachFile')}
            </button>
            <input
              ref={file}
              type="file"
              hidden
              aria-label={t('fileToAttach')}
              accept={attachments.mediaTypes?.join(',')}
              onChange={(event) => {
                onFiles?.(Array.from(event.target.files ?? []));
                event.target.value = '';
              }}
            />
          </>
        )}
        <textarea
          id={`${id}-text`}
          name="text"
          dir="auto"
          rows={2}
          autoComplete="off"
          value={text}
          disabled={disabled}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value.trim() !== '') onTyping?.();
          }}
          onKeyDown={keyDown}
        />
        <button type="submit" disabled={disabled || busy}>
          {t('send')}
        </button>
      </div>
    </form>
  );
}
