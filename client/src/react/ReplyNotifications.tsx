'use client';

import { useState } from 'react';
import { pushKeyOf, subscribeToReplies, unsubscribeFromReplies, type PushPlatform } from '../push.js';
import type { Chat } from './useChat.js';

export interface ReplyNotificationsProps {
  chat: Pick<Chat, 'client' | 'capabilities' | 'messages' | 'wording' | 'ended' | 'session'>;
  /** The site's copy of `@genesys-bff/client/sw.js`. Default `/chat-sw.js`. */
  serviceWorkerUrl?: string;
  /** The browser's push pieces (tests). */
  platform?: PushPlatform;
}

type Shown = 'offer' | 'asking' | 'on' | 'denied' | 'failed';

/**
 * "Notify me when there is a reply": offered once the customer has written (never on page load), where the
 * deployment and the browser can push; pressed, it asks the browser's permission and hands the subscription to the
 * service, then offers to stop. Nothing is shown where push cannot work, or once the chat ended (the service drops
 * the subscription with it).
 */
export function ReplyNotifications({ chat, serviceWorkerUrl, platform }: ReplyNotificationsProps) {
  const { client, capabilities, messages, wording, ended, session } = chat;
  // What was shown belongs to one chat: a new chat starts with the offer again.
  const chatKey = session?.routingKey;
  const [state, setState] = useState<{ chat: string | undefined; shown: Shown }>({ chat: chatKey, shown: 'offer' });
  const shown = state.chat === chatKey ? state.shown : 'offer';
  const setShown = (next: Shown) => setState({ chat: chatKey, shown: next });
  const key = pushKeyOf(capabilities, platform);
  const wrote = messages.some((m) => m.direction === 'inbound');
  if (!key || !wrote || ended) return null;

  const words = {
    replyFrom: wording.t('notifyReplyFrom'),
    reply: wording.t('notifyReply'),
    lang: wording.locale,
    dir: wording.dir,
  };
  const subscribe = async () => {
    setShown('asking');
    try {
      const outcome = await subscribeToReplies(client, key, { serviceWorkerUrl, words, platform });
      setShown(outcome === 'subscribed' ? 'on' : outcome === 'denied' ? 'denied' : 'failed');
    } catch {
      setShown('failed');
    }
  };
  const stop = async () => {
    try {
      await unsubscribeFromReplies(client, { serviceWorkerUrl, platform });
      setShown('offer');
    } catch {
      setShown('failed');
    }
  };

  return (
    <div className="reply-notifications" role="status">
      {shown === 'on' ? (
        <>
          <span dir="auto">{wording.t('notifyOn')}</span>{' '}
          <button type="button" onClick={() => void stop()}>
            {wording.t('notifyStop')}
          </button>
        </>
      ) : shown === 'denied' ? (
        <span dir="auto">{wording.t('notifyDenied')}</span>
      ) : (
        <button type="button" disabled={shown === 'asking'} onClick={() => void subscribe()}>
          {wording.t('notifyReplies')}
        </button>
      )}
      {shown === 'failed' && <span dir="auto"> {wording.t('somethingWentWrong')}</span>}
    </div>
  );
}
