import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  AvailabilityNotice,
  ChatWording,
  Composer,
  MessageList,
  TranscriptButton,
  describeError,
  useAvailability,
  useChat,
} from '../../../client/src/react';

/** A developer's page on the React kit, as a Vite or Next.js app runs it in development: under StrictMode. */
function Chat({ baseUrl, locale }: { baseUrl: string; locale?: string }) {
  const chat = useChat({ baseUrl, locale });
  const { status } = useAvailability({ client: chat.client, live: chat.availability });
  const writable = chat.status === 'open' || chat.status === 'reconnecting';
  return (
    <main className="chat" aria-label="Chat" dir={chat.wording.dir} lang={chat.wording.locale}>
      <ChatWording wording={chat.wording}>
        <p role="status">{chat.status}</p>
        <AvailabilityNotice status={status} />
        {chat.error && <p role="alert">{describeError(chat.error, chat.session?.limits, chat.wording)}</p>}
        <MessageList
          messages={chat.messages}
          onAnswer={(input) => void chat.send(input)}
          answersDisabled={!writable}
          markdown={chat.capabilities?.markdown}
        />
        <Composer
          onSubmit={chat.submit}
          onTyping={chat.notifyTyping}
          disabled={!writable}
          attachments={chat.capabilities?.attachments}
          uploads={chat.uploads.uploads}
          busy={chat.uploads.busy}
          onFiles={(files) => files.forEach((file) => void chat.uploads.upload(file))}
          onCancelUpload={chat.uploads.cancel}
        />
        <TranscriptButton client={chat.client} messages={chat.messages} />
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
