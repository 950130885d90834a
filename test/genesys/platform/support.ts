import { loadConfig, type Config } from '../../../src/config/schema';
import { createLogger, type Logger } from '../../../src/observability/logger';

/** A logger whose lines are kept, to assert on what was (and was not) logged. */
export interface CapturedLog {
  logger: Logger;
  lines(): Array<Record<string, unknown> & { level: number; msg: string }>;
  /** Every line as written, for searching secrets. */
  text(): string;
  messages(level: 'debug' | 'info' | 'warn' | 'error'): string[];
}

const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export function captureLog(level = 'debug'): CapturedLog {
  const written: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => written.push(line) } });
  const lines = () => written.map((l) => JSON.parse(l) as Record<string, unknown> & { level: number; msg: string });
  return {
    logger,
    lines,
    text: () => written.join(''),
    messages: (name) => lines().filter((l) => l.level === LEVELS[name]).map((l) => l.msg),
  };
}

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
export function manualClock(start = Date.parse('2026-11-01T09:00:00Z')): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Polls until `check` passes (background work settles on its own schedule). */
export async function eventually(check: () => void, attempts = 500): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      check();
      return;
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
