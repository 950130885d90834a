'use client';

import { useEffect, useState } from 'react';
import { BffClient, localStorageTokenStore, type WhenClosed } from '@genesys-bff/client';
import {
  AvailabilityNotice,
  ChatWording,
  Composer,
  MessageList,
  describeError,
  useAvailability,
  useChat,
  type ChatEnded,
  type ChatStatus,
} from '@genesys-bff/client/react';

const STATUS_TEXT: Record<ChatStatus, string> = {
  idle: 'Connecting…',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Chat ended',
  failed: 'Not connected',
};

const ENDED_TEXT: Record<ChatEnded, string> = {
  agent: 'The agent has ended this conversation.',
  guest: 'You ended this chat.',
  expired: 'Your chat session has expired.',
  signed_out: 'You have been signed out of the chat.',
  signed_in_elsewhere: 'This chat continues in your signed-in session.',
  reauthentication_required: 'Please sign in again to continue this chat.',
};

/**
 * The chat window, on @genesys-bff/client/react: the hook holds the session, the live stream, history,
 * sending, files and the end of the chat; the package's unstyled components draw the transcript (rich
 * messages included) and the composer, speaking the page's language (German, French, Spanish, Arabic or
 * English), and the package's stylesheet gives them their look. Text is rendered as text, never as HTML.
 *
 * Before a chat starts, it asks whether anyone is there (GET /availability): while the centre is closed, a page with
 * no chat under way waits for it to open, its composer disabled (`whenClosed="disable"`), hidden (`"hide"`), or the
 * chat started anyway (`"show"`). While the guest waits for an agent, the line says how long the wait is.
 */
export function Chat({ baseUrl, whenClosed = 'disable' }: { baseUrl: string; whenClosed?: WhenClosed }) {
  // One client for both hooks: the availability asks carry the chat's session, and the chat sees the held token.
  // One chat per browser: the token is kept for every tab of the site, and they share one stream. While the page
  // is hidden, agent messages count as unread in the title ("(2) Chat with us") and, once allowed, as notifications.
  const [client] = useState(() => new BffClient({ baseUrl, tokenStore: localStorageTokenStore() }));
  const [started, setStarted] = useState(false);
  const chat = useChat({ client, autoStart: started, attention: { titleBadge: true, notifications: true } });
  const availability = useAvailability({ client, live: chat.availability, whenClosed });
  const answered = availability.availability !== undefined || availability.error !== undefined;
  const heldBack = !started && availability.chatButton.disabled && client.sessionToken === undefined;
  // Start once the first answer is in and the centre is open (or says nothing); a chat under way is never stopped.
  useEffect(() => {
    if (answered && !heldBack) setStarted(true);
  }, [answered, heldBack]);
  const { capabilities, ended, status } = chat;
  // Once a person is with the guest, the wait is no longer news.
  const withAgent =
    chat.agentPresent || chat.messages.some((m) => m.direction === 'outbound' && m.originatingEntity === 'human');
  const writable = status === 'open' || status === 'reconnecting';

  return (
    <main className="chat" aria-labelledby="chat-title" dir={chat.wording.dir} lang={chat.wording.locale}>
      <ChatWording wording={chat.wording}>
        <header className="chat-header">
          <h1 id="chat-title">Chat with us</h1>
          <p role="status" className="status" data-state={status}>
            {heldBack ? 'Not started' : STATUS_TEXT[status]}
            {chat.agentPresent && status === 'open' ? ' · an agent is here' : ''}
          </p>
          {chat.notifications === 'default' && (
            // Browsers ask for permission only from a click.
            <button type="button" className="notify" onClick={() => void chat.requestNotifications()}>
              {chat.wording.t('notifyMe')}
            </button>
          )}
          {capabilities?.endChat && !ended && (
            <button type="button" className="end-chat" disabled={!writable} onClick={() => void chat.endChat()}>
              End chat
            </button>
          )}
        </header>

        <AvailabilityNotice status={withAgent ? { state: 'unknown' } : availability.status} />

        {chat.error && !ended && (
          <div role="alert" className="notice">
            <p>{describeError(chat.error, chat.session?.limits, chat.wording)}</p>
            {status === 'failed' && (
              <button type="button" onClick={() => void chat.startNew()}>
                Try again
              </button>
            )}
          </div>
        )}
        {ended && (
          <div role="alert" className="notice info">
            <p>{ENDED_TEXT[ended]}</p>
            <button type="button" onClick={() => void chat.startNew()}>
              Start a new chat
            </button>
          </div>
        )}
        {chat.expiring && !ended && (
          <p role="alert" className="notice info">
            This chat will end soon because nothing has happened for a while. Send a message to keep it open.
          </p>
        )}

        {chat.hasOlder && (
          <button type="button" className="older" onClick={() => void chat.loadOlder()}>
            Show earlier messages
          </button>
        )}
        <MessageList
          messages={chat.messages}
          onAnswer={(input) => void chat.send(input)}
          answersDisabled={!writable || ended !== undefined}
        />

        <p className="typing" aria-live="polite">
          {chat.typing ? `${chat.typing.name} is typing…` : ''}
        </p>

        {!(heldBack && availability.chatButton.hidden) && (
          <Composer
            onSubmit={chat.submit}
            onTyping={chat.notifyTyping}
            disabled={!writable || ended !== undefined}
            attachments={capabilities?.attachments}
            uploads={chat.uploads.uploads}
            busy={chat.uploads.busy}
            onFiles={(files) => files.forEach((file) => void chat.uploads.upload(file))}
            onCancelUpload={chat.uploads.cancel}
          />
        )}
      </ChatWording>
    </main>
  );
}
