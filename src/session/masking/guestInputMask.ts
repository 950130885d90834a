import type { MaskingConfig, MaskingMode } from '../../config/masking';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import { masked as maskedCount } from '../../observability/metrics';
import { findCards, maskCard, type Found } from './cards';
import { findIbans, maskIban } from './ibans';

/**
 * What the guest typed, uploaded or set, screened once where it enters the service (docs/api.md#masking): each
 * deployment's detectors find card numbers, IBANs and its named patterns, and what they find is hidden (`mask`) or
 * the whole request refused (`refuse`, 422 `sensitive_data`, nothing sent). Only the masked form goes on, so
 * Genesys, the logs, spans, the shared store, history and transcripts never see the value. A find is counted
 * (`genesys_bff_masked_total`) and logged by detector, never with the value.
 */

/** What a hidden character shows: a bullet. */
export const HIDDEN = '\u2022';

/** Where the input was: the text of a message, an attribute value, a file's name. */
export type InputField = 'text' | 'attributes' | 'fileName';

export interface Masked<T> {
  value: T;
  /** The detectors that found something, in the configuration's order; empty when nothing was hidden. */
  detectors: string[];
}

interface Detector {
  name: string;
  /** The text with this detector's finds hidden, and whether it found any. */
  apply(text: string): string | undefined;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/gu;

/** Finds replaced, right to left so that the positions hold; undefined when there is none. */
function hideFound(text: string, found: Found[], hide: (written: string) => string): string | undefined {
  if (found.length === 0) return undefined;
  let out = text;
  for (const { start, end } of found.reverse())
    out = out.slice(0, start) + hide(out.slice(start, end)) + out.slice(end);
  return out;
}

function detectorsOf(config: MaskingConfig): Detector[] {
  // IBANs first: their digits would otherwise be read as a card's.
  const builtIn: Detector[] = [
    { name: 'iban', apply: (t: string) => hideFound(t, findIbans(t), (w) => maskIban(w, HIDDEN)) },
    { name: 'card', apply: (t: string) => hideFound(t, findCards(t), (w) => maskCard(w, HIDDEN)) },
  ].filter((d) => (config.builtIn as string[]).includes(d.name));
  const patterns = config.patterns.map(({ name, source, flags }): Detector => {
    const pattern = new RegExp(source, `g${flags}`);
    return {
      name,
      apply(text) {
        let hit = false;
        const out = text.replace(pattern, (match) => {
          const hidden = match.replace(LETTER_OR_DIGIT, HIDDEN);
          hit ||= hidden !== match;
          return hidden;
        });
        return hit ? out : undefined;
      },
    };
  });
  return [...builtIn, ...patterns];
}

export class GuestInputMask {
  /** Masking off: everything passes as it is. */
  static readonly off = new GuestInputMask(undefined);

  readonly mode: MaskingMode;
  private readonly detectors: Detector[];
  /** The configuration's order of detectors, for the order a notice names them in. */
  private readonly order: string[];

  constructor(
    config: MaskingConfig | undefined,
    private readonly logger?: Logger,
  ) {
    this.mode = config?.mode ?? 'mask';
    this.detectors = config ? detectorsOf(config) : [];
    this.order = config ? [...config.builtIn, ...config.patterns.map((p) => p.name)] : [];
  }

  /** A message's text (or an answer's), masked; refused in `refuse` mode. */
  text(text: string): Masked<string> {
    const { value, found } = this.screen(text);
    return this.decided('text', value, found);
  }

  /** Attribute values masked (keys as they are); refused in `refuse` mode. */
  attributes<T extends Record<string, string | null>>(attributes: T): Masked<T> {
    const found = new Set<string>();
    const value = Object.fromEntries(
      Object.entries(attributes).map(([key, v]) => {
        if (v === null) return [key, v];
        const screened = this.screen(v);
        for (const name of screened.found) found.add(name);
        return [key, screened.value];
      }),
    ) as T;
    return this.decided('attributes', found.size === 0 ? attributes : value, found);
  }

  /**
   * A file's name masked on each side of its last dot apart: no find runs across the dot, so an extension stays as
   * the type checks and Genesys read it, and a number written after the dot (`invoice.4111111111111111`) is hidden
   * all the same. Refused in `refuse` mode.
   */
  fileName(name: string): Masked<string> {
    const dot = name.lastIndexOf('.');
    const sides = dot < 0 ? [name] : [name.slice(0, dot), name.slice(dot + 1)];
    const screened = sides.map((side) => this.screen(side));
    const found = new Set(screened.flatMap((side) => [...side.found]));
    return this.decided('fileName', screened.map((side) => side.value).join('.'), found);
  }

  private screen(text: string): { value: string; found: Set<string> } {
    const found = new Set<string>();
    let value = text;
    for (const detector of this.detectors) {
      const out = detector.apply(value);
      if (out === undefined) continue;
      value = out;
      found.add(detector.name);
    }
    return { value, found };
  }

  /** The masked value, counted and logged; or, in `refuse` mode, the refusal naming the detectors. */
  private decided<T>(field: InputField, value: T, found: Set<string>): Masked<T> {
    if (found.size === 0) return { value, detectors: [] };
    const detectors = this.order.filter((name) => found.has(name));
    for (const detector of detectors) maskedCount.inc({ detector, mode: this.mode });
    if (this.mode === 'refuse') {
      this.logger?.info({ masking: { field, detectors, mode: this.mode } }, 'guest input refused: sensitive data');
      const kinds = detectors.map((d) => DETECTOR_WORDS[d] ?? `"${d}"`).join(' and ');
      throw new AppError(
        'sensitive_data',
        `${FIELD_WORDS[field]} what looks like ${kinds}; this service does not pass it on. Send it without.`,
        { extensions: { detectors } },
      );
    }
    this.logger?.info({ masking: { field, detectors, mode: this.mode } }, 'guest input masked: sensitive data hidden');
    return { value, detectors };
  }
}

/** How a refusal names the field, with the verb that agrees with it. */
const FIELD_WORDS: Record<InputField, string> = {
  text: 'The message holds',
  attributes: 'The attributes hold',
  fileName: "The file's name holds",
};

const DETECTOR_WORDS: Record<string, string> = { card: 'a payment card number', iban: 'an IBAN' };
