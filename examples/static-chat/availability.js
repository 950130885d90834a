// Whether anyone is there and how long the wait is (GET /availability and the stream's `availability` events),
// worded for this page in the guest's language (the package's catalogues, through words.js).
import { BffError } from './bffClient.js';
import { t, words } from './words.js';

/** @typedef {import('./bffClient.js').AvailabilityAnswer} AvailabilityAnswer */
/** @typedef {import('./bffClient.js').AvailabilityStatus} AvailabilityStatus */

/**
 * "Closed, back at 09:00", "All lines are busy (about 4 minutes)", "An agent is available", in the page's language
 * (words.js: the package's catalogues; the time in the reader's time zone); nothing while unknown.
 * @param {AvailabilityStatus} status
 */
export function describeAvailability(status) {
  switch (status.state) {
    case 'unknown':
      return '';
    case 'open':
      return t('agentAvailable');
    case 'busy':
      return status.waitMinutes === undefined
        ? t('linesBusyNoEstimate')
        : t('linesBusy', { count: status.waitMinutes });
    case 'closed': {
      const time = status.backAt ? words().when(status.backAt) : undefined;
      if (status.reason === 'emergency') return t('emergencyClosed');
      if (status.reason === 'no_agents') return t('noAgents');
      if (status.reason === 'holiday') return time ? t('holidayBackAt', { time }) : t('holidayNow');
      return time ? t('closedBackAt', { time }) : t('closedNow');
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
