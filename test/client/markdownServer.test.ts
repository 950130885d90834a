import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import { createMarkdownRenderer } from '../../client/src';

/**
 * Markdown where there is no window (a page rendered on the server, Next.js): nothing can sanitise, so the agent's
 * text is shown as the text it is, escaped, and making the renderer throws nothing.
 */
test('without a window, the text is escaped text in a paragraph', () => {
  expect(typeof window).toBe('undefined');
  const markdown = createMarkdownRenderer({ MarkdownIt, DOMPurify }, { newTabHint: '(opens in a new tab)' });
  expect(markdown.html('**Yes** <b>[a](https://example.com)</b>')).toBe(
    '<p>**Yes** &lt;b&gt;[a](https://example.com)&lt;/b&gt;</p>',
  );
});
