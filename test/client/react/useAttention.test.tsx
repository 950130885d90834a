/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import { act, cleanup, renderHook } from '../../support/dom';
import type { ChatMessage } from '../../../client/src';
import { wordingFor, type Wording } from '../../../client/src/react';
import { useAttention, type AttentionSettings } from '../../../client/src/react/useAttention';

/**
 * useChat's attention (its `attention` option, `chat.unread`, `chat.requestNotifications()`): the hook over
 * attentionTo (attention.test.ts), kept in step with each render's settings and words, with the page's visibility
 * and the browser's notifications steered.
 */

let visibility: DocumentVisibilityState = 'visible';
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
const hide = () => {
  visibility = 'hidden';
  document.dispatchEvent(new Event('visibilitychange'));
};

/** A Notification class that writes down each one shown, its permission `permission` until asked. */
function installNotifications(permission: NotificationPermission) {
  const shown: { title: string; body?: string }[] = [];
  class FakeNotification {
    static permission: NotificationPermission = permission;
    static requestPermission = jest.fn(async () => (FakeNotification.permission = 'granted'));
    onclick: (() => void) | null = null;
    constructor(title: string, options: NotificationOptions = {}) {
      shown.push({ title, body: options.body });
    }
    close() {}
  }
  Object.assign(globalThis, { Notification: FakeNotification });
  return { shown, FakeNotification };
}

/** An Audio class that writes down the source of each sound played (the page's own is put back after each test). */
const realAudio = globalThis.Audio;
function installAudio(): string[] {
  const played: string[] = [];
  Object.assign(globalThis, {
    Audio: class {
      constructor(readonly src: string) {}
      play() {
        played.push(this.src);
        return Promise.resolve();
      }
    },
  });
  return played;
}

const fromAlex = (id: string, text?: string): ChatMessage => ({
  id,
  direction: 'outbound',
  type: 'text',
  time: '',
  from: { name: 'Alex' },
  ...(text === undefined ? {} : { text }),
});

function renderAttention(settings: AttentionSettings, wording: Wording = wordingFor('en')) {
  return renderHook(({ s, w }: { s: AttentionSettings; w: Wording }) => useAttention(s, w), {
    initialProps: { s: settings, w: wording },
  });
}

beforeEach(() => {
  visibility = 'visible';
  document.title = 'Shop';
});
afterEach(() => {
  cleanup();
  delete (globalThis as { Notification?: unknown }).Notification;
  Object.assign(globalThis, { Audio: realAudio });
});

test('counts what arrives while hidden, badges the title when asked, and markSeen clears both', () => {
  const { result } = renderAttention({ titleBadge: true });
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hello'), { sound: false }));
  act(() => result.current.arrived(fromAlex('m-2', 'Still there?'), { sound: false }));
  expect(result.current.unread).toBe(2);
  expect(document.title).toBe('(2) Shop');
  act(() => result.current.markSeen());
  expect(result.current.unread).toBe(0);
  expect(document.title).toBe('Shop');
});

test('the title badge follows the setting from one render to the next, and unmounting gives the title back', () => {
  const { result, rerender, unmount } = renderAttention({});
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hello'), { sound: false }));
  expect(document.title).toBe('Shop');
  rerender({ s: { titleBadge: true }, w: wordingFor('en') });
  expect(document.title).toBe('(1) Shop');
  unmount();
  expect(document.title).toBe('Shop');
});

test('notifications, when on, are titled with the author in the chat’s words, the text their body', () => {
  const { shown } = installNotifications('granted');
  const { result } = renderAttention({ notifications: true }, wordingFor('de'));
  expect(result.current.notifications).toBe('granted');
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hallo'), { sound: false }));
  act(() => result.current.arrived(fromAlex('m-2'), { sound: false }));
  const de = wordingFor('de');
  expect(shown).toEqual([
    { title: de.t('notificationTitle', { name: 'Alex' }), body: 'Hallo' },
    { title: de.t('notificationTitle', { name: 'Alex' }), body: de.t('notificationNoText') },
  ]);
});

test('off until asked: requestNotifications asks once, and when allowed turns them on without the setting', async () => {
  const { shown, FakeNotification } = installNotifications('default');
  const { result } = renderAttention({});
  expect(result.current.notifications).toBe('default');
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'before'), { sound: false }));
  expect(shown).toEqual([]);
  let answer: string | undefined;
  await act(async () => {
    answer = await result.current.requestNotifications();
  });
  expect(answer).toBe('granted');
  expect(FakeNotification.requestPermission).toHaveBeenCalledTimes(1);
  expect(result.current.notifications).toBe('granted');
  act(() => result.current.arrived(fromAlex('m-2', 'after'), { sound: false }));
  expect(shown.map((n) => n.body)).toEqual(['after']);
});

test('refused, they stay off; unmounted, there is nothing to ask and the answer is unsupported', async () => {
  const { shown, FakeNotification } = installNotifications('default');
  FakeNotification.requestPermission.mockImplementation(async () => (FakeNotification.permission = 'denied'));
  const { result, unmount } = renderAttention({});
  await act(async () => {
    expect(await result.current.requestNotifications()).toBe('denied');
  });
  expect(result.current.notifications).toBe('denied');
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hello'), { sound: false }));
  expect(shown).toEqual([]);
  const { requestNotifications } = result.current;
  unmount();
  expect(await requestNotifications()).toBe('unsupported');
});

test('dismissed, they stay off, even once the browser allows them some other way', async () => {
  const { shown, FakeNotification } = installNotifications('default');
  FakeNotification.requestPermission.mockImplementation(async () => 'default');
  const { result } = renderAttention({});
  await act(async () => {
    expect(await result.current.requestNotifications()).toBe('default');
  });
  // Allowed later from the browser's own settings: this page was not asked to show them, so it does not.
  FakeNotification.permission = 'granted';
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hello'), { sound: false }));
  expect(shown).toEqual([]);
});

test('where the browser has no notifications, the permission reads unsupported', () => {
  const { result } = renderAttention({ notifications: true });
  expect(result.current.notifications).toBe('unsupported');
});

test('a sound file plays per message while hidden, but not for one another tab of the chat sounds', () => {
  const played = installAudio();
  const { result } = renderAttention({ sound: '/sounds/reply.mp3' });
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'Hello'), { sound: true }));
  act(() => result.current.arrived(fromAlex('m-2', 'Hello again'), { sound: false }));
  expect(played).toEqual(['/sounds/reply.mp3']);
});

test('notifications, sound and words each follow the settings from one render to the next', () => {
  const { shown } = installNotifications('granted');
  const played = installAudio();
  const { result, rerender } = renderAttention({});
  hide();
  act(() => result.current.arrived(fromAlex('m-1', 'one'), { sound: true }));
  expect(shown).toEqual([]);
  expect(played).toEqual([]);

  rerender({ s: { notifications: true }, w: wordingFor('en') });
  act(() => result.current.arrived(fromAlex('m-2', 'two'), { sound: true }));
  expect(shown).toEqual([{ title: wordingFor('en').t('notificationTitle', { name: 'Alex' }), body: 'two' }]);

  rerender({ s: { notifications: true }, w: wordingFor('fr') });
  act(() => result.current.arrived(fromAlex('m-3', 'trois'), { sound: true }));
  expect(shown[1]).toEqual({ title: wordingFor('fr').t('notificationTitle', { name: 'Alex' }), body: 'trois' });

  rerender({ s: { notifications: true, sound: '/sounds/reply.mp3' }, w: wordingFor('fr') });
  act(() => result.current.arrived(fromAlex('m-4', 'quatre'), { sound: true }));
  expect(played).toEqual(['/sounds/reply.mp3']);

  rerender({ s: {}, w: wordingFor('fr') });
  act(() => result.current.arrived(fromAlex('m-5', 'cinq'), { sound: true }));
  expect(shown).toHaveLength(3);
  expect(played).toEqual(['/sounds/reply.mp3']);
});
