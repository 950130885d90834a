import { startTestService } from '../support/app';

/**
 * What src/server.ts sets on the service it starts, each on a service started inside the test: a
 * keep-alive a proxy can rely on (its own idle timeout must be shorter, README.md#deployment), and
 * the drain line an operator reads at a stop, with its grace.
 */

it('keeps an idle connection open for 65 s, and says so in Keep-Alive', async () => {
  const service = await startTestService();
  try {
    expect(service.server.keepAliveTimeout).toBe(65_000);
    const res = await fetch(`${service.url}/healthz`);
    await res.text();
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  } finally {
    await service.stop();
  }
});

it('logs the drain with its grace as it stops', async () => {
  const service = await startTestService({ env: { SHUTDOWN_GRACE_MS: '1234' } });
  await service.stop();
  const drain = service.log.lines().filter((l) => l.msg === 'draining: no new connections, finishing in-flight work');
  expect(drain).toEqual([expect.objectContaining({ level: 30, graceMs: 1234 })]);
});
