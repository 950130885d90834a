/**
 * Agent text in Markdown, as safe HTML: parsed by markdown-it with raw HTML off, then cleaned by DOMPurify to
 * a short list of tags and attributes, links only to `https:`, `http:`, `mailto:` and `tel:`, each with
 * `rel="noopener noreferrer"`. Images are left out unless asked for. The two libraries are handed in
 * (`createMarkdownRenderer({ MarkdownIt, DOMPurify })`), so this module loads nothing itself: the React kit loads
 * them only when the deployment enables Markdown, and the demo page loads their browser builds.
 */

/** What this module uses of markdown-it (its default export). */
export interface MarkdownParser {
  render(source: string): string;
  disable(rules: string[], ignoreInvalid?: boolean): unknown;
}
export type MarkdownParserClass = new (preset: 'default', options: Record<string, unknown>) => MarkdownParser;

/** What this module uses of DOMPurify (its default export, which makes an instance for a window). */
export interface Sanitizer {
  readonly isSupported: boolean;
  sanitize(dirty: string, config: Record<string, unknown>): string;
  addHook(entryPoint: 'afterSanitizeAttributes', hook: (node: Element) => void): void;
}
export type SanitizerFactory = (root: Window & typeof globalThis) => Sanitizer;

export interface MarkdownLibraries {
  MarkdownIt: MarkdownParserClass;
  DOMPurify: SanitizerFactory;
}

export interface MarkdownOptions {
  /** Show images the text links (`![alt](https://…)`). Default false: a message cannot make the page load a URL. */
  images?: boolean;
  /** Where links open: `_blank` (default; the chat stays) or `_self`. */
  linkTarget?: '_blank' | '_self';
  /** Words a screen reader hears after a link that opens a new tab, e.g. "(opens in a new tab)". */
  newTabHint?: string;
  /** The window whose document the HTML is for. Default: the global `window`. */
  window?: Window & typeof globalThis;
}

export interface MarkdownRenderer {
  /** `source` as sanitised HTML, ready for `innerHTML`; plain text escaped when the browser cannot sanitise. */
  html(source: string): string;
}

const TAGS = ['p', 'br', 'strong', 'em', 's', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr', 'span'];
const ATTRIBUTES = ['href', 'title', 'start', 'target', 'rel', 'class'];
const SAFE_LINK = /^(?:https?:|mailto:|tel:)/i;
/** Rules of markdown-it a chat bubble has no use for; a heading or table in a bubble reads badly to a screen reader. */
const RULES_OFF = ['heading', 'lheading', 'table', 'html_block', 'html_inline'];

const escapeText = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c as '&']);

export function createMarkdownRenderer(libraries: MarkdownLibraries, options: MarkdownOptions = {}): MarkdownRenderer {
  const parser = new libraries.MarkdownIt('default', { html: false, linkify: true, breaks: true, typographer: false });
  parser.disable(options.images ? RULES_OFF : [...RULES_OFF, 'image'], true);
  const root = options.window ?? (typeof window === 'undefined' ? undefined : window);
  const purify = root ? libraries.DOMPurify(root) : undefined;
  if (!purify?.isSupported) {
    // No DOM to sanitise with (a server render): the text as it is, escaped, never as HTML.
    return { html: (source) => `<p>${escapeText(source)}</p>` };
  }
  const target = options.linkTarget ?? '_blank';
  purify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName !== 'A') {
      // Classes only on the hint added below; markdown-it puts a code fence's words in one (`language-…`).
      if (node.tagName !== 'SPAN' || node.className !== 'visually-hidden') node.removeAttribute('class');
      return;
    }
    if (!SAFE_LINK.test(node.getAttribute('href') ?? '')) {
      node.removeAttribute('href');
      return;
    }
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', target);
    if (target === '_blank' && options.newTabHint && !node.querySelector('.visually-hidden')) {
      const hint = node.ownerDocument.createElement('span');
      hint.className = 'visually-hidden';
      hint.textContent = ` ${options.newTabHint}`;
      node.append(hint);
    }
  });
  const config = {
    ALLOWED_TAGS: options.images ? [...TAGS, 'img'] : TAGS,
    ALLOWED_ATTR: options.images ? [...ATTRIBUTES, 'src', 'alt'] : ATTRIBUTES,
    ALLOWED_URI_REGEXP: SAFE_LINK,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  };
  // markdown-it ends every block with a line break; the last one would add a blank to the bubble's text.
  return { html: (source) => purify.sanitize(parser.render(source).trimEnd(), config) };
}
