import { EventEmitter } from 'node:events';
import { stopOnProcessFailure } from '../../src/processFailures';
import { captureLogger } from '../support/app';

/**
 * What the process does with a failure nothing handled (src/processFailures.ts), in process: the
 * child-process test in lifecycle.test.ts shows the whole path once; this one states each rule.
 */
describe('stopOnProcessFailure', () => {
  it.each(['unhandledRejection', 'uncaughtException'] as const)(
    'logs a %s once as fatal, with its kind and error, and stops with exit code 1',
    (kind) => {
      const events = new EventEmitter();
      const log = captureLogger();
      const stops: number[] = [];
      stopOnProcessFailure(events, log.logger, (code) => stops.push(code));

      events.emit(kind, new Error('the cause'));

      expect(stops).toEqual([1]);
      const lines = log.lines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 60,
        kind,
        msg: 'unexpected failure: the instance stops',
        err: { message: 'the cause' },
      });
    },
  );

  it('listens for both kinds and nothing else', () => {
    const events = new EventEmitter();
    stopOnProcessFailure(events, captureLogger().logger, () => undefined);
    expect(events.eventNames().sort()).toEqual(['uncaughtException', 'unhandledRejection']);
  });
});
