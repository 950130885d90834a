import { ConfigError } from '../../src/config/schema';
import { testConfig } from '../support/app';

/** METRICS_PORT and the OpenTelemetry variables (docs/configuration.md, docs/operations.md). */
const refusal = (env: Record<string, string | undefined>) => {
  try {
    testConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  return [];
};

test('metrics are off unless METRICS_PORT is set; it may not be PORT', () => {
  expect(testConfig().process.metricsPort).toBeUndefined();
  expect(testConfig({ METRICS_PORT: '9464' }).process.metricsPort).toBe(9464);
  expect(testConfig({ METRICS_PORT: '0' }).process.metricsPort).toBe(0);
  // Its own address, loopback unless set: HOST does not carry over.
  expect(testConfig({ HOST: '0.0.0.0' }).process.metricsHost).toBe('127.0.0.1');
  expect(testConfig({ METRICS_HOST: '0.0.0.0' }).process.metricsHost).toBe('0.0.0.0');
  expect(refusal({ METRICS_PORT: 'nine' })).toEqual([expect.stringMatching(/^METRICS_PORT must be a whole number/)]);
  expect(refusal({ PORT: '8080', METRICS_PORT: '8080' })).toEqual([
    expect.stringMatching(/^METRICS_PORT must differ from PORT/),
  ]);
  // Neither set while another variable is wrong: that is the one problem.
  expect(refusal({ PORT: undefined, LOG_LEVEL: 'loud' })).toEqual([expect.stringMatching(/^LOG_LEVEL must be one of/)]);
});

test('tracing is off unless an OTLP endpoint is set; the traces endpoint wins, the general one gets the signal path', () => {
  expect(testConfig().process.tracing).toEqual({ url: undefined, serviceName: 'genesys-messaging-bff' });
  expect(testConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).process.tracing.url).toBe(
    'http://collector:4318/v1/traces',
  );
  expect(testConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318//' }).process.tracing.url).toBe(
    'http://collector:4318/v1/traces',
  );
  expect(
    testConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp/v1/traces',
    }).process.tracing.url,
  ).toBe('https://traces.example.com/otlp/v1/traces');
  expect(testConfig({ OTEL_SERVICE_NAME: 'chat-bff-eu' }).process.tracing.serviceName).toBe('chat-bff-eu');
  expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).toEqual([
    expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT must use http: or https:/),
  ]);
});
