import { PerMinute, strictMessage } from './profile';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Faults, RestFault, RestFaultTarget } from './faults';
import { errorBody, rateLimitedBody } from './platformErrors';
import { TokenRateLimit } from './platformAccess';
import type { GuestJwtIssuer } from './jwt';
import type { ResolvedOptions } from './options';
import type { Recorder, RestTarget } from './recorder';
import type { Sessions } from './sessions';
import type { SimulatedSignIn } from './signIn';
import { SimulatedAvailability } from './availability';

/**
 * The HTTP side of the simulated org, one server for every host role:
 * login (`POST /oauth/token`), api (`/api/v2/...`) and api-cdn
 * (`/webdeployments/v1/...`). Shapes from the docs/genesys-protocol.md#oauth-client-credentials and the
 * docs/genesys-protocol.md#history-rest.
 */

interface RestDeps {
  options: ResolvedOptions;
  recorder: Recorder;
  faults: Faults;
  sessions: Sessions;
  jwt: GuestJwtIssuer;
  /** Authenticated messaging's token endpoints (signIn.ts). */
  signIn: SimulatedSignIn;
  /** The availability endpoints' state (availability.ts). */
  availability: SimulatedAvailability;
  /** http://host:port and ws://host:port once listening. */
  baseUrls(): { http: string; ws: string };
}

const MAX_BODY_BYTES = 1024 * 1024;
const CONFIGURATION_ID = '9e3f6b1c-4d2a-4e8f-b7a5-1c0d2e3f4a5b';
const FLOW_ID = '2c8a4f1e-6b3d-4a9c-8e7f-0d1b2c3a4e5f';

/** docs/genesys-protocol.md#oauth-client-credentials, the body seen in the wild for bad client credentials. */
const INVALID_CLIENT = {
  error: 'invalid_client',
  description: 'authentication failed',
  error_description: 'authentication failed',
};

/** Guess: api-cdn is S3 behind CloudFront, which answers an unknown key with this XML (only the 403 and `*` CORS are observed, docs/genesys-protocol.md#deployment-configuration-configjson). */
const CDN_ACCESS_DENIED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';

const SIGN_IN_PATHS: Record<string, RestTarget | undefined> = {
  'POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange': 'signInExchange',
  'POST /api/v2/webdeployments/token/refresh': 'signInRefresh',
  'DELETE /api/v2/webdeployments/token/revoke': 'signInRevoke',
};

/** The Platform API reads made with the OAuth client's token, each counted against its budget under the strict profile. */
const TOKEN_TARGETS = new Set<RestTarget>([
  'deployment',
  'estimatedWait',
  'queueObservations',
  'scheduleGroup',
  'schedule',
  'emergencyGroup',
]);

const DEPLOYMENT_PATH = /^\/api\/v2\/webdeployments\/deployments\/([^/]+)$/;
const CDN_PATH = /^\/webdeployments\/v1\/deployments\/([^/]+)\/(config|domains)\.json$/;

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

function bearer(req: IncomingMessage): string | undefined {
  const match = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const isText = typeof reply.body === 'string';
  const payload = reply.body === undefined ? '' : isText ? (reply.body as string) : JSON.stringify(reply.body);
  const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(payload) };
  if (reply.body !== undefined) headers['content-type'] = isText ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(reply.status, { ...headers, ...reply.headers });
  res.end(payload);
}

export class PlatformRest {
  /** Issued OAuth access tokens → expiry (ms). */
  private readonly accessTokens = new Map<string, number>();
  private readonly createdAt = new Date().toISOString();
  /** The OAuth client was revoked in Genesys: its tokens answer 401 and it gets no new one. */
  private clientRevoked = false;

  private readonly historyReads: PerMinute;
  private readonly tokenRequests: TokenRateLimit;

  constructor(private readonly deps: RestDeps) {
    const { options } = deps;
    this.historyReads = new PerMinute(options.historyReadsPerMinute, options.clock);
    this.tokenRequests = new TokenRateLimit(
      () => options.platformRequestsPerMinute,
      () => options.clock(),
    );
  }

  /** Forgets issued access tokens (simulator reset). */
  reset(): void {
    this.clientRevoked = false;
    this.historyReads.reset();
    this.tokenRequests.reset();
    this.accessTokens.clear();
  }

  /** An admin deleted the OAuth client: the tokens it holds stop working, and a new one is refused, until reset. */
  revokeClient(): void {
    this.clientRevoked = true;
    this.accessTokens.clear();
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.serve(req, res).catch(() => send(res, { status: 500, body: errorBody(500, randomUUID()) }));
  };

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = req.method ?? 'GET';
    const target = this.route(method, url.pathname);
    const body = await readBody(req);
    this.deps.recorder.request({
      at: Date.now(),
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      target,
    });

    const correlationId = randomUUID();
    // Platform responses carry the correlation id (docs/genesys-protocol.md#errors-and-retries); the CDN's do not.
    const platform = target !== 'config' && target !== 'domains';
    const headers: Record<string, string> = platform
      ? { 'inin-correlation-id': correlationId }
      : { 'access-control-allow-origin': '*' };

    const availability = SimulatedAvailability.route(method, url.pathname);
    if (availability) this.deps.availability.count(availability);
    const spent = this.takeBudget(req, target, headers);
    if (spent !== undefined) {
      const body = rateLimitedBody(spent, correlationId);
      return send(res, { status: 429, headers: { ...headers, 'retry-after': String(spent) }, body });
    }
    if (target !== undefined && target !== 'domains') {
      await this.deps.faults.waitForRestHold(target);
      const delay = this.deps.faults.takeRestDelay(target);
      const fault = this.deps.faults.takeRestFault(target);
      const wait = delay + (fault?.delayMs ?? 0);
      if (wait > 0) await sleep(wait, undefined, { ref: false });
      if (fault) return send(res, this.faultReply(target, fault, correlationId, headers));
    }

    let reply: Reply;
    switch (target) {
      case 'token':
        reply = this.token(req, body);
        break;
      case 'deployment':
        reply = this.deployment(req, url.pathname, correlationId);
        break;
      case 'config':
      case 'domains':
        reply = this.cdn(url.pathname);
        break;
      case 'history':
        reply = await this.history(req, url, correlationId);
        break;
      case 'signInExchange':
        reply = await this.deps.signIn.exchange(body);
        break;
      case 'signInRefresh':
        reply = await this.deps.signIn.refresh(body);
        break;
      case 'signInRevoke':
        reply = await this.deps.signIn.revoke(req);
        break;
      case 'estimatedWait':
      case 'queueObservations':
      case 'scheduleGroup':
      case 'schedule':
      case 'emergencyGroup':
        reply =
          this.checkAccessToken(req, correlationId) ??
          this.deps.availability.answer(target, url.pathname, body, correlationId);
        break;
      default:
        reply = { status: 404, body: errorBody(404, correlationId) };
    }
    send(res, { ...reply, headers: { ...headers, ...reply.headers } });
  }

  /**
   * Strict: counts a Platform read against its token's budget and adds the `inin-ratelimit-*` headers Genesys puts
   * on every answer (docs/genesys-protocol.md#errors-and-retries); the seconds to wait when the budget is spent.
   * A request without a valid token is left to the endpoint's 401.
   */
  private takeBudget(
    req: IncomingMessage,
    target: RestTarget | undefined,
    headers: Record<string, string>,
  ): number | undefined {
    if (this.deps.options.profile !== 'strict' || target === undefined || !TOKEN_TARGETS.has(target)) return undefined;
    const token = bearer(req);
    const expiresAt = token === undefined ? undefined : this.accessTokens.get(token);
    if (token === undefined || expiresAt === undefined || expiresAt <= Date.now()) return undefined;
    const budget = this.tokenRequests.take(token);
    Object.assign(headers, budget.headers);
    return budget.retryAfterSeconds;
  }

  private route(method: string, path: string): RestTarget | undefined {
    if (method === 'POST' && path === '/oauth/token') return 'token';
    const signIn = SIGN_IN_PATHS[`${method} ${path}`];
    if (signIn) return signIn;
    const availability = SimulatedAvailability.route(method, path);
    if (availability) return availability;
    if (method !== 'GET') return undefined;
    if (path === '/api/v2/webmessaging/messages') return 'history';
    if (DEPLOYMENT_PATH.test(path)) return 'deployment';
    const cdn = CDN_PATH.exec(path);
    if (cdn) return cdn[2] === 'config' ? 'config' : 'domains';
    return undefined;
  }

  private faultReply(
    target: RestFaultTarget,
    fault: RestFault,
    correlationId: string,
    headers: Record<string, string>,
  ): Reply {
    const extra: Record<string, string> =
      fault.status === 429 && !fault.headers?.['retry-after'] ? { 'retry-after': '3' } : {};
    let body = fault.body;
    if (body === undefined) {
      if (target === 'token' && fault.status === 401) body = INVALID_CLIENT;
      else if (target === 'config' && fault.status === 403) body = CDN_ACCESS_DENIED;
      else body = errorBody(fault.status, correlationId);
    }
    const type: Record<string, string> =
      typeof body === 'string' && body.startsWith('<?xml') ? { 'content-type': 'application/xml' } : {};
    return { status: fault.status, body, headers: { ...headers, ...extra, ...type, ...fault.headers } };
  }

  /**
   * docs/genesys-protocol.md#oauth-client-credentials: Basic client auth, form body
   * `grant_type=client_credentials`, no refresh token. Any Content-Type is
   * accepted because the JS SDK leaves it to axios.
   */
  private token(req: IncomingMessage, body: string): Reply {
    const { clientId, clientSecret, tokenExpiresIn } = this.deps.options;
    const basic = /^basic\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const expected = Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
    if (basic !== expected || this.clientRevoked) return { status: 401, body: INVALID_CLIENT };
    const grant = new URLSearchParams(body).get('grant_type');
    if (grant !== 'client_credentials') {
      const description = `grant type ${grant ?? '(none)'} is not supported`;
      return { status: 400, body: { error: 'unsupported_grant_type', description, error_description: description } };
    }
    const accessToken = randomBytes(48).toString('base64url');
    this.accessTokens.set(accessToken, Date.now() + tokenExpiresIn * 1000);
    return { status: 200, body: { access_token: accessToken, token_type: 'bearer', expires_in: tokenExpiresIn } };
  }

  /** 401 ErrorBody for a missing, unknown or expired access token (docs/genesys-protocol.md#errors-and-retries). */
  private checkAccessToken(req: IncomingMessage, correlationId: string): Reply | undefined {
    const token = bearer(req);
    if (token === undefined) {
      return {
        status: 401,
        body: errorBody(401, correlationId, {
          code: 'authentication.required',
          message: 'No authentication bearer token specified in authorization header.',
        }),
      };
    }
    const expiresAt = this.accessTokens.get(token);
    if (expiresAt !== undefined && expiresAt > Date.now()) return undefined;
    if (expiresAt !== undefined) this.accessTokens.delete(token);
    return { status: 401, body: errorBody(401, correlationId) };
  }

  /** docs/genesys-protocol.md#web-deployments, the WebDeployment model. */
  private deployment(req: IncomingMessage, path: string, correlationId: string): Reply {
    const denied = this.checkAccessToken(req, correlationId);
    if (denied) return denied;
    const id = decodeURIComponent(DEPLOYMENT_PATH.exec(path)![1]!);
    const { options } = this.deps;
    if (id !== options.deploymentId) return { status: 404, body: errorBody(404, correlationId) };
    return {
      status: 200,
      body: {
        id,
        name: 'Simulator deployment',
        description: 'A local Genesys Cloud simulator deployment',
        allowAllDomains: options.allowAllDomains,
        allowedDomains: options.allowAllDomains ? [] : options.allowedDomains,
        status: 'Active',
        configuration: {
          id: CONFIGURATION_ID,
          name: 'Simulator configuration',
          version: '1',
          selfUri: `/api/v2/webdeployments/configurations/${CONFIGURATION_ID}`,
        },
        flow: { id: FLOW_ID, name: 'Simulator inbound message flow', selfUri: `/api/v2/flows/${FLOW_ID}` },
        dateCreated: this.createdAt,
        dateModified: this.createdAt,
        selfUri: `/api/v2/webdeployments/deployments/${id}`,
      },
    };
  }

  /** docs/genesys-protocol.md#deployment-configuration-configjson config.json and the `domains.json` sibling; 403 for an unknown id as api-cdn does (docs/genesys-protocol.md#deployment-configuration-configjson). */
  private cdn(path: string): Reply {
    const [, rawId, file] = CDN_PATH.exec(path)!;
    const { options } = this.deps;
    if (decodeURIComponent(rawId!) !== options.deploymentId) {
      return { status: 403, body: CDN_ACCESS_DENIED, headers: { 'content-type': 'application/xml' } };
    }
    if (file === 'domains') {
      return {
        status: 200,
        body: {
          allowAllDomains: options.allowAllDomains,
          allowedDomains: options.allowAllDomains ? [] : options.allowedDomains,
        },
      };
    }
    const { http, ws } = this.deps.baseUrls();
    return {
      status: 200,
      body: {
        id: options.deploymentId,
        version: '1',
        languages: options.languages,
        defaultLanguage: options.defaultLanguage,
        apiEndpoint: http,
        messenger: {
          enabled: true,
          apps: {
            conversations: {
              messagingEndpoint: ws,
              showAgentTypingIndicator: true,
              showUserTypingIndicator: options.showUserTypingIndicator,
              autoStart: { enabled: options.autoStart },
              conversationDisconnect: { enabled: true, type: 'ReadOnly' },
              conversationClear: { enabled: options.conversationClear },
              notifications: { enabled: false },
              markdown: { enabled: true },
              humanize: { enabled: false },
              sessionDurationSeconds: options.sessionDurationSeconds,
            },
          },
          styles: { primaryColor: '#ff4f1f' },
          launcherButton: { visibility: 'On' },
          fileUpload: {
            ...(options.enableAttachments !== 'absent' ? { enableAttachments: options.enableAttachments } : {}),
            modes: options.fileUploadModes,
          },
        },
        journeyEvents: { enabled: false },
        status: 'Active',
        auth: { enabled: options.authEnabled, allowSessionUpgrade: options.allowSessionUpgrade },
      },
    };
  }

  /**
   * docs/genesys-protocol.md#history-rest: `bearer <jwt from getJwt>` (scheme case-insensitive),
   * the session's messages newest first, paged. The order is inferred in the
   * reference; the empty answer copies the [MT-test] fixture (pageSize 0).
   * The 10-reads-a-minute limit is enforced by the strict profile only. pageSize above 100 is
   * refused (guess: the real maximum is not in the sources).
   */
  private async history(req: IncomingMessage, url: URL, correlationId: string): Promise<Reply> {
    const jwt = bearer(req);
    if (jwt === undefined) {
      return {
        status: 401,
        body: errorBody(401, correlationId, {
          code: 'authentication.required',
          message: 'No authentication bearer token specified in authorization header.',
        }),
      };
    }
    const sid = await this.deps.jwt.verify(jwt);
    if (sid === undefined) return { status: 401, body: errorBody(401, correlationId) };

    const pageNumber = Number(url.searchParams.get('pageNumber') ?? '1');
    const pageSize = Number(url.searchParams.get('pageSize') ?? '25');
    if (
      !Number.isInteger(pageNumber) ||
      pageNumber < 1 ||
      !Number.isInteger(pageSize) ||
      pageSize < 1 ||
      pageSize > 100
    ) {
      return { status: 400, body: errorBody(400, correlationId) };
    }
    const strict = this.deps.options.profile === 'strict';
    const wait = strict ? this.historyReads.take(sid) : 0;
    if (wait > 0) return { status: 429, headers: { 'retry-after': String(wait) }, body: errorBody(429, correlationId) };
    const messages = this.deps.sessions.getBySid(sid)?.conversation.messages ?? [];
    const total = messages.length;
    if (total === 0) return { status: 200, body: { entities: [], pageSize: 0, pageNumber: 1, total: 0, pageCount: 0 } };
    const end = total - (pageNumber - 1) * pageSize;
    const page = end > 0 ? messages.slice(Math.max(0, end - pageSize), end).reverse() : [];
    const entities = strict ? page.map((m, i) => strictMessage(m, true, i)) : page;
    return { status: 200, body: { entities, pageSize, pageNumber, total, pageCount: Math.ceil(total / pageSize) } };
  }
}
