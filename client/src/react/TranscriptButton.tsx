'use client';

import { useState } from 'react';
import {
  buildTranscript,
  saveTranscript,
  transcriptLabelsOf,
  type BffClient,
  type ChatMessage,
  type Transcript,
  type TranscriptFormat,
} from '../index.js';
import type { Wording } from '../wording/index.js';
import { useWording } from './wording.js';

export interface TranscriptButtonProps {
  /** `chat.client`. */
  client: Pick<BffClient, 'transcript'>;
  /** `chat.messages`: what the transcript is built from when the service cannot give it. */
  messages: ChatMessage[];
  /** `html` (default: a page to open or print) or `text`. */
  format?: TranscriptFormat;
  className?: string;
  label?: string;
  wording?: Wording;
  /** Told of each transcript offered, from the service (`source: 'service'`) or built on the page (`'page'`). */
  onSaved?(transcript: Transcript): void;
}

/**
 * Downloads the conversation: the whole of it from the service (`client.transcript()`), or, when the service
 * refuses (the guest ended the session, the history budget is spent) or cannot be reached, the same layout built
 * from the messages the page holds, in the kit's language.
 */
export function TranscriptButton({
  client,
  messages,
  format = 'html',
  className = 'transcript',
  label,
  wording,
  onSaved,
}: TranscriptButtonProps) {
  const words = useWording(wording);
  const [busy, setBusy] = useState(false);
  const save = async () => {
    setBusy(true);
    try {
      // For this reader: the kit's language and the browser's time zone, from the service or, failing it, the page.
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const transcript = await client.transcript({ format, lang: words.locale, timeZone }).catch(() =>
        buildTranscript(messages, {
          format,
          labels: transcriptLabelsOf(words),
          lang: words.locale,
          dir: words.dir,
          timeZone,
        }),
      );
      saveTranscript(transcript);
      onSaved?.(transcript);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" className={className} onClick={() => void save()} disabled={busy} aria-busy={busy}>
      {label ?? words.t('downloadTranscript')}
    </button>
  );
}
