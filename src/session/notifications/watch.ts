import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { NormalizedMessage } from '../../domain/message';
import {
  type GenesysSignIn,
  type GuestEvent,
  GuestApiError,
  type GuestSession,
  type NewestPage,
} from '../../genesys/guest';
import type { Logger } from '../../observability/logger';
import { notifyWatchedChats, pushes } from '../../observability/metrics';
import { runWithContext } from '../../observability/requestContext';
import { HistoryPoll } from './historyWatch';
import { type PushRecord, changeIndex, recordKeys } from './pushRecords';
import type { ChatWatchOptions, WatchMode } from './watchOptions';

/** What a subscription's `chat` holds, sealed: the guest token and a signed-in customer's credentials. */
const watchedChatSchema = z.object({
  typ: z.literal('watch'),
  gt: z.string().min(1),
  au: z.object({ jwt: z.string().min(1), refreshToken: z.string().optional() }).optional(),
});

/** How long a message is held as `pending` by the instance pushing it: longer than its tries can take. */
const PENDING_MS = 60_000;
/** How many times a reply another instance claimed is read again, each time its claim could have lapsed. */
const SETTLE_CHECKS = 3;
/** Replies that arrive within this of the first are one push. */
const COALESCE_MS = 3000;
/**
 * A reply whose claim the store did not answer is claimed again this much later, while the watch lasts (a store
 * silent for half a lease ends it, and the next watch's catch-up finds the reply unclaimed).
 */
const CLAIM_RETRY_MS = 1000;
/** A preview's length, in characters. */
const PREVIEW_CHARS = 120;
/** A catch-up read that failed is tried again after 1 s, doubling up to this (or after the refusal's Retry-After). */
const CATCH_UP_MAX_WAIT_MS = 30_000;
/** How many times a catch-up read is tried before the watch leaves what it would find to the next watch. */
const CATCH_UP_TRIES = 20;

/** One chat watched by this instance (chatWatch.ts decides which, and when). */
export class Watch {
  private session?: GuestSession;
  private poll?: HistoryPoll;
  private unsubscribe?: () => void;
  private renewTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private pending: NormalizedMessage[] = [];
  /** Replies this watch heard live: their records are its own, so a catch-up walks past them. */
  private readonly heardLive = new Set<string>();
  /** Replies another instance claimed to push and had not settled when this watch read them, by id. */
  private unsettled = new Map<string, NormalizedMessage>();
  /** Replies whose last claim the store did not answer: it may have written it before it failed. */
  private readonly unansweredClaims = new Set<string>();
  private settleTimer?: NodeJS.Timeout;
  /** A catch-up read is under way (or waits to be tried again); another was asked for meanwhile. */
  private catchingUp = false;
  private catchUpAgain = false;
  /** Ends the wait before a catch-up read is tried again (the watch stopped). */
  private endCatchUpWait?: () => void;
  private stopped = false;
  /** When the lease was last taken or renewed (the moment its write went out): it lives a lease from then at least. */
  private renewedAt: number;
  /** A renewal is under way, or the last one found the store silent. */
  private renewing = false;
  private renewFailed = false;
  private current: WatchMode;
  /** The chat as the watch opens it, once unsealed. */
  private opened?: { guestToken: string; signIn?: GenesysSignIn };
  private readonly keys: ReturnType<typeof recordKeys>;
  private readonly logger: Logger;

  constructor(
    private readonly sk: string,
    private readonly chat: string,
    /** The push subscription; undefined when the chat is watched only for `also`. */
    private readonly record: PushRecord | undefined,
    mode: WatchMode,
    private readonly options: ChatWatchOptions,
    private readonly leaseMs: number,
    private readonly renewMs: number,
    private readonly now: () => number,
    /** The watch ended; `was`: the mode it was in. */
    private readonly done: (was: WatchMode) => void,
  ) {
    this.current = mode;
    // The scan took the lease just before it made this watch.
    this.renewedAt = now();
    this.keys = recordKeys(sk);
    this.logger = options.logger.child({ component: 'push-watch', chat: sk });
  }

  async start(): Promise<void> {
    const { sealer, hub, revocations } = this.options;
    try {
      const chat = watchedChatSchema.parse(await sealer.unseal(this.chat));
      if (await revocations.isEnded(chat.gt)) return await this.remove('the chat was ended', true);
      this.renewTimer = setInterval(() => void this.renew(chat.gt), this.renewMs);
      this.renewTimer.unref();
      const signIn: GenesysSignIn | undefined = chat.au;
      this.opened = { guestToken: chat.gt, signIn };
      if (this.mode === 'history') {
        await this.takeHeard();
        return this.startPolling(chat.gt, signIn);
      }
      const session = hub.session(chat.gt, signIn);
      this.session = session;
      this.unsubscribe = session.subscribe((event) => this.heard(event));
      await session.ready();
      if (this.stopped) return;
      this.logger.info({ mode: this.mode }, 'watching a chat nobody is looking at, for replies to push');
      // The page that left no longer reads: its share of the session's reads is this read's to use.
      await this.catchUp('resume');
    } catch (error) {
      if (error instanceof GuestApiError && error.failure === 'session_expired')
        return this.remove('the chat expired at Genesys', true);
      this.logger.info({ err: error }, 'could not watch a chat for replies; another round will try again');
      this.stop('it could not start', true);
    }
  }

  /** Past the sockets' ceiling: the newest history page, read at a pace, is what the chat's socket would tell. */
  private startPolling(guestToken: string, signIn: GenesysSignIn | undefined): void {
    if (this.stopped) return;
    this.poll = new HistoryPoll({
      parts: this.options.history,
      guestToken,
      signIn,
      take: (page) => this.take(page),
      over: (reason) => void this.remove(reason, true),
      logger: this.logger,
    });
    this.logger.info({ mode: this.mode }, 'watching a chat nobody is looking at, for replies to push');
    this.poll.start();
  }

  get mode(): WatchMode {
    return this.current;
  }

  /** A history-mode watch that is polling, so it can move to a socket. */
  get movable(): boolean {
    return !this.stopped && this.current === 'history' && this.poll !== undefined && this.session === undefined;
  }

  /**
   * Moves a history-mode watch to a socket (a place under NOTIFY_SOCKETS_MAX freed). The socket is taken at once
   * (so no other watch counts on its place), and history reads go on until it is ready: then they stop, and the
   * newest page is read once more, as after a reconnect. What came meanwhile is found by that read and `take`,
   * which both modes share with the replies heard live, so the watch's place in the conversation carries over: a
   * reply on both sides of the switch is claimed once. A socket that does not open leaves the watch reading
   * history, first in line for the next place.
   */
  async toSocket(): Promise<'moved' | 'failed' | 'stopped'> {
    if (!this.movable || !this.opened) return 'stopped';
    const { guestToken, signIn } = this.opened;
    try {
      const session = this.options.hub.session(guestToken, signIn);
      this.session = session;
      this.unsubscribe = session.subscribe((event) => this.heard(event));
      await session.ready();
    } catch (error) {
      if (this.stopped) return 'stopped';
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.session?.retire('closed: it could not take over watching from history reads');
      this.session = undefined;
      this.logger.info({ err: error }, 'a chat watched by history reads could not move to a socket; it reads on');
      return 'failed';
    }
    if (this.stopped) return 'stopped';
    this.poll?.stop();
    this.poll = undefined;
    this.current = 'socket';
    notifyWatchedChats.dec({ mode: 'history' });
    notifyWatchedChats.inc({ mode: 'socket' });
    this.logger.info({ mode: this.current }, 'a chat watched by history reads moved to a socket');
    await this.catchUp();
    return 'moved';
  }

  /** Ends the watch; `release`: the lease goes at once, so another instance (or a later round) may take it. */
  stop(reason: string, release: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.renewTimer);
    clearTimeout(this.flushTimer);
    clearTimeout(this.settleTimer);
    this.endCatchUpWait?.();
    this.poll?.stop();
    this.unsubscribe?.();
    this.session?.retire('closed after watching for replies');
    this.done(this.current);
    notifyWatchedChats.dec({ mode: this.current });
    this.logger.info({ reason }, 'stopped watching a chat');
    if (release) this.options.store.swap(this.keys.lease, this.options.instanceId, undefined, 1).catch(() => undefined);
  }

  /** The chat is over (`over`: every opt-in of it goes) or its subscription gone: its records go. */
  private async remove(reason: string, over: boolean): Promise<void> {
    this.stop(reason, true);
    const { store, also } = this.options;
    await store.remove(this.keys.record).catch(() => undefined);
    if (over) await also?.chatOver(this.sk).catch(() => undefined);
    // Still listed while another opt-in remains (the next round's look drops it once none does).
    if (over || !also || (await also.sealedChat(this.sk).catch(() => undefined)) === undefined)
      await changeIndex(store, this.sk, false, this.options.recordMs).catch(() => undefined);
  }

  private heard(event: GuestEvent): void {
    if (this.stopped) return;
    if (event.type === 'message') return this.reply(event.message);
    if (event.type !== 'session') return;
    switch (event.state) {
      case 'expired':
      case 'signed_out':
      case 'reauthentication_required':
        void this.remove(`the chat is over (${event.state})`, true);
        return;
      case 'unavailable':
      case 'closed':
      case 'signed_in_elsewhere':
        this.stop(`the chat's connection ended (${event.state})`, true);
        return;
      case 'reconnected':
        void this.catchUp();
        return;
    }
  }

  /** An agent's or bot's message (not the guest's own, not an event) is pushed, with those that follow it shortly. */
  private reply(message: NormalizedMessage): void {
    if (message.direction !== 'outbound' || message.type === 'event') return;
    this.options.also?.reply(this.sk, message);
    this.heardLive.add(message.id);
    if (!this.record || this.pending.some((m) => m.id === message.id)) return;
    this.pending.push(message);
    this.flushTimer ??= setTimeout(() => void this.flush(), this.options.coalesceMs ?? COALESCE_MS);
  }

  /**
   * What came while nobody watched (before this watch, or while its socket was down), from the newest history page:
   * the replies after the newest message that a page showed, that was pushed, or that the guest wrote. History
   * times are not to be trusted for this (Genesys gives some entities none), so it goes by the per-message records
   * (take). A read that fails is tried again, backed off, while the watch lasts: nothing else finds such a reply.
   * `resume`: the first read after the page left, counted as the page's own (history.ts `newest`): the page may have
   * spent the spare half of the session's reads, and a push held for most of a minute reaches a customer who may
   * be back by then. Later reads (a socket back) keep to the spare half.
   */
  private async catchUp(reason: 'resume' | 'reconnect' = 'reconnect'): Promise<void> {
    const session = this.session;
    if (!session || this.stopped) return;
    // One read at a time; a reconnect during it asks for one more, as the read may have gone out before the gap.
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = true;
    try {
      await this.takeHeard();
      let waitMs = 1000;
      for (let tries = 1; !this.stopped; tries++) {
        this.catchUpAgain = false;
        try {
          await this.take(await this.options.hub.history.newest(session, reason));
          if (this.catchUpAgain) continue;
          return;
        } catch (error) {
          // The session's budget of reads may be spent by the page that just left, or Genesys slow to answer.
          if (error instanceof GuestApiError && error.fatalForSession) return;
          if (tries >= CATCH_UP_TRIES) {
            this.logger.warn({ err: error }, 'gave up reading what came while nobody watched; that is not pushed');
            return;
          }
          const retryAfterMs = error instanceof GuestApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
          const delayMs = Math.max(waitMs, retryAfterMs);
          waitMs = Math.min(waitMs * 2, CATCH_UP_MAX_WAIT_MS);
          this.logger.info({ err: error, retryInMs: delayMs }, 'could not read what came while nobody watched yet');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, delayMs);
            this.endCatchUpWait = () => (clearTimeout(timer), resolve());
          });
        }
      }
    } finally {
      this.catchingUp = false;
      this.endCatchUpWait = undefined;
    }
  }

  /**
   * The replies the chat's live socket heard after its page left (heardReplies.ts), taken as a newest page is: the
   * history read that follows may be refused for most of a minute (the page that left spent the session's reads),
   * and finds what the live socket missed (it was down, its instance died, the store did not take a reply).
   */
  private async takeHeard(): Promise<void> {
    const heard = this.options.heard;
    if (!heard || this.stopped) return;
    try {
      const messages = await heard.read(this.sk);
      if (messages.length > 0) await this.take({ messages, receipts: [] });
    } catch (error) {
      this.logger.info({ err: error }, 'could not read the replies heard after the page left; history has them');
    }
  }

  /**
   * The replies of a newest page that no page showed and no push carried, made pending: how many were new. A reply
   * another instance claimed and has not settled (`pending:`) may never be pushed: that instance may have died
   * between its claim and its push, which is when a watch moves. Such replies are read again once the claim could
   * have lapsed (settle). A reply this watch heard live is passed over, not stopped at: it may have been pushed while
   * history was read, and what came before it still has to be found.
   */
  private async take(page: NewestPage): Promise<number> {
    const missed: NormalizedMessage[] = [];
    const replies = [...page.messages].reverse();
    for (const m of replies) {
      if (m.direction === 'inbound') break;
      if (m.type === 'event') continue;
      this.options.also?.reply(this.sk, m);
    }
    if (!this.record) return 0;
    for (const m of replies) {
      if (m.direction === 'inbound') break;
      if (m.type === 'event' || this.heardLive.has(m.id)) continue;
      const record = await this.options.store.get(this.keys.message(m.id));
      if (record === undefined) missed.unshift(m);
      else if (record.startsWith('pending:') && record !== `pending:${this.options.instanceId}`)
        this.unsettled.set(m.id, m);
      else break;
    }
    if (this.unsettled.size > 0) this.settleLater(SETTLE_CHECKS);
    const fresh = missed.filter((m) => !this.pending.some((p) => p.id === m.id));
    if (fresh.length === 0 || this.stopped) return 0;
    // Newest last, as a push previews it: the page's order; one heard live not on the page came after, others before.
    const place = new Map(page.messages.map((m, i) => [m.id, i]));
    const rank = (m: NormalizedMessage) => place.get(m.id) ?? (this.heardLive.has(m.id) ? Number.MAX_SAFE_INTEGER : -1);
    this.pending = [...this.pending, ...fresh].sort((a, b) => rank(a) - rank(b));
    this.flushTimer ??= setTimeout(() => void this.flush(), this.options.coalesceMs ?? COALESCE_MS);
    return fresh.length;
  }

  /**
   * Reads again the replies another instance had claimed: one whose claim lapsed unsettled (its instance died before
   * it pushed) is pushed from here; one settled is done; one still claimed is read again, up to `checks` times.
   */
  private settleLater(checks: number): void {
    if (this.settleTimer || this.stopped) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      void this.settle(checks - 1);
    }, this.options.pendingMs ?? PENDING_MS);
    this.settleTimer.unref();
  }

  private async settle(checksLeft: number): Promise<void> {
    if (this.stopped) return;
    const lapsed: NormalizedMessage[] = [];
    try {
      for (const [id, m] of [...this.unsettled]) {
        const record = await this.options.store.get(this.keys.message(id));
        if (record !== undefined && record.startsWith('pending:')) continue;
        this.unsettled.delete(id);
        if (record === undefined && !this.pending.some((p) => p.id === id)) lapsed.push(m);
      }
    } catch (error) {
      this.logger.info({ err: error }, 'could not read the replies another instance had claimed; reading again later');
    }
    if (lapsed.length > 0) {
      this.logger.info({ replies: lapsed.length }, 'pushing replies whose instance died before it pushed them');
      this.pending = [...lapsed, ...this.pending];
      this.flushTimer ??= setTimeout(() => void this.flush(), this.options.coalesceMs ?? COALESCE_MS);
    }
    if (this.unsettled.size === 0) return;
    if (checksLeft > 0) this.settleLater(checksLeft);
    else {
      this.logger.warn(
        { replies: this.unsettled.size },
        'replies another instance claimed stayed unsettled; left to it',
      );
      this.unsettled.clear();
    }
  }

  /** Pushes what is pending: each message claimed first, so no instance pushes it again. */
  private async flush(): Promise<void> {
    this.flushTimer = undefined;
    const batch = this.pending;
    this.pending = [];
    const { store, sender, instanceId } = this.options;
    const record = this.record;
    if (!record || !sender) return;
    const claimed: NormalizedMessage[] = [];
    const unanswered: NormalizedMessage[] = [];
    const mine = `pending:${instanceId}`;
    for (const m of batch) {
      const key = this.keys.message(m.id);
      let taken = await store.claim(key, mine, this.options.pendingMs ?? PENDING_MS).catch(() => undefined);
      // A claim the store wrote before it failed to answer refuses the next one: the reply is still this watch's.
      if (taken === false && this.unansweredClaims.has(m.id))
        taken = await store
          .get(key)
          .then((held) => held === mine)
          .catch(() => undefined);
      if (taken === undefined) unanswered.push(m);
      else this.unansweredClaims.delete(m.id);
      if (taken) claimed.push(m);
    }
    for (const m of unanswered) this.unansweredClaims.add(m.id);
    // Not lost: a reply heard live is passed over by a catch-up read, so nothing else would push it. Pushed on its own,
    // it may come after a newer reply of the batch: the store failing, a push late or out of order is chosen over one
    // pushed twice.
    if (unanswered.length > 0 && !this.stopped) {
      pushes.inc({ outcome: 'claim_retried' }, unanswered.length);
      this.logger.info(
        { replies: unanswered.length },
        'the store did not answer the claim of replies to push; claiming them again soon',
      );
      this.pending = [...unanswered, ...this.pending];
      this.flushTimer ??= setTimeout(() => void this.flush(), CLAIM_RETRY_MS);
    }
    if (claimed.length === 0) return;
    const newest = claimed[claimed.length - 1]!;
    const payload = {
      type: 'reply' as const,
      from: newest.from?.name ?? (newest.originatingEntity === 'bot' ? 'bot' : 'agent'),
      ...(this.options.preview && newest.text ? { preview: newest.text.slice(0, PREVIEW_CHARS) } : {}),
      url: record.url,
    };
    // Each push's log lines carry a trace id of their own, as a request's do.
    const trace = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    const outcome = await runWithContext({ requestId: `push-${trace.spanId}`, trace }, () =>
      sender.send(record, payload),
    );
    await Promise.all(
      claimed.map((m) =>
        store.swap(this.keys.message(m.id), `pending:${instanceId}`, outcome, this.options.recordMs).catch(() => false),
      ),
    );
    if (outcome === 'gone') await this.remove('the push service says the subscription is gone', false);
  }

  /**
   * Keeps the lease, and ends the watch when a page is back, the chat ended or the subscription went. A lease the
   * store has not renewed for half its life (Redis silent) may lapse before the next renewal, and another instance
   * then takes the chat: the watch lets its socket go first, so the chat never holds two watches' sockets (beside a
   * page's, that would pass Genesys's three). Whoever takes the chat next finds what came meanwhile, as any watch
   * does when it begins.
   */
  private async renew(guestToken: string): Promise<void> {
    if (this.stopped) return;
    const { store, instanceId, revocations } = this.options;
    const sentAt = this.now();
    if (this.renewing || this.renewFailed) {
      if (sentAt - this.renewedAt >= this.leaseMs / 2)
        return this.stop('its lease could not be renewed in time', false);
      if (this.renewing) return;
    }
    this.renewing = true;
    try {
      const renewed = await store
        .swap(this.keys.lease, instanceId, instanceId, this.leaseMs)
        .catch((error: unknown) => {
          this.renewFailed = true;
          throw error;
        });
      if (!renewed) return this.stop('another instance watches it now', false);
      this.renewedAt = Math.max(this.renewedAt, sentAt);
      this.renewFailed = false;
      if ((await store.get(this.keys.seen)) !== undefined) return this.stop('a page is open again', true);
      if (
        (await store.get(this.keys.record)) === undefined &&
        (await this.options.also?.sealedChat(this.sk)) === undefined
      )
        return this.stop('the subscription was removed', true);
      if (await revocations.isEnded(guestToken)) return await this.remove('the chat was ended', true);
    } catch {
      // The store did not answer: the watch goes on, for half a lease at most (above).
    } finally {
      this.renewing = false;
    }
  }
}
