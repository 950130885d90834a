/**
 * What the chat did, told to the site's own analytics in the page: a DOM `CustomEvent` named
 * `genesys-bff:<name>` on `window` for each, and, when the site asks, the same pushed to its Google Tag Manager
 * `dataLayer` as `{ event: 'genesys-bff:<name>', ...detail }`. No message text goes out unless the site opts in
 * (`messageText`). Conversation events (a reply, an agent joining, the agent or expiry ending the chat) are told
 * by the tab that holds the live stream, once per event; what the customer did in a tab (opened the chat, sent,
 * ended, met an error) is told by that tab.
 */

export const PAGE_EVENT_PREFIX = 'genesys-bff:';

export interface PageEventDetails {
  /** The chat was started (`resumed: false`) or picked up again (a reload, another tab). */
  'chat-opened': { resumed: boolean };
  /** The guest's message reached Genesys (`text` only with `messageText`). */
  'message-sent': {
    messageId: string;
    kind: 'text' | 'quickReply' | 'button' | 'datePicker';
    attachments: number;
    text?: string;
  };
  /** An agent's or the bot's message arrived (`text` only with `messageText`). */
  'message-received': { messageId: string; from: 'agent' | 'bot'; kind: 'text' | 'structured'; text?: string };
  /** An agent joined; `name` when Genesys names them. */
  'agent-joined': { name?: string };
  /** The chat is over: the guest ended it, the agent did, or Genesys let it expire. */
  'chat-ended': { by: 'guest' | 'agent' | 'expiry' };
  /** An availability answer the page read: open or why not, the estimated wait. */
  availability: { open: boolean; reason: string; estimatedWaitSeconds: number | null };
  /** A request the customer's action needed was refused: the problem's code, never its wording. */
  error: { code: string; status?: number; retryAfterSeconds?: number; during: string };
}

export type PageEventName = keyof PageEventDetails;

/** Every event the kit tells the page, for a listener that wants them all. */
export const PAGE_EVENT_NAMES = [
  'chat-opened',
  'message-sent',
  'message-received',
  'agent-joined',
  'chat-ended',
  'availability',
  'error',
] as const satisfies readonly PageEventName[];

export interface PageEventsOptions {
  /**
   * Push each event to Google Tag Manager's data layer too: `true` for `window.dataLayer`, or the name of another
   * array on `window`. Created when absent, as GTM's own snippet does. Default: off.
   */
  dataLayer?: boolean | string;
  /** Put the message's text in `message-sent` and `message-received`. Default: off. */
  messageText?: boolean;
  /** Where the events are dispatched. Default: `window` (none outside a browser). */
  target?: EventTarget & Record<string, unknown>;
}

/** The events one client tells: nothing when `false`. */
export class PageEvents {
  private readonly target: (EventTarget & Record<string, unknown>) | undefined;
  private readonly layer: string | undefined;
  readonly withText: boolean;

  constructor(options: boolean | PageEventsOptions = true) {
    const given = typeof options === 'object' ? options : {};
    const page =
      typeof window === 'undefined' ? undefined : (window as unknown as EventTarget & Record<string, unknown>);
    this.target = options === false ? undefined : (given.target ?? page);
    this.layer = given.dataLayer === true ? 'dataLayer' : given.dataLayer || undefined;
    this.withText = given.messageText === true;
  }

  /** Tells the page `name` happened. A listener that throws does not reach the chat. */
  emit<N extends PageEventName>(name: N, detail: PageEventDetails[N]): void {
    const { target } = this;
    if (!target || typeof CustomEvent === 'undefined') return;
    const type = `${PAGE_EVENT_PREFIX}${name}`;
    target.dispatchEvent(new CustomEvent(type, { detail }));
    if (this.layer) {
      const layer = (target[this.layer] ??= []) as unknown;
      if (Array.isArray(layer) || typeof (layer as { push?: unknown }).push === 'function')
        (layer as { push(entry: unknown): void }).push({ event: type, ...detail });
    }
  }
}

/** Message ids already told, so a replayed or caught-up message is told once; the oldest are forgotten past `max`. */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max = 1000) {}

  /** True the first time `id` is seen. */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
