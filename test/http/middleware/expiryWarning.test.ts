import { EXPIRY_WARNING_MS, expiringEvent, warnBeforeExpiry } from '../../../src/http/middleware/expiryWarning';

/**
 * When a live stream warns that its session ends soon (src/http/middleware/expiryWarning.ts), on a fake clock:
 * once, EXPIRY_WARNING_MS before the expiry as last known, later when activity moved it.
 */

const START = Date.parse('2026-11-25T12:00:00.000Z');
const MINUTE = 60_000;

beforeEach(() => {
  jest.useFakeTimers();
  jest.setSystemTime(START);
});
afterEach(() => jest.useRealTimers());

it('the event names the state, the expiry and what keeps the session', () => {
  expect(expiringEvent(START)).toEqual({
    state: 'expiring',
    expiresAt: '2026-11-25T12:00:00.000Z',
    detail: 'The chat session ends soon unless the guest sends something.',
  });
});

it('warns once, EXPIRY_WARNING_MS before the expiry, and not sooner', () => {
  const warned: number[] = [];
  const expiresAt = START + 30 * MINUTE;
  warnBeforeExpiry(
    () => expiresAt,
    (at) => warned.push(at),
  );
  jest.advanceTimersByTime(30 * MINUTE - EXPIRY_WARNING_MS - 1);
  expect(warned).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(warned).toEqual([expiresAt]);
  jest.advanceTimersByTime(60 * MINUTE);
  expect(warned).toEqual([expiresAt]);
  expect(jest.getTimerCount()).toBe(0);
});

it('waits for the new expiry when activity moved it later, and warns for that one', () => {
  const warned: number[] = [];
  let expiresAt = START + 30 * MINUTE;
  warnBeforeExpiry(
    () => expiresAt,
    (at) => warned.push(at),
  );
  jest.advanceTimersByTime(10 * MINUTE);
  expiresAt = START + 40 * MINUTE;
  jest.advanceTimersByTime(15 * MINUTE);
  expect(warned).toEqual([]);
  jest.advanceTimersByTime(10 * MINUTE - 1);
  expect(warned).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(warned).toEqual([expiresAt]);
});

it('warns at the planned moment when the expiry stayed, or came sooner, by then', () => {
  const warned: number[] = [];
  let expiresAt = START + 30 * MINUTE;
  warnBeforeExpiry(
    () => expiresAt,
    (at) => warned.push(at),
  );
  expiresAt = START + 29 * MINUTE;
  jest.advanceTimersByTime(25 * MINUTE);
  expect(warned).toEqual([START + 29 * MINUTE]);
});

it('warns at once for a session already inside the warning', () => {
  const warned: number[] = [];
  warnBeforeExpiry(
    () => START + MINUTE,
    (at) => warned.push(at),
  );
  jest.advanceTimersByTime(0);
  expect(warned).toEqual([START + MINUTE]);
});

it('watches nothing without an expiry', () => {
  const warned: number[] = [];
  warnBeforeExpiry(undefined, (at) => warned.push(at));
  warnBeforeExpiry(
    () => undefined,
    (at) => warned.push(at),
  );
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(60 * MINUTE);
  expect(warned).toEqual([]);
});

it('watches an expiry up to the longest a timer can wait, and none further', () => {
  const longest = 2 ** 31 - 1;
  warnBeforeExpiry(
    () => START + EXPIRY_WARNING_MS + longest + 1,
    () => undefined,
  );
  expect(jest.getTimerCount()).toBe(0);
  warnBeforeExpiry(
    () => START + EXPIRY_WARNING_MS + longest,
    () => undefined,
  );
  expect(jest.getTimerCount()).toBe(1);
});

it('warns nothing once cancelled', () => {
  const warned: number[] = [];
  const watch = warnBeforeExpiry(
    () => START + 30 * MINUTE,
    (at) => warned.push(at),
  );
  watch.cancel();
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(60 * MINUTE);
  expect(warned).toEqual([]);
});
