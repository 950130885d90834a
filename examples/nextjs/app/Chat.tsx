'use client';

import { useEffect, useState } from 'react';
import { BffClient, localStorageTokenStore, type WhenClosed } from '@genesys-bff/client';
import {
  AvailabilityNotice,
  ChatWording,
  Composer,
  MessageList,
  PreChatForm,
  ReplyNotifications,
  describeError,
  isolate,
  useAvailability,
  useChat,
  type ChatEnded,
  type ChatStatus,
  type WordKey,
} from '@genesys-bff/client/react';

/** The status line's words (the package's catalogues: en, de, fr, es, ar). */
const STATUS_TEXT: Record<ChatStatus, WordKey> = {
  idle: 'connecting',
  connecting: 'connecting',
  open: 'connected',
  reconnecting: 'reconnecting',
  ended: 'chatEnded',
  failed: 'notConnected',
};

const ENDED_TEXT: Record<ChatEnded, WordKey> = {
  agent: 'endedByAgent',
  guest: 'endedByGuest',
  expired: 'endedExpired',
  signed_out: 'endedSignedOut',
  signed_in_elsewhere: 'endedSignedInElsewhere',
  reauthentication_required: 'endedReauthenticate',
};

/** Each language by its own name, as a guest who does not read the current one looks for it. */
const LANGUAGES = [
  ['en', 'English'],
  ['de', 'Deutsch'],
  ['fr', 'Français'],
  ['es', 'Español'],
  ['ar', 'العربية'],
] as const;
const CHOSEN = 'chat-language';

/** The guest's last pick on the switch, in any tab; null when none, or storage is refused. */
function stored(): string | null {
  try {
    return localStorage.getItem(CHOSEN);
  } catch {
    return null;
  }
}

/**
 * The chat window, on @genesys-bff/client/react: the hook holds the session, the live stream, history,
 * sending, files and the end of the chat; the package's unstyled components draw the transcript (rich
 * messages included) and the composer, and the package's stylesheet gives them their look. Every word on
 * it comes from the package's catalogues, in the language the page's address asks for (`?lang=`), else the one
 * the guest last picked on the switch (in any tab), else the page's <html lang>, else the deployment's default,
 * else English. With `preChat` (`?prechat=on`), a pre-chat form
 * asks the guest's name and email first. Text is rendered as text, never as HTML.
 *
 * Before a chat starts, it asks whether anyone is there (GET /availability): while the centre is closed, a page with
 * no chat under way waits for it to open, its composer disabled (`whenClosed="disable"`), hidden (`"hide"`), or the
 * chat started anyway (`"show"`). While the guest waits for an agent, the line says how long the wait is.
 */
export function Chat({
  baseUrl,
  whenClosed = 'disable',
  preChat = false,
  lang,
}: {
  baseUrl: string;
  whenClosed?: WhenClosed;
  preChat?: boolean;
  /** The language the page's address asks for (`?lang=de`): it wins over an earlier pick, until the next one. */
  lang?: string;
}) {
  // The address's language is known to the server, so its HTML is already in it. The guest's pick on the switch is
  // kept in localStorage, as the chat is: every tab of the site shows the one chat in the one language, and a pick in
  // one tab reaches the others (the storage event). Read after hydration, so the server's HTML and the first render
  // agree.
  const [locale, setLocale] = useState(lang);
  useEffect(() => {
    setLocale(lang ?? stored() ?? undefined);
    const follow = (event: StorageEvent) => {
      if (event.key === CHOSEN && event.newValue) setLocale(event.newValue);
    };
    window.addEventListener('storage', follow);
    return () => window.removeEventListener('storage', follow);
  }, [lang]);
  const pick = (language: string) => {
    try {
      localStorage.setItem(CHOSEN, language);
    } catch {
      // Storage refused (a private window's quota): the pick holds for this page only.
    }
    setLocale(language);
  };
  // One client for both hooks: the availability asks carry the chat's session, and the chat sees the held token.
  // One chat per browser: the token is kept for every tab of the site, and they share one stream. While the page
  // is hidden, agent messages count as unread in the title ("(2) Chat with us") and, once allowed, as notifications.
  const [client] = useState(() => new BffClient({ baseUrl, tokenStore: localStorageTokenStore() }));
  const [started, setStarted] = useState(false);
  // With the pre-chat form, a held chat resumes at once and a new one waits for the form (shown once open).
  const chat = useChat({
    client,
    locale,
    autoStart: preChat ? 'resume' : started,
    attention: { titleBadge: true, notifications: true },
  });
  const availability = useAvailability({ client, live: chat.availability, whenClosed });
  const answered = availability.availability !== undefined || availability.error !== undefined;
  const heldBack = !started && availability.chatButton.disabled && client.sessionToken === undefined;
  // Start once the first answer is in and the centre is open (or says nothing); a chat under way is never stopped.
  useEffect(() => {
    if (answered && !heldBack) setStarted(true);
  }, [answered, heldBack]);
  const { capabilities, ended, status } = chat;
  const { t } = chat.wording;
  // Once a person is with the guest, the wait is no longer news.
  const withAgent =
    chat.agentPresent || chat.messages.some((m) => m.direction === 'outbound' && m.originatingEntity === 'human');
  const writable = status === 'open' || status === 'reconnecting';
  const asking = preChat && status === 'idle' && !heldBack;

  return (
    <main className="chat" aria-labelledby="chat-title" dir={chat.wording.dir} lang={chat.wording.locale}>
      <ChatWording wording={chat.wording}>
        <header className="chat-header">
          <h1 id="chat-title">{t('chatTitle')}</h1>
          <p role="status" className="status" data-state={status}>
            {heldBack || asking ? t('notStarted') : t(STATUS_TEXT[status])}
            {chat.agentPresent && status === 'open' ? ` · ${t('agentHere')}` : ''}
          </p>
          {chat.notifications === 'default' && (
            // Browsers ask for permission only from a click.
            <button type="button" className="notify" onClick={() => void chat.requestNotifications()}>
              {t('notifyMe')}
            </button>
          )}
          {/* After the customer wrote: a reply while no page is open comes as a notification (public/chat-sw.js). */}
          <ReplyNotifications chat={chat} />
          {capabilities?.endChat && !ended && (
            <button type="button" className="end-chat" disabled={!writable} onClick={() => void chat.endChat()}>
              {t('endChat')}
            </button>
          )}
          <div className="language">
            <label htmlFor="language">{t('language')}</label>
            <select id="language" value={chat.wording.locale} onChange={(e) => pick(e.target.value)}>
              {LANGUAGES.map(([code, name]) => (
                <option key={code} value={code} lang={code}>
                  {name}
                </option>
              ))}
            </select>
          </div>
        </header>

        <AvailabilityNotice status={withAgent ? { state: 'unknown' } : availability.status} />
        {asking && <PreChatForm onSubmit={chat.start} availability={availability.status} />}

        {chat.error && !ended && (
          <div role="alert" className="notice">
            <p>{describeError(chat.error, chat.session?.limits, chat.wording)}</p>
            {status === 'failed' && (
              <button type="button" onClick={() => void chat.startNew()}>
                {t('tryAgain')}
              </button>
            )}
          </div>
        )}
        {ended && (
          <div role="alert" className="notice info">
            <p>{t(ENDED_TEXT[ended])}</p>
            <button type="button" onClick={() => void chat.startNew()}>
              {t('startNewChat')}
            </button>
          </div>
        )}
        {chat.expiring && !ended && (
          <p role="alert" className="notice info">
            {t('expiringSoon')}
          </p>
        )}

        {chat.hasOlder && (
          <button type="button" className="older" onClick={() => void chat.loadOlder()}>
            {t('showEarlier')}
          </button>
        )}
        {!asking && (
          <MessageList
            messages={chat.messages}
            masked={chat.masked}
            onAnswer={(input) => void chat.send(input)}
            answersDisabled={!writable || ended !== undefined}
          />
        )}

        <p className="typing" aria-live="polite">
          {chat.typing ? t('isTyping', { name: isolate(chat.typing.name) }) : ''}
        </p>

        {!(heldBack && availability.chatButton.hidden) && !asking && (
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
