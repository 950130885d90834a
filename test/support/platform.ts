import { loadConfig, type Config } from '../../src/config/schema';

export const BASE_ENV = {
  SESSION_SECRET: 'test-session-secret-that-is-long-enough-0123456789',
  CORS_ALLOWED_ORIGINS: 'https://shop.example.com',
  LOG_LEVEL: 'debug',
};

export function testConfig(env: Record<string, string>): Config {
  return loadConfig({ ...BASE_ENV, ...env });
}

/** A sleep that returns at once and remembers what it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2026-11-01T09:00:00Z')): {
  now: () => number;
  advance(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}
