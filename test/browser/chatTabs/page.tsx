import { createRoot } from 'react-dom/client';
import { StrictMode } from 'react';
import { ChatWording, Composer, MessageList, useChat, type ChatEnded } from '../../../client/src/react';

const ENDED: Record<ChatEnded, string> = {
  agent: 'The agent ended the chat.',
  guest: 'You ended the chat.',
  expired: 'Your chat session has expired.',
  signed_out: 'You signed out.',
  signed_in_elsewhere: 'This chat goes on in your signed-in session.',
  reauthentication_required: 'Please sign in again.',
};

/**
 * A page on the React kit with its defaults (one chat per browser, shared by the tabs) and the unread count shown;
 * in the language `?lang=` names, else the page's.
 */
function Chat({ baseUrl }: { baseUrl: string }) {
  const locale = new URLSearchParams(location.search).get('lang') ?? undefined;
  const chat = useChat({ baseUrl, locale, attention: { titleBadge: true, notifications: true } });
  const { t } = chat.wording;
  const writable = chat.status === 'open' || chat.status === 'reconnecting';
  return (
    <main className="chat" aria-label="Chat" dir={chat.wording.dir} lang={chat.wording.locale}>
      <ChatWording wording={chat.wording}>
        <p role="status">{chat.status}</p>
        <p className="unread">{chat.unread > 0 ? t('unreadMessages', { count: chat.unread }) : ''}</p>
        {chat.notifications === 'default' && (
          <button type="button" onClick={() => void chat.requestNotifications()}>
            {t('notifyMe')}
          </button>
        )}
        {chat.ended && <p role="alert">{ENDED[chat.ended]}</p>}
        <MessageList messages={chat.messages} onAnswer={(input) => void chat.send(input)} answersDisabled={!writable} />
        <Composer onSubmit={chat.submit} onTyping={chat.notifyTyping} disabled={!writable} />
        {chat.ended ? (
          <button type="button" onClick={() => void chat.startNew()}>
            Start a new chat
          </button>
        ) : (
          <button type="button" onClick={() => void chat.endChat()}>
            End chat
          </button>
        )}
      </ChatWording>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Chat baseUrl={(window as unknown as { BFF_URL: string }).BFF_URL} />
  </StrictMode>,
);
