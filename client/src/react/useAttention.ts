'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { attentionTo, type Attention, type ChatMessage } from '../index.js';
import type { Wording } from '../wording/index.js';
import { authorOf, textOf } from './conversation.js';

/** What useChat does to get the customer back while the page is hidden; each part is off until asked for. */
export interface AttentionSettings {
  /** The unread count in front of the page's title: `(2) Title`. */
  titleBadge?: boolean;
  /**
   * A browser notification per agent or bot message while the page is hidden, when the customer has allowed
   * them. `chat.requestNotifications()` (from a click) asks and, when allowed, turns them on without this.
   */
  notifications?: boolean;
  /** A sound per agent or bot message while the page is hidden: `true` for a short tone, or an audio file's URL. */
  sound?: boolean | string;
}

export interface AttentionState {
  unread: number;
  /** The browser's notification permission (`unsupported` where there are none). */
  notifications: NotificationPermission | 'unsupported';
  markSeen(): void;
  requestNotifications(): Promise<NotificationPermission | 'unsupported'>;
  /** A message came live; `sound: false` where another tab of the chat sounds it. */
  arrived(message: ChatMessage, options: { sound: boolean }): void;
}

/** The unread count and its alerts, kept in step with the page's visibility (attentionTo). */
export function useAttention(settings: AttentionSettings = {}, wording: Wording): AttentionState {
  const attention = useRef<Attention | undefined>(undefined);
  const [unread, setUnread] = useState(0);
  const [permission, setPermission] = useState<NotificationPermission | 'unsupported'>('unsupported');
  const [asked, setAsked] = useState(false);
  const { titleBadge, notifications, sound } = settings;

  useEffect(() => {
    // Made in an effect, not in state: StrictMode's extra render would leave a listener behind.
    const made = attentionTo({ onUnread: setUnread });
    attention.current = made;
    setPermission(made.permission);
    return () => {
      made.dispose();
      attention.current = undefined;
    };
  }, []);

  useEffect(() => {
    attention.current?.update({
      titleBadge,
      notifications: notifications || asked,
      sound,
      onUnread: setUnread,
      describe: (message) => ({
        title: wording.t('notificationTitle', { name: authorOf(message, wording).name }),
        body: textOf(message) || wording.t('notificationNoText'),
      }),
    });
  }, [titleBadge, notifications, asked, sound, wording]);

  const requestNotifications = useCallback(async () => {
    const made = attention.current;
    if (!made) return 'unsupported' as const;
    const answer = await made.requestNotifications();
    setPermission(answer);
    if (answer === 'granted') setAsked(true);
    return answer;
  }, []);

  return {
    unread,
    notifications: permission,
    markSeen: useCallback(() => attention.current?.markSeen(), []),
    requestNotifications,
    arrived: useCallback(
      (message: ChatMessage, { sound: audible }: { sound: boolean }) =>
        attention.current?.arrived(message, { sound: audible }),
      [],
    ),
  };
}
