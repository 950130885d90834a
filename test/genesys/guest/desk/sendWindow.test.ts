import { SendWindow } from '../../../../src/genesys/guest/desk/sendWindow';

/**
 * The sliding-window count behind Genesys's message rate and request budget
 * (src/genesys/guest/desk/sendWindow.ts), on a clock the test moves: 3 uses per 1000 ms.
 */
let now = 0;
const window = () => new SendWindow(3, 1000, () => now);
beforeEach(() => {
  now = 0;
});

test('takes up to its limit in a window, then says how long until the oldest use leaves', () => {
  const w = window();
  expect([w.take(), w.take(), w.take()]).toEqual([true, true, true]);
  now = 400;
  expect(w.take()).toBe(false);
  expect(w.waitMs()).toBe(600);
  now = 999;
  expect(w.waitMs()).toBe(1);
  now = 1000;
  expect(w.waitMs()).toBe(0);
  expect([w.take(), w.take(), w.take(), w.take()]).toEqual([true, true, true, false]);
});

test('a use leaves the window exactly windowMs after it was made', () => {
  const w = window();
  w.take();
  now = 300;
  w.take();
  w.take();
  now = 1000;
  expect(w.waitMs()).toBe(0);
  expect(w.take()).toBe(true);
  expect(w.waitMs()).toBe(300);
});

test('a refused take records nothing', () => {
  const w = window();
  w.take();
  w.take();
  w.take();
  for (let i = 0; i < 5; i++) expect(w.take()).toBe(false);
  now = 1000;
  expect([w.take(), w.take(), w.take(), w.take()]).toEqual([true, true, true, false]);
});

test('waitMs with a lower limit counts against that limit; none fits under a limit of 0', () => {
  const w = window();
  w.take();
  now = 100;
  w.take();
  expect(w.waitMs(3)).toBe(0);
  expect(w.waitMs(2)).toBe(900);
  expect(w.waitMs(1)).toBe(1000);
  expect(w.waitMs(0)).toBe(1000);
  expect(w.waitMs(-1)).toBe(1000);
});

test('waitForMs adds a window pace for each further use, and nothing for none', () => {
  const w = window();
  expect(w.waitForMs(0)).toBe(0);
  expect(w.waitForMs(3)).toBe(1000);
  expect(w.waitForMs(-2)).toBe(0);
  w.take();
  w.take();
  w.take();
  now = 200;
  expect(w.waitForMs(0)).toBe(800);
  expect(w.waitForMs(1)).toBeCloseTo(800 + 1000 / 3);
});

test('force records a use past the limit, and reset forgets every use', () => {
  const w = window();
  w.take();
  w.take();
  w.take();
  w.force();
  expect(w.take()).toBe(false);
  now = 999;
  expect(w.waitMs()).toBe(1);
  w.reset();
  expect(w.waitMs()).toBe(0);
  expect([w.take(), w.take(), w.take(), w.take()]).toEqual([true, true, true, false]);
});

test('force prunes the uses that left, so they do not hold the window', () => {
  const w = window();
  w.take();
  w.take();
  now = 1000;
  w.force();
  expect(w.waitMs()).toBe(0);
  expect(w.take()).toBe(true);
  expect(w.take()).toBe(true);
  expect(w.take()).toBe(false);
});
