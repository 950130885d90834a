// The demo chat page: plain DOM, the browser client, no build step.
// Message text is set with textContent, never parsed as HTML, except an agent's Markdown when the deployment enables
// it, which markdown.js renders with raw HTML off and sanitises with DOMPurify.
import {
  BffClient,
  BffError,
  attentionTo,
  availabilityStatus,
  chatButtonState,
  deliveryLine,
  describeFailure,
  followNewest,
  furthestStatus,
  isolate,
  readReporter,
  localStorageTokenStore,
  pushKeyOf,
  subscribeToReplies,
  unsubscribeFromReplies,
} from './bffClient.js';
import { describeAvailability, watchAvailability } from './availability.js';
import { loadMarkdown } from './markdown.js';
import { offerTranscript } from './transcript.js';
import { attachmentsOf, cardsOf, datePickersOf } from './rich.js';
import { PendingUploads } from './uploads.js';
import { beginSignIn, completeSignIn, signInConfig } from './signIn.js';
import { serviceUrlOf } from './serviceUrl.js';
import { chooseLanguageOf, deploymentLanguage, onLanguage, t, words } from './words.js';
import { askDetails, askFirst } from './preChat.js';

/** @typedef {import('./bffClient.js').ChatMessage} ChatMessage */
/** @typedef {import('./bffClient.js').StartSessionOptions} StartSessionOptions */
/** @typedef {import('./bffClient.js').ChatStream} ChatStream */
/** @typedef {import('./bffClient.js').WordKey} WordKey */
/** @typedef {import('./bffClient.js').Availability} Availability */

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const ui = {
  status: byId('status'),
  availability: byId('availability'),
  notice: byId('notice'),
  noticeText: byId('notice-text'),
  noticeAction: /** @type {HTMLButtonElement} */ (byId('notice-action')),
  conversation: byId('conversation'),
  newMessages: /** @type {HTMLButtonElement} */ (byId('new-messages')),
  messages: byId('messages'),
  typing: byId('typing'),
  form: /** @type {HTMLFormElement} */ (byId('composer')),
  text: /** @type {HTMLTextAreaElement} */ (byId('text')),
  send: /** @type {HTMLButtonElement} */ (byId('send')),
  endChat: /** @type {HTMLButtonElement} */ (byId('end-chat')),
  notify: /** @type {HTMLButtonElement} */ (byId('notify')),
  notifyReplies: /** @type {HTMLButtonElement} */ (byId('notify-replies')),
  emailReplies: /** @type {HTMLFormElement} */ (byId('email-replies')),
  emailAddress: /** @type {HTMLInputElement} */ (byId('email-address')),
  emailStop: /** @type {HTMLButtonElement} */ (byId('email-stop')),
  transcript: /** @type {HTMLButtonElement} */ (byId('transcript')),
  signIn: /** @type {HTMLButtonElement} */ (byId('sign-in')),
  signOut: /** @type {HTMLButtonElement} */ (byId('sign-out')),
  signedIn: byId('signed-in'),
  attach: /** @type {HTMLButtonElement} */ (byId('attach')),
  file: /** @type {HTMLInputElement} */ (byId('file')),
  pendingFiles: byId('pending-files'),
  dropHint: byId('drop-hint'),
  chat: /** @type {HTMLElement} */ (document.querySelector('main.chat')),
  language: /** @type {HTMLSelectElement} */ (byId('language')),
  preChat: /** @type {HTMLFormElement} */ (byId('pre-chat')),
};

// The conversation follows its newest message (late images too) while the reader is at the end, and keeps their
// place when they scrolled up, offering a jump back down.
let unseen = 0;
const showUnseen = () => {
  ui.newMessages.hidden = unseen === 0;
  ui.newMessages.textContent = unseen === 0 ? '' : t('newMessages', { count: unseen });
};
const follow = followNewest(ui.conversation, {
  unseen(count) {
    unseen = count;
    showUnseen();
  },
});
ui.newMessages.addEventListener('click', () => follow.toNewest());

/**
 * Where the service is: `?bff=` in the page URL (on a loopback page only), window.BFF_URL, the bff-url meta tag, or
 * the local default.
 */
function serviceUrl() {
  const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="bff-url"]'));
  return serviceUrlOf(location, Reflect.get(window, 'BFF_URL'), meta?.content);
}

// localStorage: one chat per browser, shared by the site's tabs (one of them holds the live stream for all).
const client = new BffClient({ baseUrl: serviceUrl(), tokenStore: localStorageTokenStore() });
// While the page is hidden: the unread count in the title, and a notification once the customer allowed them.
const attention = attentionTo({ titleBadge: true, notifications: true });
ui.notify.hidden = attention.permission !== 'default';
// Browsers ask for permission only from a click.
ui.notify.addEventListener('click', async () => {
  await attention.requestNotifications();
  ui.notify.hidden = attention.permission !== 'default';
});
// After the customer wrote, where the deployment and the browser can push: a reply while no page of the chat is open
// comes as a notification (the site serves @genesys-bff/client/sw.js as /chat-sw.js; the demo server does).
/** @type {string | undefined} */
let pushKey;
let repliesNotified = false;
function offerReplyNotifications() {
  ui.notifyReplies.hidden = !pushKey || sessionStorage.getItem(CHATTED) !== '1';
  ui.notifyReplies.textContent = t(repliesNotified ? 'notifyStop' : 'notifyReplies');
}
ui.notifyReplies.addEventListener('click', async () => {
  try {
    if (repliesNotified) {
      await unsubscribeFromReplies(client);
      repliesNotified = false;
    } else if (pushKey) {
      const html = document.documentElement;
      const outcome = await subscribeToReplies(client, pushKey, {
        words: {
          replyFrom: t('notifyReplyFrom'),
          reply: t('notifyReply'),
          lang: html.lang,
          dir: html.dir === 'rtl' ? 'rtl' : 'ltr',
        },
      });
      repliesNotified = outcome === 'subscribed';
      showNotice(() => t(outcome === 'subscribed' ? 'notifyOn' : 'notifyDenied'), { kind: 'info' });
    }
  } catch (error) {
    showError(error);
  }
  offerReplyNotifications();
});
// After the customer wrote, where the deployment has e-mail: a human agent's reply still unread a while after the
// customer left is e-mailed (once the address is confirmed, unless the signed-in identity has it).
let emailOffered = false;
let emailOn = false;
function offerEmail() {
  ui.emailReplies.hidden = !emailOffered || emailOn || sessionStorage.getItem(CHATTED) !== '1';
  ui.emailStop.hidden = !emailOn;
}
ui.emailReplies.addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    const { confirmed } = await client.notifyByEmail(ui.emailAddress.value, {
      url: `${location.origin}${location.pathname}`,
    });
    emailOn = true;
    showNotice(() => t(confirmed ? 'emailOn' : 'emailConfirm'), { kind: 'info' });
  } catch (error) {
    showError(error);
  }
  offerEmail();
});
ui.emailStop.addEventListener('click', async () => {
  try {
    await client.stopEmail();
    emailOn = false;
  } catch (error) {
    showError(error);
  }
  offerEmail();
});
/** The chat is over: the service dropped its subscription and e-mail opt-in with it. */
function stopOfferingReplyNotifications() {
  repliesNotified = false;
  ui.notifyReplies.hidden = true;
  emailOn = false;
  emailOffered = false;
  offerEmail();
}
/** @type {ChatStream | undefined} */
let live;
let maxTextBytes = 4096;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let typingTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let expiryTimer;
/** Who spoke last to the guest (the bot or the agent): who "is typing". */
let lastAuthor = '';
/** A human agent joined (presence join) and has not left. */
let agentPresent = false;
/** The pre-chat form's answers. @type {StartSessionOptions} */
let preChatDetails = {};
/** Every message shown, by id: drawn again in the guest's new language when they switch. */
const shown = new Map();
/** The messages (and files) whose masking the customer was told of: once each. @type {Set<string>} */
const maskedTold = new Set();
/** The customer is signed in (Genesys authenticated messaging). */
let signedIn = false;
/** Why the stream ended, when the service (or another tab) said: the notice then says so rather than "expired". */
let endedBecause = '';
/** The session on the page (its routing key): another tab's new session replaces it. */
let shownSession = '';
let starting = false;
/** Reports the newest agent message shown as read, where the deployment sends read receipts. @type {import('./bffClient.js').ReadReporter | undefined} */
let reads;

/** The messages held, in time order. */
function timeOrdered() {
  return [...held.values()].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** The messages shown, by id: what the transcript button builds from when the service cannot give it. */
/** @type {Map<string, ChatMessage>} */
const held = new Map();
/** Renders an agent's Markdown once the deployment is known to enable it (GET /capabilities). */
/** @type {import('./bffClient.js').MarkdownRenderer | undefined} */
let markdown;
/** The guest has said something in this conversation: signing in then keeps it (mid-chat). */
const CHATTED = 'chat-guest-spoke';
const identityProvider = signInConfig();
const uploads = new PendingUploads(client, ui.pendingFiles, (text) => showNotice(text));
/**
 * While closed, with no chat under way: `disable` the composer, `hide` it, or `show` it (start the chat anyway). From
 * window.CHAT_WHEN_CLOSED or the chat-when-closed meta tag; `disable` by default.
 */
const whenClosed = whenClosedOf(
  Reflect.get(window, 'CHAT_WHEN_CLOSED') ??
    /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="chat-when-closed"]'))?.content,
);
/** @type {Availability | undefined} */
let availability;
/** A human agent joined: the wait is no longer news. */
let agentJoined = false;
/** The page waits for the centre to open before it starts a chat. */
let waitingToOpen = false;

// ------------------------------------------------------------------ status and notices

/** @type {{ key: WordKey, state: 'open' | 'down' | 'idle' }} */
let status = { key: 'connecting', state: 'idle' };

/** @param {WordKey} key @param {'open' | 'down' | 'idle'} state */
function setStatus(key, state) {
  status = { key, state };
  ui.status.textContent = t(key) + (agentPresent && state === 'open' ? ` · ${t('agentHere')}` : '');
  ui.status.dataset.state = state;
}

/** @typedef {{ kind?: 'error' | 'info', action?: { label: WordKey, run: () => void } }} NoticeOptions */
/** The notice shown, to word again in another language. @type {{ text: () => string, options: NoticeOptions } | undefined} */
let notice;

/**
 * Shows a message above the conversation, with an optional action button.
 * @param {string | (() => string)} text the words, or how to word them (again, when the language changes)
 * @param {NoticeOptions} [options]
 */
function showNotice(text, options = {}) {
  notice = { text: typeof text === 'string' ? () => text : text, options };
  ui.noticeText.textContent = notice.text();
  ui.notice.dataset.kind = options.kind ?? 'error';
  const action = options.action;
  ui.noticeAction.hidden = !action;
  ui.noticeAction.textContent = action ? t(action.label) : '';
  ui.noticeAction.onclick = action
    ? () => {
        hideNotice();
        action.run();
      }
    : null;
  ui.notice.hidden = false;
}

function hideNotice() {
  notice = undefined;
  ui.notice.hidden = true;
}

/** @type {{ label: WordKey, run: () => void }} */
const newChat = { label: 'startNewChat', run: () => void startChat({ startNew: true }) };

/** Words for every error the service (or the network) can give. @param {unknown} error */
function describe(error) {
  if (!(error instanceof BffError)) return t('somethingWentWrong');
  switch (error.code) {
    case 'cors_refused':
      // The customer cannot fix it; the page's developer reads which origin to allow in the console (the client's).
      return t('chatUnavailableHere');
    case 'network_error':
      return t('networkError');
    case 'session_expired':
    case 'unauthorized':
      return t('sessionExpired');
    case 'rate_limited':
      return error.retryAfterSeconds === undefined
        ? t('rateLimitedBriefly')
        : t('rateLimited', { count: error.retryAfterSeconds });
    case 'message_too_long':
      return t('messageTooLong', { count: maxTextBytes });
    case 'sensitive_data':
      return t('sensitiveData');
    case 'upstream_unavailable':
      return t('upstreamUnavailable');
    case 'origin_not_allowed':
      return t('originNotAllowed');
    case 'reauthentication_required':
      return t('reauthenticationRequired');
    case 'authentication_disabled':
      return t('signInUnavailable');
    default:
      // The service's own words are English (an API): another language gets the kit's general sentence.
      return (words().locale === 'en' && error.message) || t('somethingWentWrong');
  }
}

/** @param {unknown} error */
function showError(error) {
  if (error instanceof BffError && error.sessionLost) {
    setComposerEnabled(false);
    showNotice(() => describe(error), { action: { label: 'startNewChat', run: () => void startChat() } });
    return;
  }
  showNotice(() => describe(error));
}

// ------------------------------------------------------------------ messages

/** @param {ChatMessage} message */
function authorOf(message) {
  if (message.direction === 'inbound') return { css: 'from-guest', label: t('you') };
  if (message.originatingEntity === 'bot') return { css: 'from-bot', label: message.from?.name || t('bot') };
  return { css: 'from-agent', label: message.from?.name || t('agent') };
}

/** @param {ChatMessage} message */
function textOf(message) {
  return message.text ?? message.buttonResponse?.text ?? '';
}

/** @param {ChatMessage} message */
function render(message) {
  const existing = ui.messages.querySelector(`li[data-id="${CSS.escape(message.id)}"]`);
  if (existing) {
    // Drawn already; a copy read later (history after a receipt) may say more of where it stands, never less.
    const before = shown.get(message.id);
    if (before && message.status !== before.status) moveOn(furthestStatus(message, before));
    return;
  }
  const line = presenceLine(message);
  if (message.type === 'event' && line === undefined) return;
  shown.set(message.id, message);
  if (line !== undefined) {
    const item = document.createElement('li');
    item.className = 'presence';
    item.dataset.id = message.id;
    item.dataset.time = message.time;
    item.textContent = line;
    place(item, message.time);
    return;
  }
  held.set(message.id, message);

  const author = authorOf(message);
  const item = document.createElement('li');
  item.className = `message ${author.css}`;
  item.dataset.id = message.id;
  item.dataset.time = message.time;

  const who = document.createElement('span');
  who.className = 'who';
  const name = document.createElement('bdi');
  name.textContent = author.label;
  who.append(name);
  const separator = document.createElement('span');
  separator.className = 'visually-hidden';
  separator.textContent = ': ';
  who.append(separator);

  item.append(who);
  const text = textOf(message);
  if (text !== '') item.append(bubbleOf(message, text));
  // After an answer, the keyboard goes back to the composer rather than to the page.
  const answer = (/** @type {import('./bffClient.js').SendInput} */ input) =>
    void sendMessage(input).then(() => ui.text.focus());
  item.append(...attachmentsOf(message), ...cardsOf(message, answer), ...datePickersOf(message, answer));

  if (message.quickReplies?.length) {
    const group = document.createElement('div');
    group.className = 'quick-replies';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', t('quickReplies'));
    for (const reply of message.quickReplies) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'answer';
      button.dir = 'auto';
      button.textContent = reply.text;
      button.addEventListener('click', () =>
        answer({ quickReply: { text: reply.text, payload: reply.payload, originatingMessageId: message.id } }),
      );
      group.append(button);
    }
    item.append(group);
  }

  const time = document.createElement('time');
  time.dateTime = message.time;
  time.textContent = words().time(message.time);
  item.append(time);
  place(item, message.time);
  if (message.status !== undefined) showDelivery();

  if (message.direction === 'outbound') {
    lastAuthor = author.label;
    setTyping(false);
    reads?.shown(timeOrdered());
  }
  // A person answered: the wait is no longer news.
  if (message.direction === 'outbound' && message.originatingEntity === 'human' && !agentJoined) {
    agentJoined = true;
    showAvailability(availability);
  }
  refreshQuickReplies();
}

/**
 * A receipt (or a later copy of a message) moved one of the guest's messages on: it is held and shown so.
 * @param {ChatMessage} message
 */
function moveOn(message) {
  if (!shown.has(message.id)) return;
  shown.set(message.id, message);
  held.set(message.id, message);
  showDelivery();
}

/**
 * Where the guest's messages stand: "Sent", "Delivered" or "Read" under the newest one, and under every message
 * Genesys failed, why, with a button that sends it again where that can help.
 */
function showDelivery() {
  for (const old of ui.messages.querySelectorAll('.delivery')) old.remove();
  const own = [...shown.values()].filter((m) => m.direction === 'inbound' && m.status !== undefined);
  own.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const newest = own[own.length - 1];
  for (const message of own) {
    if (message.status !== 'failed' && message !== newest) continue;
    const item = ui.messages.querySelector(`li[data-id="${CSS.escape(message.id)}"]`);
    if (!item) continue;
    const line = deliveryLine(message, words()) ?? '';
    if (message.status !== 'failed') {
      const status = document.createElement('span');
      status.className = 'delivery';
      status.dataset.status = message.status ?? '';
      status.textContent = line;
      item.append(status);
      continue;
    }
    const { text, retry } = describeFailure(message.reasons, words());
    const failure = document.createElement('div');
    failure.className = 'delivery failed';
    failure.dataset.status = 'failed';
    failure.setAttribute('role', 'status');
    const title = document.createElement('strong');
    title.textContent = line;
    const why = document.createElement('span');
    why.dir = 'auto';
    why.textContent = text;
    failure.append(title, ' ', why);
    const again = message.text;
    if (retry && again) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = t('sendAgain');
      button.addEventListener('click', () => void sendMessage({ text: again }).then(() => ui.text.focus()));
      failure.append(button);
    }
    item.append(failure);
  }
}

/** Keeps the list in time order: history reloaded after a reconnect may fill a gap. @param {HTMLElement} item @param {string} time */
function place(item, time) {
  let after = /** @type {Element | null} */ (ui.messages.lastElementChild);
  while (
    after &&
    /** @type {HTMLElement} */ (after).dataset.time &&
    /** @type {string} */ (/** @type {HTMLElement} */ (after).dataset.time) > time
  ) {
    after = after.previousElementSibling;
  }
  if (after) after.after(item);
  else ui.messages.prepend(item);
}

/** "Alex joined the chat" for a presence entry (presenceEntry), else undefined. @param {ChatMessage} message */
function presenceLine(message) {
  if (message.type !== 'event') return undefined;
  const value = message.events?.find((e) => e.type === 'Presence')?.value;
  // The name set apart from the line, so it reads in its own direction ("Alex (EU)" in an Arabic line).
  const name = message.from?.name ? isolate(message.from.name) : t('someAgent');
  if (value === 'Join') return t('agentJoined', { name });
  if (value === 'Disconnect') return t('agentLeft', { name });
  return undefined;
}

/**
 * An agent joined or left, from the stream's presence event: a line in the conversation, placed at the time
 * Genesys gives it (so it sits among the messages where it happened), else now.
 * @param {{ presence: string, name?: string, time?: string }} event
 */
function presenceEntry(event) {
  const value = event.presence === 'join' ? 'Join' : 'Disconnect';
  const given = event.time === undefined ? Number.NaN : Date.parse(event.time);
  const time = Number.isNaN(given) ? new Date() : new Date(given);
  render({
    id: `presence-${value}-${time.getTime()}`,
    direction: 'outbound',
    type: 'event',
    time: time.toISOString(),
    ...(event.name ? { from: { name: event.name } } : {}),
    events: [{ type: 'Presence', value }],
  });
}

/**
 * A message's text: as text, or an agent's as Markdown made safe (bold, lists, links; no raw HTML, no images).
 * @param {ChatMessage} message @param {string} text
 */
function bubbleOf(message, text) {
  if (markdown && message.direction === 'outbound') {
    const bubble = document.createElement('div');
    bubble.className = 'bubble markdown';
    bubble.dir = 'auto';
    bubble.innerHTML = markdown.html(text);
    return bubble;
  }
  const bubble = document.createElement('p');
  bubble.className = 'bubble';
  // Its direction from its own letters: "What would you like to do?" keeps its question mark at its end in Arabic.
  bubble.dir = 'auto';
  bubble.textContent = text;
  return bubble;
}

/** Markdown has just loaded: the agent's messages already shown are drawn again from their text. */
function redrawAgentText() {
  for (const bubble of ui.messages.querySelectorAll('li.message:not(.from-guest) > p.bubble')) {
    const message = held.get(/** @type {HTMLElement} */ (bubble.closest('li')).dataset.id ?? '');
    if (message) bubble.replaceWith(bubbleOf(message, textOf(message)));
  }
}

/**
 * A card's buttons stay usable on older messages (Genesys takes an answer to any message it sent); quick replies
 * and date slots only on the newest message, as Genesys Messenger offers them; none while the chat is not writable.
 */
function refreshQuickReplies() {
  const newest = [...ui.messages.querySelectorAll('li.message')].pop();
  for (const button of ui.messages.querySelectorAll('button.answer')) {
    const newestOnly = button.closest('.quick-replies, .date-picker') !== null;
    /** @type {HTMLButtonElement} */ (button).disabled =
      ui.text.disabled || (newestOnly && button.closest('li') !== newest);
  }
}

/** @param {boolean} on @param {number} [durationMs] */
function setTyping(on, durationMs = 5000) {
  clearTimeout(typingTimer);
  ui.typing.textContent = on ? t('isTyping', { name: lastAuthor ? isolate(lastAuthor) : t('agent') }) : '';
  if (on) typingTimer = setTimeout(() => setTyping(false), durationMs);
}

async function loadHistory() {
  try {
    const page = await client.history({ pageSize: 100 });
    for (const message of page.messages) render(message);
  } catch (error) {
    showError(error);
  }
}

/** @param {boolean} enabled */
function setComposerEnabled(enabled) {
  ui.text.disabled = !enabled;
  ui.send.disabled = !enabled;
  ui.attach.disabled = !enabled;
  ui.endChat.disabled = !enabled;
  refreshQuickReplies();
}

/** Shows only what the deployment allows: attachments, ending the chat; and warns before the session expires. */
async function applyCapabilities() {
  try {
    const caps = await client.capabilities();
    deploymentLanguage(caps.defaultLanguage);
    uploads.configure(caps.attachments);
    ui.attach.hidden = !caps.attachments.enabled;
    ui.dropHint.hidden = !caps.attachments.enabled;
    ui.file.accept = caps.attachments.mediaTypes.join(',');
    ui.endChat.hidden = !caps.endChat;
    pushKey = pushKeyOf(caps);
    offerReplyNotifications();
    emailOffered = caps.notifications.email;
    offerEmail();
    // Where the deployment sends read receipts, the newest agent message shown in a visible tab is reported read.
    if (caps.readReceipts && !reads) {
      reads = readReporter(client);
      reads.shown(timeOrdered());
    }
    if (caps.markdown && !markdown)
      void loadMarkdown().then((renderer) => {
        markdown = renderer;
        redrawAgentText();
      });
    ui.signIn.hidden = signedIn || !caps.authentication.enabled || !identityProvider;
    ui.signIn.onclick = identityProvider
      ? () =>
          void beginSignIn(
            identityProvider,
            caps.authentication.allowSessionUpgrade && sessionStorage.getItem(CHATTED) === '1',
          )
      : null;
    warnBeforeExpiry(caps.session.expiresAt);
  } catch {
    // Optional extras: the chat works without them.
  }
}

/** @param {string | null} expiresAt */
function warnBeforeExpiry(expiresAt) {
  clearTimeout(expiryTimer);
  if (!expiresAt) return;
  const warnIn = new Date(expiresAt).getTime() - Date.now() - 5 * 60_000;
  // Timers cannot wait longer than about 24 days; a session that far from expiring needs no warning yet.
  if (warnIn > 2 ** 31 - 1) return;
  expiryTimer = setTimeout(showExpiryWarning, Math.max(0, warnIn));
}

/** From the stream's `expiring` event, or the page's own timer from GET /capabilities if the stream was away. */
function showExpiryWarning() {
  clearTimeout(expiryTimer);
  showNotice(() => t('expiringSoon'), { kind: 'info' });
}

// ------------------------------------------------------------------ availability

/** @param {unknown} value @returns {import('./bffClient.js').WhenClosed} */
function whenClosedOf(value) {
  return value === 'hide' || value === 'show' ? value : 'disable';
}

/** Shows the newest answer (GET /availability or a stream event); starts the chat held back while closed once open. */
function showAvailability(/** @type {Availability | undefined} */ answer) {
  if (answer && availability && Date.parse(answer.asOf) < Date.parse(availability.asOf)) return;
  availability = answer;
  const status = availabilityStatus(answer);
  ui.availability.dataset.state = status.state;
  ui.availability.textContent = agentJoined ? '' : describeAvailability(status);
  if (!waitingToOpen) return;
  const button = chatButtonState(status, whenClosed);
  ui.form.hidden = button.hidden;
  if (button.disabled) return;
  waitingToOpen = false;
  beginChat();
}

/** The chat may start: with the pre-chat form first when the page asks for it and no chat is under way. */
function beginChat() {
  if (askFirst() && client.sessionToken === undefined) {
    setStatus('notStarted', 'idle');
    askDetails(ui.preChat, (details) => {
      preChatDetails = details;
      void startChat();
    });
  } else void startChat();
}

/** The first answer decides: a page with no chat under way waits while the centre is closed; then keep it fresh. */
async function startWhenOpen() {
  const first = await client.availability().catch(() => undefined);
  const closed = chatButtonState(availabilityStatus(first), whenClosed).disabled;
  if (closed && client.sessionToken === undefined) {
    waitingToOpen = true;
    setStatus('notStarted', 'idle');
  }
  showAvailability(first);
  if (!waitingToOpen) beginChat();
  watchAvailability(client, showAvailability, first?.maxAgeSeconds ?? 30);
}

// ------------------------------------------------------------------ session and stream

/** @param {StartSessionOptions} [options] */
async function startChat(options = {}) {
  live?.close();
  setComposerEnabled(false);
  setTyping(false);
  setStatus('connecting', 'idle');
  endedBecause = '';
  starting = true;
  agentJoined = false;
  try {
    // The pre-chat form's details go with every new conversation of this page, a new chat after the end included.
    const session = await client.startSession({ ...preChatDetails, ...options });
    shownSession = session.routingKey;
    maxTextBytes = session.limits.maxTextBytes;
    showSignedIn(session.authenticated);
    if (!session.resumed) sessionStorage.removeItem(CHATTED);
    // A new chat starts on a clean page: the old transcript belongs to the old conversation.
    if (!session.resumed || options.startNew) {
      ui.messages.replaceChildren();
      shown.clear();
      held.clear();
      agentPresent = false;
    }
    if (session.replacedExpired) showNotice(() => t('previousExpired'), { kind: 'info' });
    else hideNotice();
    openStream();
    if (session.readOnly) endedByAgent();
    else setComposerEnabled(true);
    void applyCapabilities();
  } catch (error) {
    setStatus('notConnected', 'down');
    if (error instanceof BffError && (error.code === 'network_error' || error.code === 'cors_refused')) {
      showNotice(() => describe(error), { action: { label: 'tryAgain', run: () => void startChat(options) } });
    } else {
      showError(error);
    }
  } finally {
    starting = false;
  }
}

// The site's other tabs share this chat: what one does to it shows here, with its reason.
client.onOtherTab((event) => {
  if (event.type === 'ending') endedBecause = 'guest';
  if (event.type === 'end_failed' && endedBecause === 'guest') endedBecause = '';
  if (event.type === 'ended') endedByGuest();
  if (event.type === 'started' && event.routingKey !== shownSession && !starting) {
    ui.messages.replaceChildren();
    held.clear();
    void startChat();
  }
});

function openStream() {
  live = client.stream({
    // Load history whenever the stream (re)opens: nothing sent meanwhile is missed.
    open: () => {
      setStatus('connected', 'open');
      void loadHistory();
    },
    state: (state) => {
      if (state === 'reconnecting') setStatus('reconnecting', 'down');
    },
    message: (message) => {
      // Sounded (when asked) only by the tab holding the stream; each hidden tab counts it.
      attention.arrived(message, { sound: live?.leading ?? true });
      render(message);
    },
    receipt: (receipt) => {
      const message = shown.get(receipt.messageId);
      if (!message) return;
      const { status, reasons } = receipt;
      moveOn(furthestStatus(message, { ...message, status, ...(reasons ? { reasons } : {}) }));
    },
    // The service hid a card number (or the like) before Genesys saw it: said once per message (or file).
    notice: (event) => {
      const id = event.code === 'masked' ? (event.messageId ?? event.attachmentId) : undefined;
      if (id === undefined || maskedTold.has(id)) return;
      maskedTold.add(id);
      showNotice(() => t('maskedNotice'), { kind: 'info' });
    },
    typing: (event) => setTyping(true, event.durationMs),
    presence: (event) => {
      // A line when an agent joins, and when one who joined (or who is named) leaves.
      if (event.presence === 'join' || (event.presence === 'disconnect' && (event.name || agentPresent)))
        presenceEntry(event);
      if (event.presence === 'join') agentPresent = true;
      if (event.presence === 'disconnect') agentPresent = false;
      setStatus(status.key, status.state);
      if (event.presence === 'join') {
        agentJoined = true;
        showAvailability(availability);
      }
      if (event.presence === 'disconnect' && event.readOnly) endedByAgent();
    },
    availability: showAvailability,
    session: (event) => {
      if (event.state === 'expiring') showExpiryWarning();
      if (event.state === 'signed_in') showSignedIn(true);
      const signedOff = ['signed_out', 'signed_in_elsewhere', 'reauthentication_required'];
      if (signedOff.includes(event.state)) endedBecause = event.state;
    },
    error: (error) => {
      setStatus('disconnected', 'down');
      if (endedBecause === 'guest') endedByGuest();
      else if (endedBecause) signedOutHere(endedBecause);
      else showError(error);
    },
  });
}

/** The guest ended the chat, here or in another tab. */
function endedByGuest() {
  endedBecause = '';
  stopOfferingReplyNotifications();
  live?.close();
  setComposerEnabled(false);
  setTyping(false);
  setStatus('chatEnded', 'idle');
  // The token is gone with the chat: a plain start makes a new session.
  showNotice(() => t('endedByGuest'), {
    kind: 'info',
    action: { label: 'startNewChat', run: () => void startChat() },
  });
}

function endedByAgent() {
  stopOfferingReplyNotifications();
  setComposerEnabled(false);
  setTyping(false);
  setStatus('chatEnded', 'idle');
  showNotice(() => t('endedByAgent'), { kind: 'info', action: newChat });
}

/** @param {boolean} on */
function showSignedIn(on) {
  signedIn = on;
  ui.signedIn.hidden = !on;
  ui.signOut.hidden = !on;
  if (on) ui.signIn.hidden = true;
}

/** The chat ended because the customer signed out (here or on another device), or went on signed in elsewhere. @param {string} why */
function signedOutHere(why) {
  endedBecause = '';
  live?.close();
  showSignedIn(false);
  setComposerEnabled(false);
  setTyping(false);
  setStatus('signedOutStatus', 'idle');
  /** @type {WordKey} */
  const text =
    why === 'signed_in_elsewhere'
      ? 'endedSignedInElsewhere'
      : why === 'reauthentication_required'
        ? 'endedReauthenticate'
        : 'endedSignedOut';
  showNotice(() => t(text), { kind: 'info', action: { label: 'startNewChat', run: () => void startChat() } });
}

/**
 * Back from the identity provider: sign the current conversation in (mid-chat), or start a signed-in
 * session, which continues the customer's conversation from any device.
 * @param {{ grant: import('./bffClient.js').SignInGrant, keep: boolean }} returned
 */
async function finishSignIn({ grant, keep }) {
  try {
    if (keep) await client.signIn(grant);
    else {
      client.forgetSession();
      await startChat({ auth: grant });
      return;
    }
  } catch (error) {
    showError(error);
  }
  await startChat();
}

/** @param {import('./bffClient.js').SendInput} input */
async function sendMessage(input) {
  // The last notice is cleared as the customer sends, not when the send is answered: the stream may tell
  // about this very message (its card number was hidden) before the answer arrives.
  hideNotice();
  try {
    const message = await client.send(input);
    sessionStorage.setItem(CHATTED, '1');
    offerReplyNotifications();
    offerEmail();
    render(message);
    // Activity moves the session's expiry.
    void applyCapabilities();
    return true;
  } catch (error) {
    showError(error);
    return false;
  }
}

// ------------------------------------------------------------------ composer

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value.trim();
  if (uploads.busy) {
    showNotice(() => t('waitForUploads'), { kind: 'info' });
    return;
  }
  const attachmentIds = uploads.ids;
  if (text === '' && attachmentIds.length === 0) return;
  if (new TextEncoder().encode(text).length > maxTextBytes) {
    showNotice(() => t('messageTooLong', { count: maxTextBytes }));
    return;
  }
  ui.text.value = '';
  const input = attachmentIds.length > 0 ? { ...(text ? { text } : {}), attachmentIds } : text;
  void sendMessage(input).then((sent) => {
    if (sent) uploads.sent();
    // Give the text back so that nothing typed is lost.
    else if (ui.text.value === '') ui.text.value = text;
  });
});

ui.text.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});

ui.text.addEventListener('input', () => {
  if (ui.text.value.trim() !== '') client.typing().catch(() => undefined);
});

// ------------------------------------------------------------------ files and ending

ui.attach.addEventListener('click', () => ui.file.click());
ui.file.addEventListener('change', () => {
  for (const file of ui.file.files ?? []) void uploads.add(file);
  ui.file.value = '';
});

ui.chat.addEventListener('dragover', (event) => {
  if (ui.attach.hidden || ui.attach.disabled) return;
  event.preventDefault();
  ui.chat.classList.add('dropping');
});
ui.chat.addEventListener('dragleave', () => ui.chat.classList.remove('dropping'));
ui.chat.addEventListener('drop', (event) => {
  ui.chat.classList.remove('dropping');
  if (ui.attach.hidden || ui.attach.disabled) return;
  event.preventDefault();
  for (const file of event.dataTransfer?.files ?? []) void uploads.add(file);
});

ui.signOut.addEventListener('click', async () => {
  ui.signOut.disabled = true;
  try {
    endedBecause = '';
    live?.close();
    await client.signOut();
    signedOutHere('signed_out');
  } catch (error) {
    showError(error);
  } finally {
    ui.signOut.disabled = false;
  }
});

ui.endChat.addEventListener('click', async () => {
  setComposerEnabled(false);
  // The stream may hear the end before the answer comes: it is the guest's, not an expiry.
  endedBecause = 'guest';
  try {
    await client.endSession();
    endedByGuest();
  } catch (error) {
    endedBecause = '';
    setComposerEnabled(true);
    showError(error);
  }
});

// ------------------------------------------------------------------ language

ui.language.addEventListener('change', () => chooseLanguageOf(ui.language.value));

// Everything on the page in the new words: the static text (words.js), the status, the notice, the availability
// line and the conversation.
onLanguage(() => {
  setStatus(status.key, status.state);
  if (notice) showNotice(notice.text, notice.options);
  showUnseen();
  if (!ui.notifyReplies.hidden) offerReplyNotifications();
  showAvailability(availability);
  const messages = [...shown.values()];
  ui.messages.replaceChildren();
  shown.clear();
  for (const message of messages) render(message);
  setTyping(false);
});
setStatus(status.key, status.state);

// ------------------------------------------------------------------ start

offerTranscript(ui.transcript, client, timeOrdered);

const returned = completeSignIn();
if (returned && 'grant' in returned) {
  // Back from signing in: a chat is under way; the availability line follows it.
  void finishSignIn(returned);
  watchAvailability(client, showAvailability, 0);
} else {
  if (returned) showNotice(() => t('signInIncomplete'), { kind: 'info' });
  void startWhenOpen();
}
