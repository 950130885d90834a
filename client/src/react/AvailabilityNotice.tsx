'use client';

import type { AvailabilityStatus } from '../index.js';
import { wordingFor, type Wording } from '../wording/index.js';
import { useWording } from './wording.js';

/**
 * What to tell the customer about availability, in the kit's words: "Closed, back at 09:00", "All lines are busy
 * (about 4 minutes)", "An agent is available"; nothing while unknown (not configured, or not known yet).
 */
export function describeAvailability(
  status: AvailabilityStatus,
  wording: Wording = wordingFor('en'),
  now?: Date,
): string {
  const { t } = wording;
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
      const time = status.backAt === undefined ? undefined : wording.when(status.backAt, now);
      if (status.reason === 'emergency') return t('emergencyClosed');
      if (status.reason === 'no_agents') return t('noAgents');
      if (status.reason === 'holiday') return time ? t('holidayBackAt', { time }) : t('holidayNow');
      return time ? t('closedBackAt', { time }) : t('closedNow');
    }
  }
}

export interface AvailabilityNoticeProps {
  /** `useAvailability().status`. */
  status: AvailabilityStatus;
  /** Default: `ChatWording`'s, else the page's language. */
  wording?: Wording;
}

/**
 * The availability line: a polite live region (`role="status"`), always in the page so a change is announced, empty
 * while there is nothing to say. `data-state` (`open`, `busy`, `closed`, `unknown`) is the styling hook.
 */
export function AvailabilityNotice({ status, wording }: AvailabilityNoticeProps) {
  const words = useWording(wording);
  return (
    <p role="status" className="availability" data-state={status.state}>
      {describeAvailability(status, words)}
    </p>
  );
}
