import type { AxiosInstance, AxiosResponse } from 'axios';
import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import {
  correlationIdOf,
  DEFAULT_RETRY_POLICY,
  describeTransportFailure,
  nextRetryDelayMs,
  realSleep,
  retryAfterMs,
  type RetryPolicy,
} from '../restClient';

/**
 * Calls the Genesys Platform API (`https://api.{domain}`) with the
 * client-credentials token: one re-login and replay on a 401, capped retries
 * on the statuses Genesys documents as transient (docs/genesys-protocol.md#errors-and-retries), and
 * every failure mapped to an AppError whose client-facing detail says nothing
 * about Genesys internals; those go to the log with the correlation id.
 */
interface TokenSource {
  getToken(): Promise<string>;
  invalidate(token: string): void;
}

type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface PlatformRequest {
  method: HttpMethod;
  /** A path on the API host, e.g. `/api/v2/webdeployments/deployments/{id}`; path parameters already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
}

interface PlatformClientOptions {
  apiUrl: string;
  tokens: TokenSource;
  http: AxiosInstance;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  retry?: RetryPolicy;
}

/** The Genesys `ErrorBody` (docs/genesys-protocol.md#errors-and-retries); every field optional. */
const errorBodySchema = z
  .object({
    message: z.string(),
    code: z.string(),
    status: z.number(),
    contextId: z.string(),
    details: z.array(z.unknown()),
    errors: z.array(z.unknown()),
  })
  .partial();

/** What Genesys answered, for callers that act on a specific refusal (e.g. 403 missing.permissions). */
interface UpstreamFailure {
  method: HttpMethod;
  path: string;
  /** The HTTP status from Genesys; absent when no answer came back. */
  status?: number;
  code?: string;
  message?: string;
  contextId?: string;
  correlationId?: string;
  transport?: string;
}

export class PlatformApiError extends AppError {
  constructor(
    readonly upstream: UpstreamFailure,
    code: 'upstream_unavailable' | 'rate_limited',
    detail: string,
    options: { status: number; retryAfterSeconds?: number },
  ) {
    super(code, detail, { ...options, logDetail: { genesys: upstream } });
    this.name = 'PlatformApiError';
  }
}

/**
 * Statuses a Platform request may be retried on
 * (docs/genesys-protocol.md#errors-and-retries: what the Java/.NET SDKs retry).
 */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** Methods a lost answer may be replayed for; 429 is safe for all (the request was not processed). */
const IDEMPOTENT_METHODS = new Set<HttpMethod>(['GET', 'PUT', 'DELETE']);

/**
 * A 429 without `Retry-After`: the seconds `inin-ratelimit-reset` says are left in the token's window, which Genesys
 * puts on every answer (docs/genesys-protocol.md#errors-and-retries).
 */
function rateLimitResetMs(response: AxiosResponse): number | undefined {
  if (response.status !== 429) return undefined;
  const reset = String(response.headers?.['inin-ratelimit-reset'] ?? '').trim();
  return /^\d+$/.test(reset) ? Number(reset) * 1000 : undefined;
}

export class PlatformClient {
  private readonly apiOrigin: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: PlatformClientOptions) {
    this.apiOrigin = new URL(options.apiUrl).origin;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
  }

  async request<T>(request: PlatformRequest): Promise<T> {
    const url = this.urlFor(request.path);
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.options.tokens.getToken();
      let response: AxiosResponse;
      try {
        response = await this.options.http.request({
          method: request.method,
          url,
          params: request.query,
          data: request.body,
          headers: { Authorization: `Bearer ${token}` },
          validateStatus: () => true,
        });
      } catch (error) {
        const transport = describeTransportFailure(error);
        const failure: UpstreamFailure = { method: request.method, path: request.path, transport: transport.message };
        const delayMs = IDEMPOTENT_METHODS.has(request.method)
          ? nextRetryDelayMs(this.retry, attempt, undefined)
          : undefined;
        this.logFailure(failure, attempt, delayMs);
        if (delayMs === undefined) throw this.toError(failure, transport.timedOut ? 504 : 503);
        await this.sleep(delayMs);
        continue;
      }

      if (response.status >= 200 && response.status < 300) return response.data as T;

      const failure = this.describe(request, response);
      if (response.status === 401 && !reauthenticated) {
        // The token may have been revoked or expired early: one fresh token, one replay.
        this.logFailure(failure, attempt, 0);
        this.options.tokens.invalidate(token);
        reauthenticated = true;
        continue;
      }
      const retryable =
        RETRYABLE_STATUSES.has(response.status) && (response.status === 429 || IDEMPOTENT_METHODS.has(request.method));
      const retryAfter = retryAfterMs(response.headers, this.now()) ?? rateLimitResetMs(response);
      const delayMs = retryable ? nextRetryDelayMs(this.retry, attempt, retryAfter) : undefined;
      this.logFailure(failure, attempt, delayMs);
      if (delayMs === undefined) throw this.toError(failure, response.status, retryAfter);
      await this.sleep(delayMs);
    }
  }

  /** Upstream hosts are never chosen by the caller: only paths under /api/v2/ on the configured API host. */
  private urlFor(path: string): string {
    const url = path.startsWith('/') ? new URL(path, this.options.apiUrl) : undefined;
    if (!url || url.origin !== this.apiOrigin || !url.pathname.startsWith('/api/v2/')) {
      throw new Error(`Platform paths start with /api/v2/ and stay on ${this.apiOrigin} (got "${path}")`);
    }
    return url.toString();
  }

  private describe(request: PlatformRequest, response: AxiosResponse): UpstreamFailure {
    const body = errorBodySchema.safeParse(response.data);
    return {
      method: request.method,
      path: request.path,
      status: response.status,
      code: body.success ? body.data.code : undefined,
      message: body.success ? body.data.message : undefined,
      contextId: body.success ? body.data.contextId : undefined,
      correlationId: correlationIdOf(response.headers),
    };
  }

  private logFailure(failure: UpstreamFailure, attempt: number, retryInMs: number | undefined): void {
    const retrying = retryInMs !== undefined;
    this.options.logger[retrying ? 'warn' : 'error'](
      { genesys: failure, attempt, ...(retrying ? { retryInMs: Math.round(retryInMs) } : {}) },
      retrying ? 'Genesys Platform request failed; retrying' : 'Genesys Platform request failed',
    );
  }

  /** 429 stays a 429 for the client; everything else is Genesys being down, refusing or slow. */
  private toError(failure: UpstreamFailure, status: number, retryAfter?: number): PlatformApiError {
    const retryAfterSeconds = retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000);
    if (status === 429) {
      return new PlatformApiError(
        failure,
        'rate_limited',
        'Genesys Cloud is rate limiting this service; retry later.',
        {
          status: 429,
          retryAfterSeconds: retryAfterSeconds ?? 1,
        },
      );
    }
    if (status === 503 || status === 504) {
      return new PlatformApiError(
        failure,
        'upstream_unavailable',
        'Genesys Cloud is unavailable or did not answer in time; please retry shortly.',
        {
          status,
          retryAfterSeconds,
        },
      );
    }
    return new PlatformApiError(
      failure,
      'upstream_unavailable',
      'Genesys Cloud refused a request this service made; the operator log has the details.',
      {
        status: 502,
      },
    );
  }
}
