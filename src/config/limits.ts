import os from 'node:os';
import { z } from 'zod';
import { doc, intFrom, text, type LimitScope } from './envValues';

/**
 * The limits the service enforces itself (docs/api.md#limits-the-service-enforces):
 * their environment variables, what each is for, and what they become in the configuration.
 */

const SIGN_IN_ATTEMPTS =
  'Counts `POST /guest-session/sign-in`, `/sign-out`, and `POST /guest-session` with `auth`; past the limit, `429` ' +
  'before Genesys (and your identity provider) is asked.';

const limit = (summary: string, details?: string) => ({ summary, details });

/**
 * A limit that is a whole number: its default and bounds, where it holds (the whole instance, each client address,
 * each session, each request; `-shared` where Redis counts it across every instance), and what it is for.
 */
interface WholeLimit {
  holds: LimitScope;
  fallback: number;
  min: number;
  max: number;
  summary: string;
  details?: string;
}

/** Every limit that is a whole number, each declared once: its variable's name is its key here. */
const WHOLE_LIMITS = {
  BODY_LIMIT_BYTES: {
    holds: 'request',
    fallback: 32 * 1024,
    min: 1024,
    max: 1024 * 1024,
    ...limit('Largest accepted JSON body, in bytes; a larger one is refused with `413`.'),
  },
  SESSIONS_PER_IP_PER_MINUTE: {
    holds: 'address-shared',
    fallback: 30,
    min: 1,
    max: 100_000,
    ...limit('New guest sessions allowed per client IP per minute.'),
  },
  GUEST_SOCKET_IDLE_SECONDS: {
    holds: 'session',
    fallback: 120,
    min: 1,
    max: 3600,
    ...limit('How long an idle guest WebSocket to Genesys stays open, in seconds.'),
  },
  GUEST_SOCKET_MAX: {
    holds: 'instance',
    fallback: 10_000,
    min: 1,
    max: 1_000_000,
    ...limit(
      'Most guest WebSockets one instance keeps open.',
      'A true ceiling: idle ones make room; when all are busy a new chat gets `503`.',
    ),
  },
  NOTIFY_SOCKETS_MAX: {
    holds: 'instance',
    fallback: 1000,
    min: 0,
    max: 1_000_000,
    ...limit(
      'Most guest WebSockets one instance keeps open to watch chats nobody is looking at (Web Push).',
      "Counted apart from `GUEST_SOCKET_MAX`: a watched chat never takes a live chat's place. Past it, a chat " +
        'is watched by reading its newest history page (`NOTIFY_POLL_SECONDS`, `NOTIFY_HISTORY_READS_PER_SECOND`); ' +
        '`0` watches every chat that way.',
    ),
  },
  NOTIFY_HISTORY_READS_PER_SECOND: {
    holds: 'instance',
    fallback: 5,
    min: 1,
    max: 1000,
    ...limit(
      'Most history reads a second one instance makes to watch chats past `NOTIFY_SOCKETS_MAX`, all chats and ' +
        'deployments together.',
      "Genesys's budget for them beyond 10 a minute per session is not published: set it inside what your org " +
        'may spend. Chats take their turns in order, so with many of them each is read less often than ' +
        '`NOTIFY_POLL_MAX_SECONDS`.',
    ),
  },
  NOTIFY_POLL_SECONDS: {
    holds: 'instance',
    fallback: 15,
    min: 1,
    max: 3600,
    ...limit(
      "How soon a chat watched by history reads is read again after a reply, in seconds: the watch's quickest pace.",
      'Each read that finds nothing new doubles the wait, up to `NOTIFY_POLL_MAX_SECONDS`; a `429` waits its ' +
        "`Retry-After` at least. Reads also stay inside half the session's 10 history reads a minute.",
    ),
  },
  NOTIFY_POLL_MAX_SECONDS: {
    holds: 'instance',
    fallback: 300,
    min: 1,
    max: 86_400,
    ...limit(
      'The longest a chat watched by history reads waits between two reads while nothing new arrives, in seconds.',
      'Taken as at least `NOTIFY_POLL_SECONDS`.',
    ),
  },
  SOCKET_OPENS_PER_SESSION_PER_MINUTE: {
    holds: 'session-shared',
    fallback: 12,
    min: 1,
    max: 1000,
    ...limit(
      'New guest WebSockets one session may open a minute, reconnects included; with Redis, on all instances together.',
    ),
  },
  STREAMS_PER_SESSION: {
    holds: 'session',
    fallback: 3,
    min: 1,
    max: 100,
    ...limit('Live streams one session may hold open at once.'),
  },
  STREAMS_PER_IP: {
    holds: 'address',
    fallback: 30,
    min: 1,
    max: 100_000,
    ...limit('Live streams one client IP may hold open at once.'),
  },
  CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: {
    holds: 'session-shared',
    fallback: 6,
    min: 1,
    max: 1000,
    ...limit('New conversations (`startNew`) and ends (`DELETE /guest-session`) per session per minute.'),
  },
  CONVERSATION_CHANGES_PER_IP_PER_MINUTE: {
    holds: 'address-shared',
    fallback: 30,
    min: 1,
    max: 100_000,
    ...limit('New conversations (`startNew`) and ends (`DELETE /guest-session`) per client IP per minute.'),
  },
  UPLOADS_MAX: {
    holds: 'instance',
    fallback: 32,
    min: 1,
    max: 10_000,
    ...limit(
      'File uploads (`POST /attachments`) one instance runs at once; past it, `429` with `Retry-After`.',
      'Each holds a spooled file and a Genesys upload.',
    ),
  },
  UPLOADS_PER_IP: {
    holds: 'address',
    fallback: 4,
    min: 1,
    max: 10_000,
    ...limit(
      'File uploads one client IP runs at once, so one client cannot take every slot; past it, `429` with ' +
        '`Retry-After`.',
      "Behind a proxy, set `TRUST_PROXY` so that the IP is the client's.",
    ),
  },
  UPLOAD_MIN_BYTES_PER_SECOND: {
    holds: 'request',
    fallback: 2048,
    min: 0,
    max: 100_000_000,
    ...limit(
      "The slowest an upload's body may arrive, in bytes a second over each window; `0` turns the check off.",
      'Fewer bytes than this rate over any window (`UPLOAD_RATE_WINDOW_SECONDS`) and the upload is cut off with ' +
        '`408 upload_too_slow`, its file removed and its slot freed, so a client dripping bytes cannot hold a slot.',
    ),
  },
  UPLOAD_RATE_WINDOW_SECONDS: {
    holds: 'request',
    fallback: 15,
    min: 1,
    max: 600,
    ...limit('The window UPLOAD_MIN_BYTES_PER_SECOND is judged over, in seconds.'),
  },
  SIGN_INS_PER_SESSION_PER_MINUTE: {
    holds: 'session-shared',
    fallback: 5,
    min: 1,
    max: 1000,
    ...limit('Sign-in and sign-out attempts per session per minute, failed ones included.', SIGN_IN_ATTEMPTS),
  },
  SIGN_INS_PER_IP_PER_MINUTE: {
    holds: 'address-shared',
    fallback: 30,
    min: 1,
    max: 100_000,
    ...limit(
      'Sign-in and sign-out attempts (and new signed-in sessions) per client IP per minute, failed ones included.',
      SIGN_IN_ATTEMPTS,
    ),
  },
  ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE: {
    holds: 'session-shared',
    fallback: 60,
    min: 1,
    max: 10_000,
    ...limit('`PUT` and `PATCH /guest-attributes` per session per minute.'),
  },
  ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: {
    holds: 'address-shared',
    fallback: 600,
    min: 1,
    max: 1_000_000,
    ...limit('`PUT` and `PATCH /guest-attributes` per client IP per minute.'),
  },
  AVAILABILITY_READS_PER_IP_PER_MINUTE: {
    holds: 'address-shared',
    fallback: 120,
    min: 1,
    max: 1_000_000,
    ...limit(
      '`GET /availability` per client IP per minute.',
      'Each is answered from the shared answer, never from Genesys, so this only bounds the work of one client.',
    ),
  },
  CONNECTIONS_PER_IP: {
    holds: 'address',
    fallback: 256,
    min: 1,
    max: 1_000_000,
    ...limit(
      'Open client connections per client address; the next gets a `429` and is closed.',
      'A connection from a proxy `TRUST_PROXY` trusts is not counted; instead each client it forwards for ' +
        '(`X-Forwarded-For`) may have this many requests in flight, a live stream holding one, and the next ' +
        'request gets a `429` on a connection left open.',
    ),
  },
  IPV6_PREFIX_LENGTH: {
    holds: 'address',
    fallback: 56,
    min: 1,
    max: 128,
    ...limit(
      'How many leading bits of an IPv6 client address name one client, for every per-address limit and cap.',
      'The rate limits, `STREAMS_PER_IP`, `UPLOADS_PER_IP` and `CONNECTIONS_PER_IP` count an IPv6 client by this ' +
        'prefix (an IPv4 client by its address), since one subscriber is given a /56 or a /64 and may use any ' +
        'address in it. `128` counts each IPv6 address apart.',
    ),
  },
  CONNECTIONS_MAX: {
    holds: 'instance',
    fallback: 20_000,
    min: 1,
    max: 1_000_000,
    ...limit('Open client connections per instance; the next is closed as it is accepted.'),
  },
} satisfies Record<string, WholeLimit>;

type WholeLimits = typeof WHOLE_LIMITS;

/** The variables of the limits: each whole limit's, and where uploads are spooled. */
export const limitsEnv = {
  ...(Object.fromEntries(
    Object.entries(WHOLE_LIMITS).map(([name, { holds, fallback, min, max, summary, details }]) => [
      name,
      intFrom(name, fallback, min, max).meta(doc({ group: 'limits', holds, summary, details })),
    ]),
  ) as { [K in keyof WholeLimits]: ReturnType<typeof intFrom> }),
  UPLOAD_TMP_DIR: text().meta(
    doc({
      group: 'limits',
      holds: 'instance',
      summary: 'Where uploads are spooled on their way to Genesys; give instances sharing a volume each their own.',
      details:
        'Each file is `bff-upload-<pid>-<uuid>`, mode 0600, and is removed once its upload ends, however it ends; at ' +
        'start the service removes those a stopped process left. Instances sharing one directory across PID ' +
        'namespaces, such as containers sharing a volume, should each have their own.',
      unset: "the system's temporary directory",
      example: '/tmp',
    }),
  ),
};

type LimitsEnv = { [K in keyof typeof limitsEnv]: z.infer<(typeof limitsEnv)[K]> };

export interface LimitsConfig {
  limits: {
    bodyBytes: number;
    sessionsPerIpPerMinute: number;
    /** New conversations (startNew) and ends (DELETE), per session and per client IP, per minute. */
    conversationChangesPerSessionPerMinute: number;
    conversationChangesPerIpPerMinute: number;
    /** Concurrent live streams per session and per client IP. */
    streamsPerSession: number;
    streamsPerIp: number;
    /**
     * Sign-in and sign-out attempts (a code exchange or a revocation
     * at Genesys each), and PUT/PATCH /guest-attributes, per minute.
     */
    signInsPerSessionPerMinute: number;
    signInsPerIpPerMinute: number;
    attributeWritesPerSessionPerMinute: number;
    attributeWritesPerIpPerMinute: number;
    /** GET /availability per client IP per minute. */
    availabilityReadsPerIpPerMinute: number;
    /** The IPv6 prefix that names one client for every per-address limit and cap. */
    ipv6PrefixLength: number;
  };
  /** Open client connections per client address (not trusted proxies) and per instance. */
  connections: { perIp: number; max: number };
  guestSockets: { idleMs: number; max: number; opensPerSessionPerMinute: number };
  /**
   * Watching chats nobody looks at (Web Push): the sockets kept for it, then the history reads a second past them,
   * and the pace of each chat's reads (first wait after a reply, longest wait while nothing comes).
   */
  notifyWatch: { sockets: number; readsPerSecond: number; pollMs: number; pollMaxMs: number };
  /**
   * Files in transit (POST /attachments): concurrent uploads per instance and
   * per client IP, the slowest rate a body may arrive at (bytes a second,
   * judged over each window; 0 turns the check off), and where they are spooled.
   */
  uploads: { maxInFlight: number; perIp: number; minBytesPerSecond: number; rateWindowMs: number; tmpDir: string };
}

export function limitsOf(e: LimitsEnv): LimitsConfig {
  return {
    limits: {
      bodyBytes: e.BODY_LIMIT_BYTES,
      sessionsPerIpPerMinute: e.SESSIONS_PER_IP_PER_MINUTE,
      conversationChangesPerSessionPerMinute: e.CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE,
      conversationChangesPerIpPerMinute: e.CONVERSATION_CHANGES_PER_IP_PER_MINUTE,
      streamsPerSession: e.STREAMS_PER_SESSION,
      streamsPerIp: e.STREAMS_PER_IP,
      signInsPerSessionPerMinute: e.SIGN_INS_PER_SESSION_PER_MINUTE,
      signInsPerIpPerMinute: e.SIGN_INS_PER_IP_PER_MINUTE,
      attributeWritesPerSessionPerMinute: e.ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE,
      attributeWritesPerIpPerMinute: e.ATTRIBUTE_WRITES_PER_IP_PER_MINUTE,
      availabilityReadsPerIpPerMinute: e.AVAILABILITY_READS_PER_IP_PER_MINUTE,
      ipv6PrefixLength: e.IPV6_PREFIX_LENGTH,
    },
    connections: { perIp: e.CONNECTIONS_PER_IP, max: e.CONNECTIONS_MAX },
    guestSockets: {
      idleMs: e.GUEST_SOCKET_IDLE_SECONDS * 1000,
      max: e.GUEST_SOCKET_MAX,
      opensPerSessionPerMinute: e.SOCKET_OPENS_PER_SESSION_PER_MINUTE,
    },
    notifyWatch: {
      sockets: e.NOTIFY_SOCKETS_MAX,
      readsPerSecond: e.NOTIFY_HISTORY_READS_PER_SECOND,
      pollMs: e.NOTIFY_POLL_SECONDS * 1000,
      pollMaxMs: Math.max(e.NOTIFY_POLL_SECONDS, e.NOTIFY_POLL_MAX_SECONDS) * 1000,
    },
    uploads: {
      maxInFlight: e.UPLOADS_MAX,
      perIp: e.UPLOADS_PER_IP,
      minBytesPerSecond: e.UPLOAD_MIN_BYTES_PER_SECOND,
      rateWindowMs: e.UPLOAD_RATE_WINDOW_SECONDS * 1000,
      tmpDir: e.UPLOAD_TMP_DIR ?? os.tmpdir(),
    },
  };
}
