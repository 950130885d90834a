import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { SettingNames } from '../../config/deployment';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../observability/logger';
import { oauthTokenRefreshes } from '../../observability/metrics';
import { DependencyState, type CheckState } from '../../observability/readiness';
import {
  DEFAULT_RETRY_POLICY,
  describeTransportFailure,
  nextRetryDelayMs,
  realSleep,
  retryAfterMs,
  type RetryPolicy,
} from '../restClient';
import { RefreshingValue } from './refreshingValue';

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
  /** The deployment's settings as its messages name them. */
  named: Pick<SettingNames, 'credentials' | 'region'>;
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
  constructor(
    /** How long before Genesys is asked again; callers fail fast meanwhile. */
    readonly retryInMs: number,
    options: { status: number; logDetail: Record<string, unknown> },
  ) {
    super('upstream_unavailable', 'Genesys Cloud is not available to this service right now; please retry shortly.', {
      ...options,
      retryAfterSeconds: Math.ceil(retryInMs / 1000),
    });
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

const basicAuthOf = ({ clientId, clientSecret }: { clientId: string; clientSecret: string }) =>
  `Basic ${Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64')}`;

export class TokenCache {
  private readonly tokenUrl: string;
  private basicAuth: string;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retry: RetryPolicy;
  private readonly recheckAfterMs: number;
  private readonly tokens: RefreshingValue<CachedToken>;
  private readonly check: DependencyState<TokenState>;
  private closed = false;

  constructor(private readonly options: TokenCacheOptions) {
    this.tokenUrl = `${options.loginUrl}/oauth/token`;
    this.basicAuth = basicAuthOf(options);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? realSleep;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.recheckAfterMs = options.recheckAfterMs ?? DEFAULT_RECHECK_AFTER_MS;
    this.check = new DependencyState({
      initial: { ok: false, detail: `Fetching the first OAuth token from ${options.loginUrl}.` },
      logger: options.logger,
      logFields: { loginUrl: options.loginUrl },
      onState: options.onState,
    });
    this.tokens = new RefreshingValue({
      load: () => this.fetchWithRetries(),
      // The token says when it is replaced and when it expires.
      lifetime: (token) => token,
      retryMs: (error) => (error instanceof TokenUnavailableError ? error.retryInMs : this.retry.maxDelayMs),
      now: this.now,
      onLoaded: (token) => this.issued(token),
    });
  }

  /**
   * A valid access token; waits only when none is cached. Rejects with TokenUnavailableError (upstream_unavailable).
   */
  async getToken(): Promise<string> {
    return (await this.tokens.get()).value;
  }

  /**
   * New client credentials (a rotated secret): the cached token is dropped, so the next call fetches one with them
   * and a secret Genesys no longer takes shows at once in readiness, not when the old token runs out.
   */
  rotate(credentials: { clientId: string; clientSecret: string }): void {
    this.basicAuth = basicAuthOf(credentials);
    this.tokens.reset();
    const { loginUrl } = this.options;
    this.options.logger.info({ loginUrl }, 'OAuth client credentials replaced; fetching a token');
    this.getToken().catch(() => undefined);
  }

  /** Drops a token Genesys refused (401), unless it has already been replaced. */
  invalidate(token: string): void {
    if (this.tokens.peek()?.value !== token) return;
    this.tokens.discard();
    this.options.logger.info(
      { loginUrl: this.options.loginUrl },
      'Genesys refused the cached OAuth token; fetching a new one',
    );
  }

  state(): TokenState {
    return this.check.current;
  }

  close(): void {
    this.closed = true;
    this.tokens.close();
  }

  private async fetchWithRetries(): Promise<CachedToken> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.requestToken();
      if (outcome.kind === 'issued') return outcome.token;
      if (outcome.kind === 'refused') throw this.refused(outcome);
      const delayMs = nextRetryDelayMs(this.retry, attempt, outcome.retryAfterMs);
      if (delayMs === undefined || this.closed) throw this.unreachable(outcome, attempt);
      this.options.logger.warn(
        {
          loginUrl: this.options.loginUrl,
          status: outcome.status,
          reason: outcome.reason,
          attempt,
          delayMs: Math.round(delayMs),
        },
        'OAuth token request failed; retrying',
      );
      await this.sleep(delayMs);
    }
  }

  /** One token request, counted by its result. */
  private async requestToken(): Promise<Attempt> {
    const attempt = await this.askForToken();
    oauthTokenRefreshes.inc({
      result: attempt.kind === 'issued' ? 'success' : attempt.kind === 'refused' ? 'refused' : 'failed',
    });
    return attempt;
  }

  private async askForToken(): Promise<Attempt> {
    const startedAt = this.now();
    let response;
    try {
      response = await this.options.http.post(this.tokenUrl, 'grant_type=client_credentials', {
        headers: { Authorization: this.basicAuth, 'Content-Type': 'application/x-www-form-urlencoded' },
        validateStatus: () => true,
      });
    } catch (error) {
      const failure = describeTransportFailure(error);
      return {
        kind: 'transient',
        reason: failure.timedOut ? 'timed out' : `no answer (${failure.message})`,
        timedOut: failure.timedOut,
      };
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      const body = tokenResponseSchema.safeParse(response.data);
      if (!body.success) {
        return {
          kind: 'transient',
          status,
          reason: 'the answer has no usable access_token and expires_in',
          timedOut: false,
        };
      }
      // Lifetime counts from when the request left, so the cached expiry is never later than Genesys's.
      const lifetimeMs = body.data.expires_in * 1000;
      const expiresAt = startedAt + lifetimeMs;
      return {
        kind: 'issued',
        token: { value: body.data.access_token, expiresAt, refreshAt: expiresAt - refreshMarginMs(lifetimeMs) },
      };
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

  private issued(token: CachedToken): void {
    const expiresAt = new Date(token.expiresAt).toISOString();
    this.options.logger.debug({ loginUrl: this.options.loginUrl, expiresAt }, 'OAuth token obtained');
    this.check.set({
      ok: true,
      detail: `OAuth token obtained from ${this.options.loginUrl}; it is replaced before it expires.`,
      expiresAt,
    });
  }

  private refused(outcome: Extract<Attempt, { kind: 'refused' }>): TokenUnavailableError {
    const { loginUrl } = this.options;
    const why = outcome.oauthError ? `${outcome.oauthError}, HTTP ${outcome.status}` : `HTTP ${outcome.status}`;
    const detail =
      `Genesys rejected the OAuth client credentials (${why}) at ${loginUrl}. ` +
      `Check ${this.options.named.credentials}, and that ${this.options.named.region} is the region ` +
      'the OAuth client was created in: credentials sent to the wrong region answer invalid_client.';
    const fields = { status: outcome.status, oauthError: outcome.oauthError };
    this.failed(detail, fields);
    return new TokenUnavailableError(this.recheckAfterMs, {
      status: 503,
      logDetail: { reason: 'oauth_credentials_rejected', loginUrl, ...fields },
    });
  }

  private unreachable(outcome: Extract<Attempt, { kind: 'transient' }>, attempts: number): TokenUnavailableError {
    const { loginUrl } = this.options;
    const detail =
      `Could not obtain an OAuth token from ${loginUrl} (${outcome.reason}, ` +
      `${attempts} attempt${attempts === 1 ? '' : 's'}); retrying in the background.`;
    this.failed(detail, { status: outcome.status, reason: outcome.reason, attempts });
    return new TokenUnavailableError(outcome.retryAfterMs ?? this.retry.maxDelayMs, {
      status: outcome.timedOut ? 504 : 503,
      logDetail: { reason: 'oauth_unreachable', loginUrl, status: outcome.status, attempts },
    });
  }

  /** Reports a failed fetch (logged once while it stays the same); a token still valid keeps the check ok. */
  private failed(detail: string, fields: Record<string, unknown>): void {
    const token = this.tokens.peek();
    const serving = token && this.now() < token.expiresAt ? token : undefined;
    this.check.set(
      serving
        ? {
            ok: true,
            detail:
              `Serving the current OAuth token until ${new Date(serving.expiresAt).toISOString()}, ` +
              `but renewing it failed: ${detail}`,
          }
        : { ok: false, detail },
      { level: 'error', fields },
    );
  }
}
