// Agent Markdown on the demo page: the client's createMarkdownRenderer (markdown-it with raw HTML off, then
// DOMPurify), with the two libraries' own browser builds, which the demo server serves under /vendor/.
import { createMarkdownRenderer } from './bffClient.js';

/** @type {Promise<import('./bffClient.js').MarkdownRenderer> | undefined} */
let loading;

/** The renderer, its libraries loaded the first time the deployment enables Markdown. */
export function loadMarkdown() {
  loading ??= Promise.all([import('./vendor/markdown-it.js'), import('./vendor/dompurify.js')]).then(
    ([parser, purify]) =>
      createMarkdownRenderer(
        { MarkdownIt: parser.default, DOMPurify: purify.default },
        { newTabHint: '(opens in a new tab)' },
      ),
  );
  return loading;
}
