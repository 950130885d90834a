import { randomUUID } from 'node:crypto';
import type { ProcessConfig } from '../config/schema';
import { createGenesysHttp, type GenesysHttp } from '../genesys/restClient';
import { SessionCeiling } from '../genesys/guest';
import { rateLimits, StreamCaps, UploadSpool } from '../http';
import type { Logger } from '../observability/logger';
import type { Readiness } from '../observability/readiness';
import { DownloadUrls, ReadPacer, SECURITY_RECORD_PREFIXES, UploadSlots } from '../session';
import { openSharedStore, type RedisStore, type SharedStore } from '../store';

/**
 * What the process builds once and every deployment shares (docs/architecture.md#deployments): the shared store's one
 * connection, the ceilings on what one instance holds (guest sockets, uploads, live streams), the per-address and
 * per-session rate limits, the upload spool, Genesys's keep-alive HTTP client and the cache of its download links.
 * A deployment owns none of these; it holds a scope of the store and counts against the same ceilings as the others.
 */
export interface ProcessParts {
  config: ProcessConfig;
  logger: Logger;
  readiness: Readiness;
  /** The store itself; each deployment works in a scope of it (scopeOf). */
  store: SharedStore;
  http: GenesysHttp;
  sessions: SessionCeiling;
  /** The guest sockets this instance keeps to watch chats for Web Push (NOTIFY_SOCKETS_MAX), apart from `sessions`. */
  notifySockets: SessionCeiling;
  /**
   * Past that ceiling chats are watched by history reads: their pace for the whole process
   * (NOTIFY_HISTORY_READS_PER_SECOND), and the brief sockets that fetch those reads' guest JWTs (at most 16).
   */
  notifyReads: ReadPacer;
  notifyJwtSockets: SessionCeiling;
  uploads: UploadSlots;
  streams: StreamCaps;
  downloadUrls: DownloadUrls;
  limits: ReturnType<typeof rateLimits>;
  spool: UploadSpool;
  /** This process as an owner of guest sockets in the shared store (one socket per session across instances). */
  instanceId: string;
  /** The clock of the chat (tests move it); Date.now by default. */
  now?: () => number;
  /** Work before the service listens: the sweep of upload files a stopped process left behind. */
  prepare(): Promise<void>;
  /** Closes what the process holds (end of a drain), once every deployment is closed. */
  close(): Promise<void>;
}

/**
 * The most brief sockets one instance has open at once to fetch the guest JWT of a chat watched by history reads
 * (each closes as soon as getJwt answers; a JWT serves its chat's reads until shortly before it expires).
 */
const NOTIFY_JWT_SOCKETS = 16;

/** Builds the process's shared parts from its configuration. */
export function buildProcessParts(
  config: ProcessConfig,
  logger: Logger,
  readiness: Readiness,
  options: { now?: () => number } = {},
): ProcessParts {
  const { now } = options;
  const store = openSharedStore(config, logger, readiness, { protectedPrefixes: SECURITY_RECORD_PREFIXES, now });
  const http = createGenesysHttp({ timeoutMs: config.genesys.timeoutMs });
  const spool = new UploadSpool(config.uploads.tmpDir);
  return {
    config,
    logger,
    readiness,
    store,
    http,
    sessions: new SessionCeiling(config.guestSockets.max),
    notifySockets: new SessionCeiling(config.notifyWatch.sockets),
    notifyReads: new ReadPacer(config.notifyWatch.readsPerSecond),
    notifyJwtSockets: new SessionCeiling(NOTIFY_JWT_SOCKETS),
    uploads: new UploadSlots({ max: config.uploads.maxInFlight, perIp: config.uploads.perIp }),
    streams: new StreamCaps({ perSession: config.limits.streamsPerSession, perIp: config.limits.streamsPerIp }),
    downloadUrls: new DownloadUrls(now, config.genesys.linkUnknownLifetimeMs),
    limits: rateLimits(config.limits, config.redis ? (store as RedisStore) : undefined),
    spool,
    instanceId: randomUUID(),
    now,
    prepare: async () => {
      const swept = await spool.sweep().catch((error: NodeJS.ErrnoException) => {
        throw new Error(
          `UPLOAD_TMP_DIR ${spool.dir} cannot hold uploads (${error.code ?? error.message}): ` +
            'set it to a writable directory.',
          { cause: error },
        );
      });
      if (swept > 0) logger.info({ swept, dir: spool.dir }, 'removed upload files a stopped process left behind');
    },
    close: async () => {
      await spool.close();
      await store.close();
      http.close();
    },
  };
}
