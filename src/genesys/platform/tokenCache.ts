import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import type { CheckState } from '../../observability/readiness';
import {
  DEFAULT_RETRY_POLICY,
  describeTransportFailure,
  nextRetryDelayMs,
  realSleep,
  retryAfterMs,
  type RetryPolicy,
} from '../restClient';

/**
 * The OAuth client-credentials token (docs/genesys-protocol.md#oauth-client-credentials), held in memory.
 *
 * - Callers never wait while a valid token exists: it is refreshed ahead of
 *   expiry in the background (timer, or the first call past the refresh point).
 * - Single flight: however many callers find the cache cold, one request goes out.
 * - A 4xx from the login host means the credentials or the region are wrong;
 *   it is not retried in a loop but re-checked after a cool-down, and callers
 *   fail fast meanwhile.
 * - 429, 5xx and transport failures are retried with capped backoff that
 *   honours `Retry-After`.
 * The token and the secret never reach a log line or an error.
 */
interface TokenState extends CheckState {
  expiresAt?: string;
}

export interface TokenCacheOptions {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  http: AxiosInstance;
  logger: Logger;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  retry?: RetryPolicy;
  /** How long a refusal of the credentials stands before Genesys is asked again. */
  recheckAfterMs?: number;
  onState?: (state: TokenState) => void;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

const tokenErrorSchema = z.object({ error: z.string().regex(/^[a-z_.]{1,64}$/) });

const DEFAULT_RECHECK_AFTER_MS = 60_000;

/** No token can be had: Genesys refused the credentials or could not be reached. */
export class TokenUnavailableError extends AppError {
  constructor(options: ConstructorParameters<typeof AppError>[2]) {
    super('upstream_unavailable', 'Genesys Cloud is not available to this service right now; please retry shortly.', options);
    this.name = 'TokenUnavailableError';
  }
}

/** How far ahead of expiry a token is replaced: max(60 s, 10 %), but never more than half its lifetime. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(Math.max(60_000, lifetimeMs * 0.1), lifetimeMs / 2);
}

interface CachedToken {
  value: string;
  expiresAt: number;
  refreshAt: number;
}

type Attempt =
  | { kind: 'issued'; token: CachedToken }
  | { kind: 'refused'; status: number; oauthError?: string }
  | { kind: 'transient'; reason: string; status?: number; timedOut: boolean; retryAfterMs?: number };

interface Failure {
  error: TokenUnavailableError;
  detail: string;
  /** Before this instant callers fail fast instead of asking Genesys again. */
  retryAt: number;
}

export class TokenCache {
  private readonly tokenUrl: string;
  private readonly basicAuth: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retry: RetryPolicy;
  private readonly recheckAfterMs: number;
  private current?: CachedToken;
  private inFlight?: Promise<CachedToken>;
  private failure?: Failure;
  private timer?: NodeJS.Timeout;
  private lastState: TokenState;
  private closed = false;

  constructor(private readonly options: TokenCacheOptions) {
    this.tokenUrl = `${options.loginUrl}/oauth/token`;
    this.basicAuth = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64')}`;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.recheckAfterMs = options.recheckAfterMs ?? DEFAULT_RECHECK_AFTER_MS;
    this.lastState = { ok: false, detail: `Fetching the first OAuth token from ${options.loginUrl}.` };
  }

  /** A valid access token; waits only when none is cached. Rejects with TokenUnavailableError (upstream_unavailable). */
  async getToken(): Promise<string> {
    const now = this.now();
    const token = this.current;
    if (token && now < token.expiresAt) {
      if (now >= token.refreshAt && !this.inFlight && !this.coolingDown(now)) this.fetchInBackground();
      return token.value;
    }
    if (!this.inFlight && this.failure && this.coolingDown(now)) throw this.failure.error;
    return (await this.fetch()).value;
  }

  /** Drops a token Genesys refused (401), unless it has already been replaced. */
  invalidate(token: string): void {
    if (this.current?.value !== token) return;
    this.current = undefined;
    this.options.logger.info({ loginUrl: this.options.loginUrl }, 'Genesys refused the cached OAuth token; fetching a new one');
  }

  state(): TokenState {
    return this.lastState;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private coolingDown(now: number): boolean {
    return this.failure !== undefined && now < this.failure.retryAt;
  }

  private fetchInBackground(): void {
    if (this.closed) return;
    // The outcome is already in the state and the log; the cached token (if any) keeps serving.
    this.fetch().catch(() => undefined);
  }

  private fetch(): Promise<CachedToken> {
    this.inFlight ??= this.fetchWithRetries().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchWithRetries(): Promise<CachedToken> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.requestToken();
      if (outcome.kind === 'issued') return this.accept(outcome.token);
      if (outcome.kind === 'refused') throw this.refused(outcome);
      const delayMs = nextRetryDelayMs(this.retry, attempt, outcome.retryAfterMs);
      if (delayMs === undefined || this.closed) throw this.unreachable(outcome, attempt);
      this.options.logger.warn(
        { loginUrl: this.options.loginUrl, status: outcome.status, reason: outcome.reason, attempt, delayMs: Math.round(delayMs) },
        'OAuth token request failed; retrying',
      );
      await this.sleep(delayMs);
    }
  }

  private async requestToken(): Promise<Attempt> {
    const startedAt = this.now();
    let response;
    try {
      response = await this.options.http.post(this.tokenUrl, 'grant_type=client_credentials', {
        headers: { Authorization: this.basicAuth, 'Content-Type': 'application/x-www-form-urlencoded' },
        validateStatus: () => true,
      });
    } catch (error) {
      const failure = describeTransportFailure(error);
      return { kind: 'transient', reason: failure.timedOut ? 'timed out' : `no answer (${failure.message})`, timedOut: failure.timedOut };
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      const body = tokenResponseSchema.safeParse(response.data);
      if (!body.success) {
        return { kind: 'transient', status, reason: 'the answer has no usable access_token and expires_in', timedOut: false };
      }
      // Lifetime counts from when the request left, so the cached expiry is never later than Genesys's.
      const lifetimeMs = body.data.expires_in * 1000;
      const expiresAt = startedAt + lifetimeMs;
      return { kind: 'issued', token: { value: body.data.access_token, expiresAt, refreshAt: expiresAt - refreshMarginMs(lifetimeMs) } };
    }
    if (status === 429 || status >= 500) {
      return {
        kind: 'transient',
        status,
        reason: `HTTP ${status}`,
        timedOut: status === 504,
        retryAfterMs: retryAfterMs(response.headers, this.now()),
      };
    }
    const oauthError = tokenErrorSchema.safeParse(response.data);
    return { kind: 'refused', status, oauthError: oauthError.success ? oauthError.data.error : undefined };
  }

  private accept(token: CachedToken): CachedToken {
    this.current = token;
    if (this.failure) {
      this.options.logger.info({ loginUrl: this.options.loginUrl }, 'Genesys issues OAuth tokens again');
      this.failure = undefined;
    }
    const expiresAt = new Date(token.expiresAt).toISOString();
    this.options.logger.debug({ loginUrl: this.options.loginUrl, expiresAt }, 'OAuth token obtained');
    this.setState({ ok: true, detail: `OAuth token obtained from ${this.options.loginUrl}; it is replaced before it expires.`, expiresAt });
    this.schedule(token.refreshAt - this.now());
    return token;
  }

  private refused(outcome: Extract<Attempt, { kind: 'refused' }>): TokenUnavailableError {
    const { loginUrl } = this.options;
    const why = outcome.oauthError ? `${outcome.oauthError}, HTTP ${outcome.status}` : `HTTP ${outcome.status}`;
    const detail =
      `Genesys rejected the OAuth client credentials (${why}) at ${loginUrl}. ` +
      'Check GENESYS_CLIENT_ID/GENESYS_CLIENT_SECRET and that GENESYS_REGION is the region the OAuth client was created in: ' +
      'credentials sent to the wrong region answer invalid_client.';
    const log = { loginUrl, status: outcome.status, oauthError: outcome.oauthError };
    // Once per distinct refusal: a re-check that finds the same problem is not news.
    if (this.failure?.detail === detail) this.options.logger.debug(log, detail);
    else this.options.logger.error(log, detail);
    return this.fail(detail, this.recheckAfterMs, {
      status: 503,
      logDetail: { reason: 'oauth_credentials_rejected', ...log },
    });
  }

  private unreachable(outcome: Extract<Attempt, { kind: 'transient' }>, attempts: number): TokenUnavailableError {
    const { loginUrl } = this.options;
    const detail = `Could not obtain an OAuth token from ${loginUrl} (${outcome.reason}, ${attempts} attempt${attempts === 1 ? '' : 's'}); retrying in the background.`;
    this.options.logger.error({ loginUrl, status: outcome.status, reason: outcome.reason, attempts }, detail);
    return this.fail(detail, outcome.retryAfterMs ?? this.retry.maxDelayMs, {
      status: outcome.timedOut ? 504 : 503,
      logDetail: { reason: 'oauth_unreachable', loginUrl, status: outcome.status, attempts },
    });
  }

  private fail(detail: string, waitMs: number, options: { status: number; logDetail: Record<string, unknown> }): TokenUnavailableError {
    const error = new TokenUnavailableError({ ...options, retryAfterSeconds: Math.ceil(waitMs / 1000) });
    const now = this.now();
    this.failure = { error, detail, retryAt: now + waitMs };
    const serving = this.current && now < this.current.expiresAt ? this.current : undefined;
    this.setState(
      serving
        ? { ok: true, detail: `Serving the current OAuth token until ${new Date(serving.expiresAt).toISOString()}, but renewing it failed: ${detail}` }
        : { ok: false, detail },
    );
    this.schedule(waitMs);
    return error;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => this.fetchInBackground(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private setState(state: TokenState): void {
    this.lastState = state;
    this.options.onState?.(state);
  }
}
