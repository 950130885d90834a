import http from 'node:http';
import https from 'node:https';
import type { Span } from '@opentelemetry/api';
import axios, { type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { countGenesysError } from '../observability/metrics';
import { endClientSpan, startClientSpan, tracingOn } from '../observability/tracing';

/**
 * The HTTP plumbing every Genesys caller shares: one axios instance over
 * keep-alive agents (a TLS handshake per call would dominate latency), a
 * timeout on every request, and the retry arithmetic (capped exponential
 * backoff that honours `Retry-After`) used by the OAuth and Platform clients.
 */
export interface GenesysHttp {
  readonly axios: AxiosInstance;
  /**
   * Closes the pooled sockets, those of calls still in flight too (they fail): for when nothing needs Genesys any more.
   */
  close(): void;
}

interface GenesysHttpOptions {
  timeoutMs: number;
  maxSockets?: number;
}

const USER_AGENT = 'genesys-messaging-bff';

export function createGenesysHttp({ timeoutMs, maxSockets = 64 }: GenesysHttpOptions): GenesysHttp {
  // Every pooled socket may stay open between bursts (idle ones still close after `timeout`): with
  // fewer free sockets than maxSockets, busy history reads opened and closed a connection per call.
  const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, timeout: timeoutMs };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const instance = axios.create({
    httpAgent,
    httpsAgent,
    timeout: timeoutMs,
    // Statuses are the callers' business: every Genesys answer is data, only transport failures throw.
    validateStatus: () => true,
    // A redirect from Genesys is never expected; following one could carry a bearer token elsewhere.
    maxRedirects: 0,
    headers: { 'User-Agent': USER_AGENT, Accept: 'application/json' },
  });
  observeCalls(instance);
  return {
    axios: instance,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Where a call's span waits for its answer. */
const SPAN = Symbol('span');
type Observed = InternalAxiosRequestConfig & { [SPAN]?: Span };

/**
 * Every REST call to Genesys, observed once here: a client span per call
 * (tracing on; the URL without its query, which may hold a signature), and
 * each error status Genesys answers (or a call that got no answer) counted.
 */
function observeCalls(instance: AxiosInstance): void {
  instance.interceptors.request.use(
    (config: Observed) => {
      if (!tracingOn()) return config;
      // Axios has set the method (lower case, `get` by default) before the interceptors run.
      const method = config.method!.toUpperCase();
      const url = new URL(instance.getUri(config));
      config[SPAN] = startClientSpan(`${method} ${url.hostname}`, {
        'http.request.method': method,
        'server.address': url.hostname,
        'url.path': url.pathname,
      });
      return config;
    },
    undefined,
    { synchronous: true },
  );
  instance.interceptors.response.use(
    (response) => {
      if (response.status >= 400) countGenesysError(response.status);
      endClientSpan(
        (response.config as Observed)[SPAN],
        response.status >= 500 ? new Error(`HTTP ${response.status}`) : undefined,
        {
          'http.response.status_code': response.status,
        },
      );
      return response;
    },
    (error: unknown) => {
      countGenesysError(describeTransportFailure(error).timedOut ? 'timeout' : 'unreachable');
      endClientSpan(axios.isAxiosError(error) ? (error.config as Observed | undefined)?.[SPAN] : undefined, error);
      throw error;
    },
  );
}

export interface RetryPolicy {
  /** Attempts per operation, the first one included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles per attempt. */
  baseDelayMs: number;
  /** No single wait is longer; a `Retry-After` beyond it ends the retries instead. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** `Retry-After` in milliseconds: Genesys sends whole seconds; an HTTP date is accepted too. */
export function retryAfterMs(headers: AxiosResponse['headers'] | undefined, now: number): number | undefined {
  const value = headers?.['retry-after'];
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * How long to wait before attempt `attempt + 1` (attempt counts from 1), or
 * undefined when the operation should stop retrying: attempts are used up, or
 * Genesys asked for a longer pause than the cap.
 */
export function nextRetryDelayMs(
  policy: RetryPolicy,
  attempt: number,
  retryAfter: number | undefined,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  if (retryAfter !== undefined) return retryAfter <= policy.maxDelayMs ? retryAfter : undefined;
  const exponential = policy.baseDelayMs * 2 ** (attempt - 1);
  // Full jitter on the upper half keeps many instances from retrying in lockstep.
  return Math.min(policy.maxDelayMs, exponential / 2 + Math.random() * (exponential / 2));
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** A transport failure (no HTTP answer) described without the request config, which holds credentials. */
interface TransportFailure {
  code?: string;
  message: string;
  timedOut: boolean;
}

export function describeTransportFailure(error: unknown): TransportFailure {
  if (axios.isAxiosError(error)) {
    const timedOut = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT';
    // The code alone when there is one: some messages (an interceptor's "no match") echo request headers.
    return { code: error.code, message: timedOut ? 'timed out' : (error.code ?? error.message), timedOut };
  }
  return { message: error instanceof Error ? error.message : String(error), timedOut: false };
}

/** The Genesys correlation id of a response (docs/genesys-protocol.md#errors-and-retries). */
export function correlationIdOf(headers: AxiosResponse['headers'] | undefined): string | undefined {
  const value = headers?.['inin-correlation-id'];
  return typeof value === 'string' ? value : undefined;
}
