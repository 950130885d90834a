import { isAxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import type { Logger } from '../../../observability/logger';
import { limitsRefused } from '../../../observability/metrics';
import {
  GuestApiError,
  historySchema,
  isReceipt,
  normalizeMessage,
  receiptOf,
  structuredMessageSchema,
  type Receipt,
} from '../protocol';
import type { GuestJwt } from './guestJwt';
import type { GenesysGate } from '../link';
import { deliveryRank, type NormalizedMessage, type ReceiptEvent } from '../../../domain/message';
import { MemoryStore, sessionKeyOf, type SharedStore } from '../../../store';

/** The newest page a delivery proof or a stream's resume reads: enough to find a send in doubt. */
export const PROOF_PAGE_SIZE = 50;
/** The page size a whole-conversation read asks for: the most the service asks for anywhere. */
export const CONVERSATION_PAGE_SIZE = 100;
/** History reads Genesys allows one session a minute (docs/genesys-protocol.md#limits-and-timing). */
export const HISTORY_READS_PER_MINUTE = 10;

/** The half of a session's reads a minute that delivery proofs never need to share: at least one. */
export function spareReadsOf(readsPerMinute: number): number {
  return Math.max(1, Math.floor(readsPerMinute / 2));
}

/**
 * The most pages a whole-conversation read reads under Genesys's limit (5 of 100 messages): a conversation of
 * this many pages is complete, one of more is read newest first as far as it goes.
 */
export const CONVERSATION_PAGES = spareReadsOf(HISTORY_READS_PER_MINUTE);

/** What a history read needs of a guest's session (a GuestSession is one): its token and its guest JWT. */
export interface HistorySession {
  readonly token: string;
  getJwt(): Promise<GuestJwt>;
  /** After a 401: the cached JWT may be revoked or past its real expiry. */
  forgetJwt(): void;
}

/**
 * Conversation history over REST (docs/genesys-protocol.md#history-rest): `GET {api}/api/v2/webmessaging/messages`
 * with `Authorization: bearer <guest JWT from getJwt>`. Genesys pages newest
 * first; each page is returned oldest first.
 */
export interface HistoryPage {
  /** Each guest message with the status its receipts on this page give it (foldReceipts). */
  messages: NormalizedMessage[];
  /** The receipts this page holds, oldest first, whichever page holds the messages they report on. */
  receipts: ReceiptEvent[];
  page: number;
  pageSize: number;
  total: number;
  pageCount: number;
}

interface GuestHistoryOptions {
  /** Told about each entity skipped as unreadable. */
  logger?: Logger;
  /** The largest history response read, in bytes; a page of 100 messages is far below it. */
  maxResponseBytes?: number;
  /** History reads one session may make a minute, every reader together (default HISTORY_READS_PER_MINUTE). */
  readsPerMinute?: number;
  /**
   * Where each session's reads are counted, and by whose clock: with Redis,
   * every instance's reads of a session count together, as Genesys counts
   * them. By default this instance's memory.
   */
  store?: SharedStore;
  /** The service's clock: when a read happened, for the newest messages Genesys gives no time (default Date.now). */
  now?: () => number;
  /** The circuit to Genesys (link/guestApiHealth.ts): while it is open, a read is refused at once. */
  upstream?: GenesysGate;
  /**
   * Told of each read of a session's newest page (page 1, whoever asked: a stream's replay, a delivery proof, the
   * history route, a transcript), with the session's token: what Genesys said there, whether or not any instance
   * heard it live (webhooks: a reply the instance holding the socket heard and died before telling).
   */
  onNewestPage?: (token: string, page: NewestPage) => void;
}

/**
 * How a read meets the session's limit: `limit` is refused over it, `spare` once half is used, `proof` never by
 * it, only once the proofs' own share is spent.
 */
type ReadMode = 'limit' | 'spare' | 'proof';

/**
 * Reads of a session's minute that delivery proofs can never take: the reload a stream's `replay_incomplete` asks
 * for (and a resumed stream's replay) always finds them, however many sends are in doubt.
 */
export const CATCH_UP_RESERVE = 3;

/** The newest page as a stream's replay reads it. */
export interface NewestPage {
  /** Oldest first. */
  messages: NormalizedMessage[];
  receipts: ReceiptEvent[];
}

/** The whole conversation as one read of every page: oldest first, each message once. */
export interface WholeConversation {
  messages: NormalizedMessage[];
  /** How many messages Genesys counts in the conversation (receipts and events included). */
  total: number;
  /** False when the conversation has more pages than the reads a session may spare: the oldest are missing. */
  complete: boolean;
}

const DEFAULT_MAX_HISTORY_BYTES = 2 * 1024 * 1024;
/** Sessions whose recent reads the default store remembers; the least recently read is forgotten first. */
const MAX_TRACKED_SESSIONS = 50_000;
const MINUTE_MS = 60_000;

export class GuestHistory {
  private readonly maxResponseBytes: number;
  private readonly store: SharedStore;

  constructor(
    private readonly http: AxiosInstance,
    private readonly apiUrl: string,
    private readonly origin: string,
    private readonly options: GuestHistoryOptions = {},
  ) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_HISTORY_BYTES;
    this.store = options.store ?? new MemoryStore(MAX_TRACKED_SESSIONS);
  }

  /**
   * One page of history. Every read counts toward the session's limit of 10 a
   * minute (docs/genesys-protocol.md#limits-and-timing), whoever asks: the
   * history route, a stream's replay, a delivery proof. Over it, the history
   * route and a replay are refused (rate_limited, with the wait) without
   * asking Genesys; a delivery proof still reads (newestForProof). A store
   * that cannot count refuses the read (store_unavailable).
   */
  async page(session: HistorySession, page: number, pageSize: number): Promise<HistoryPage> {
    this.refuseWhileAway();
    await this.countRead(session.token, 'limit');
    return this.read(session, page, pageSize);
  }

  /**
   * The newest page, for a stream's replay. One a client asked for (`resume`:
   * it reopened the stream with Last-Event-ID) is counted and limited like any
   * read. One no client asked for (`reconnect`: the upstream socket came back)
   * is refused too once half the session's reads of the minute are spent, so
   * that delivery proofs, which decide whether a message is sent twice, keep
   * the rest.
   */
  async newest(session: HistorySession, reason: 'resume' | 'reconnect' = 'resume'): Promise<NewestPage> {
    this.refuseWhileAway();
    await this.countRead(session.token, reason === 'resume' ? 'limit' : 'spare');
    const { messages, receipts } = await this.read(session, 1, PROOF_PAGE_SIZE);
    return { messages, receipts };
  }

  /**
   * The newest page, for proving whether a message in doubt was delivered
   * (deliveryProof.ts). Counted like any read, but never refused by the
   * count: it is the read that decides whether a message is sent twice, and
   * Genesys answers one over its own limit with 429, which the proof reports
   * as unknown. Proofs have a share of their own, though: all the minute's
   * reads but CATCH_UP_RESERVE, so that sends in doubt, each retried by its
   * client, never leave a stream's catch-up waiting a minute. Over that share
   * a proof is refused (rate_limited, with the wait) without asking Genesys.
   * A store that cannot count it (Redis away) does not stop it: the read
   * goes out uncounted.
   */
  async newestForProof(session: HistorySession): Promise<NormalizedMessage[]> {
    this.refuseWhileAway();
    await this.countRead(session.token, 'proof');
    return (await this.read(session, 1, PROOF_PAGE_SIZE)).messages;
  }

  /**
   * Every page of the conversation, for a transcript. Its reads come out of the
   * half of the session's minute that delivery proofs never need to share
   * (`spare`, as a reconnect's replay): page 1 first, then the older pages
   * only when all of them fit in what is left of that half, so a transcript
   * never starts reads it cannot finish, and the other half stays for the
   * proofs. Refused with rate_limited (and the wait) when it does not fit.
   * A conversation of more pages than that half holds is read newest first
   * as far as it goes (`complete: false`). A message that arrives between two
   * reads shifts the older pages by one: it is kept once.
   */
  async wholeConversation(session: HistorySession): Promise<WholeConversation> {
    const spare = spareReadsOf(this.options.readsPerMinute ?? HISTORY_READS_PER_MINUTE);
    this.refuseWhileAway();
    await this.countRead(session.token, 'spare');
    const first = await this.read(session, 1, CONVERSATION_PAGE_SIZE);
    const pages = Math.min(first.pageCount, spare);
    const newestFirst: HistoryPage[] = [first];
    for (let page = 2; page <= pages; page++) {
      // Of the pages still to read, this one and every later one must fit under the spare half.
      await this.countRead(session.token, spare - (pages - page));
      newestFirst.push(await this.read(session, page, CONVERSATION_PAGE_SIZE));
    }
    const seen = new Set<string>();
    const oldestFirst = newestFirst.reverse();
    const messages = oldestFirst.flatMap((p) => p.messages).filter((m) => !seen.has(m.id) && seen.add(m.id));
    // A receipt may be on a newer page than its message.
    const receipts = oldestFirst.flatMap((p) => p.receipts);
    return { messages: foldReceipts(messages, receipts), total: first.total, complete: first.pageCount <= spare };
  }

  /** A read still under way when the circuit opens is answered then, not at its deadline: reading again is safe. */
  private async read(session: HistorySession, page: number, pageSize: number): Promise<HistoryPage> {
    const upstream = this.options.upstream;
    const read = await (upstream
      ? upstream.watch(() => this.readOnce(session, page, pageSize), { abandonOnOpen: true })
      : this.readOnce(session, page, pageSize));
    if (page === 1) this.options.onNewestPage?.(session.token, { messages: read.messages, receipts: read.receipts });
    return read;
  }

  private async readOnce(session: HistorySession, page: number, pageSize: number): Promise<HistoryPage> {
    let response = await this.get(session, page, pageSize);
    if (response.status === 401) {
      // The cached JWT may have been revoked or be past its real expiry: get a fresh one once.
      session.forgetJwt();
      response = await this.get(session, page, pageSize);
    }
    return this.parse(response, page, pageSize);
  }

  /**
   * While the circuit to Genesys is open a read is refused before it is counted: the reads a client's retries
   * would spend on an outage are kept for when Genesys is back.
   */
  private refuseWhileAway(): void {
    const refused = this.options.upstream?.refusal();
    if (refused) throw refused;
  }

  /** `mode` a number: counted like `spare`, within that many reads of the minute. */
  private async countRead(token: string, mode: ReadMode | number): Promise<void> {
    const session = sessionKeyOf(token);
    const key = `rate:history-reads:${session}`;
    const limit = this.options.readsPerMinute ?? HISTORY_READS_PER_MINUTE;
    if (mode === 'proof') {
      const share = Math.max(1, limit - CATCH_UP_RESERVE);
      const counted = async () => {
        const waitMs = await this.store.take(`rate:history-proofs:${session}`, share, MINUTE_MS);
        if (waitMs === 0) await this.store.record(key, MINUTE_MS);
        return waitMs;
      };
      const waitMs = await counted().catch((error: unknown) => {
        this.options.logger?.warn(
          { err: error },
          'read history to prove a delivery without counting the read: the shared store did not answer',
        );
        return 0;
      });
      if (waitMs > 0)
        throw refusedRead(
          `Checking messages in doubt may use ${share} of a session's ${limit} history reads a minute; retry later.`,
          waitMs,
        );
      return;
    }
    const within = typeof mode === 'number' ? Math.max(1, mode) : mode === 'spare' ? spareReadsOf(limit) : limit;
    const waitMs = await this.store.take(key, within, MINUTE_MS);
    if (waitMs > 0)
      throw refusedRead(`Genesys allows ${limit} history reads a minute in a session; retry later.`, waitMs);
  }

  private async get(session: HistorySession, page: number, pageSize: number): Promise<AxiosResponse> {
    const { jwt } = await session.getJwt();
    try {
      return await this.http.get(`${this.apiUrl}/api/v2/webmessaging/messages`, {
        params: { pageNumber: page, pageSize },
        headers: { Authorization: `bearer ${jwt}`, Origin: this.origin },
        validateStatus: () => true,
        maxContentLength: this.maxResponseBytes,
        maxBodyLength: this.maxResponseBytes,
      });
    } catch (error) {
      if (isAxiosError(error) && /maxContentLength|maxBodyLength/.test(error.message)) {
        throw new GuestApiError(
          'unavailable',
          'Genesys returned a conversation history larger than this service reads.',
          {
            genesysText: `larger than ${this.maxResponseBytes} bytes`,
            cause: error,
          },
        );
      }
      throw new GuestApiError('unavailable', 'Could not reach Genesys for the conversation history; please retry.', {
        cause: error,
      });
    }
  }

  private parse(response: AxiosResponse, page: number, pageSize: number): HistoryPage {
    if (response.status === 429) {
      const retryAfter = Number(response.headers['retry-after']);
      throw new GuestApiError('rate_limited', 'Genesys limits history reads; retry later.', {
        genesysCode: 429,
        retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 6,
      });
    }
    if (response.status !== 200) {
      throw new GuestApiError('unavailable', 'Genesys could not return the conversation history; please retry.', {
        genesysCode: response.status,
        genesysText:
          `${response.headers['inin-correlation-id'] ?? ''} ` + String(JSON.stringify(response.data)).slice(0, 500),
      });
    }
    const parsed = historySchema.safeParse(response.data);
    if (!parsed.success) {
      throw new GuestApiError('unavailable', 'Genesys returned a history this service cannot read.', {
        genesysText: parsed.error.message,
      });
    }
    const body = parsed.data;
    // Never more than was asked for, whatever Genesys sends; the newest come first.
    const newestFirst = body.entities.slice(0, pageSize).flatMap((raw, index) => this.entity(raw, index));
    const entities = dateUntimed(newestFirst, (this.options.now ?? Date.now)(), page > 1).reverse();
    const receipts = entities.flatMap((e) => (e.receipt ? [{ ...e.receipt, at: e.time }] : []));
    const messages = foldReceipts(
      entities.flatMap((e) => (e.message ? [e.message] : [])),
      receipts,
    );
    const total = body.total ?? entities.length;
    // Without pageCount, the pages its total fills at the size Genesys says it used (else the size asked for).
    const size = body.pageSize && body.pageSize > 0 ? body.pageSize : pageSize;
    return {
      messages,
      receipts,
      page: body.pageNumber ?? page,
      // The size Genesys paged by, when it says it capped the one asked for: the next page starts after it.
      pageSize: Math.min(size, pageSize),
      total,
      pageCount: body.pageCount ?? Math.ceil(total / size),
    };
  }

  /**
   * One entity, or none: an unreadable one is skipped (and logged)
   * so the rest of the page survives; receipts are not messages.
   */
  private entity(raw: unknown, index: number): Entity[] {
    const parsed = structuredMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.options.logger?.warn(
        { index, issues: parsed.error.issues.slice(0, 3) },
        'skipped an unreadable Genesys history entity',
      );
      return [];
    }
    const time = parsed.data.channel?.time;
    const timed = typeof time === 'string';
    // A receipt is no message, but its time bounds the message it reports on (which came no later).
    if (isReceipt(parsed.data)) {
      const receipt = receiptOf(parsed.data);
      return receipt || timed ? [{ ...(receipt ? { receipt } : {}), time: time ?? '', timed }] : [];
    }
    const message = normalizeMessage(parsed.data);
    return [{ message, time: message.time, timed }];
  }
}

function refusedRead(message: string, waitMs: number): GuestApiError {
  limitsRefused.inc({ limit: 'history_reads' });
  return new GuestApiError('rate_limited', message, {
    retryAfterSeconds: Math.ceil(waitMs / 1000),
  });
}

interface Entity {
  /** None for a receipt. */
  message?: NormalizedMessage;
  /** Only for a receipt a guest is told of. */
  receipt?: Receipt;
  time: string;
  /** Genesys gave the entity a time. */
  timed: boolean;
}

/**
 * Genesys's own fixtures have history entities with `channel.time: null`. Such a message takes the time
 * of the next newer message (or receipt) that has one (it came no later than that), and the newest ones the moment
 * of the read (or the page's latest time, if that is later): the same time on every read once a newer
 * message has one, never out of the page's order for a client that orders by time, and never before a
 * time position it may have come after (a stream's replay from one keeps it: src/http/streams/liveStreams.ts).
 * On an earlier page the newest ones came before every message of the newer pages, so they take the time of the
 * next older message that has one instead of the moment of the read, which would show them after the newer pages.
 */
function dateUntimed(newestFirst: Entity[], readAt: number, earlierPage: boolean): Entity[] {
  const older = earlierPage ? newestFirst.find((e) => e.timed && Number.isFinite(Date.parse(e.time))) : undefined;
  const latest = older
    ? Date.parse(older.time)
    : newestFirst.reduce((t, e) => (e.timed ? Math.max(t, Date.parse(e.time) || t) : t), readAt);
  let newer = new Date(latest).toISOString();
  return newestFirst.map((entity) => {
    if (!entity.timed)
      return { ...entity, time: newer, ...(entity.message ? { message: { ...entity.message, time: newer } } : {}) };
    newer = entity.time;
    return entity;
  });
}

/**
 * Each guest message with the furthest status its receipts give it (a late `delivered` never hides a `read`), and
 * a failure's reasons. Receipts about messages not among `messages` are left out.
 */
export function foldReceipts(messages: NormalizedMessage[], receipts: ReceiptEvent[]): NormalizedMessage[] {
  if (receipts.length === 0) return messages;
  const furthest = new Map<string, ReceiptEvent>();
  for (const r of receipts) {
    const held = furthest.get(r.messageId);
    if (!held || deliveryRank(r.status) > deliveryRank(held.status)) furthest.set(r.messageId, r);
  }
  return messages.map((m) => {
    const r = m.status === undefined ? undefined : furthest.get(m.id);
    if (!r || deliveryRank(r.status) <= deliveryRank(m.status!)) return m;
    return { ...m, status: r.status, ...(r.reasons ? { reasons: r.reasons } : {}) };
  });
}
