/**
 * @genesys-bff/client/react: the `useChat` hook and unstyled, accessible
 * components to restyle or replace (`@genesys-bff/client/styles.css` is a
 * start). Class names (`message`, `from-agent`, `bubble`, `quick-replies`,
 * `card`, `date-picker`, `pending-file`…) are the styling hooks.
 */
export { describeStatus, useChat, type Chat, type ChatEnded, type ChatStatus, type UseChatOptions } from './useChat.js';
export { useUploads, type PendingUpload, type Uploads } from './useUploads.js';
export { useAvailability, type AvailabilityView, type UseAvailabilityOptions } from './useAvailability.js';
export { AvailabilityNotice, describeAvailability, type AvailabilityNoticeProps } from './AvailabilityNotice.js';
export {
  answers,
  authorOf,
  describeError,
  mergeMessages,
  presenceEntry,
  presenceLine,
  safeUrl,
  textOf,
} from './conversation.js';
export { applyReceipt, deliveryLine, describeFailure } from '../receipts.js';
export { MessageList, Message, type MessageListProps, type MessageProps } from './MessageList.js';
export { Attachments, Cards, DatePickers, QuickReplies, slotLabel, type AnswerProps } from './RichContent.js';
export { Composer, type ComposerProps } from './Composer.js';
export { PreChatForm, type PreChatField, type PreChatFormProps } from './PreChatForm.js';
export { TranscriptButton, type TranscriptButtonProps } from './TranscriptButton.js';
export { ReplyNotifications, type ReplyNotificationsProps } from './ReplyNotifications.js';
export { loadMarkdownLibraries, useMarkdown } from './markdown.js';
export { ChatWording, useWording } from './wording.js';
export {
  catalogues,
  chooseLanguage,
  isolate,
  shippedLanguages,
  wordingFor,
  type Catalogue,
  type Phrase,
  type WordKey,
  type Wording,
} from '../wording/index.js';
