import os from 'node:os';
import { z } from 'zod';
import { intFrom, optionalString } from './envValues';

/**
 * The limits the service enforces itself (README.md#limits-the-service-enforces):
 * their environment variables and what they become in the configuration.
 */

export const limitsEnv = {
  BODY_LIMIT_BYTES: intFrom('BODY_LIMIT_BYTES', 32 * 1024, 1024, 1024 * 1024),
  SESSIONS_PER_IP_PER_MINUTE: intFrom('SESSIONS_PER_IP_PER_MINUTE', 30, 1, 100_000),
  GUEST_SOCKET_IDLE_SECONDS: intFrom('GUEST_SOCKET_IDLE_SECONDS', 120, 1, 3600),
  GUEST_SOCKET_MAX: intFrom('GUEST_SOCKET_MAX', 10_000, 1, 1_000_000),
  SOCKET_OPENS_PER_SESSION_PER_MINUTE: intFrom('SOCKET_OPENS_PER_SESSION_PER_MINUTE', 12, 1, 1000),
  STREAMS_PER_SESSION: intFrom('STREAMS_PER_SESSION', 3, 1, 100),
  STREAMS_PER_IP: intFrom('STREAMS_PER_IP', 30, 1, 100_000),
  CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: intFrom('CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE', 6, 1, 1000),
  CONVERSATION_CHANGES_PER_IP_PER_MINUTE: intFrom('CONVERSATION_CHANGES_PER_IP_PER_MINUTE', 30, 1, 100_000),
  UPLOADS_MAX: intFrom('UPLOADS_MAX', 32, 1, 10_000),
  UPLOADS_PER_IP: intFrom('UPLOADS_PER_IP', 4, 1, 10_000),
  UPLOAD_MIN_BYTES_PER_SECOND: intFrom('UPLOAD_MIN_BYTES_PER_SECOND', 2048, 0, 100_000_000),
  UPLOAD_RATE_WINDOW_SECONDS: intFrom('UPLOAD_RATE_WINDOW_SECONDS', 15, 1, 600),
  UPLOAD_TMP_DIR: optionalString,
  SIGN_INS_PER_SESSION_PER_MINUTE: intFrom('SIGN_INS_PER_SESSION_PER_MINUTE', 5, 1, 1000),
  SIGN_INS_PER_IP_PER_MINUTE: intFrom('SIGN_INS_PER_IP_PER_MINUTE', 30, 1, 100_000),
  ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE: intFrom('ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE', 60, 1, 10_000),
  ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: intFrom('ATTRIBUTE_WRITES_PER_IP_PER_MINUTE', 600, 1, 1_000_000),
  CONNECTIONS_PER_IP: intFrom('CONNECTIONS_PER_IP', 256, 1, 1_000_000),
  CONNECTIONS_MAX: intFrom('CONNECTIONS_MAX', 20_000, 1, 1_000_000),
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
    /** Sign-in and sign-out attempts (a code exchange or a revocation at Genesys each), and PUT/PATCH /guest-attributes, per minute. */
    signInsPerSessionPerMinute: number;
    signInsPerIpPerMinute: number;
    attributeWritesPerSessionPerMinute: number;
    attributeWritesPerIpPerMinute: number;
  };
  /** Open client connections per client address (not trusted proxies) and per instance. */
  connections: { perIp: number; max: number };
  guestSockets: { idleMs: number; max: number; opensPerSessionPerMinute: number };
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
    },
    connections: { perIp: e.CONNECTIONS_PER_IP, max: e.CONNECTIONS_MAX },
    guestSockets: {
      idleMs: e.GUEST_SOCKET_IDLE_SECONDS * 1000,
      max: e.GUEST_SOCKET_MAX,
      opensPerSessionPerMinute: e.SOCKET_OPENS_PER_SESSION_PER_MINUTE,
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
