/**
 * Reaching a customer who left: Web Push subscriptions kept with the chat in the shared store, the watch of chats
 * nobody is looking at, and the pushes of their replies.
 */
export { ChatNotifications, endpointProblem, pageUrl } from './chatNotifications';
export type { ChatNotificationsOptions } from './chatNotifications';
export { PushSender } from './pushSender';
export { ReadPacer } from './readPacer';
export type { HistoryWatchParts } from './historyWatch';
export type { PushOutcome, PushTarget } from './pushSender';
