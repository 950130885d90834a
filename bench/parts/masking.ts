import type { MaskingConfig } from '../../src/config/masking';
import { createLogger } from '../../src/observability/logger';
import { GuestInputMask } from '../../src/session';
import { ms, type Ctx, type PartOutput } from '../lib/report';

/**
 * Part 9: what masking (MASKING, docs/api.md#masking) adds to a message, in process: the screen a message's text
 * goes through on POST /messages, timed call by call over a corpus like a chat's (most messages hold no number, some
 * an order number or a date, some a card number or an IBAN in any grouping, a few are long), with card, iban and two
 * named patterns on, against masking off. A find is counted and logged as in the service (to a discarding
 * destination, so that pino's own formatting counts). Also the worst text the cap allows: 4096 bytes of digit
 * groups.
 */

const WARM = 5_000;
const ROUNDS = 3;
const PER_ROUND = 20_000;
const WORST_RUNS = 200;
const TARGET_P50_MS = 0.05;

const CONFIG: MaskingConfig = {
  mode: 'mask',
  builtIn: ['card', 'iban'],
  patterns: [
    { name: 'email', source: '[\\w.+-]+@[\\w-]+\\.[\\w.-]+', flags: 'u' },
    { name: 'tax-id', source: '\\btax ?id:? ?\\d{11}\\b', flags: 'ui' },
  ],
};

/** A seeded generator (mulberry32): the same corpus on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'hello I have a question about my order it has not arrived yet could you check please the parcel was ' +
  'due on Monday and tracking says delivered but nothing is here thanks a lot also can I change the address'
).split(' ');

function corpus(size: number): string[] {
  const next = random(42);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(next() * 10)).join('');
  const sentence = (words: number) => Array.from({ length: words }, () => pick(WORDS)).join(' ');
  const luhn = (payload: string) => {
    const sum = [...payload]
      .reverse()
      .reduce((acc, d, i) => acc + (i % 2 === 0 ? [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][Number(d)]! : Number(d)), 0);
    return payload + String((10 - (sum % 10)) % 10);
  };
  const card = () => luhn(digits(15)).replace(/(\d{4})(?=\d)/g, pick(['$1 ', '$1-', '$1']));
  const ibans = ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'FR14 2004 1010 0505 0001 3M02 606'];
  const texts: string[] = [];
  for (let i = 0; i < size; i++) {
    const kind = next();
    if (kind < 0.55) texts.push(sentence(3 + Math.floor(next() * 20)));
    else if (kind < 0.7) texts.push(`${sentence(5)} order ${digits(8)} from 2026-03-${digits(2)} ${sentence(4)}`);
    else if (kind < 0.82) texts.push(`${sentence(4)} my card is ${card()} ${sentence(3)}`);
    else if (kind < 0.92) texts.push(`${sentence(4)} IBAN ${pick(ibans)} ${sentence(3)}`);
    else if (kind < 0.96) texts.push(`${sentence(3)} mail me at jo.doe${digits(2)}@example.com`);
    else texts.push(sentence(150 + Math.floor(next() * 500)).slice(0, 4000));
  }
  return texts;
}

/** Each call's time, in ms. */
function timed(screen: (text: string) => unknown, texts: string[]): number[] {
  const out = new Array<number>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const start = process.hrtime.bigint();
    screen(texts[i]!);
    out[i] = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return out;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function maskingPart(ctx: Ctx): Promise<PartOutput> {
  const logger = createLogger({ level: 'info', destination: { write: () => undefined } });
  const on = new GuestInputMask(CONFIG, logger);
  const off = GuestInputMask.off;
  const texts = corpus(PER_ROUND);
  const found = texts.filter((t) => on.text(t).detectors.length > 0).length;
  timed((t) => on.text(t), texts.slice(0, WARM));
  timed((t) => off.text(t), texts.slice(0, WARM));

  // Alternating rounds: the host's noise falls on both alike; each figure is the median of its rounds.
  const rounds = {
    on: { p50: [] as number[], p99: [] as number[] },
    off: { p50: [] as number[], p99: [] as number[] },
  };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, mask] of [
      ['on', on],
      ['off', off],
    ] as const) {
      const sorted = timed((t) => mask.text(t), texts).sort((a, b) => a - b);
      rounds[name].p50.push(quantile(sorted, 0.5));
      rounds[name].p99.push(quantile(sorted, 0.99));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const worstText = Array.from({ length: 820 }, (_, i) => String(1000 + (i % 9000)))
    .join(' ')
    .slice(0, 4096);
  const worst = median(
    timed(
      (t) => on.text(t),
      Array.from({ length: WORST_RUNS }, () => worstText),
    ),
  );

  const onP50 = median(rounds.on.p50);
  const offP50 = median(rounds.off.p50);
  const added = onP50 - offP50;
  ctx.log(
    `masking: p50 ${ms(onP50, 4)} on, ${ms(offP50, 4)} off (adds ${ms(added, 4)}); p99 ${ms(median(rounds.on.p99), 4)}; ` +
      `4096 bytes of digit groups ${ms(worst, 3)}; ${found} of ${texts.length} messages held a find`,
  );
  return {
    name: 'masking',
    rows: [
      {
        part: 'masking',
        metric: 'masking adds per message, p50 (card, iban, 2 patterns)',
        value: ms(added, 4),
        target: `<= ${TARGET_P50_MS} ms`,
        met: added <= TARGET_P50_MS,
      },
      {
        part: 'masking',
        metric: 'screen per message on, p50 / p99',
        value: `${ms(onP50, 4)} / ${ms(median(rounds.on.p99), 4)}`,
      },
      { part: 'masking', metric: 'worst text: 4096 bytes of digit groups', value: ms(worst, 3) },
    ],
    data: {
      messages: texts.length,
      messagesWithFinds: found,
      rounds: ROUNDS,
      config: CONFIG,
      onP50Ms: rounds.on.p50,
      onP99Ms: rounds.on.p99,
      offP50Ms: rounds.off.p50,
      offP99Ms: rounds.off.p99,
      addedP50Ms: added,
      worstTextMs: worst,
    },
  };
}
