'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { BffClient, BffError, sessionStorageTokenStore, type ChatMessage, type LiveStream } from '@bff/client';

export type ChatStatus = 'connecting' | 'open' | 'reconnecting' | 'ended' | 'unavailable';

/** Newest state of every message by id, oldest first (the stream and history overlap). */
function merged(current: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const message of incoming) if (message.type !== 'event') byId.set(message.id, message);
  return [...byId.values()].sort((a, b) => a.time.localeCompare(b.time));
}

/** Words for an error from the service: its problem `detail`, or what a network failure means. */
function describe(error: unknown): string {
  if (error instanceof BffError) return error.code === 'network_error' ? 'The chat service cannot be reached. Please try again.' : error.message;
  return 'Something went wrong. Please try again.';
}

/**
 * The chat as React state, on the service's browser client: starts (or resumes) the guest session,
 * keeps the live stream open, loads history whenever the stream (re)opens, and sends messages.
 * The session token lives in sessionStorage, so a reload resumes the same chat.
 */
export function useChat(baseUrl: string) {
  const client = useRef<BffClient | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [status, setStatus] = useState<ChatStatus>('connecting');
  const [agentTyping, setAgentTyping] = useState(false);
  const [error, setError] = useState<string>();

  useEffect(() => {
    const chat = new BffClient({ baseUrl, tokenStore: sessionStorageTokenStore() });
    client.current = chat;
    let live: LiveStream | undefined;
    let left = false;
    chat
      .startSession()
      .then(() => {
        if (left) return;
        live = chat.stream({
          open: () => {
            setStatus('open');
            chat.history().then((page) => setMessages((current) => merged(current, page.messages)), () => undefined);
          },
          state: (state) => state === 'reconnecting' && setStatus('reconnecting'),
          message: (message) => {
            setAgentTyping(false);
            setMessages((current) => merged(current, [message]));
          },
          typing: () => setAgentTyping(true),
          error: (e) => {
            setStatus('ended');
            setError(describe(e));
          },
        });
      })
      .catch((e: unknown) => {
        setStatus('unavailable');
        setError(describe(e));
      });
    return () => {
      left = true;
      live?.close();
    };
  }, [baseUrl]);

  const send = useCallback(async (text: string): Promise<boolean> => {
    if (!client.current) return false;
    try {
      const message = await client.current.send(text);
      setError(undefined);
      setMessages((current) => merged(current, [message]));
      return true;
    } catch (e) {
      setError(describe(e));
      return false;
    }
  }, []);

  const typing = useCallback(() => {
    client.current?.typing().catch(() => undefined);
  }, []);

  return { messages, status, agentTyping, error, send, typing };
}
