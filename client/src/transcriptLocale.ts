import { ENGLISH_TRANSCRIPT_LOCALE, utcTime, type TranscriptLocale, type TranscriptWords } from './transcriptLayout.js';
import { shippedLanguage, wordingFor, type Wording } from './wording/index.js';

export { shippedLanguages } from './wording/index.js';

/**
 * Whom a transcript is written for, from a language and a time zone: the kit's words in that language and every
 * moment in that zone. The service writes its transcript for the `lang` and `timeZone` a page asks (src/http/routes/
 * transcript.ts compiles this file and the catalogues it reads), and the kit builds its fallback for the same, so the
 * two are one file. Pure: it reads `Intl` and the catalogues, nothing of a browser or of Node.
 */

/** The transcript's words in `wording`'s language. */
export function transcriptWordsOf(wording: Wording): TranscriptWords {
  const { t } = wording;
  return {
    title: t('transcriptTitle'),
    you: t('you'),
    agent: t('agent'),
    bot: t('bot'),
    saved: t('transcriptSaved'),
    messages: (count) => t('transcriptMessages', { count }),
    incomplete: t('transcriptIncomplete'),
    list: t('transcriptList'),
    card: t('transcriptCard'),
    quickReplies: t('transcriptQuickReplies'),
    datePicker: t('transcriptDatePicker'),
    listPicker: t('transcriptListPicker'),
    form: t('transcriptForm'),
    file: t('transcriptFile'),
    attachment: t('transcriptAttachment'),
    notDelivered: t('transcriptNotDelivered'),
  };
}

/** Whether `timeZone` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`). */
export function knownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** `2026-11-26 10:15:02 Europe/Berlin`: a moment as a reader in `timeZone` reads it, the zone named. */
export function zonedTime(timeZone: string): (at: Date) => string {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return (at) => {
    const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
    return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${timeZone}`;
  };
}

/**
 * The transcript for a reader of `language` in `timeZone`, each where the kit has it (a language it ships, a time
 * zone the runtime knows); without either, the service's own: English, every moment in UTC.
 */
export function transcriptLocaleOf(language?: string | null, timeZone?: string | null): TranscriptLocale {
  const shipped = shippedLanguage(language);
  const zone = timeZone && knownTimeZone(timeZone) ? timeZone : undefined;
  if (shipped === undefined && zone === undefined) return ENGLISH_TRANSCRIPT_LOCALE;
  const wording = wordingFor(shipped ?? 'en');
  return {
    words: transcriptWordsOf(wording),
    time: zone === undefined ? utcTime : zonedTime(zone),
    lang: wording.locale,
    dir: wording.dir,
  };
}
