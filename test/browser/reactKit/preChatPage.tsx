import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatWording, Composer, MessageList, PreChatForm, useChat } from '../../../client/src/react';

/**
 * A developer's page with a pre-chat form, under StrictMode: a held session resumes on load, else the form asks
 * for the guest's name, email and a topic (a custom attribute) and starts the chat with them.
 */
function Chat({ baseUrl, locale }: { baseUrl: string; locale?: string }) {
  const chat = useChat({ baseUrl, locale, autoStart: 'resume' });
  const writable = chat.status === 'open' || chat.status === 'reconnecting';
  return (
    <main className="chat" aria-label="Chat" dir={chat.wording.dir} lang={chat.wording.locale}>
      <ChatWording wording={chat.wording}>
        <p role="status">
          {chat.status}
          {chat.agentPresent ? ' agent-present' : ''}
        </p>
        {chat.status === 'idle' ? (
          <PreChatForm
            onSubmit={chat.start}
            fields={[
              {
                attribute: 'topic',
                label: 'Topic',
                type: 'select',
                options: [{ value: 'billing', label: 'Billing' }, { value: 'orders' }],
              },
            ]}
          />
        ) : (
          <>
            <MessageList
              messages={chat.messages}
              onAnswer={(input) => void chat.send(input)}
              answersDisabled={!writable}
            />
            <Composer onSubmit={chat.submit} disabled={!writable} />
          </>
        )}
      </ChatWording>
    </main>
  );
}

const baseUrl = (window as unknown as { BFF_URL: string }).BFF_URL;
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Chat baseUrl={baseUrl} locale={new URLSearchParams(location.search).get('lang') ?? undefined} />
  </StrictMode>,
);
