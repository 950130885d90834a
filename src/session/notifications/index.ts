/**
 * Reaching a customer who left: Web Push subscriptions and e-mail opt-ins kept with the chat in the shared store,
 * the watch of chats nobody is looking at, the pushes of their replies, and the e-mails of a human agent's.
 */
export { ChatNotifications, endpointProblem, pageUrl } from './chatNotifications';
export type { ChatNotificationsOptions } from './chatNotifications';
export { PushSender } from './pushSender';
export { ReadPacer } from './readPacer';
export type { HistoryWatchParts } from './historyWatch';
export type { PushOutcome, PushTarget } from './pushSender';
export { EmailNotifier } from './emailNotifier';
export type { EmailNotifierOptions, EmailOptIn, LinkOutcome } from './emailNotifier';
export { EmailSender, confirmationEmail, relayVerdict, repliesEmail } from './emailSender';
export { EMAIL_RETRY, nextTryAt } from './emailCourier';
export type { RetrySchedule } from './emailCourier';
export type { OutgoingEmail } from './emailSender';
