'use client';

import { useState, type FormEvent } from 'react';
import type { ChatMessage } from '@bff/client';
import { useChat } from './useChat';

const STATUS_TEXT = { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', ended: 'Chat ended', unavailable: 'Not connected' };

function author(message: ChatMessage): string {
  if (message.direction === 'inbound') return 'You';
  return message.from?.name ?? (message.originatingEntity === 'bot' ? 'Bot' : 'Agent');
}

/** A chat window: the transcript, the agent typing, and a composer. Text is rendered as text, never as HTML. */
export function Chat({ baseUrl }: { baseUrl: string }) {
  const { messages, status, agentTyping, error, send, typing } = useChat(baseUrl);
  const [draft, setDraft] = useState('');

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft('');
    if (!(await send(text))) setDraft(text);
  }

  return (
    <main className="chat" aria-labelledby="chat-title">
      <header>
        <h1 id="chat-title">Chat with us</h1>
        <p role="status" data-state={status}>
          {STATUS_TEXT[status]}
        </p>
      </header>
      {error && <p role="alert">{error}</p>}
      <ol className="messages" role="log" aria-live="polite" aria-label="Conversation">
        {messages.map((m) => (
          <li key={m.id} className={m.direction === 'inbound' ? 'from-guest' : 'from-agent'}>
            <span className="author">{author(m)}</span>
            <span className="bubble">{m.text}</span>
          </li>
        ))}
      </ol>
      <p className="typing" aria-live="polite">
        {agentTyping ? 'The agent is typing…' : ''}
      </p>
      <form onSubmit={submit}>
        <label htmlFor="text">Your message</label>
        <input
          id="text"
          value={draft}
          autoComplete="off"
          disabled={status !== 'open' && status !== 'reconnecting'}
          onChange={(e) => {
            setDraft(e.target.value);
            if (e.target.value.trim()) typing();
          }}
        />
        <button type="submit" disabled={status !== 'open' || !draft.trim()}>
          Send
        </button>
      </form>
    </main>
  );
}
