import type { BffError, ChatMessage, SendInput } from '../index.js';

/** The conversation as a page shows it: pure helpers the hook and the components share. */

/** Adds messages (from history or the stream, in any order, any number of times): one per id, in time order. */
export function mergeMessages(current: readonly ChatMessage[], incoming: readonly ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return current as ChatMessage[];
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const message of incoming) byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** Who wrote a message, for a label and a CSS hook: the guest, a bot or a human agent. */
export function authorOf(message: ChatMessage): { role: 'guest' | 'bot' | 'agent'; name: string } {
  if (message.direction === 'inbound') return { role: 'guest', name: 'You' };
  if (message.originatingEntity === 'bot') return { role: 'bot', name: message.from?.name || 'Bot' };
  return { role: 'agent', name: message.from?.name || 'Agent' };
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

/** Words for an error the service (or the network) gave, for a page to show. */
export function describeError(error: BffError, limits?: { maxTextBytes?: number }): string {
  switch (error.code) {
    case 'cors_refused':
      return error.message;
    case 'network_error':
      return 'The chat service cannot be reached: it may be down, or your connection is offline. Please try again in a moment.';
    case 'session_expired':
    case 'unauthorized':
      return 'Your chat session has expired. Start a new chat to continue.';
    case 'rate_limited':
      return `You are sending messages too quickly. Please wait ${error.retryAfterSeconds ?? 'a few'} seconds and try again.`;
    case 'message_too_long':
      return `That message is too long (at most ${limits?.maxTextBytes ?? 4096} bytes). Please shorten it.`;
    case 'upstream_unavailable':
      return 'The chat service cannot reach Genesys Cloud right now. Please try again shortly.';
    case 'reauthentication_required':
      return 'Your sign-in has run out. Please sign in again.';
    case 'aborted':
      return 'The upload was cancelled.';
    default:
      return error.message || 'Something went wrong. Please try again.';
  }
}
