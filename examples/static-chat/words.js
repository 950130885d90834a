// The page's words, in the guest's language, from the client package's catalogues (en, de, fr, es, ar).
// The language: the one the guest picked (the switch, or ?lang= in the page URL), else the page's own <html lang>
// when the package has it, else the deployment's default language (GET /capabilities), else English.
import { chooseLanguage, wordingFor } from './bffClient.js';

/** @typedef {import('./bffClient.js').Wording} Wording */
/** @typedef {import('./bffClient.js').WordKey} WordKey */

const CHOSEN = 'chat-language';
/** The language the page's HTML declares, before this script sets it: none in the demo, so the deployment's applies. */
const authored = document.documentElement.getAttribute('lang');
/** @type {string | null} */
let deploymentDefault = null;
/** @type {Wording} */
let current = wordingFor('en');
/** @type {Array<(words: Wording) => void>} */
const listeners = [];

/** The language the guest asked for: `?lang=` or their pick on the switch (kept for the tab's life). */
function requested() {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl) return fromUrl;
  try {
    return sessionStorage.getItem(CHOSEN) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The words now. */
export const words = () => current;

/** @param {WordKey} key @param {Record<string, string | number>} [values] */
export const t = (key, values) => current.t(key, values);

/** Calls `listener` with the new words whenever the language changes. @param {(words: Wording) => void} listener */
export function onLanguage(listener) {
  listeners.push(listener);
}

function apply() {
  const chosen = wordingFor(
    chooseLanguage({ locale: requested(), pageLanguage: authored, defaultLanguage: deploymentDefault }),
  );
  const changed = chosen !== current;
  current = chosen;
  document.documentElement.lang = chosen.locale;
  document.documentElement.dir = chosen.dir;
  for (const el of document.querySelectorAll('[data-word]'))
    el.textContent = t(/** @type {WordKey} */ (/** @type {HTMLElement} */ (el).dataset.word));
  for (const el of document.querySelectorAll('[data-word-label]')) {
    const label = t(/** @type {WordKey} */ (/** @type {HTMLElement} */ (el).dataset.wordLabel));
    el.setAttribute('aria-label', label);
    if (el.hasAttribute('title')) el.setAttribute('title', label);
  }
  const picker = /** @type {HTMLSelectElement | null} */ (document.getElementById('language'));
  if (picker) picker.value = chosen.locale;
  if (changed) for (const listener of listeners) listener(chosen);
}

/** The guest picked a language on the switch. @param {string} language */
export function chooseLanguageOf(language) {
  try {
    sessionStorage.setItem(CHOSEN, language);
  } catch {
    // Private mode: the pick lasts until the page reloads.
  }
  const url = new URL(location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.delete('lang');
    history.replaceState(null, '', url);
  }
  apply();
}

/** The deployment's default language arrived (GET /capabilities). @param {string | null} language */
export function deploymentLanguage(language) {
  deploymentDefault = language;
  apply();
}

apply();
