/**
 * @jest-environment ./test/support/jsdomWithFetch.js
 * @jest-environment-options {"url": "http://localhost:3000/", "customExportConditions": ["node", "node-addons"]}
 */
import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';
import { createMarkdownRenderer, type MarkdownRenderer } from '../../client/src';

/** Agent Markdown as the kit shows it: formatted, and inert whatever the agent (or whoever speaks as one) sends. */

const libraries = { MarkdownIt, DOMPurify };
let markdown: MarkdownRenderer;
// Built for each test, not once: mutation testing counts what a test covers from its own run (beforeEach included).
beforeEach(() => {
  markdown = createMarkdownRenderer(libraries, { newTabHint: '(opens in a new tab)' });
});

/** The HTML as the page would hold it. */
function shown(source: string, renderer = markdown): HTMLElement {
  const bubble = document.createElement('div');
  bubble.innerHTML = renderer.html(source);
  return bubble;
}

/** Everything in a rendered bubble that could run, load or navigate somewhere unsafe. */
function dangers(bubble: HTMLElement): string[] {
  const found: string[] = [];
  for (const element of Array.from(bubble.querySelectorAll('*'))) {
    const tag = element.tagName.toLowerCase();
    if (['script', 'img', 'iframe', 'object', 'embed', 'svg', 'math', 'style', 'form', 'input', 'link'].includes(tag))
      found.push(`<${tag}>`);
    for (const { name, value } of Array.from(element.attributes)) {
      if (/^on/i.test(name) || name === 'style' || name === 'src' || name === 'srcset') found.push(`${tag}[${name}]`);
      if (name === 'href' && !/^(https?:|mailto:|tel:)/i.test(value)) found.push(`${tag}[href=${value}]`);
    }
  }
  return found;
}

describe('formatting', () => {
  test('bold, emphasis and lists', () => {
    const bubble = shown('**Your order** is *on its way*:\n\n- shipped\n- tracked\n\n1. one\n2. two');
    expect(bubble.querySelector('strong')?.textContent).toBe('Your order');
    expect(bubble.querySelector('em')?.textContent).toBe('on its way');
    expect(Array.from(bubble.querySelectorAll('ul > li')).map((li) => li.textContent)).toEqual(['shipped', 'tracked']);
    expect(Array.from(bubble.querySelectorAll('ol > li')).map((li) => li.textContent)).toEqual(['one', 'two']);
  });

  test('a link opens in a new tab with rel="noopener noreferrer", and says so to a screen reader', () => {
    const link = shown('See [the tracking page](https://shop.example.com/track?id=1).').querySelector('a')!;
    expect(link.getAttribute('href')).toBe('https://shop.example.com/track?id=1');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(link.getAttribute('target')).toBe('_blank');
    expect(link.querySelector('.visually-hidden')?.textContent).toBe(' (opens in a new tab)');
    expect(link.textContent).toBe('the tracking page (opens in a new tab)');
  });

  test('a bare address becomes a safe link; mailto and tel are links too', () => {
    const bubble = shown('Write to help@example.com, call [us](tel:+15551234) or see https://example.com/help');
    const hrefs = Array.from(bubble.querySelectorAll('a')).map((a) => [a.getAttribute('href'), a.getAttribute('rel')]);
    expect(hrefs).toEqual([
      ['mailto:help@example.com', 'noopener noreferrer'],
      ['tel:+15551234', 'noopener noreferrer'],
      ['https://example.com/help', 'noopener noreferrer'],
    ]);
  });

  test('links may open in the same tab instead', () => {
    const same = createMarkdownRenderer(libraries, { linkTarget: '_self', newTabHint: 'hint' });
    const link = shown('[home](https://example.com)', same).querySelector('a')!;
    expect(link.getAttribute('target')).toBe('_self');
    expect(link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(link.textContent).toBe('home');
  });

  test('line breaks are kept, headings and tables stay text', () => {
    const bubble = shown('first line\nsecond line\n\n# not a heading\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(bubble.querySelector('p')!.innerHTML).toBe('first line<br>\nsecond line');
    expect(bubble.querySelector('h1, table')).toBeNull();
    expect(bubble.textContent).toContain('# not a heading');
  });

  test('the HTML ends with the last block: no line break after it to add a blank line to the bubble', () => {
    expect(markdown.html('Hello')).toBe('<p>Hello</p>');
    expect(markdown.html('- one\n- two\n')).toBe('<ul>\n<li>one</li>\n<li>two</li>\n</ul>');
  });

  test('quotes, dashes and (c) stay as typed: no typographic replacements', () => {
    const typed = `"Yes" -- it's (c) 2026...`;
    expect(shown(typed).textContent).toBe(typed);
  });

  test('without a newTabHint, a link says only its own words', () => {
    const plain = createMarkdownRenderer(libraries);
    const link = shown('[the tracking page](https://shop.example.com/track)', plain).querySelector('a')!;
    expect(link.textContent).toBe('the tracking page');
    expect(link.querySelector('span')).toBeNull();
    expect(link.getAttribute('target')).toBe('_blank');
  });

  test('images only when asked for', () => {
    expect(shown('![parcel](https://example.com/parcel.png)').querySelector('img')).toBeNull();
    const withImages = createMarkdownRenderer(libraries, { images: true });
    const image = shown('![parcel](https://example.com/parcel.png)', withImages).querySelector('img')!;
    expect(image.getAttribute('src')).toBe('https://example.com/parcel.png');
    expect(image.getAttribute('alt')).toBe('parcel');
  });

  test('without images, a picture’s Markdown shows as a link to it, with its alt text as the words', () => {
    const bubble = shown('![parcel](https://example.com/parcel.png)');
    expect(bubble.textContent).toBe('!parcel (opens in a new tab)');
    expect(bubble.querySelector('a')?.getAttribute('href')).toBe('https://example.com/parcel.png');
  });

  test('with images on, a picture loads only from a safe address (not a relative one, not ftp:)', () => {
    const withImages = createMarkdownRenderer(libraries, { images: true });
    const bubble = shown('![here](/tracking.png) ![there](ftp://example.com/a.png)', withImages);
    expect(Array.from(bubble.querySelectorAll('img')).map((img) => img.getAttribute('src'))).toEqual([null, null]);
  });
});

describe('hostile messages render inert', () => {
  const hostile: [string, string][] = [
    ['a script element', '<script>window.hacked = 1</script>hello'],
    ['an image with onerror', '<img src=x onerror="window.hacked = 1">'],
    ['an svg with onload', '<svg onload="window.hacked = 1"><circle r="1"/></svg>'],
    ['an iframe', '<iframe src="https://evil.example"></iframe>'],
    ['a javascript: link', '[click me](javascript:window.hacked=1)'],
    ['a javascript: link in mixed case and entities', '[click](JaVaScRiPt:alert(1)) [x](&#106;avascript:alert(1))'],
    ['a data: link', '[open](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)'],
    ['a vbscript: link', '[old](vbscript:msgbox(1))'],
    ['an image with a javascript: source', '![x](javascript:alert(1))'],
    ['a reference link to javascript:', '[go][evil]\n\n[evil]: javascript:alert(1)'],
    ['an autolink to javascript:', '<javascript:alert(1)>'],
    ['raw HTML with a style and a handler', '<a href="https://example.com" onclick="x()" style="color:red">x</a>'],
    ['a form', '<form action="https://evil.example"><input name="card"></form>'],
    ['a code fence that names a class', '```visually-hidden\ncode\n```'],
  ];

  test.each(hostile)('%s', (_name, source) => {
    const bubble = shown(source);
    expect(dangers(bubble)).toEqual([]);
    expect((window as { hacked?: number }).hacked).toBeUndefined();
    // Raw HTML is shown as the text it is, never as markup.
    if (source.startsWith('<') && !source.startsWith('<javascript')) expect(bubble.textContent).toContain('<');
  });

  test.each([
    ['ftp:', '[files](ftp://example.com/a)'],
    ['a relative address', '[account](/account)'],
  ])('a link to %s is its words alone: no address, no new tab, no hint', (_name, source) => {
    const link = shown(source).querySelector('a')!;
    expect(Array.from(link.attributes).map((attribute) => attribute.name)).toEqual([]);
    expect(link.querySelector('span')).toBeNull();
  });

  test('a class only on the new-tab hint', () => {
    const bubble = shown('```visually-hidden\ncode\n```\n\n[a](https://example.com)');
    expect(Array.from(bubble.querySelectorAll('[class]')).map((e) => e.className)).toEqual(['visually-hidden']);
  });

  test('where nothing can sanitise (a server render), the text is escaped text', () => {
    const noDom = createMarkdownRenderer({ MarkdownIt, DOMPurify: () => ({ isSupported: false }) as never });
    expect(noDom.html('**b** <script>x</script>')).toBe('<p>**b** &lt;script&gt;x&lt;/script&gt;</p>');
    expect(noDom.html(`Tom & "Jerry" 'n' co`)).toBe('<p>Tom &amp; &quot;Jerry&quot; &#39;n&#39; co</p>');
  });
});
