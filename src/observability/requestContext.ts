import { AsyncLocalStorage } from 'node:async_hooks';
import type { TraceIds } from './tracing';

/** What travels with a request through every await, so deep log lines carry it. */
interface RequestContext {
  requestId: string;
  /** The request's trace (an incoming `traceparent`, or tracing on): every log line of the request names it. */
  trace?: TraceIds;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
