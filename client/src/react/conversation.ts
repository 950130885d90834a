import type { BffError, ChatMessage, SendInput } from '../index.js';
import { furthestStatus } from '../receipts.js';
import { isolate, wordingFor, type Wording } from '../wording/index.js';

const english = wordingFor('en');

/** The conversation as a page shows it: pure helpers the hook and the components share. */

/**
 * Adds messages (from history or the stream, in any order, any number of times): one per id, in time order. A
 * message's status only moves forward: an older copy (a history page read before a receipt came) never takes back
 * what a receipt said.
 */
export function mergeMessages(current: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return current as ChatMessage[];
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const message of incoming) {
    const held = byId.get(message.id);
    byId.set(message.id, held ? furthestStatus(message, held) : message);
  }
  return [...byId.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** Who wrote a message, for a label and a CSS hook: the guest, a bot or a human agent. */
export function authorOf(
  message: ChatMessage,
  { t }: Wording = english,
): { role: 'guest' | 'bot' | 'agent'; name: string } {
  if (message.direction === 'inbound') return { role: 'guest', name: t('you') };
  if (message.originatingEntity === 'bot') return { role: 'bot', name: message.from?.name || t('bot') };
  return { role: 'agent', name: message.from?.name || t('agent') };
}

/** A presence event (`join` or `disconnect`) as an entry of the conversation, for a "Alex joined" line. */
export function presenceEntry(
  event: { presence: string; name?: string },
  time: Date = new Date(),
): ChatMessage | undefined {
  const value = event.presence === 'join' ? 'Join' : event.presence === 'disconnect' ? 'Disconnect' : undefined;
  if (!value) return undefined;
  return {
    id: `presence-${value}-${time.getTime()}-${event.name ?? ''}`,
    direction: 'outbound',
    type: 'event',
    time: time.toISOString(),
    ...(event.name ? { from: { name: event.name } } : {}),
    events: [{ type: 'Presence', value }],
  };
}

/**
 * The line a presence entry shows ("Alex joined the chat"), or undefined for any other message. The name Genesys
 * gives is isolated (`isolate`): in a page of either direction it reads in its own.
 */
export function presenceLine(message: ChatMessage, { t }: Wording = english): string | undefined {
  if (message.type !== 'event') return undefined;
  const value = message.events?.find((e) => e.type === 'Presence')?.value;
  const name = message.from?.name ? isolate(message.from.name) : t('someAgent');
  if (value === 'Join') return t('agentJoined', { name });
  if (value === 'Disconnect') return t('agentLeft', { name });
  return undefined;
}

/** A message's text, or the text of the answer it carries. */
export function textOf(message: ChatMessage): string {
  return message.text ?? message.buttonResponse?.text ?? '';
}

/** The answer to a quick reply, a card's button or a date picker's slot, as `send` takes it. */
export const answers = {
  quickReply: (message: ChatMessage, reply: { text: string; payload: string }): SendInput => ({
    quickReply: { text: reply.text, payload: reply.payload, originatingMessageId: message.id },
  }),
  button: (message: ChatMessage, action: { text?: string; payload?: string }): SendInput => {
    const text = action.text ?? '';
    return { button: { text, payload: action.payload ?? text, originatingMessageId: message.id } };
  },
  datePicker: (originatingMessageId: string, dateTime: string, label: string): SendInput => ({
    datePicker: { dateTime, originatingMessageId, text: label },
  }),
};

/** Only http(s) links: a message's URLs come from outside. */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    const parsed = new URL(url, base);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Words for an error the service (or the network) gave, for a page to show, in `wording`'s language (default
 * English), chosen by the problem's `code`: the service's own titles and details are English.
 */
export function describeError(error: BffError, limits?: { maxTextBytes?: number }, wording: Wording = english): string {
  const { t } = wording;
  switch (error.code) {
    case 'cors_refused':
      // The customer cannot fix it; the page's developer reads which origin to allow in the console (transport.ts).
      return t('chatUnavailableHere');
    case 'network_error':
      return t('networkError');
    case 'session_expired':
    case 'unauthorized':
      return t('sessionExpired');
    case 'rate_limited':
      return error.retryAfterSeconds === undefined
        ? t('rateLimitedBriefly')
        : t('rateLimited', { count: error.retryAfterSeconds });
    case 'message_too_long':
      return t('messageTooLong', { count: limits?.maxTextBytes ?? 4096 });
    case 'sensitive_data':
      return t('sensitiveData');
    case 'upstream_unavailable':
      return t('upstreamUnavailable');
    case 'reauthentication_required':
      return t('reauthenticationRequired');
    case 'cannot_downgrade':
      // Genesys took a sign-in whose answer this page never had (a reload forgets it): only a new sign-in carries on.
      return t('signInToContinue');
    case 'aborted':
      return t('uploadCancelled');
    default:
      return (wording.locale === 'en' && error.message) || t('somethingWentWrong');
  }
}
