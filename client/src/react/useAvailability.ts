'use client';

import { useEffect, useRef, useState } from 'react';
import {
  BffClient,
  BffError,
  availabilityStatus,
  chatButtonState,
  type Availability,
  type AvailabilityAnswer,
  type AvailabilityStatus,
  type WhenClosed,
} from '../index.js';

export interface UseAvailabilityOptions {
  /** The service's base URL (or pass a `client`, such as `chat.client`, so a session's token travels with it). */
  baseUrl?: string;
  client?: BffClient;
  /** Ask the service (default true); false stops asking until it is true again. */
  enabled?: boolean;
  /** A fresher answer from elsewhere, such as useChat's `availability` from the live stream: the newer `asOf` wins. */
  live?: Availability;
  /** What the chat button does while closed: `hide`, `disable` (default) or `show`. */
  whenClosed?: WhenClosed;
  /** An estimated wait from this many seconds on reads as busy. Default 60. */
  busyAfterSeconds?: number;
}

export interface AvailabilityView {
  /** The newest answer, once there is one. */
  availability?: Availability;
  /** What to tell the customer (`AvailabilityNotice` words it): unknown until the first answer, or when not configured. */
  status: AvailabilityStatus;
  /** The chat button's state, as `whenClosed` says. */
  chatButton: { hidden: boolean; disabled: boolean };
  /** The last failure to ask; the hook asks again after its Retry-After, and the next answer clears it. */
  error?: BffError;
}

/** When the service names no freshness (no `max-age`), nor a failure its Retry-After. */
const DEFAULT_REFRESH_SECONDS = 30;
/** The longest a timer can wait. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Whether anyone is there and how long the wait is, kept fresh: asks `GET /availability` once on mount, again when
 * the answer's `Cache-Control: max-age` runs out (or a failure's Retry-After), and stops when unmounted. Under
 * StrictMode's mount, unmount and mount it makes one request, not two.
 */
export function useAvailability(options: UseAvailabilityOptions = {}): AvailabilityView {
  const [client] = useState(() => options.client ?? new BffClient({ baseUrl: options.baseUrl ?? '' }));
  const [answer, setAnswer] = useState<AvailabilityAnswer>();
  const [error, setError] = useState<BffError>();
  /** The request in flight: a remount joins it rather than asking again. */
  const inFlight = useRef<Promise<AvailabilityAnswer> | undefined>(undefined);
  const enabled = options.enabled !== false;

  useEffect(() => {
    if (!enabled) return;
    let mounted = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const askIn = (seconds: number) => {
      timer = setTimeout(ask, Math.min(Math.max(1, seconds) * 1000, MAX_TIMER_MS));
    };
    function ask(): void {
      const pending = inFlight.current ?? client.availability();
      inFlight.current = pending;
      const settled = () => {
        if (inFlight.current === pending) inFlight.current = undefined;
        return mounted;
      };
      pending.then(
        (fresh) => {
          if (!settled()) return;
          setAnswer(fresh);
          setError(undefined);
          askIn(fresh.maxAgeSeconds ?? DEFAULT_REFRESH_SECONDS);
        },
        (e: unknown) => {
          if (!settled()) return;
          const failure = e instanceof BffError ? e : new BffError({ status: 0, code: 'unknown', message: String(e) });
          setError(failure);
          askIn(failure.retryAfterSeconds ?? DEFAULT_REFRESH_SECONDS);
        },
      );
    }
    ask();
    return () => {
      mounted = false;
      clearTimeout(timer);
    };
  }, [client, enabled]);

  const { live } = options;
  const newest = live && (!answer || Date.parse(live.asOf) >= Date.parse(answer.asOf)) ? live : answer;
  const status = availabilityStatus(newest, { busyAfterSeconds: options.busyAfterSeconds });
  return { availability: newest, status, chatButton: chatButtonState(status, options.whenClosed), error };
}
