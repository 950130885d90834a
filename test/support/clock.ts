/**
 * A clock for the service under test (startService's `now`, the simulator's `clock`) that follows the
 * wall clock until the test stands it still; then it moves only when the test moves it, and never back.
 * A test that counts what fits in a second stands it still, so the count does not depend on how fast
 * this machine answers.
 */
export interface SteerableClock {
  now(): number;
  /** From now on, time moves only through advance(). */
  standStill(): void;
  /** Moves the clock forward (standing or not). */
  advance(ms: number): void;
  /** Follows the wall clock again, from where it stands (never earlier). */
  follow(): void;
}

export function steerableClock(): SteerableClock {
  let standing: number | undefined;
  let ahead = 0;
  const now = () => standing ?? Date.now() + ahead;
  return {
    now,
    standStill: () => void (standing = now()),
    advance: (ms) => {
      if (standing === undefined) ahead += ms;
      else standing += ms;
    },
    follow: () => {
      if (standing === undefined) return;
      ahead = Math.max(ahead, standing - Date.now());
      standing = undefined;
    },
  };
}
