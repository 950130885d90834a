/**
 * Payment card numbers in a guest's text: 13 to 19 ASCII digits, alone or in groups joined by single spaces or
 * dashes (`4111 1111 1111 1111`, `4111-1111-1111-1111`), that pass the Luhn check. A number that fails it is some
 * other number (an order, a reference) and is left alone.
 */

export const CARD_DIGITS = { min: 13, max: 19 } as const;

/** The Luhn check of a string of ASCII digits: every second digit from the right doubled, the sum a multiple of 10. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Groups of digits joined by single spaces or dashes: each repetition starts with its separator, so it is linear. */
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;

/** Where a card number is in a text: from `start` to `end` (exclusive), separators included. */
export interface Found {
  start: number;
  end: number;
}

/**
 * The card numbers of `text`, left to right. Within a run of groups, a card is the longest run of whole groups from
 * the earliest group that holds 13 to 19 digits and passes the check: a card written beside another number
 * (`order 12 4111 1111 1111 1111`) is found all the same; a group is never split.
 */
export function findCards(text: string): Found[] {
  const found: Found[] = [];
  for (const run of text.matchAll(DIGIT_RUN)) {
    const groups = [...run[0].matchAll(/\d+/g)].map((g) => ({ start: run.index + g.index, digits: g[0] }));
    if (groups.length === 1 && run[0].length < CARD_DIGITS.min) continue;
    let s = 0;
    while (s < groups.length) {
      let digits = '';
      let last = -1;
      for (let e = s; e < groups.length; e++) {
        digits += groups[e]!.digits;
        if (digits.length > CARD_DIGITS.max) break;
        if (digits.length >= CARD_DIGITS.min && luhnValid(digits)) last = e;
      }
      if (last < 0) {
        s += 1;
        continue;
      }
      const end = groups[last]!;
      found.push({ start: groups[s]!.start, end: end.start + end.digits.length });
      s = last + 1;
    }
  }
  return found;
}

/** A card as the masked text shows it: every digit but the last four hidden, the guest's grouping kept. */
export function maskCard(written: string, hide: string): string {
  let keep = 4;
  const out = [...written];
  for (let i = out.length - 1; i >= 0; i--) {
    if (!/\d/.test(out[i]!)) continue;
    if (keep > 0) keep -= 1;
    else out[i] = hide;
  }
  return out.join('');
}
