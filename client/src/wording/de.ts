import type { Catalogue } from './en.js';

export const de: Catalogue = {
  conversation: 'Unterhaltung',
  you: 'Sie',
  agent: 'Mitarbeiter',
  bot: 'Bot',
  newMessages: { one: '{count} neue Nachricht', other: '{count} neue Nachrichten' },
  yourMessage: 'Ihre Nachricht',
  send: 'Senden',
  attachFile: 'Datei anhängen',
  fileToAttach: 'Anzuhängende Datei',
  filesToSend: 'Zu sendende Dateien',
  uploading: '{file} wird hochgeladen',
  notUploaded: 'Nicht hochgeladen',
  cancel: 'Abbrechen',
  cancelFile: '{file} abbrechen',
  remove: 'Entfernen',
  removeFile: '{file} entfernen',
  quickReplies: 'Schnellantworten',
  carousel: 'Karussell',
  pickTime: 'Zeit wählen',
  image: 'Bild',
  download: '{file} herunterladen',
  theFile: 'die Datei',
  networkError:
    'Der Chat-Dienst ist nicht erreichbar: Er ist vielleicht ausgefallen, oder Ihre Verbindung ist offline. Bitte versuchen Sie es gleich noch einmal.',
  sessionExpired: 'Ihre Chat-Sitzung ist abgelaufen. Starten Sie einen neuen Chat, um fortzufahren.',
  rateLimited: {
    one: 'Sie senden zu schnell. Bitte warten Sie {count} Sekunde und versuchen Sie es erneut.',
    other: 'Sie senden zu schnell. Bitte warten Sie {count} Sekunden und versuchen Sie es erneut.',
  },
  rateLimitedBriefly: 'Sie senden zu schnell. Bitte warten Sie einige Sekunden und versuchen Sie es erneut.',
  messageTooLong: 'Diese Nachricht ist zu lang (höchstens {count} Bytes). Bitte kürzen Sie sie.',
  upstreamUnavailable:
    'Der Chat-Dienst erreicht Genesys Cloud gerade nicht. Bitte versuchen Sie es gleich noch einmal.',
  reauthenticationRequired: 'Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an.',
  uploadCancelled: 'Das Hochladen wurde abgebrochen.',
  somethingWentWrong: 'Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.',
  downloadTranscript: 'Verlauf herunterladen',
  transcriptTitle: 'Chatverlauf',
  transcriptSaved: 'Gespeichert',
  transcriptMessages: { one: '{count} Nachricht', other: '{count} Nachrichten' },
  transcriptIncomplete:
    'Die ältesten Nachrichten fehlen: Das Gespräch ist länger, als der Dienst auf einmal liest. ' +
    'Dieser Verlauf enthält die neuesten.',
  transcriptList: 'Nachrichten',
  opensInNewTab: '(öffnet in einem neuen Tab)',
};
