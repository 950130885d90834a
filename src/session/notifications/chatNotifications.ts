import type { NotificationsConfig } from '../../config/deployment';
import type { EmailOptInInput, PushSubscriptionInput } from '../../domain/api';
import { AppError } from '../../domain/errors';
import type { NormalizedMessage } from '../../domain/message';
import type { GuestEvent, SessionHub } from '../../genesys/guest';
import type { Logger } from '../../observability/logger';
import { notifyHeardReplies } from '../../observability/metrics';
import { changeRecord, sessionKeyOf, type SharedStore } from '../../store';
import type { Revocations, Sealer, SessionClaims } from '../tokens';
import { ChatWatch } from './chatWatch';
import { EmailNotifier, type LinkOutcome } from './emailNotifier';
import { HeardReplies } from './heardReplies';
import type { HistoryWatchParts } from './historyWatch';
import { changeIndex, parseRecord, type PushRecord, recordKeys } from './pushRecords';
import { PushSender } from './pushSender';

/** How often an open page stream renews its `notify-seen` record, and the least that record lives. */
const SEEN_RENEW_MS = 20_000;
const SEEN_MIN_MS = 60_000;
/** A page stream waits for another instance's watch to let go at most a renewal of its lease and this. */
const RELEASE_MARGIN_MS = 1000;
const RELEASE_POLL_MS = 200;
/** A bound on the lease reads of one wait, whatever the clock does. */
const RELEASE_CHECKS = 50;

export interface ChatNotificationsOptions {
  config: NotificationsConfig;
  store: SharedStore;
  /** The deployment's hub of watching sockets (its ceiling NOTIFY_SOCKETS_MAX, apart from live chats). */
  watchHub: SessionHub;
  /** The most chats this instance watches at once, across deployments (the watch hubs' shared ceiling). */
  room: () => boolean;
  /** Past that ceiling, chats are watched by paced history reads with these. */
  history: HistoryWatchParts;
  sealer: Sealer;
  revocations: Pick<Revocations, 'isEnded'>;
  /** How long a subscription lives: as long as a token of its chat could (its standing record's lifetime). */
  recordMs: number;
  instanceId: string;
  /** NODE_ENV is production: a push endpoint must be https:. */
  production: boolean;
  /** Each push request's deadline (GENESYS_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
  /** Tests shorten the coalescing of replies into one push. */
  coalesceMs?: number;
  /** The custom attribute a verified identity's e-mail is kept in (ATTRIBUTE_KEY_EMAIL): it vouches for an address. */
  emailAttribute: string;
}

/**
 * Reaching a customer who left, by Web Push (docs/api.md#notifications-reaching-a-customer-who-left): the page
 * subscribes the chat (PUT /notifications/push), its live streams say when it is looked at, and once none has been
 * open for NOTIFY_AFTER_SECONDS one instance watches the chat and pushes its replies (chatWatch.ts). Everything
 * lives in the shared store with the chat (pushRecords.ts), so any instance serves the routes and any can take over
 * the watch.
 */
export class ChatNotifications {
  private readonly watch?: ChatWatch;
  private readonly email?: EmailNotifier;
  private readonly heardReplies?: HeardReplies;
  /** This instance's open page streams, per chat: their `notify-seen` records are renewed while they are open. */
  private readonly pages = new Map<string, number>();
  private readonly renewTimer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: ChatNotificationsOptions) {
    this.now = options.now ?? Date.now;
    const { push, email } = options.config;
    if (!push && !email) return;
    const sender =
      push &&
      new PushSender({
        vapid: push,
        timeoutMs: options.timeoutMs,
        logger: options.logger.child({ component: 'web-push' }),
      });
    this.email =
      email &&
      new EmailNotifier({
        config: email,
        store: options.store,
        sealer: options.sealer,
        recordMs: options.recordMs,
        instanceId: options.instanceId,
        timeoutMs: options.timeoutMs,
        logger: options.logger,
        now: options.now,
      });
    this.heardReplies = new HeardReplies(options.store, options.sealer, options.recordMs);
    this.watch = new ChatWatch({
      store: options.store,
      hub: options.watchHub,
      sealer: options.sealer,
      sender,
      also: this.email,
      heard: this.heardReplies,
      revocations: options.revocations,
      instanceId: options.instanceId,
      afterMs: options.config.afterMs,
      preview: options.config.preview,
      recordMs: options.recordMs,
      room: options.room,
      history: options.history,
      logger: options.logger,
      now: options.now,
      coalesceMs: options.coalesceMs,
    });
    this.renewTimer = setInterval(() => this.renewSeen(), SEEN_RENEW_MS);
    this.renewTimer.unref();
  }

  /** GET /capabilities's `notifications`. */
  get capabilities(): { push: { vapidPublicKey: string } | null; email: boolean } {
    const push = this.options.config.push;
    return { push: push ? { vapidPublicKey: push.publicKey } : null, email: this.email !== undefined };
  }

  /**
   * PUT /notifications/email: the chat's unread human replies are e-mailed to `input.address`, once it is confirmed
   * (by the link a confirmation e-mail carries), or at once when the session's verified identity has that address.
   * `base`: the service's address, for the links.
   */
  async optInEmail(claims: SessionClaims, input: EmailOptInInput, base: string): Promise<{ confirmed: boolean }> {
    if (!this.email) {
      throw new AppError('conflict', 'E-mail is not set up for this deployment; GET /capabilities says so.');
    }
    const url = pageUrl(input.url, claims.origin);
    const key = this.options.emailAttribute;
    const verified = claims.locked.includes(key) ? claims.attributes[key] : undefined;
    const sk = sessionKeyOf(claims.guestToken);
    const { confirmed } = await this.email.optIn(sk, {
      address: input.address,
      url,
      base,
      chat: await this.sealChat(claims),
      vouched: verified !== undefined && verified.toLowerCase() === input.address.toLowerCase(),
    });
    // The page that opts in is looked at now.
    await this.options.store.put(recordKeys(sk).seen, '1', this.seenMs(false));
    if (confirmed) await changeIndex(this.options.store, sk, true, this.options.recordMs);
    return { confirmed };
  }

  /** DELETE /notifications/email: nothing more is e-mailed for the chat. */
  async optOutEmail(claims: Pick<SessionClaims, 'guestToken'>): Promise<void> {
    const sk = sessionKeyOf(claims.guestToken);
    await this.email?.optOut(sk);
    await this.unlistUnlessWanted(sk);
  }

  /** A confirm or stop link of an e-mail followed (no session: the link's sealed `t` names the chat). */
  async followEmailLink(sealed: string, act: 'confirm' | 'stop'): Promise<LinkOutcome> {
    if (!this.email) throw new AppError('not_found', 'E-mail is not set up for this deployment.');
    const { outcome, sk } = await this.email.follow(sealed, act);
    if (sk !== undefined && outcome === 'confirmed')
      await changeIndex(this.options.store, sk, true, this.options.recordMs);
    if (sk !== undefined && outcome === 'stopped') await this.unlistUnlessWanted(sk);
    return outcome;
  }

  /** PUT /notifications/push: the chat's replies are pushed to `input` once nobody looks at it. */
  async subscribe(claims: SessionClaims, input: PushSubscriptionInput): Promise<void> {
    if (!this.options.config.push) {
      throw new AppError('conflict', 'Web Push is not set up for this deployment; GET /capabilities says so.');
    }
    const endpoint = new URL(input.endpoint);
    const problem = endpointProblem(endpoint, this.options.production);
    if (problem) throw new AppError('validation_failed', `endpoint ${problem}`);
    const url = pageUrl(input.url, claims.origin);
    const { store, recordMs } = this.options;
    const sk = sessionKeyOf(claims.guestToken);
    const keys = recordKeys(sk);
    const record: PushRecord = {
      v: 1,
      chat: await this.sealChat(claims),
      endpoint: input.endpoint,
      p256dh: input.keys.p256dh,
      auth: input.keys.auth,
      url,
      since: this.now(),
    };
    // Listed before the record is written: a record no list names would never be watched.
    await changeIndex(store, sk, true, recordMs);
    // The page that subscribes is looked at now.
    await store.put(keys.seen, '1', this.seenMs(false));
    await store.put(keys.record, JSON.stringify(record), recordMs);
    this.options.logger.info('push subscription stored for the chat');
  }

  /** DELETE /notifications/push: nothing more is pushed for the chat. */
  async unsubscribe(claims: Pick<SessionClaims, 'guestToken'>): Promise<void> {
    const sk = sessionKeyOf(claims.guestToken);
    const keys = recordKeys(sk);
    await this.options.store.remove(keys.record);
    await this.unlistUnlessWanted(sk);
  }

  /**
   * The customer signed in mid-chat (`claims`: the signed-in session's): Genesys opens the chat only with their
   * credentials now, so the subscription and the e-mail opt-in carry them from here on, and a watch that opened the
   * chat anonymously ends (the next round opens it signed in).
   */
  async signedIn(claims: SessionClaims): Promise<void> {
    if (!this.watch) return;
    const { store, recordMs } = this.options;
    const sk = sessionKeyOf(claims.guestToken);
    const key = recordKeys(sk).record;
    const chat = await this.sealChat(claims);
    await changeRecord(store, key, recordMs, (current) => {
      const record = parseRecord(current);
      return record ? { write: JSON.stringify({ ...record, chat }), answer: undefined } : { answer: undefined };
    });
    await this.email?.resealed(sk, chat);
    this.watch.forget(sk);
  }

  /** The chat ended (DELETE /guest-session, sign-out): its subscription and e-mail opt-in go with it. */
  async chatEnded(guestToken: string): Promise<void> {
    if (!this.watch) return;
    const sk = sessionKeyOf(guestToken);
    await Promise.all([
      this.options.store.remove(recordKeys(sk).record),
      this.heardReplies?.clear(sk),
      this.email?.optOut(sk),
    ])
      .then(() => {
        this.watch?.forget(sk);
        return changeIndex(this.options.store, sk, false, this.options.recordMs);
      })
      .catch((error: unknown) =>
        // Every instance's watch ends on its own at its next renewal (the chat's standing says ended).
        this.options.logger.info({ err: error }, 'could not remove the ended chat’s notifications now'),
      );
  }

  /**
   * A page stream showed `message`: an agent's or bot's reply is recorded as shown (`notify-msg:{sk}:<id>`), so
   * no watch pushes it, now or in a catch-up from history.
   */
  shown(guestToken: string, message: NormalizedMessage): void {
    if (!this.watch || message.direction !== 'outbound' || message.type === 'event') return;
    const key = recordKeys(sessionKeyOf(guestToken)).message(message.id);
    this.options.store
      .claim(key, 'shown', this.options.recordMs)
      .catch((error: unknown) => this.options.logger.info({ err: error }, 'could not record a reply as shown'));
  }

  /**
   * The chat's live socket here (the deployment's hub) heard `event`, whether or not a stream listens: the socket
   * stays open, idle, after its page stream closed. An agent's or bot's reply heard while no page stream of the
   * chat is open here, for a chat with a subscription or e-mail opt-in, is kept for the watch (heardReplies.ts), and
   * so is where the guest wrote: the watch begins NOTIFY_AFTER_SECONDS after the page left, and its history read,
   * which otherwise alone finds a reply that came in between, may be refused for most of a minute. A page stream open
   * on another instance shows what it shows, recorded as shown, so never pushed.
   */
  heard(guestToken: string, event: GuestEvent): void {
    const heardReplies = this.heardReplies;
    if (!heardReplies || event.type !== 'message' || event.message.type === 'event') return;
    const sk = sessionKeyOf(guestToken);
    if (this.pages.has(sk)) return;
    heardReplies
      .add(sk, event.message, () => this.wanted(sk))
      .then(
        (outcome) => {
          if (outcome === 'unwanted' || event.message.direction === 'inbound') return;
          notifyHeardReplies.inc({ outcome: outcome === 'kept' ? 'kept' : 'not_kept' });
          if (outcome === 'busy') this.notKept(sk, new Error('the record of heard replies stayed busy'));
        },
        (error: unknown) => {
          if (event.message.direction === 'outbound') notifyHeardReplies.inc({ outcome: 'not_kept' });
          this.notKept(sk, error);
        },
      );
  }

  private notKept(sk: string, error: unknown): void {
    this.options.logger.info(
      { err: error, chat: sk },
      'could not keep a message heard after the page left; the watch reads history for it',
    );
  }

  /**
   * A page stream of the chat opens here, before its socket does: the chat is looked at from now, a watch of it here
   * ends, and this resolves once a watch elsewhere has let its socket go too (bounded: watchLetGo), so a
   * watch's socket never sits beside the page's. The function resolved is called when the stream closes.
   */
  async pageOpened(guestToken: string): Promise<() => void> {
    if (!this.watch) return () => undefined;
    const sk = sessionKeyOf(guestToken);
    this.pages.set(sk, (this.pages.get(sk) ?? 0) + 1);
    this.watch.pageOpened(sk);
    const closes = this.pageCloser(sk);
    try {
      await this.options.store.put(recordKeys(sk).seen, '1', this.seenMs(false));
      // What came while the page was away it reads itself (its stream resumes, or it loads history).
      await this.heardReplies?.clear(sk);
      await this.watchLetGo(sk, this.watch.renewMs);
    } catch (error) {
      // The store did not answer: no watch starts or renews either until it does; the page is not held up.
      this.options.logger.info({ err: error }, 'could not record whether a page is looking at the chat');
    }
    return closes;
  }

  /**
   * A page resumes the chat (POST /guest-session with its session token: the customer came back, or reloaded), before
   * the resume's socket opens: the chat is looked at from now, as when a page stream opens (its stream follows), a
   * watch of it here ends, and this resolves once a watch elsewhere has let its socket go too (bounded: watchLetGo).
   * Else the resume's socket, on an instance that holds none for the chat, would sit beside the watch's and the idle
   * live one, and a reload landing on yet another instance would be a fourth (Genesys allows 3, and evicts the oldest).
   * The record lives as an open stream's does; the page's stream renews it, and its close shortens it.
   */
  async pageResumed(guestToken: string): Promise<void> {
    if (!this.watch) return;
    const sk = sessionKeyOf(guestToken);
    this.watch.pageOpened(sk);
    try {
      await this.options.store.put(recordKeys(sk).seen, '1', this.seenMs(false));
      await this.watchLetGo(sk, this.watch.renewMs);
    } catch (error) {
      // The store did not answer: no watch starts or renews either until it does; the page is not held up.
      this.options.logger.info({ err: error }, 'could not record whether a page is looking at the chat');
    }
  }

  /**
   * Resolves once no other instance watches the chat, its `notify-seen` record written: that watch sees the record at
   * its next renewal (every `renewMs`), closes its socket and lets its lease go, so the page stream opening next holds
   * no socket beside it (Genesys allows a session 3). Bounded by a renewal and a second: a watch whose instance died
   * holds no socket, though its lease stands until it lapses.
   */
  private async watchLetGo(sk: string, renewMs: number): Promise<void> {
    const { store, instanceId } = this.options;
    const lease = recordKeys(sk).lease;
    const until = this.now() + renewMs + RELEASE_MARGIN_MS;
    for (let i = 0; i < RELEASE_CHECKS; i++) {
      const holder = await store.get(lease);
      if (holder === undefined || holder === instanceId) return;
      if (this.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, RELEASE_POLL_MS));
    }
    this.options.logger.info('a page stream opens while another instance still watches the chat; it ends shortly');
  }

  /** What a closing page stream does: the last of the chat's here leaves it looked at for NOTIFY_AFTER_SECONDS. */
  private pageCloser(sk: string): () => void {
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (this.pages.get(sk) ?? 1) - 1;
      if (left > 0) return void this.pages.set(sk, left);
      this.pages.delete(sk);
      this.writeSeen(sk, true);
    };
  }

  /**
   * The instance is draining (SIGTERM): the chats it watches are let go at once (their leases freed), and it takes
   * no more, so a living instance watches them within a scan. A watch kept through the drain would hold its lease
   * for all of it, and a reply it claimed would die with the process at its exit, its claim standing for a minute.
   */
  stopWatching(): void {
    this.watch?.close();
  }

  close(): void {
    clearInterval(this.renewTimer);
    this.watch?.close();
    this.email?.close();
  }

  /** The chat as a watch opens it, sealed: the guest token and a signed-in customer's credentials. */
  private sealChat(claims: SessionClaims): Promise<string> {
    return this.options.sealer.seal({
      typ: 'watch',
      gt: claims.guestToken,
      ...(claims.signIn ? { au: claims.signIn } : {}),
    });
  }

  /** Whether the chat has a push subscription or an e-mail opt-in. */
  private async wanted(sk: string): Promise<boolean> {
    const pushed = this.options.config.push && (await this.options.store.get(recordKeys(sk).record)) !== undefined;
    return Boolean(pushed) || (await this.email?.sealedChat(sk)) !== undefined;
  }

  /** One way of reaching the chat went: its watch ends and it leaves the lists, unless the other remains. */
  private async unlistUnlessWanted(sk: string): Promise<void> {
    const { store } = this.options;
    if (await this.wanted(sk)) return;
    this.watch?.forget(sk);
    await changeIndex(store, sk, false, this.options.recordMs);
  }

  /** While a stream is open, at least a minute (renewed every 20 s); after the last closes, NOTIFY_AFTER_SECONDS. */
  private seenMs(lastClosed: boolean): number {
    const after = this.options.config.afterMs;
    return lastClosed ? after : Math.max(after, SEEN_MIN_MS);
  }

  private writeSeen(sk: string, lastClosed: boolean): void {
    this.options.store
      .put(recordKeys(sk).seen, '1', this.seenMs(lastClosed))
      .catch((error: unknown) =>
        this.options.logger.info({ err: error }, 'could not record whether a page is looking at the chat'),
      );
  }

  private renewSeen(): void {
    for (const sk of this.pages.keys()) this.writeSeen(sk, false);
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** What is wrong with a push endpoint: https: only, but for loopback http: outside production. */
export function endpointProblem(endpoint: URL, production: boolean): string | undefined {
  if (endpoint.username || endpoint.password) return 'may not carry credentials';
  if (endpoint.protocol === 'https:') return undefined;
  if (endpoint.protocol === 'http:' && !production && LOOPBACK.has(endpoint.hostname)) return undefined;
  return production
    ? 'must be an https: URL (a push service gave it)'
    : 'must be an https: URL (a push service gave it), or http: on loopback outside production';
}

/** The page a push opens: `given`, which must be of the session's origin, else that origin's root. */
export function pageUrl(given: string | undefined, origin: string): string {
  if (given === undefined) {
    if (origin === '')
      throw new AppError('validation_failed', 'url is required for a session created without an Origin');
    return `${origin}/`;
  }
  const url = new URL(given);
  if (origin === '' ? !['https:', 'http:'].includes(url.protocol) : url.origin !== origin) {
    throw new AppError('validation_failed', `url must be a page of the session's own origin (${origin || 'http(s)'})`);
  }
  return url.href;
}
