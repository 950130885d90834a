// Whether anyone is there and how long the wait is (GET /availability and the stream's `availability` events),
// worded for this page in its own language's forms: Intl picks the plural and formats the time.
import { BffError } from './bffClient.js';

/** @typedef {import('./bffClient.js').AvailabilityAnswer} AvailabilityAnswer */
/** @typedef {import('./bffClient.js').AvailabilityStatus} AvailabilityStatus */

const language = document.documentElement.lang || 'en';
const plural = new Intl.PluralRules(language);
const clock = new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(language, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
const calendar = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' });

/**
 * When the centre opens, in the reader's time zone: the time alone today, the weekday and time this week, else the date.
 * @param {string} iso
 * @param {Date} [now]
 */
export function when(iso, now = new Date()) {
  const at = new Date(iso).getTime();
  const day = (/** @type {number} */ n) => new Date(now.getFullYear(), now.getMonth(), now.getDate() + n).getTime();
  if (Number.isNaN(at)) return iso;
  if (at >= day(0) && at < day(1)) return clock.format(at);
  return (at >= day(0) && at < day(7) ? weekday : calendar).format(at);
}

/**
 * "Closed, back at 09:00", "All lines are busy (about 4 minutes)", "An agent is available"; nothing while unknown.
 * @param {AvailabilityStatus} status
 */
export function describeAvailability(status) {
  switch (status.state) {
    case 'unknown':
      return '';
    case 'open':
      return 'An agent is available';
    case 'busy': {
      const minutes = status.waitMinutes;
      if (minutes === undefined) return 'All lines are busy';
      return `All lines are busy (about ${minutes} ${plural.select(minutes) === 'one' ? 'minute' : 'minutes'})`;
    }
    case 'closed': {
      const back = status.backAt ? when(status.backAt) : undefined;
      if (status.reason === 'emergency') return 'Closed because of an emergency. Please try again later.';
      if (status.reason === 'no_agents') return 'No agent is available right now';
      if (status.reason === 'holiday') return back ? `Closed for a holiday, back at ${back}` : 'Closed for a holiday';
      return back ? `Closed, back at ${back}` : 'Closed right now';
    }
  }
}

/**
 * Asks GET /availability again and again: after `firstInSeconds`, then when each answer's max-age runs out (or a
 * failure's Retry-After). Returns what stops it.
 * @param {import('./bffClient.js').BffClient} client
 * @param {(answer: AvailabilityAnswer) => void} onAnswer
 * @param {number} firstInSeconds
 */
export function watchAvailability(client, onAnswer, firstInSeconds) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false;
  const askIn = (/** @type {number} */ seconds) => {
    if (!stopped) timer = setTimeout(ask, Math.max(1, seconds) * 1000);
  };
  const ask = async () => {
    try {
      const answer = await client.availability();
      if (!stopped) onAnswer(answer);
      askIn(answer.maxAgeSeconds ?? 30);
    } catch (error) {
      askIn((error instanceof BffError && error.retryAfterSeconds) || 30);
    }
  };
  askIn(firstInSeconds);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
