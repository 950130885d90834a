import { startEmbeddedDefault, type EmbeddedDefault } from '../../src/demo/embeddedDefault';

/**
 * `npm start`'s embedded default (simulator and demo page) as the browser suites run it: on ports chosen at run
 * time, on loopback, in the test environment; `env` adds or overrides variables (a state, a refresh interval).
 */
export function startTestEmbedded(env: Record<string, string> = {}): Promise<EmbeddedDefault> {
  return startEmbeddedDefault({
    NODE_ENV: 'test',
    PORT: '0',
    DEMO_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...env,
  });
}
