// The pre-chat form: the guest's name and email before the chat starts, checked as the React kit's PreChatForm
// checks them (the service's limits; words in the guest's language), each error tied to its field.
import { t } from './words.js';

/** @typedef {import('./bffClient.js').StartSessionOptions} StartSessionOptions */

/** Something@something.something, no spaces: the rest is for the mail server to judge. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Asked for by `?prechat=on` in the page URL or `<meta name="pre-chat" content="on">`. */
export function askFirst() {
  const meta = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="pre-chat"]'));
  return new URLSearchParams(location.search).get('prechat') === 'on' || meta?.content === 'on';
}

/**
 * Shows the form (the chat waits) and calls `start` with the details once they are right.
 * @param {HTMLFormElement} form
 * @param {(details: StartSessionOptions) => void} start
 */
export function askDetails(form, start) {
  const fields = [
    { input: field(form, 'pre-chat-name'), label: 'yourName', max: 256, email: false },
    { input: field(form, 'pre-chat-email'), label: 'email', max: 320, email: true },
  ];
  form.hidden = false;
  form.onsubmit = (event) => {
    event.preventDefault();
    let first;
    for (const { input, label, max, email } of fields) {
      const value = input.value.trim();
      const name = t(/** @type {import('./bffClient.js').WordKey} */ (label));
      const problem =
        value === ''
          ? t('fieldRequired', { field: name })
          : value.length > max
            ? t('fieldTooLong', { field: name, count: max })
            : email && !EMAIL.test(value)
              ? t('emailInvalid')
              : '';
      showProblem(input, problem);
      if (problem && !first) first = input;
    }
    if (first) {
      first.focus();
      return;
    }
    form.hidden = true;
    const [name, email] = fields.map((f) => f.input.value.trim());
    start({ firstName: name, email });
  };
}

/** @param {HTMLFormElement} form @param {string} id */
function field(form, id) {
  return /** @type {HTMLInputElement} */ (form.querySelector(`#${id}`));
}

/** @param {HTMLInputElement} input @param {string} problem */
function showProblem(input, problem) {
  const error = /** @type {HTMLElement} */ (document.getElementById(`${input.id}-error`));
  error.textContent = problem;
  error.hidden = problem === '';
  if (problem) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', error.id);
  } else {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}
