import fc from 'fast-check';
import type { Availability } from '../../../src/domain/availability';
import { changedNoticeably } from '../../../src/genesys/availability/answer';

/**
 * Which changes of the answer a guest waiting hears of on the live stream (docs/api.md#get-availability): the
 * centre opens or closes, or closes for another reason, or the estimated wait moves by a minute or a fifth of the
 * longer wait, whichever is more. Small jitter in Genesys's estimate is not news.
 */
const OPEN: Availability = {
  configured: true,
  open: true,
  reason: 'open',
  nextOpenAt: null,
  closesAt: '2027-03-22T17:00:00+01:00',
  estimatedWaitSeconds: 300,
  agentsAvailable: 2,
  waiting: 1,
  unknown: [],
  stale: false,
  asOf: '2027-03-22T12:00:00.000Z',
};
const CLOSED: Availability = { ...OPEN, open: false, reason: 'closed', closesAt: null };
const waiting = (seconds: number | null, base = OPEN): Availability => ({ ...base, estimatedWaitSeconds: seconds });
const heard = (before: Availability, after: Availability) => changedNoticeably(before, after);

describe('opening and closing', () => {
  test('the centre opening or closing is heard of, whatever the wait', () => {
    expect(heard(OPEN, CLOSED)).toBe(true);
    expect(heard(CLOSED, OPEN)).toBe(true);
  });

  test('closing for another reason is heard of: closed, then a holiday, then an emergency, then no agents', () => {
    const reasons = ['closed', 'holiday', 'emergency', 'no_agents'] as const;
    for (const [i, reason] of reasons.entries()) {
      const next = reasons[(i + 1) % reasons.length]!;
      expect(heard({ ...CLOSED, reason }, { ...CLOSED, reason: next })).toBe(true);
    }
  });

  test('nothing changed is not heard of, open or closed', () => {
    expect(heard(OPEN, { ...OPEN })).toBe(false);
    expect(heard(CLOSED, { ...CLOSED, asOf: '2027-03-22T12:01:00.000Z' })).toBe(false);
  });
});

describe('the estimated wait', () => {
  test('a minute is heard of, less is not (waits up to five minutes)', () => {
    expect(heard(waiting(200), waiting(259))).toBe(false);
    expect(heard(waiting(200), waiting(260))).toBe(true);
    expect(heard(waiting(260), waiting(200))).toBe(true);
    expect(heard(waiting(0), waiting(59))).toBe(false);
    expect(heard(waiting(0), waiting(60))).toBe(true);
  });

  test('a fifth of the longer wait is heard of, less is not (waits over five minutes)', () => {
    expect(heard(waiting(1000), waiting(1249))).toBe(false);
    expect(heard(waiting(1000), waiting(1250))).toBe(true);
    expect(heard(waiting(1250), waiting(1000))).toBe(true);
    expect(heard(waiting(1249), waiting(1000))).toBe(false);
  });

  test('a wait given or gone is heard of; none before and none after is not', () => {
    expect(heard(waiting(null), waiting(30))).toBe(true);
    expect(heard(waiting(30), waiting(null))).toBe(true);
    expect(heard(waiting(null), waiting(null))).toBe(false);
    expect(heard(waiting(null, CLOSED), waiting(null, CLOSED))).toBe(false);
  });

  test('any two waits: heard of exactly when they differ by a minute or a fifth of the longer, whichever is more', () => {
    const seconds = fc.oneof(fc.integer({ min: 0, max: 7200 }), fc.constantFrom(0, 60, 300, 301, 1000, 1250));
    fc.assert(
      fc.property(seconds, seconds, fc.boolean(), (a, b, open) => {
        const base = open ? OPEN : CLOSED;
        // In whole seconds: 5 × difference against the longer wait, so no fraction is rounded.
        const expected = Math.abs(a - b) >= 60 && 5 * Math.abs(a - b) >= Math.max(a, b);
        expect(heard(waiting(a, base), waiting(b, base))).toBe(expected);
      }),
      { seed: 20_270_322, numRuns: 300 },
    );
  });
});
