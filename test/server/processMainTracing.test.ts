import { EventEmitter } from 'node:events';
import { runProcess } from '../../src/processMain';
import { captureLogger, testEnv } from '../support/app';
import { waitFor } from '../support/wait';

/** The "listening" line says whether spans are exported (processMain.test.ts runs the life without tracing). */
it('says tracing is on when an OTLP endpoint is set', async () => {
  const log = captureLogger();
  const events = new EventEmitter();
  const exits: number[] = [];
  const offline = 'http://127.0.0.1:9';
  await runProcess({
    env: testEnv({
      NODE_ENV: 'production',
      GENESYS_LOGIN_URL: offline,
      GENESYS_API_URL: offline,
      GENESYS_CDN_URL: offline,
      GENESYS_WEBMESSAGING_URL: 'ws://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_ENDPOINT: offline,
    }),
    events,
    exit: (code) => void exits.push(code),
    console: { log: () => undefined, error: () => undefined },
    logger: () => log.logger,
  });
  try {
    expect(log.lines().find((l) => l.msg === 'listening')).toMatchObject({ tracing: true });
  } finally {
    events.emit('SIGTERM');
    await waitFor(() => exits.length > 0, 10_000, 10);
  }
  expect(exits).toEqual([0]);
});
