// The transcript button: the whole conversation from the service, or, when the service refuses (the guest ended
// the chat: 410; the history budget is spent: 429) or cannot be reached, the same file built from what the page holds.
import { buildTranscript, saveTranscript, transcriptLabelsOf } from './bffClient.js';
import { words } from './words.js';

/**
 * @param {HTMLButtonElement} button
 * @param {import('./bffClient.js').BffClient} client
 * @param {() => import('./bffClient.js').ChatMessage[]} held the messages the page shows, oldest first
 */
export function offerTranscript(button, client, held) {
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      // For this reader: the demo's language and the browser's time zone, from the service or, failing it, the page
      // (the same file for the same messages).
      const { locale, dir } = words();
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const transcript = await client
        .transcript({ format: 'html', lang: locale, timeZone })
        .catch(() =>
          buildTranscript(held(), { format: 'html', lang: locale, dir, timeZone, labels: transcriptLabelsOf(words()) }),
        );
      saveTranscript(transcript);
      button.dataset.source = transcript.source;
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
}
