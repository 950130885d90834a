/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 */
import { attentionTo, type ChatMessage } from '../../client/src';

/** The unread count and its alerts while the page is hidden (attentionTo), with the page's visibility steered. */

let visibility: DocumentVisibilityState = 'visible';
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
const show = (state: DocumentVisibilityState) => {
  visibility = state;
  document.dispatchEvent(new Event('visibilitychange'));
};

const agent = (id: string, text = `text of ${id}`): ChatMessage => ({
  id,
  direction: 'outbound',
  type: 'text',
  text,
  time: '',
  from: { name: 'Alex' },
});

/** A Notification class that writes down each one shown and closed. */
function notifications(permission: NotificationPermission) {
  const shown: { title: string; body?: string; tag?: string; closed: boolean }[] = [];
  const instances: { onclick: (() => void) | null }[] = [];
  class FakeNotification {
    static permission = permission;
    static requestPermission = jest.fn(async () => (FakeNotification.permission = 'granted'));
    onclick: (() => void) | null = null;
    private readonly entry;
    constructor(title: string, options: NotificationOptions = {}) {
      this.entry = { title, body: options.body, tag: options.tag, closed: false };
      shown.push(this.entry);
      instances.push(this);
    }
    close() {
      this.entry.closed = true;
    }
  }
  return {
    shown,
    instances,
    Notification: FakeNotification as unknown as typeof Notification & typeof FakeNotification,
  };
}

beforeEach(() => {
  visibility = 'visible';
  document.title = 'Shop';
});

describe('the unread count', () => {
  test('counts agent and bot messages once each while the page is hidden, and clears when it is seen', () => {
    const counts: number[] = [];
    const attention = attentionTo({ onUnread: (n) => counts.push(n) });
    attention.arrived(agent('m-0'));
    expect(attention.unread).toBe(0);

    show('hidden');
    attention.arrived(agent('m-1'));
    attention.arrived(agent('m-1'));
    attention.arrived({ ...agent('m-2'), direction: 'inbound' });
    attention.arrived({ ...agent('m-3'), type: 'event' });
    attention.arrived({ ...agent('m-4'), originatingEntity: 'bot' });
    expect(attention.unread).toBe(2);

    show('visible');
    expect(attention.unread).toBe(0);
    expect(counts).toEqual([1, 2, 0]);
    attention.dispose();
  });

  test('shows the count in the title when asked, and gives the title back', () => {
    const attention = attentionTo({ titleBadge: true });
    show('hidden');
    attention.arrived(agent('m-1'));
    attention.arrived(agent('m-2'));
    expect(document.title).toBe('(2) Shop');
    show('visible');
    expect(document.title).toBe('Shop');

    show('hidden');
    attention.arrived(agent('m-3'));
    attention.dispose();
    expect(document.title).toBe('Shop');
  });

  test('leaves the title alone unless asked', () => {
    const attention = attentionTo();
    show('hidden');
    attention.arrived(agent('m-1'));
    expect(document.title).toBe('Shop');
    attention.dispose();
  });
});

describe('the page going hidden, and one page left behind', () => {
  test('hiding the page clears nothing; seen again, it clears', () => {
    const attention = attentionTo();
    show('hidden');
    attention.arrived(agent('m-1'));
    show('hidden');
    expect(attention.unread).toBe(1);
    show('visible');
    expect(attention.unread).toBe(0);
    attention.dispose();
  });

  test('seen with nothing unread, it tells nothing', () => {
    const counts: number[] = [];
    const attention = attentionTo({ onUnread: (n) => counts.push(n) });
    show('hidden');
    show('visible');
    attention.markSeen();
    expect(counts).toEqual([]);
    attention.dispose();
  });

  test('once disposed it no longer listens: the page seen again leaves its count alone', () => {
    const attention = attentionTo();
    show('hidden');
    attention.arrived(agent('m-1'));
    attention.dispose();
    show('visible');
    expect(attention.unread).toBe(1);
  });

  test('remembers the last 500 messages to count each once: an older one coming back counts again', () => {
    const attention = attentionTo();
    show('hidden');
    for (let i = 0; i < 500; i++) attention.arrived(agent(`m-${i}`));
    attention.arrived(agent('m-0'));
    expect(attention.unread).toBe(500);
    attention.arrived(agent('m-500'));
    // m-0 was the oldest of 501: forgotten, so it counts again; m-1 is still remembered.
    attention.arrived(agent('m-0'));
    attention.arrived(agent('m-2'));
    expect(attention.unread).toBe(502);
    attention.dispose();
  });
});

describe('notifications', () => {
  test('a click brings the page to the front and closes the notification', () => {
    const allowed = notifications('granted');
    const focus = jest.spyOn(window, 'focus').mockImplementation(() => undefined);
    const attention = attentionTo({ notifications: true, Notification: allowed.Notification });
    show('hidden');
    attention.arrived(agent('m-1'));
    allowed.instances[0]!.onclick!();
    expect(focus).toHaveBeenCalledTimes(1);
    expect(allowed.shown[0]!.closed).toBe(true);
    focus.mockRestore();
    attention.dispose();
  });

  test("says the author's name, else New message, and the text, else nothing", () => {
    const allowed = notifications('granted');
    const attention = attentionTo({ notifications: true, Notification: allowed.Notification });
    show('hidden');
    attention.arrived({ ...agent('m-1'), from: undefined, text: undefined });
    attention.arrived({ ...agent('m-2', 'Here'), from: { name: '' } });
    expect(allowed.shown.map(({ title, body }) => ({ title, body }))).toEqual([
      { title: 'New message', body: '' },
      { title: 'New message', body: 'Here' },
    ]);
    attention.dispose();
  });

  test('one per message while hidden, only when turned on and allowed; closed when the page is seen', () => {
    const allowed = notifications('granted');
    const attention = attentionTo({ notifications: true, Notification: allowed.Notification });
    attention.arrived(agent('m-0'));
    show('hidden');
    attention.arrived(agent('m-1', 'Your parcel left'));
    expect(allowed.shown).toEqual([{ title: 'Alex', body: 'Your parcel left', tag: 'genesys-bff:m-1', closed: false }]);
    show('visible');
    expect(allowed.shown[0]!.closed).toBe(true);
    attention.dispose();

    const off = notifications('granted');
    const notAsked = attentionTo({ Notification: off.Notification });
    show('hidden');
    notAsked.arrived(agent('m-2'));
    expect(off.shown).toEqual([]);
    notAsked.dispose();

    const refused = notifications('denied');
    const denied = attentionTo({ notifications: true, Notification: refused.Notification });
    denied.arrived(agent('m-3'));
    expect(refused.shown).toEqual([]);
    expect(denied.unread).toBe(1);
    denied.dispose();
  });

  test('permission is asked only when the page asks for it, and only once', async () => {
    const asking = notifications('default');
    const attention = attentionTo({ Notification: asking.Notification });
    expect(asking.Notification.requestPermission).not.toHaveBeenCalled();
    expect(attention.permission).toBe('default');
    expect(await attention.requestNotifications()).toBe('granted');
    expect(await attention.requestNotifications()).toBe('granted');
    expect(asking.Notification.requestPermission).toHaveBeenCalledTimes(1);
    attention.dispose();
    // jsdom, like some embedded browsers, has no notifications at all.
    expect(await attentionTo().requestNotifications()).toBe('unsupported');
  });

  test('uses the words given for a message', () => {
    const allowed = notifications('granted');
    const attention = attentionTo({
      notifications: true,
      Notification: allowed.Notification,
      describe: (m) => ({ title: `Neue Nachricht von ${m.from?.name}`, body: m.text ?? '' }),
    });
    show('hidden');
    attention.arrived(agent('m-1', 'Hallo'));
    expect(allowed.shown[0]).toMatchObject({ title: 'Neue Nachricht von Alex', body: 'Hallo' });
    attention.dispose();
  });
});

describe('sound', () => {
  const played: string[] = [];
  beforeAll(() => {
    (window as unknown as { Audio: unknown }).Audio = class {
      constructor(readonly src: string) {}
      play() {
        played.push(this.src);
        return Promise.resolve();
      }
    };
  });

  test('true plays a short quiet tone: 880 Hz, then 660 Hz 0.12 s later, each fading within it', () => {
    const calls: string[] = [];
    class FakeAudioContext {
      currentTime = 10;
      destination = { name: 'speakers' };
      createOscillator() {
        const tone = {
          frequency: { value: 0 },
          connect: (to: unknown) => to,
          start: (at: number) => calls.push(`start ${tone.frequency.value} at ${at.toFixed(2)}`),
          stop: (at: number) => calls.push(`stop ${tone.frequency.value} at ${at.toFixed(2)}`),
        };
        return tone;
      }
      createGain() {
        return {
          gain: {
            setValueAtTime: (v: number, at: number) => calls.push(`volume ${v} at ${at.toFixed(2)}`),
            exponentialRampToValueAtTime: (v: number, at: number) => calls.push(`fade to ${v} by ${at.toFixed(2)}`),
          },
          connect: (to: unknown) => {
            calls.push(`to ${(to as { name?: string }).name}`);
            return to;
          },
        };
      }
    }
    (window as unknown as { AudioContext: unknown }).AudioContext = FakeAudioContext;
    try {
      const attention = attentionTo({ sound: true });
      show('hidden');
      attention.arrived(agent('m-1'));
      expect(calls).toEqual([
        'volume 0.08 at 10.00',
        'fade to 0.0001 by 10.11',
        'to speakers',
        'start 880 at 10.00',
        'stop 880 at 10.12',
        'volume 0.08 at 10.12',
        'fade to 0.0001 by 10.23',
        'to speakers',
        'start 660 at 10.12',
        'stop 660 at 10.24',
      ]);
      attention.dispose();
    } finally {
      delete (window as unknown as { AudioContext?: unknown }).AudioContext;
    }
  });

  test('plays the given sound while hidden, only when asked, and not where another tab sounds it', () => {
    const quiet = attentionTo();
    show('hidden');
    quiet.arrived(agent('m-1'));
    expect(played).toEqual([]);
    const loud = attentionTo({ sound: '/ping.mp3' });
    loud.arrived(agent('m-2'));
    loud.arrived(agent('m-3'), { sound: false });
    expect(played).toEqual(['/ping.mp3']);
    expect(loud.unread).toBe(2);
    show('visible');
    loud.arrived(agent('m-4'));
    expect(played).toEqual(['/ping.mp3']);
    quiet.dispose();
    loud.dispose();
  });
});
