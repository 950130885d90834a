// What a message can carry besides text: attachments, cards (single or a
// carousel) and date pickers. Every string from a message goes in with
// textContent or as an attribute value, never as HTML; links open only
// http(s) URLs.
import { t, words } from './words.js';

/** @typedef {import('./bffClient.js').ChatMessage} ChatMessage */
/** @typedef {import('./bffClient.js').SendInput} SendInput */

/** @param {string | undefined} url */
function safeUrl(url) {
  if (!url) return undefined;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {string} [className] @param {string} [text]
 */
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) {
    node.textContent = text;
    // The sender's words take their direction from their own letters: English keeps its punctuation in Arabic.
    node.dir = 'auto';
  }
  return node;
}

/** @param {NonNullable<ChatMessage['attachments']>[number]} a */
function isImage(a) {
  return a.mediaType === 'Image' || (a.mime ?? '').startsWith('image/');
}

/**
 * Images as thumbnails, other files as links. Their URLs are the service's
 * own, which redirect to a freshly signed download every time, so they keep
 * working long after Genesys's links would have expired.
 * @param {ChatMessage} message
 */
export function attachmentsOf(message) {
  const nodes = [];
  for (const a of message.attachments ?? []) {
    const url = safeUrl(a.url);
    if (!url) continue;
    const link = element('a', 'attachment');
    link.href = url;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    if (isImage(a)) {
      const img = element('img', 'thumb');
      img.src = url;
      img.alt = a.filename ?? t('image');
      img.loading = 'lazy';
      link.append(img);
    } else {
      link.textContent = t('download', { file: a.filename ?? t('theFile') });
    }
    nodes.push(link);
  }
  return nodes;
}

/**
 * Cards with their buttons: a Postback answers with its text and payload,
 * a Link opens in a new tab.
 * @param {ChatMessage} message
 * @param {(input: SendInput) => void} answer
 */
export function cardsOf(message, answer) {
  const cards = message.cards ?? [];
  if (cards.length === 0) return [];
  const row = element('div', cards.length > 1 ? 'cards carousel' : 'cards');
  for (const card of cards) {
    const box = element('div', 'card');
    const image = safeUrl(card.image);
    if (image) {
      const img = element('img', 'card-image');
      img.src = image;
      img.alt = '';
      box.append(img);
    }
    if (card.title) box.append(element('strong', 'card-title', card.title));
    if (card.description) box.append(element('p', 'card-text', card.description));
    const actions = element('div', 'card-actions');
    for (const action of card.actions) {
      const url = safeUrl(action.url);
      if (action.type === 'Link' && url) {
        const link = element('a', 'card-link', action.text ?? url);
        link.href = url;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        actions.append(link);
      } else if (action.text) {
        const text = action.text;
        const button = element('button', 'card-button answer', text);
        button.type = 'button';
        button.addEventListener('click', () =>
          answer({ button: { text, payload: action.payload ?? text, originatingMessageId: message.id } }),
        );
        actions.append(button);
      }
    }
    box.append(actions);
    row.append(box);
  }
  return [row];
}

/**
 * A date picker: one button per offered slot, in the guest's own time zone.
 * @param {ChatMessage} message
 * @param {(input: SendInput) => void} answer
 */
export function datePickersOf(message, answer) {
  return (message.datePickers ?? []).map((picker) => {
    const box = element('div', 'date-picker');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', picker.title ?? t('pickTime'));
    if (picker.title) box.append(element('strong', 'card-title', picker.title));
    if (picker.subtitle) box.append(element('p', 'card-text', picker.subtitle));
    for (const slot of picker.availableTimes) {
      const label = words().dateTime(slot.dateTime);
      const button = element('button', 'slot answer', label);
      button.type = 'button';
      button.addEventListener('click', () =>
        answer({
          datePicker: { dateTime: slot.dateTime, originatingMessageId: picker.originatingMessageId, text: label },
        }),
      );
      box.append(button);
    }
    return box;
  });
}
