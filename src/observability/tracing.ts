import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import type { NodeTracerProvider, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { deploymentOfWork } from './deploymentContext';

/**
 * OpenTelemetry traces (docs/operations.md#traces), off unless an OTLP endpoint
 * is configured: then each HTTP request has a server span continuing any
 * incoming W3C `traceparent`, and each Genesys REST call, guest-socket request
 * (from send to its matched reply) and Redis command a child span, exported
 * over OTLP/HTTP in batches. The sampler and the exporter's headers follow
 * the standard OTEL_* variables, which the SDK reads itself.
 *
 * Off, every call here is a check of one module variable; a request that
 * brings a `traceparent` still has its trace id in its log lines.
 */

export interface TracingOptions {
  /** The full OTLP/HTTP traces URL (…/v1/traces). */
  url: string;
  serviceName: string;
  /** Where finished spans go instead of OTLP (tests keep them in memory). */
  exporter?: SpanExporter;
}

/** The ids a request's log lines carry. */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

let provider: NodeTracerProvider | undefined;

/** True while spans are recorded and exported. */
export function tracingOn(): boolean {
  return provider !== undefined;
}

const tracer = () => trace.getTracer('genesys-bff');

/**
 * Starts exporting spans; once per process (a second call while on changes nothing). Returns the way to stop (flushes).
 */
export function startTracing(options: TracingOptions): () => Promise<void> {
  if (provider) return async () => undefined;
  // The SDK and the exporter are loaded only when tracing is on: some 16 MB resident that an instance without an
  // OTLP endpoint never uses (bench/README.md). Loaded by require(): `import()` would make starting the service
  // wait on them.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor, NodeTracerProvider } =
    require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node');
  const { ATTR_SERVICE_NAME } =
    require('@opentelemetry/semantic-conventions') as typeof import('@opentelemetry/semantic-conventions');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }));
  const started = new NodeTracerProvider({
    resource,
    spanProcessors: [
      new BatchSpanProcessor(options.exporter ?? new OTLPTraceExporter({ url: options.url }), {
        scheduledDelayMillis: 1000,
      }),
    ],
  });
  started.register();
  provider = started;
  return async () => {
    await started.forceFlush().catch(() => undefined);
    if (provider !== started) return;
    provider = undefined;
    await started.shutdown().catch(() => undefined);
    trace.disable();
    context.disable();
    propagation.disable();
  };
}

/** Exports the spans finished so far (tests, and a stop). */
export async function flushTracing(): Promise<void> {
  await provider?.forceFlush();
}

/** A span's ids as log fields. */
function idsOf(span: Span): TraceIds {
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * An HTTP request's trace: its server span (tracing on), or only the ids of an incoming `traceparent` (tracing off).
 */
export interface RequestTrace {
  ids: TraceIds;
  span?: Span;
  context?: Context;
}

/**
 * The trace of a request arriving: with tracing on, a server span continuing
 * its `traceparent`, carrying the deployment that serves it (`deployment`);
 * with it off, the incoming trace id and a span id of its own for this hop,
 * or nothing when no `traceparent` came.
 */
export function traceRequest(method: string, headers: IncomingHttpHeaders): RequestTrace | undefined {
  if (provider) {
    // Without a traceparent the root context comes back as it was given: the span starts a trace of its own.
    const parent = propagation.extract(ROOT_CONTEXT, headers);
    const span = tracer().startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, ...deploymentAttribute() },
      },
      parent,
    );
    return { ids: idsOf(span), span, context: trace.setSpan(parent, span) };
  }
  const header = headers.traceparent;
  if (header === undefined) return undefined;
  const match = TRACEPARENT.exec(String(header));
  if (!match || /^0+$/.test(match[1]!)) return undefined;
  return { ids: { traceId: match[1]!, spanId: randomBytes(8).toString('hex') } };
}

/** Ends a request's server span with its route template and status. */
export function endRequestSpan(span: Span, method: string, route: string, status: number): void {
  span.updateName(`${method} ${route}`);
  span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

/** Runs `fn` with the request's span as the active one (tracing on), so child spans hang under it. */
export function withRequestSpan<T>(requestTrace: RequestTrace | undefined, fn: () => T): T {
  return requestTrace?.context ? context.with(requestTrace.context, fn) : fn();
}

/** A child span of whatever is active (a client call to Genesys or Redis), or undefined with tracing off. */
export function startClientSpan(name: string, attributes?: Attributes): Span | undefined {
  if (!provider) return undefined;
  return tracer().startSpan(name, { kind: SpanKind.CLIENT, attributes });
}

/** Ends a client span; an error marks it failed. */
export function endClientSpan(span: Span | undefined, error?: unknown, attributes?: Attributes): void {
  if (!span) return;
  if (attributes) span.setAttributes(attributes);
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
    if (error instanceof Error && 'code' in error && typeof error.code === 'string')
      span.setAttribute('error.type', error.code);
  }
  span.end();
}

/** Runs an operation under a client span (tracing on), ending it with the outcome. */
export async function inClientSpan<T>(name: string, attributes: Attributes, operation: () => Promise<T>): Promise<T> {
  const span = startClientSpan(name, attributes);
  if (!span) return operation();
  try {
    const result = await context.with(trace.setSpan(context.active(), span), operation);
    endClientSpan(span);
    return result;
  } catch (error) {
    endClientSpan(span, error);
    throw error;
  }
}

/** The span attribute naming the deployment a request is for (none for the process's own routes). */
function deploymentAttribute(): { deployment?: string } {
  const deployment = deploymentOfWork();
  return deployment === undefined ? {} : { deployment };
}
