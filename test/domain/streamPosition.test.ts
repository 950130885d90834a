import { positionAt, timeOfPosition } from '../../src/domain/streamPosition';

/** Time positions in a conversation's stream (src/domain/streamPosition.ts): `t-` and 13 digits of epoch milliseconds. */

test('a moment becomes a position that reads back as that moment, in whole milliseconds', () => {
  for (const at of [Date.UTC(2026, 10, 23, 9, 30), 1, 0]) expect(timeOfPosition(positionAt(at))).toBe(at);
  expect(positionAt(Date.UTC(2026, 10, 23) + 0.75)).toBe(`t-${Date.UTC(2026, 10, 23)}`);
  expect(positionAt(1)).toBe('t-0000000000001');
});

test('a moment before the epoch (a clock set wrong) is the epoch, still a position', () => {
  expect(positionAt(-5000)).toBe('t-0000000000000');
});

test('anything but t- and 13 digits is no time position', () => {
  for (const id of ['t-1', 't-00000000000001', 'x-0000000000001', 't-000000000000a', 'msg-1'])
    expect(timeOfPosition(id)).toBeUndefined();
});
