import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../observability/logger';
import { emails } from '../../observability/metrics';
import { runWithContext } from '../../observability/requestContext';
import { OutboxPump, type DurableQueue, type QueuedEntry, type SharedStore } from '../../store';
import type { Sealer } from '../tokens';
import { emailKeys } from './emailRecords';
import { type EmailSender, type OutgoingEmail, relayVerdict } from './emailSender';

/**
 * How an e-mail the relay failed for now is tried again: at most `tries` tries in all, the wait after the n-th
 * failure between half and all of `firstMs × 2^(n-1)` (so instances retrying together drift apart), and no try
 * later than `spanMs` after the first. 5 tries over about 7.5 minutes: a relay restarting, failing over or
 * throttling (421, 451, 452) has answered by then; one down for longer is an outage an operator sees in
 * `genesys_bff_emails_total{outcome="failed"}`, and a reply e-mailed later than that says little the chat page
 * does not.
 */
export interface RetrySchedule {
  tries: number;
  firstMs: number;
  spanMs: number;
}

export const EMAIL_RETRY: RetrySchedule = { tries: 5, firstMs: 30_000, spanMs: 10 * 60_000 };

/**
 * When the next try goes, after `made` tries of an e-mail first tried at `firstAt`, the last failing for now at
 * `now`; undefined: no more tries. `random` in [0, 1).
 */
export function nextTryAt(
  schedule: RetrySchedule,
  firstAt: number,
  made: number,
  now: number,
  random: number,
): number | undefined {
  const end = firstAt + schedule.spanMs;
  if (made >= schedule.tries || now >= end) return undefined;
  const ceiling = schedule.firstMs * 2 ** Math.max(0, made - 1);
  return Math.min(end, now + Math.ceil(ceiling / 2 + (random * ceiling) / 2));
}

/** How often an instance looks for e-mails due (another instance's, that died), at most. */
const POLL_MS = 5000;
/** The most e-mails one instance tries at once per deployment (the sender's pool has 2 connections). */
const AT_ONCE = 4;
/** The most e-mails a deployment's outbox holds: past it an e-mail is not queued (`failed`). */
const OUTBOX_MAX = 10_000;
/** The outbox's name in the shared store (in the deployment's scope). */
const OUTBOX = 'email:outbox';

/** What the outbox holds per e-mail: the e-mail sealed (address and replies' text), and where its tries stand. */
const entrySchema = z.object({
  v: z.literal(1),
  kind: z.enum(['confirmation', 'replies']),
  sk: z.string().min(1),
  email: z.string().min(1),
  /** The replies it carries: their records (`email-msg:`) say what became of it. */
  messages: z.array(z.string()),
  firstAt: z.number(),
  tries: z.number().int().min(0),
  /** The trace of the window or request that made it: each try's log lines carry it. */
  traceId: z.string().min(1),
  last: z.string().optional(),
});

type Entry = z.infer<typeof entrySchema>;
export type EmailKind = Entry['kind'];

const outgoingSchema = z.object({
  typ: z.literal('email-out'),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  stop: z.string(),
});

export interface EmailCourierOptions {
  store: SharedStore;
  sealer: Sealer;
  sender: Pick<EmailSender, 'send'>;
  /** EMAIL_AFTER_SECONDS in ms: a chat's window runs again from its e-mail's outcome. */
  afterMs: number;
  /** How long a reply's outcome is kept (the chat's lifetime). */
  recordMs: number;
  /** Each SMTP step's deadline: a try's lease outlives all of a send's steps. */
  timeoutMs: number;
  logger: Logger;
  schedule?: RetrySchedule;
  /** Tests shorten how long a try holds its e-mail (the lease). */
  leaseMs?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * Takes a deployment's e-mails to the relay, from an outbox in the shared store (a DurableQueue, taken by an
 * OutboxPump), so that an e-mail outlives the instance that wrote it. Each round leases the e-mails due: a lease keeps
 * every other instance off an e-mail while this one tries it, and one that dies mid-try leaves it to come due again
 * when the lease lapses (every living instance looks each POLL_MS; a try slower than its lease renews it). A try the
 * relay takes removes the e-mail; a transient failure (a 4xx reply, a connection refused, reset or timed out) puts it
 * back, due at the next try of its schedule (EMAIL_RETRY); a permanent one (5xx), or the last try failing, ends it.
 * Then its replies' records say `sent` or `failed`, and the chat's window runs again from then. Every try is counted
 * (`genesys_bff_emails_total`) and logged with the trace of what made the e-mail.
 *
 * Sent twice only when the relay took a try and this service never heard it (the connection died after the message
 * went, or the instance between the relay's answer and the removal); the second carries the first's Message-ID.
 */
export class EmailCourier {
  private readonly queue: DurableQueue;
  private readonly schedule: RetrySchedule;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly pollMs: number;
  private readonly pump: OutboxPump;
  /** How long a try holds its e-mail: longer than every step of a send, each within its deadline. */
  readonly leaseMs: number;

  constructor(private readonly options: EmailCourierOptions) {
    this.queue = options.store.queue(OUTBOX);
    this.schedule = options.schedule ?? EMAIL_RETRY;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.pollMs = Math.min(POLL_MS, Math.max(10, Math.floor(this.schedule.firstMs / 4)));
    this.leaseMs = options.leaseMs ?? 6 * options.timeoutMs + 10_000;
    const { logger } = options;
    this.pump = new OutboxPump({
      queue: this.queue,
      atOnce: AT_ONCE,
      leaseMs: this.leaseMs,
      pollMs: this.pollMs,
      now: this.now,
      deliver: (entry) => this.deliver(entry),
      // The store failed mid-way: the lease lapses and the e-mail comes due again (sent twice if this try went).
      onDeliveryError: (error) =>
        logger.warn({ err: error }, 'e-mail outcome could not be recorded; it will be tried again'),
      onStoreDown: (error) =>
        logger.warn({ err: error }, 'e-mail outbox unreadable (shared store unavailable); e-mails wait'),
      onStoreBack: () => logger.info('e-mail outbox readable again'),
    });
  }

  /** How long an e-mail can wait in the outbox at most: its replies' claims hold that long. */
  get holdMs(): number {
    return this.schedule.spanMs + 2 * this.leaseMs + this.pollMs;
  }

  start(): void {
    this.pump.start();
  }

  /**
   * Queues an e-mail (`id`: its Message-ID's, chosen by the caller, who claimed its replies with it) and tries it
   * at once: 'full' when the outbox holds OUTBOX_MAX. Throws when the store does not answer.
   */
  async add(
    id: string,
    e: { kind: EmailKind; sk: string; email: OutgoingEmail; messages: readonly string[]; traceId: string },
  ): Promise<'added' | 'full'> {
    const entry: Entry = {
      v: 1,
      kind: e.kind,
      sk: e.sk,
      email: await this.options.sealer.seal({ typ: 'email-out', ...e.email }),
      messages: [...e.messages],
      firstAt: this.now(),
      tries: 0,
      traceId: e.traceId,
    };
    const outcome = await this.queue.add([{ id, value: JSON.stringify(entry) }], {
      dueAt: this.now(),
      max: OUTBOX_MAX,
      onceKey: `email-once:${id}`,
      onceMs: this.holdMs,
    });
    if (outcome === 'full') return 'full';
    this.pump.nudge();
    return 'added';
  }

  close(): void {
    this.pump.close();
  }

  /** One try, in the trace of what made the e-mail. */
  private deliver(queued: QueuedEntry): Promise<void> {
    const entry = parseEntry(queued.value);
    const trace = {
      traceId: entry?.traceId ?? randomBytes(16).toString('hex'),
      spanId: randomBytes(8).toString('hex'),
    };
    return runWithContext({ requestId: `email-${trace.spanId}`, trace }, () => this.attempt(queued, entry));
  }

  private async attempt(queued: QueuedEntry, entry: Entry | undefined): Promise<void> {
    const id = queued.id;
    const { logger, sealer, sender } = this.options;
    const email = entry && outgoingSchema.safeParse(await sealer.unseal(entry.email).catch(() => undefined));
    if (!entry || !email?.success) {
      // Not ours to read (another version, or sealed with a key since retired): kept, it would come due for ever.
      await this.queue.remove(id);
      emails.inc({ kind: entry?.kind ?? 'replies', outcome: 'failed' });
      return void logger.warn('e-mail not sent: its outbox entry could not be read');
    }
    const tries = entry.tries + 1;
    const log = { kind: entry.kind, tries };
    try {
      const { typ: _typ, ...outgoing } = email.data;
      await this.holding(queued, () => sender.send(outgoing, id));
    } catch (error) {
      // Shut down mid-try: the lease lapses and a living instance tries it.
      if (this.pump.isClosed) return;
      const verdict = relayVerdict(error);
      const at = verdict.again ? nextTryAt(this.schedule, entry.firstAt, tries, this.now(), this.random()) : undefined;
      if (at !== undefined) {
        await this.queue.retry({ id, value: JSON.stringify({ ...entry, tries, last: verdict.reason }) }, at);
        emails.inc({ kind: entry.kind, outcome: 'deferred' });
        logger.warn(
          { ...log, relay: verdict.reason, err: error, retryInMs: at - this.now() },
          'e-mail deferred: the relay failed for now; it is tried again',
        );
        return;
      }
      await this.queue.remove(id);
      await this.settled(entry, 'failed');
      emails.inc({ kind: entry.kind, outcome: verdict.again ? 'failed' : 'rejected' });
      logger.warn(
        { ...log, relay: verdict.reason, err: error },
        verdict.again
          ? 'e-mail not sent: the relay still failed after its tries'
          : 'e-mail not sent: the relay refused it',
      );
      return;
    }
    await this.queue.remove(id);
    emails.inc({ kind: entry.kind, outcome: 'sent' });
    logger.info(log, 'e-mail sent');
    await this.settled(entry, 'sent');
  }

  /**
   * Runs `work` (a send) holding the e-mail's lease: renewed every half lease while it runs, so a relay slower than
   * the lease does not let another instance try the e-mail meanwhile. The last renewal is over before it returns,
   * so none lands on what the try's outcome writes.
   */
  private async holding(queued: QueuedEntry, work: () => Promise<void>): Promise<void> {
    let renewal: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        // Shut down: the lease lapses, as a killed instance's would, and a living instance tries the e-mail.
        if (this.pump.isClosed) return clearInterval(timer);
        renewal = renewal
          .then(() => this.queue.retry(queued, this.now() + this.leaseMs))
          .catch((error: unknown) => this.options.logger.debug({ err: error }, 'e-mail lease not renewed'));
      },
      Math.floor(this.leaseMs / 2),
    );
    timer.unref();
    try {
      await work();
    } finally {
      clearInterval(timer);
      await renewal;
    }
  }

  /** The e-mail's replies record its outcome, and the chat's next window runs from now. */
  private async settled(entry: Entry, outcome: 'sent' | 'failed'): Promise<void> {
    if (entry.kind !== 'replies') return;
    const { store, recordMs, afterMs } = this.options;
    const keys = emailKeys(entry.sk);
    await Promise.all(entry.messages.map((m) => store.put(keys.message(m), outcome, recordMs)));
    await store.put(keys.window, 'settled', afterMs);
  }
}

function parseEntry(value: string): Entry | undefined {
  try {
    const parsed = entrySchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
