import type { Page } from 'playwright-core';

/**
 * Where the last character of `sentence` lands, as the page draws it: at the visual end of the sentence read in its
 * own direction (right of its first letter, for a left-to-right sentence), or at its start. A sentence of Latin letters
 * in a right-to-left page lands its final `?` at its start unless the element takes its direction from its own text
 * (`dir="auto"`, `<bdi>`). Measured on the rendered glyphs with a Range, in the element whose text is the sentence.
 */
export async function lastCharacterSide(page: Page, sentence: string): Promise<'end' | 'start'> {
  const side = await page.evaluate((text) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent?.indexOf(text) ?? -1;
      if (at < 0) continue;
      const rect = (from: number) => {
        const range = document.createRange();
        range.setStart(node, from);
        range.setEnd(node, from + 1);
        return range.getBoundingClientRect();
      };
      const first = rect(at);
      const last = rect(at + text.length - 1);
      return last.left > first.left ? 'end' : 'start';
    }
    return 'missing';
  }, sentence);
  if (side === 'missing') throw new Error(`"${sentence}" is not on the page`);
  return side;
}
