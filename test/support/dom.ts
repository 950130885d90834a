import { configure } from '@testing-library/react';
import { EVENT_WAIT_MS } from './wait';

/**
 * React Testing Library for the suites that render the client's components: its waits (`findBy…`, `waitFor`) wait
 * for what the page is bound to show, bounded by EVENT_WAIT_MS as every wait of the tests is, not by the library's
 * 1 s default, which a loaded machine overruns.
 */
configure({ asyncUtilTimeout: EVENT_WAIT_MS });

export * from '@testing-library/react';
