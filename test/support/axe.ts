import fs from 'node:fs';
import type { AxeResults } from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * axe-core (the pinned devDependency, never a download) in a page driven by
 * playwright-core, checking WCAG 2.1 level A and AA. The demo page's test uses
 * it; any page test can.
 */
export const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The page's WCAG 2.1 AA violations as it stands now, one line each (rule,
 * impact, what it asks, and the elements that break it), so that an assertion
 * `toEqual([])` names what to fix. Injected through the DevTools protocol, so
 * the page's own Content-Security-Policy stays as strict as it is for users.
 */
export async function axeViolations(page: Page, context: string | string[] = 'html'): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(
    ([include, tags]) =>
      (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<AxeResults> } }).axe.run(
        { include },
        { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] },
      ),
    [context, WCAG_21_AA] as const,
  );
  return results.violations.map(
    (v) =>
      `${v.id} (${v.impact ?? 'no impact given'}): ${v.help} [${v.nodes.map((n) => n.target.join(' ')).join(', ')}] ${v.helpUrl}`,
  );
}
