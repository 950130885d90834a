import type { Found } from './cards';

/**
 * IBANs in a guest's text (ISO 13616): a country code, two check digits and 11 to 30 letters and digits, written
 * whole or in groups joined by single spaces (`DE89 3704 0044 0532 0130 00`), in any case, that pass the mod-97
 * check. One that fails it is left alone.
 */

export const IBAN_LENGTH = { min: 15, max: 34 } as const;

const SHAPE = /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/;

/**
 * The mod-97 check of an IBAN without spaces, in capitals: its first four characters moved to the end, letters as
 * 10 to 35, the number's remainder 1.
 */
export function ibanValid(compact: string): boolean {
  if (!SHAPE.test(compact)) return false;
  const moved = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < moved.length; i++) {
    const code = moved.charCodeAt(i);
    rest = code >= 65 ? (rest * 100 + code - 55) % 97 : (rest * 10 + code - 48) % 97;
  }
  return rest === 1;
}

/** A country code and check digits, then letters and digits, and groups of them after single spaces: linear. */
const IBAN_RUN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}[A-Za-z0-9]*(?: [A-Za-z0-9]+)*/g;
const STARTS = /^[A-Za-z]{2}\d{2}/;

/**
 * The IBANs of `text`, left to right: from a group that starts with a country code and check digits, the longest
 * run of whole groups of 15 to 34 characters that passes the check (words after an IBAN are groups too, and are
 * left out by the check).
 */
export function findIbans(text: string): Found[] {
  const found: Found[] = [];
  for (const run of text.matchAll(IBAN_RUN)) {
    const groups = [...run[0].matchAll(/[A-Za-z0-9]+/g)].map((g) => ({ start: run.index + g.index, text: g[0] }));
    let s = 0;
    while (s < groups.length) {
      let compact = '';
      let last = -1;
      if (STARTS.test(groups[s]!.text)) {
        for (let e = s; e < groups.length; e++) {
          compact += groups[e]!.text.toUpperCase();
          if (compact.length > IBAN_LENGTH.max) break;
          if (compact.length >= IBAN_LENGTH.min && ibanValid(compact)) last = e;
        }
      }
      if (last < 0) {
        s += 1;
        continue;
      }
      const end = groups[last]!;
      found.push({ start: groups[s]!.start, end: end.start + end.text.length });
      s = last + 1;
    }
  }
  return found;
}

/** An IBAN as the masked text shows it: its country code and last four characters kept, the rest hidden. */
export function maskIban(written: string, hide: string): string {
  const positions = [...written].flatMap((c, i) => (/[A-Za-z0-9]/.test(c) ? [i] : []));
  const shown = new Set([...positions.slice(0, 2), ...positions.slice(-4)]);
  return [...written].map((c, i) => (positions.includes(i) && !shown.has(i) ? hide : c)).join('');
}
