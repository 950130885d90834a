import {
  EXPIRY_WARNING_MS,
  expiringEvent,
  expiryClearedEvent,
  warnBeforeExpiry,
  type ExpirySource,
} from '../../../src/http/middleware/expiryWarning';

/**
 * When a live stream warns that its session ends soon (src/http/middleware/expiryWarning.ts), on a fake clock, as
 * the transport SDK's SessionDurationHandler does: EXPIRY_WARNING_MS before the expiry as last known, confirmed by an
 * echo first, withdrawn when activity moves the expiry, and given again before the new one.
 */

const START = Date.parse('2026-11-25T12:00:00.000Z');
const MINUTE = 60_000;

beforeEach(() => {
  jest.useFakeTimers();
  jest.setSystemTime(START);
});
afterEach(() => jest.useRealTimers());

function watched(expiry: ExpirySource | undefined) {
  const notices: [string, number | undefined][] = [];
  const watch = warnBeforeExpiry(expiry, {
    expiring: (at) => notices.push(['expiring', at]),
    cleared: (at) => notices.push(['cleared', at]),
  });
  return { notices, watch };
}

it('the events name the state, the expiry and what keeps the session', () => {
  expect(expiringEvent(START)).toEqual({
    state: 'expiring',
    expiresAt: '2026-11-25T12:00:00.000Z',
    detail: 'The chat session ends soon unless the guest sends something.',
  });
  expect(expiryClearedEvent(START)).toEqual({
    state: 'expiry_cleared',
    expiresAt: '2026-11-25T12:00:00.000Z',
    detail: 'The chat session goes on: activity moved its expiry.',
  });
  expect(expiryClearedEvent(undefined)).not.toHaveProperty('expiresAt');
});

it('warns once, EXPIRY_WARNING_MS before the expiry, and not sooner', () => {
  const expiresAt = START + 30 * MINUTE;
  const { notices } = watched({ at: () => expiresAt });
  jest.advanceTimersByTime(30 * MINUTE - EXPIRY_WARNING_MS - 1);
  expect(notices).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(notices).toEqual([['expiring', expiresAt]]);
  jest.advanceTimersByTime(60 * MINUTE);
  expect(notices).toEqual([['expiring', expiresAt]]);
  expect(jest.getTimerCount()).toBe(0);
});

it('waits for the new expiry when activity moved it later, and warns for that one', () => {
  let expiresAt = START + 30 * MINUTE;
  const { notices } = watched({ at: () => expiresAt });
  jest.advanceTimersByTime(10 * MINUTE);
  expiresAt = START + 40 * MINUTE;
  jest.advanceTimersByTime(25 * MINUTE - 1);
  expect(notices).toEqual([]);
  jest.advanceTimersByTime(1);
  expect(notices).toEqual([['expiring', expiresAt]]);
});

it('warns at the planned moment when the expiry stayed, or came sooner, by then', () => {
  let expiresAt = START + 30 * MINUTE;
  const { notices } = watched({ at: () => expiresAt });
  expiresAt = START + 29 * MINUTE;
  jest.advanceTimersByTime(25 * MINUTE);
  expect(notices).toEqual([['expiring', START + 29 * MINUTE]]);
});

it('asks Genesys (an echo) before warning, and warns for the expiry it confirms', async () => {
  let expiresAt = START + 30 * MINUTE;
  const confirm = jest.fn(async () => {
    expiresAt = START + 50 * MINUTE;
  });
  const { notices } = watched({ at: () => expiresAt, confirm });
  await jest.advanceTimersByTimeAsync(25 * MINUTE);
  expect(confirm).toHaveBeenCalledTimes(1);
  expect(notices).toEqual([]);
  await jest.advanceTimersByTimeAsync(20 * MINUTE);
  expect(confirm).toHaveBeenCalledTimes(2);
  expect(notices).toEqual([['expiring', START + 50 * MINUTE]]);
});

it.each([
  ['answers', async () => undefined],
  [
    'fails',
    async () => {
      throw new Error('no answer');
    },
  ],
])(
  'withdraws the warning when activity moves the expiry, asks again, and warns again before the new expiry (the echo %s)',
  async (_, answer) => {
    let expiresAt = START + 30 * MINUTE;
    const confirm = jest.fn(answer);
    const { notices, watch } = watched({ at: () => expiresAt, confirm });
    await jest.advanceTimersByTimeAsync(25 * MINUTE);
    expect(notices).toEqual([['expiring', START + 30 * MINUTE]]);
    // The guest writes two minutes later: Genesys moves the expiry a whole lifetime (30 minutes here) on.
    await jest.advanceTimersByTimeAsync(2 * MINUTE);
    expiresAt = START + 57 * MINUTE;
    watch.activity();
    expect(notices.at(-1)).toEqual(['cleared', START + 57 * MINUTE]);
    await jest.advanceTimersByTimeAsync(0);
    expect(confirm).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(25 * MINUTE - 1);
    expect(notices).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(notices.at(-1)).toEqual(['expiring', START + 57 * MINUTE]);
  },
);

it('activity before the warning withdraws nothing', () => {
  let expiresAt = START + 30 * MINUTE;
  const { notices, watch } = watched({ at: () => expiresAt });
  jest.advanceTimersByTime(10 * MINUTE);
  expiresAt = START + 40 * MINUTE;
  watch.activity();
  expect(notices).toEqual([]);
});

it('warns at once for a session already inside the warning', () => {
  const { notices } = watched({ at: () => START + MINUTE });
  jest.advanceTimersByTime(0);
  expect(notices).toEqual([['expiring', START + MINUTE]]);
});

it('watches nothing without an expiry', () => {
  const a = watched(undefined);
  const b = watched({ at: () => undefined });
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(60 * MINUTE);
  expect([...a.notices, ...b.notices]).toEqual([]);
});

it('watches an expiry up to the longest a timer can wait, and none further', () => {
  const longest = 2 ** 31 - 1;
  watched({ at: () => START + EXPIRY_WARNING_MS + longest + 1 });
  expect(jest.getTimerCount()).toBe(0);
  watched({ at: () => START + EXPIRY_WARNING_MS + longest });
  expect(jest.getTimerCount()).toBe(1);
});

it('warns nothing once cancelled', () => {
  const { notices, watch } = watched({ at: () => START + 30 * MINUTE });
  watch.cancel();
  expect(jest.getTimerCount()).toBe(0);
  jest.advanceTimersByTime(60 * MINUTE);
  watch.activity();
  expect(notices).toEqual([]);
});

it('gives no notice when cancelled while its echo is on the way', async () => {
  let answer!: () => void;
  const confirm = jest.fn(() => new Promise<void>((resolve) => (answer = resolve)));
  const { notices, watch } = watched({ at: () => START + 30 * MINUTE, confirm });
  await jest.advanceTimersByTimeAsync(25 * MINUTE);
  expect(confirm).toHaveBeenCalledTimes(1);
  watch.cancel();
  answer();
  await jest.advanceTimersByTimeAsync(0);
  expect(notices).toEqual([]);
});

it('withdraws a notice without an expiry while the one it knows is not past the warning', async () => {
  const expiresAt = START + 30 * MINUTE;
  const { notices, watch } = watched({ at: () => expiresAt });
  jest.advanceTimersByTime(25 * MINUTE);
  // Exactly EXPIRY_WARNING_MS ahead, then two minutes later: activity has not moved it (yet).
  watch.activity();
  await jest.advanceTimersByTimeAsync(0);
  jest.advanceTimersByTime(2 * MINUTE);
  watch.activity();
  expect(notices).toEqual([
    ['expiring', expiresAt],
    ['cleared', undefined],
    ['expiring', expiresAt],
    ['cleared', undefined],
  ]);
});

it('withdraws nothing once cancelled, and asks nothing', async () => {
  const confirm = jest.fn(async () => undefined);
  const { notices, watch } = watched({ at: () => START + 30 * MINUTE, confirm });
  await jest.advanceTimersByTimeAsync(25 * MINUTE);
  expect(notices).toHaveLength(1);
  watch.cancel();
  watch.activity();
  await jest.advanceTimersByTimeAsync(60 * MINUTE);
  expect(notices).toHaveLength(1);
  expect(confirm).toHaveBeenCalledTimes(1);
});
