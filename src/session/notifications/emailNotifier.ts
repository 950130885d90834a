import { randomBytes } from 'node:crypto';
import type { EmailConfig } from '../../config/deployment';
import { AppError } from '../../domain/errors';
import type { NormalizedMessage } from '../../domain/message';
import type { Logger } from '../../observability/logger';
import { emails } from '../../observability/metrics';
import { currentContext, runWithContext } from '../../observability/requestContext';
import { changeRecord, type SharedStore } from '../../store';
import type { Sealer } from '../tokens';
import type { WatchedAlso } from './watchOptions';
import { EmailCourier, type EmailKind, type RetrySchedule } from './emailCourier';
import {
  dayKey,
  emailKeys,
  type EmailLink,
  emailLinkSchema,
  type EmailRecord,
  parseEmailRecord,
  sealedAddressSchema,
} from './emailRecords';
import { confirmationEmail, EmailSender, type OutgoingEmail, repliesEmail } from './emailSender';
import { recordKeys } from './pushRecords';

/** A UTC day's count outlives the day by an hour, so a clock a little behind still finds it. */
const DAY_COUNT_MS = 25 * 3600_000;
/** The most confirmations one chat may ask for in a day: each goes to an address nobody vouched for. */
export const CONFIRMATIONS_PER_CHAT = 3;
const DAY_MS = 24 * 3600_000;
/** The most replies a chat's window holds for its e-mail (it quotes the newest 20). */
const REPLIES_HELD = 50;

export interface EmailOptIn {
  address: string;
  /** The chat page an e-mail links back to, already checked against the session's origin. */
  url: string;
  /** The service's address the confirm and stop links are made on. */
  base: string;
  /** The chat, sealed as the watch opens it. */
  chat: string;
  /** The signed-in customer's verified address is this one: no confirmation is needed. */
  vouched: boolean;
}

export interface EmailNotifierOptions {
  config: EmailConfig;
  store: SharedStore;
  sealer: Sealer;
  /** How long an opt-in lives: as long as a token of its chat could. */
  recordMs: number;
  instanceId: string;
  /** Each SMTP step's deadline. */
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
  /** Tests put a sender of their own; else nodemailer to SMTP_URL. */
  sender?: Pick<EmailSender, 'send' | 'close'>;
  /** Tests shorten the retry schedule (EMAIL_RETRY) and how long a try holds its e-mail. */
  retry?: { schedule?: RetrySchedule; leaseMs?: number };
  /** Where a retry falls in its window, 0 to 1; Math.random by default. */
  random?: () => number;
}

/** What following a confirm or stop link did, for the page that answers it. */
export type LinkOutcome = 'confirmed' | 'stopped' | 'nothing';

/**
 * E-mail to a customer who left (docs/api.md#put-notificationsemail): the opt-in (PUT /notifications/email),
 * confirmed by a link unless a verified identity vouches for the address; the stop link every e-mail carries; and
 * the e-mail of a human agent's replies still unread EMAIL_AFTER_SECONDS after the first of them. The chat watch
 * (chatWatch.ts) hands each reply it hears to `reply`; a bot's is dropped. The replies of one window go as one
 * e-mail, claimed per message in the shared store, so no instance sends one twice; a chat gets one e-mail per
 * window, and an address at most EMAIL_DAILY_MAX a UTC day (confirmations included), counted in the shared store.
 * Every e-mail goes through the deployment's outbox in the shared store (emailCourier.ts), which any instance
 * delivers and retries.
 */
export class EmailNotifier implements WatchedAlso {
  private readonly sender: Pick<EmailSender, 'send' | 'close'>;
  private readonly courier: EmailCourier;
  private readonly now: () => number;
  private readonly logger: Logger;
  /** The chats with unread human replies waiting for their window to end, on this instance. */
  private readonly waiting = new Map<string, { replies: Map<string, NormalizedMessage>; timer: NodeJS.Timeout }>();
  private closed = false;

  constructor(private readonly options: EmailNotifierOptions) {
    this.now = options.now ?? Date.now;
    this.sender = options.sender ?? new EmailSender(options.config, options.timeoutMs);
    this.logger = options.logger.child({ component: 'email' });
    this.courier = new EmailCourier({
      store: options.store,
      sealer: options.sealer,
      sender: this.sender,
      afterMs: options.config.afterMs,
      recordMs: options.recordMs,
      timeoutMs: options.timeoutMs,
      logger: this.logger,
      schedule: options.retry?.schedule,
      leaseMs: options.retry?.leaseMs,
      now: options.now,
      random: options.random,
    });
    this.courier.start();
  }

  /** Stores the chat's opt-in (replacing any), and sends the confirmation unless the address is vouched for. */
  async optIn(sk: string, input: EmailOptIn): Promise<{ confirmed: boolean }> {
    const { store, sealer, recordMs } = this.options;
    const keys = emailKeys(sk);
    if (!input.vouched) {
      const waitMs = await store.take(`email-confirmations:${sk}`, CONFIRMATIONS_PER_CHAT, DAY_MS);
      if (waitMs > 0) {
        throw new AppError(
          'rate_limited',
          `This chat has asked for ${CONFIRMATIONS_PER_CHAT} e-mail confirmations today; retry later.`,
          { retryAfterSeconds: Math.ceil(waitMs / 1000) },
        );
      }
    }
    const record: EmailRecord = {
      v: 1,
      chat: input.chat,
      to: await sealer.seal({ typ: 'email-to', a: input.address }),
      nonce: randomBytes(12).toString('base64url'),
      confirmed: input.vouched,
      url: input.url,
      base: input.base,
      since: this.now(),
    };
    await store.put(keys.record, JSON.stringify(record), recordMs);
    this.logger.info({ confirmed: record.confirmed }, 'e-mail opt-in stored for the chat');
    if (!record.confirmed) {
      // Not awaited: the relay's pace is not the request's; the outcome is counted and logged with its trace.
      const email = confirmationEmail(input.address, await this.links(sk, record));
      void this.enqueue('confirmation', sk, email, [], randomBytes(16).toString('base64url'));
    }
    return { confirmed: record.confirmed };
  }

  /** The chat's opt-in ends (DELETE, the stop link, the chat over). */
  async optOut(sk: string): Promise<void> {
    await this.options.store.remove(emailKeys(sk).record);
    this.forget(sk);
  }

  /** Whether the chat has an opt-in (confirmed or not). */
  async has(sk: string): Promise<boolean> {
    return (await this.options.store.get(emailKeys(sk).record)) !== undefined;
  }

  /** A confirm or stop link followed; `sealed` is its `t`. */
  async follow(sealed: string, act: EmailLink['act']): Promise<{ outcome: LinkOutcome; sk?: string }> {
    const link = emailLinkSchema.safeParse(await this.options.sealer.unseal(sealed).catch(() => undefined));
    if (!link.success || link.data.act !== act)
      throw new AppError('validation_failed', 'This link is not one this service made, or it was cut short.');
    const { sk, n } = link.data;
    const { store, recordMs } = this.options;
    const key = emailKeys(sk).record;
    // Compare-and-swap, a bounded number of times: the record may change under a concurrent request.
    const changed = await changeRecord(store, key, recordMs, (current) => {
      const record = parseEmailRecord(current);
      if (!record || record.nonce !== n) return { answer: 'nothing' as const };
      if (act === 'stop') return { write: undefined, answer: 'stopped' as const };
      if (record.confirmed) return { answer: 'already' as const };
      return { write: JSON.stringify({ ...record, confirmed: true }), answer: 'confirmed' as const };
    });
    switch (changed?.answer) {
      case undefined:
        break;
      case 'nothing':
        return { outcome: 'nothing' };
      case 'stopped':
        this.forget(sk);
        this.logger.info('e-mail opt-in stopped by its link');
        return { outcome: 'stopped', sk };
      case 'confirmed':
        this.logger.info('e-mail opt-in confirmed by its link');
        return { outcome: 'confirmed', sk };
      case 'already':
        return { outcome: 'confirmed', sk };
    }
    throw new AppError('store_unavailable', 'The e-mail opt-in is busy; retry shortly.', { retryAfterSeconds: 1 });
  }

  /**
   * The chat's sealed form changed (the customer signed in: Genesys opens the chat only with their credentials now):
   * the opt-in keeps it. Compare-and-swap, a bounded number of times; no opt-in, nothing to do.
   */
  async resealed(sk: string, chat: string): Promise<void> {
    const { store, recordMs } = this.options;
    const key = emailKeys(sk).record;
    const changed = await changeRecord(store, key, recordMs, (current) => {
      const record = parseEmailRecord(current);
      return record ? { write: JSON.stringify({ ...record, chat }), answer: undefined } : { answer: undefined };
    });
    if (!changed)
      throw new AppError('store_unavailable', 'The e-mail opt-in is busy; retry shortly.', { retryAfterSeconds: 1 });
  }

  /** The watch's question: the chat's sealed form, when it has a confirmed opt-in. */
  async sealedChat(sk: string): Promise<string | undefined> {
    const record = parseEmailRecord(await this.options.store.get(emailKeys(sk).record));
    return record?.confirmed ? record.chat : undefined;
  }

  async chatOver(sk: string): Promise<void> {
    await this.optOut(sk);
  }

  /** A reply the watch heard: a human agent's starts (or joins) the chat's window; a bot's is never e-mailed. */
  reply(sk: string, message: NormalizedMessage): void {
    if (this.closed || message.originatingEntity !== 'human') return;
    const waiting = this.waiting.get(sk);
    if (waiting) {
      waiting.replies.set(message.id, message);
      // The oldest goes past the ceiling: an e-mail quotes the newest replies only.
      if (waiting.replies.size > REPLIES_HELD) waiting.replies.delete(waiting.replies.keys().next().value!);
      return;
    }
    this.wait(sk, new Map([[message.id, message]]), this.options.config.afterMs);
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.courier.close();
    this.sender.close();
  }

  private wait(sk: string, replies: Map<string, NormalizedMessage>, ms: number): void {
    // Replies heard while the last window's e-mail was being decided already started the next window: join it.
    const next = this.waiting.get(sk);
    if (next) return void replies.forEach((m, id) => next.replies.set(id, m));
    const timer = setTimeout(() => void this.windowEnded(sk), ms);
    timer.unref();
    this.waiting.set(sk, { replies, timer });
  }

  private forget(sk: string): void {
    clearTimeout(this.waiting.get(sk)?.timer);
    this.waiting.delete(sk);
  }

  /** The window of the chat's first unread reply is over: what is still unread goes in one e-mail. */
  private async windowEnded(sk: string): Promise<void> {
    const waiting = this.waiting.get(sk);
    this.waiting.delete(sk);
    if (!waiting || this.closed) return;
    const trace = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
    await runWithContext({ requestId: `email-${trace.spanId}`, trace }, async () => {
      try {
        await this.sendReplies(sk, waiting.replies);
      } catch (error) {
        // The store did not answer: nothing was sent (every reply is claimed before it is sent).
        emails.inc({ kind: 'replies', outcome: 'failed' });
        this.logger.warn({ err: error }, 'e-mail of unread replies not sent: the shared store did not answer');
      }
    });
  }

  private async sendReplies(sk: string, replies: Map<string, NormalizedMessage>): Promise<void> {
    const { store, instanceId, recordMs, config } = this.options;
    const keys = emailKeys(sk);
    const push = recordKeys(sk);
    const record = parseEmailRecord(await store.get(keys.record));
    if (!record?.confirmed) return void this.logger.info('unread replies not e-mailed: the opt-in went');
    const unread: NormalizedMessage[] = [];
    for (const m of replies.values()) {
      if ((await store.get(push.message(m.id))) !== 'shown') unread.push(m);
    }
    if (unread.length === 0 || (await store.get(push.seen)) !== undefined) {
      emails.inc({ kind: 'replies', outcome: 'read' });
      return void this.logger.info('replies not e-mailed: the customer saw them');
    }
    // Held until the e-mail's tries are over at the latest; its outcome starts the next window (emailCourier.ts).
    if (!(await store.claim(keys.window, instanceId, config.afterMs + this.courier.holdMs))) {
      // An e-mail of the chat went (or is being tried) within the window: these wait for the next.
      return this.wait(sk, replies, config.afterMs);
    }
    const id = randomBytes(16).toString('base64url');
    const claimed: NormalizedMessage[] = [];
    for (const m of unread) {
      if (await store.claim(keys.message(m.id), `queued:${id}`, this.courier.holdMs)) claimed.push(m);
    }
    if (claimed.length === 0) {
      await store.swap(keys.window, instanceId, undefined, 1);
      return;
    }
    claimed.sort((a, b) => a.time.localeCompare(b.time));
    const address = sealedAddressSchema.parse(await this.options.sealer.unseal(record.to)).a;
    const email = repliesEmail(address, claimed, config.preview, await this.links(sk, record));
    const outcome = await this.enqueue('replies', sk, email, claimed, id);
    if (outcome === 'queued') return;
    await store.put(keys.window, instanceId, config.afterMs).catch(() => undefined);
    await Promise.all(
      claimed.map((m) => store.swap(keys.message(m.id), `queued:${id}`, outcome, recordMs).catch(() => false)),
    );
  }

  /**
   * Counts the e-mail against the address's day, then puts it in the outbox, whose courier sends it (and tries it
   * again while the relay fails for now); a capped or unqueued e-mail is counted and logged here.
   */
  private async enqueue(
    kind: EmailKind,
    sk: string,
    email: OutgoingEmail,
    replies: readonly NormalizedMessage[],
    id: string,
  ): Promise<'queued' | 'capped' | 'failed'> {
    const { store, config } = this.options;
    try {
      const count = await store.increment(dayKey(email.to, this.now()), DAY_COUNT_MS);
      if (count > config.dailyMax) {
        emails.inc({ kind, outcome: 'capped' });
        this.logger.info({ kind, dailyMax: config.dailyMax }, 'e-mail not sent: the address had its e-mails today');
        return 'capped';
      }
      const traceId = currentContext()?.trace?.traceId ?? randomBytes(16).toString('hex');
      const messages = replies.map((m) => m.id);
      if ((await this.courier.add(id, { kind, sk, email, messages, traceId })) === 'added') return 'queued';
      emails.inc({ kind, outcome: 'failed' });
      this.logger.error({ kind }, 'e-mail not sent: the deployment’s e-mail outbox is full');
      return 'failed';
    } catch (error) {
      emails.inc({ kind, outcome: 'failed' });
      this.logger.warn({ kind, err: error }, 'e-mail not sent: the shared store did not take it');
      return 'failed';
    }
  }

  private async links(sk: string, record: EmailRecord): Promise<{ chat: string; stop: string; confirm: string }> {
    const link = async (act: EmailLink['act']) => {
      const t = await this.options.sealer.seal({ typ: 'email-link', act, sk, n: record.nonce } satisfies EmailLink);
      return `${record.base}/notifications/email/${act}?t=${t}`;
    };
    return { chat: record.url, stop: await link('stop'), confirm: await link('confirm') };
  }
}
