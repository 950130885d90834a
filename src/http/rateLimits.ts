import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { AppError } from './problem';
import { guestOf } from './authenticate';

/**
 * The service's own limits (CONTRACT §7), enforced before Genesys has to.
 * Counters live in each instance's memory: with N instances and no sticky
 * routing a client could reach N times the limit, and Genesys's own limits
 * (answered as rate_limited too) still apply.
 *
 * Fixed windows per key, as express-rate-limit's MemoryStore keeps them (a
 * key's window starts at its first hit), counted synchronously: these run
 * on every message and history read, and express-rate-limit's promise
 * chain per request showed in the benchmark's profile (bench/README.md).
 */
interface Window {
  hits: number;
  resetAt: number;
}

export class FixedWindowCounter {
  private current = new Map<string, Window>();
  private previous = new Map<string, Window>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // Keys not seen for a whole window drop out after the next turn: memory follows the active keys.
    this.timer = setInterval(() => {
      this.previous = this.current;
      this.current = new Map();
    }, windowMs);
    this.timer.unref();
  }

  /** Counts a hit for `key`; returns the hits in its current window and when that window ends. */
  hit(key: string): Window {
    const now = this.now();
    let window = this.current.get(key);
    if (window === undefined) {
      window = this.previous.get(key);
      if (window === undefined) window = { hits: 0, resetAt: now + this.windowMs };
      else this.previous.delete(key);
      this.current.set(key, window);
    }
    if (window.resetAt <= now) {
      window.hits = 0;
      window.resetAt = now + this.windowMs;
    }
    window.hits++;
    return window;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

function limiter(options: {
  windowMs: number;
  limit: number;
  key: (req: Request, res: Response) => string;
  skip?: (req: Request) => boolean;
  what: string;
}): RequestHandler {
  const counter = new FixedWindowCounter(options.windowMs);
  return (req, res, next) => {
    if (options.skip?.(req)) return next();
    let window: Window;
    try {
      window = counter.hit(options.key(req, res));
    } catch (error) {
      return next(error);
    }
    if (window.hits <= options.limit) return next();
    next(
      new AppError('rate_limited', `Too many ${options.what}; wait before trying again.`, {
        retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - Date.now()) / 1000)),
      }),
    );
  };
}

export function rateLimits(sessionsPerIpPerMinute: number) {
  return {
    /** New sessions per client IP per minute (resumes are not counted). */
    newSessions: limiter({
      windowMs: 60_000,
      limit: sessionsPerIpPerMinute,
      key: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
      skip: (req) => req.headers.authorization !== undefined,
      what: 'new chat sessions from this address',
    }),
    /** At most 5 messages per second per session, as Genesys allows. */
    messages: limiter({ windowMs: 1000, limit: 5, key: (_req, res) => guestOf(res).gt, what: 'messages in this session' }),
    /** At most 10 history reads a minute per session, as Genesys allows. */
    history: limiter({ windowMs: 60_000, limit: 10, key: (_req, res) => guestOf(res).gt, what: 'history reads in this session' }),
  };
}
