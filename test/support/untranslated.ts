import type { Page } from 'playwright-core';
import { catalogues } from '../../client/src/wording';

/** What the agent, the bot or the guest wrote (the simulator speaks English): not the kit's words. */
const CONVERSATION_CONTENT = '.bubble, .card, .quick-replies button, .date-picker, script, style, .developer';

/** The simulator's bot and human agent (simulator/frames.ts). */
const SIMULATOR_NAMES = ['Simulator Bot', 'Alex'];

/**
 * The kit's English phrases a page still shows (as text, or in an accessible name, title or placeholder) while it
 * speaks `language`: each phrase whose slots (`{name}`) match anything, leaving out phrases the language writes the
 * same (a "Bot" is a "Bot" in German).
 */
export async function englishLeftIn(page: Page, language: string, names = SIMULATOR_NAMES): Promise<string[]> {
  const said = await page.evaluate((theirs) => {
    const said: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement?.closest(theirs)) said.push(node.textContent ?? '');
    }
    for (const element of Array.from(document.querySelectorAll('[aria-label], [title], [placeholder], img[alt]')))
      for (const name of ['aria-label', 'title', 'placeholder', 'alt']) said.push(element.getAttribute(name) ?? '');
    return said.join('\n');
  }, CONVERSATION_CONTENT);
  // The participants' names come from Genesys, as they wrote them.
  const shown = names.reduce((text, name) => text.replaceAll(name, ''), said);
  const english = catalogues.en!;
  const theirs = catalogues[language]!;
  const left: string[] = [];
  for (const [key, phrase] of Object.entries(english)) {
    const forms = typeof phrase === 'string' ? [phrase] : Object.values(phrase);
    const own = theirs[key as keyof typeof theirs];
    const ownForms = typeof own === 'string' ? [own] : Object.values(own);
    for (const form of forms) {
      if (ownForms.includes(form)) continue;
      const pattern = form
        .split(/\{\w+\}/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*?');
      // Phrases of one word are matched as words ("Send" in "Sender" is not the phrase).
      if (new RegExp(`(^|[^\\p{L}])${pattern}($|[^\\p{L}])`, 'u').test(shown)) left.push(`${key}: ${form}`);
    }
  }
  return left;
}
