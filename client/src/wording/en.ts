/** The kit's words in English: the source every other language translates, key for key. */
export const en = {
  conversation: 'Conversation',
  you: 'You',
  agent: 'Agent',
  bot: 'Bot',
  newMessages: { one: '{count} new message', other: '{count} new messages' },
  yourMessage: 'Your message',
  send: 'Send',
  attachFile: 'Attach a file',
  fileToAttach: 'File to attach',
  filesToSend: 'Files to send',
  uploading: 'Uploading {file}',
  notUploaded: 'Not uploaded',
  cancel: 'Cancel',
  cancelFile: 'Cancel {file}',
  remove: 'Remove',
  removeFile: 'Remove {file}',
  quickReplies: 'Quick replies',
  carousel: 'Carousel',
  pickTime: 'Pick a time',
  image: 'Image',
  download: 'Download {file}',
  theFile: 'the file',
  networkError:
    'The chat service cannot be reached: it may be down, or your connection is offline. Please try again in a moment.',
  sessionExpired: 'Your chat session has expired. Start a new chat to continue.',
  rateLimited: {
    one: 'You are sending messages too quickly. Please wait {count} second and try again.',
    other: 'You are sending messages too quickly. Please wait {count} seconds and try again.',
  },
  rateLimitedBriefly: 'You are sending messages too quickly. Please wait a few seconds and try again.',
  messageTooLong: 'That message is too long (at most {count} bytes). Please shorten it.',
  upstreamUnavailable: 'The chat service cannot reach Genesys Cloud right now. Please try again shortly.',
  reauthenticationRequired: 'Your sign-in has run out. Please sign in again.',
  uploadCancelled: 'The upload was cancelled.',
  somethingWentWrong: 'Something went wrong. Please try again.',
  unreadMessages: { one: '{count} unread message', other: '{count} unread messages' },
  notificationTitle: 'New message from {name}',
  notificationNoText: 'Sent you a message',
  notifyMe: 'Notify me of new messages',
  closedBackAt: 'Closed, back at {time}',
  closedNow: 'Closed right now',
  holidayBackAt: 'Closed for a holiday, back at {time}',
  holidayNow: 'Closed for a holiday',
  emergencyClosed: 'Closed because of an emergency. Please try again later.',
  noAgents: 'No agent is available right now',
  linesBusy: {
    one: 'All lines are busy (about {count} minute)',
    other: 'All lines are busy (about {count} minutes)',
  },
  linesBusyNoEstimate: 'All lines are busy',
  agentAvailable: 'An agent is available',
  downloadTranscript: 'Download transcript',
  transcriptTitle: 'Chat transcript',
  transcriptSaved: 'Saved',
  transcriptMessages: { one: '{count} message', other: '{count} messages' },
  transcriptIncomplete:
    'The oldest messages are not included: the conversation is longer than the service reads at once. ' +
    'This transcript holds the newest ones.',
  transcriptList: 'Messages',
  opensInNewTab: '(opens in a new tab)',
} as const;

/** A phrase: text with `{name}` slots, or plural forms chosen by `Intl.PluralRules` (`other` always present). */
export type Phrase = string | ({ other: string } & Partial<Record<Intl.LDMLPluralRule, string>>);
export type WordKey = keyof typeof en;
/** One language's words: every key the English has. */
export type Catalogue = Record<WordKey, Phrase>;
