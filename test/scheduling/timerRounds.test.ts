import { currentDeployment, inDeployment } from '../../src/observability/deploymentContext';
import { TimerRounds } from '../../src/scheduling/timerRounds';

/** Periodic jobs on one timer (src/scheduling/timerRounds.ts): each runs once per interval, never early, at most a tick late. */

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => jest.useRealTimers());

test('each job runs once per interval from when it was added, from one timer that goes with the last job', () => {
  const intervals = jest.spyOn(global, 'setInterval');
  const rounds = new TimerRounds(5000);
  const runs: Record<string, number[]> = { a: [], b: [] };
  const stopA = rounds.add(() => runs.a!.push(Date.now()));
  jest.advanceTimersByTime(2500);
  const stopB = rounds.add(() => runs.b!.push(Date.now()));
  jest.advanceTimersByTime(11_000);
  expect(intervals).toHaveBeenCalledTimes(1);
  // a: due at 5000 and 10000. b, added at 2500: due at 7500, run on the next tick (8000), then due 5000 later.
  expect(runs.a).toEqual([5000, 10_000]);
  expect(runs.b).toEqual([8000, 13_000]);
  for (const r of [...runs.a!, ...runs.b!]) expect(r % 1000).toBe(0);
  stopA();
  expect(jest.getTimerCount()).toBe(1);
  stopB();
  expect(jest.getTimerCount()).toBe(0);
  expect(rounds.size).toBe(0);
  intervals.mockRestore();
});

test('a job is never run before its interval has passed, however the ticks fall', () => {
  const rounds = new TimerRounds(1500);
  const gaps: number[] = [];
  let last = 0;
  rounds.add(() => {
    gaps.push(Date.now() - last);
    last = Date.now();
  });
  jest.advanceTimersByTime(20_000);
  expect(gaps.length).toBeGreaterThan(5);
  for (const gap of gaps) {
    expect(gap).toBeGreaterThanOrEqual(1500);
    expect(gap).toBeLessThanOrEqual(1500 + 1000);
  }
});

test('a job that removes itself while running stops, and the others still run', () => {
  const rounds = new TimerRounds(1000);
  let once = 0;
  let other = 0;
  const stop = rounds.add(() => {
    once++;
    stop();
  });
  rounds.add(() => other++);
  jest.advanceTimersByTime(5000);
  expect(once).toBe(1);
  expect(other).toBe(5);
});

test("each job runs in the context it was added from (its deployment's), not the timer's", () => {
  const rounds = new TimerRounds(1000);
  const ranFor: string[] = [];
  // The timer is made by the first job's add, inside brand-a; brand-b's job must still run as brand-b's.
  const stops = [
    inDeployment('brand-a', () => rounds.add(() => ranFor.push(currentDeployment()))),
    inDeployment('brand-b', () => rounds.add(() => ranFor.push(currentDeployment()))),
    rounds.add(() => ranFor.push(currentDeployment())),
  ];
  jest.advanceTimersByTime(1000);
  expect(ranFor).toEqual(['brand-a', 'brand-b', 'default']);
  for (const stop of stops) stop();
  expect(rounds.size).toBe(0);
});
