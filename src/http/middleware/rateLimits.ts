import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type RateLimitInfo, type Store } from 'express-rate-limit';
import { RedisStore as RedisLimitStore, type RedisReply } from 'rate-limit-redis';
import type { ProcessConfig } from '../../config/schema';
import { AppError } from '../../domain/errors';
import { limitsRefused, type LimitName } from '../../observability/metrics';
import { type RedisStore, sessionKeyOf } from '../../store';
import { guestOf } from './authenticate';
import { clientAddressKey } from './clientAddress';

/**
 * The service's own limits at the HTTP edge, enforced before Genesys has to.
 * The per-session message rate is counted where every frame of the session
 * is seen and paced (src/genesys/guest/desk/requestDesk.ts), Join and typing included.
 * History reads are counted where every reader's are seen
 * (src/genesys/guest/rest/history.ts), stream replays and delivery proofs included.
 * Counters live in Redis when REDIS_URL is set (one count for every
 * instance), else in each instance's memory, which is for one instance.
 * Genesys's own limits (answered as rate_limited too) apply either way.
 */
function limiter(options: {
  windowMs: number;
  limit: number;
  key: (req: Request, res: Response) => string;
  skip?: (req: Request) => boolean;
  what: string;
  /** The `limit` label of its refusals. */
  name: LimitName;
  store?: Store;
}): RequestHandler {
  return rateLimit({
    store: options.store,
    windowMs: options.windowMs,
    limit: options.limit,
    keyGenerator: options.key,
    skip: options.skip,
    standardHeaders: false,
    legacyHeaders: false,
    validate: false,
    handler: (req, _res, next) => {
      limitsRefused.inc({ limit: options.name });
      const resetTime =
        (req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime?.getTime() ??
        Date.now() + options.windowMs;
      next(
        new AppError('rate_limited', `Too many ${options.what}; wait before trying again.`, {
          retryAfterSeconds: Math.max(1, Math.ceil((resetTime - Date.now()) / 1000)),
        }),
      );
    },
  });
}

/**
 * A sign-in (a code or ID token exchanged at Genesys, which asks the site's identity provider) or a
 * sign-out (a revocation). Told by the route the request matched, as its spec spells it: Express
 * matches paths regardless of case and of a trailing slash, so `POST /Guest-Session/` is a session
 * start too, and must not slip past the limit.
 */
const signsIn = (req: Request) => {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  if (route === '/guest-session/sign-in' || route === '/guest-session/sign-out') return true;
  return route === '/guest-session' && (req.body as { auth?: unknown } | undefined)?.auth !== undefined;
};

/** A new conversation (startNew) or an end (DELETE): each costs Genesys a conversation or a socket. */
const changesConversation = (req: Request) =>
  req.method === 'DELETE' || (req.body as { startNew?: unknown } | undefined)?.startNew === true;

/** One counter store per limiter (each has its own window), in Redis under the service's key prefix. */
function redisLimitStore(redis: RedisStore | undefined, name: string): Store | undefined {
  if (!redis) return undefined;
  return new RedisLimitStore({
    prefix: `${redis.prefix}limit:${name}:`,
    sendCommand: (command: string, ...args: string[]) => redis.command(command, ...args) as Promise<RedisReply>,
  });
}

/**
 * The process's rate limits, built once and shared by every deployment's routes: a per-address limit counts the
 * client's requests whichever deployment each is for, and a per-session one its session's (a session is of one
 * deployment).
 */
export function rateLimits(limits: ProcessConfig['limits'], redis?: RedisStore) {
  /**
   * The client's address as every per-address limit counts it (clientAddress.ts). Express has none
   * only for a socket already gone; such requests share one count.
   */
  const byAddress = (req: Request) => clientAddressKey(req.ip ?? 'unknown', limits.ipv6PrefixLength);
  return {
    /** The client's address as the limits count it, for the caps the routes hold (streams, uploads). */
    clientAddress: byAddress,
    /** New sessions per client IP per minute (resumes are not counted). */
    newSessions: limiter({
      windowMs: 60_000,
      limit: limits.sessionsPerIpPerMinute,
      key: byAddress,
      skip: (req) => req.headers.authorization !== undefined,
      what: 'new chat sessions from this address',
      name: 'sessions_per_ip',
      store: redisLimitStore(redis, 'sessions-per-ip'),
    }),
    /** New conversations and ends per client IP per minute. */
    conversationChangesPerIp: limiter({
      windowMs: 60_000,
      limit: limits.conversationChangesPerIpPerMinute,
      key: byAddress,
      skip: (req) => !changesConversation(req),
      what: 'new or ended conversations from this address',
      name: 'conversation_changes_per_ip',
      store: redisLimitStore(redis, 'conversation-changes-per-ip'),
    }),
    /** New conversations and ends per session per minute (after authentication). */
    conversationChangesPerSession: limiter({
      windowMs: 60_000,
      limit: limits.conversationChangesPerSessionPerMinute,
      key: (_req, res) => sessionKeyOf(guestOf(res).guestToken),
      // Without a session token there is no session to count (POST /guest-session refuses a bare startNew itself).
      skip: (req) => !changesConversation(req) || req.headers.authorization === undefined,
      what: 'new or ended conversations in this session',
      name: 'conversation_changes_per_session',
      store: redisLimitStore(redis, 'conversation-changes-per-session'),
    }),
    /**
     * Sign-in and sign-out attempts per client IP per minute,
     * counted whether or not they succeed: before Genesys is asked.
     */
    signInsPerIp: limiter({
      windowMs: 60_000,
      limit: limits.signInsPerIpPerMinute,
      key: byAddress,
      skip: (req) => !signsIn(req),
      what: 'sign-in or sign-out attempts from this address',
      name: 'sign_ins_per_ip',
      store: redisLimitStore(redis, 'sign-ins-per-ip'),
    }),
    /** Sign-in and sign-out attempts per session per minute (after authentication). */
    signInsPerSession: limiter({
      windowMs: 60_000,
      limit: limits.signInsPerSessionPerMinute,
      key: (_req, res) => sessionKeyOf(guestOf(res).guestToken),
      skip: (req) => !signsIn(req) || req.headers.authorization === undefined,
      what: 'sign-in or sign-out attempts in this session',
      name: 'sign_ins_per_session',
      store: redisLimitStore(redis, 'sign-ins-per-session'),
    }),
    /** PUT and PATCH /guest-attributes per client IP per minute: each one seals a new token. */
    attributeWritesPerIp: limiter({
      windowMs: 60_000,
      limit: limits.attributeWritesPerIpPerMinute,
      key: byAddress,
      what: 'attribute changes from this address',
      name: 'attribute_writes_per_ip',
      store: redisLimitStore(redis, 'attribute-writes-per-ip'),
    }),
    /** PUT and PATCH /guest-attributes per session per minute (after authentication). */
    attributeWritesPerSession: limiter({
      windowMs: 60_000,
      limit: limits.attributeWritesPerSessionPerMinute,
      key: (_req, res) => sessionKeyOf(guestOf(res).guestToken),
      what: 'attribute changes in this session',
      name: 'attribute_writes_per_session',
      store: redisLimitStore(redis, 'attribute-writes-per-session'),
    }),
    /** GET /availability per client IP per minute. */
    availabilityReadsPerIp: limiter({
      windowMs: 60_000,
      limit: limits.availabilityReadsPerIpPerMinute,
      key: byAddress,
      what: 'availability reads from this address',
      name: 'availability_reads_per_ip',
      store: redisLimitStore(redis, 'availability-reads-per-ip'),
    }),
  };
}
