import { execFileSync } from 'node:child_process';

/**
 * The Redis client and the OpenTelemetry SDK are loaded only when REDIS_URL
 * or an OTLP endpoint is set (store/index.ts, tracing.ts): together some tens
 * of megabytes resident that an instance without them never uses
 * (bench/README.md). A child process loads the service and lists what came in.
 */
test('loading the service loads neither the Redis client nor the tracing SDK', () => {
  const script = `
    require(${JSON.stringify(require.resolve('../../src/server'))});
    const loaded = Object.keys(require.cache);
    process.stdout.write(JSON.stringify({
      server: loaded.some((f) => f.endsWith('/src/server.ts')),
      ioredis: loaded.some((f) => f.includes('/node_modules/ioredis/')),
      otelSdk: loaded.some((f) => /\\/node_modules\\/@opentelemetry\\/(sdk-trace-node|exporter-trace-otlp-http|resources)\\//.test(f)),
    }));`;
  const out = execFileSync(process.execPath, ['-r', require.resolve('tsx/cjs'), '-e', script], { encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({ server: true, ioredis: false, otelSdk: false });
});
