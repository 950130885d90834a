import type { ChatMessage } from './types.js';

/**
 * Getting the customer's attention back while the page is hidden (another tab in front, the window
 * minimised): an unread count of the agent's and bot's messages, and, each only when asked for, the count
 * in the page's title ("(2) Shop"), a browser notification and a sound. All of it clears when the page is
 * seen again. Seen is local to the page: Genesys has no read receipt for a web guest.
 */

export interface AttentionOptions {
  /** Shows the unread count in front of the page's title, as `(2) Title`. Default false. */
  titleBadge?: boolean;
  /**
   * Shows a browser notification for each agent or bot message while the page is hidden, once the customer
   * allowed them: ask with `requestNotifications()` from a click (browsers refuse to ask otherwise). Default false.
   */
  notifications?: boolean;
  /** Plays a sound for each agent or bot message while the page is hidden: `true` for a short tone, or an audio URL. */
  sound?: boolean | string;
  /** The notification's title and text for a message (default: the author's name and the message's text). */
  describe?(message: ChatMessage): { title: string; body: string };
  /** The unread count changed. */
  onUnread?(count: number): void;
  /** Injected for tests or other runtimes. Default: the page's. */
  document?: Document;
  Notification?: typeof Notification;
}

export interface Attention {
  readonly unread: number;
  /**
   * A message arrived live: counted (once per id) when an agent or bot wrote it while the page is hidden.
   * `sound: false` keeps it silent (another tab of the chat sounds it; a notification has one per message anyway).
   */
  arrived(message: ChatMessage, options?: { sound?: boolean }): void;
  /** The customer saw the conversation: the count is 0, the title restored, this page's notifications closed. */
  markSeen(): void;
  /** Asks for permission to notify; call it from a click or key press. `unsupported` where there are none. */
  requestNotifications(): Promise<NotificationPermission | 'unsupported'>;
  /** The permission as it stands, `unsupported` where the browser has no notifications. */
  readonly permission: NotificationPermission | 'unsupported';
  /** Changes what it does (the React hook passes each render's options). */
  update(options: AttentionOptions): void;
  /** Stops listening and restores the title. */
  dispose(): void;
}

/** At most this many message ids are remembered to count each message once. */
const REMEMBERED = 500;

export function attentionTo(initial: AttentionOptions = {}): Attention {
  let options = initial;
  let unread = 0;
  let baseTitle: string | undefined;
  const counted = new Set<string>();
  const shown: Notification[] = [];
  const page = (): Document | undefined => options.document ?? (typeof document === 'undefined' ? undefined : document);
  const Notifier = (): typeof Notification | undefined =>
    options.Notification ?? (globalThis as { Notification?: typeof Notification }).Notification;

  const hidden = () => page()?.visibilityState === 'hidden';

  const showCount = () => {
    const doc = page();
    if (doc && options.titleBadge && unread > 0) {
      baseTitle ??= doc.title;
      doc.title = `(${unread}) ${baseTitle}`;
    } else if (doc && baseTitle !== undefined) {
      doc.title = baseTitle;
      baseTitle = undefined;
    }
    options.onUnread?.(unread);
  };

  const notify = (message: ChatMessage) => {
    const Notify = Notifier();
    if (!options.notifications || !Notify || Notify.permission !== 'granted') return;
    const { title, body } = (options.describe ?? describe)(message);
    try {
      // One notification per message however many tabs show it: the same tag replaces, not adds.
      const notification = new Notify(title, { body, tag: `genesys-bff:${message.id}` });
      notification.onclick = () => {
        globalThis.focus?.();
        notification.close();
      };
      shown.push(notification);
    } catch {
      // Some browsers allow notifications only from a service worker: the count and title still tell.
    }
  };

  const markSeen = () => {
    for (const notification of shown.splice(0)) notification.close();
    if (unread === 0) return;
    unread = 0;
    showCount();
  };

  const seen = () => {
    if (!hidden()) markSeen();
  };
  const listenedTo = page();
  listenedTo?.addEventListener('visibilitychange', seen);

  return {
    get unread() {
      return unread;
    },
    get permission() {
      return Notifier()?.permission ?? 'unsupported';
    },
    arrived(message, { sound = true } = {}) {
      if (message.direction !== 'outbound' || message.type === 'event' || !hidden()) return;
      if (counted.has(message.id)) return;
      counted.add(message.id);
      if (counted.size > REMEMBERED) counted.delete(counted.values().next().value!);
      unread++;
      showCount();
      notify(message);
      if (sound && options.sound) playSound(options.sound);
    },
    markSeen,
    async requestNotifications() {
      const Notify = Notifier();
      if (!Notify) return 'unsupported';
      if (Notify.permission !== 'default') return Notify.permission;
      return Notify.requestPermission();
    },
    update(next) {
      options = next;
      showCount();
    },
    dispose() {
      listenedTo?.removeEventListener('visibilitychange', seen);
      const doc = page();
      if (doc && baseTitle !== undefined) doc.title = baseTitle;
      baseTitle = undefined;
    },
  };
}

function describe(message: ChatMessage): { title: string; body: string } {
  return { title: message.from?.name || 'New message', body: message.text ?? '' };
}

let audio: AudioContext | undefined;

/** A short, quiet two-note tone (Web Audio), or the given file. A browser that blocks sound before a click stays silent. */
function playSound(sound: true | string): void {
  try {
    if (typeof sound === 'string') {
      void new Audio(sound).play().catch(() => undefined);
      return;
    }
    const Context = (globalThis as { AudioContext?: typeof AudioContext }).AudioContext;
    if (!Context) return;
    audio ??= new Context();
    const start = audio.currentTime;
    for (const [i, frequency] of [880, 660].entries()) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.08, start + i * 0.12);
      volume.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.12 + 0.11);
      tone.connect(volume).connect(audio.destination);
      tone.start(start + i * 0.12);
      tone.stop(start + i * 0.12 + 0.12);
    }
  } catch {
    // no sound here
  }
}
