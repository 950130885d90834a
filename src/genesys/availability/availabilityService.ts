import { randomUUID } from 'node:crypto';
import type { Availability, AvailabilityPart } from '../../domain/availability';
import type { Logger } from '../../observability/logger';
import { availabilityRefreshes, countAvailabilityAge } from '../../observability/metrics';
import type { SharedStore } from '../../store';
import type { AvailabilityReads } from '../platform';
import { changedNoticeably, composeAnswer, NOT_CONFIGURED, type ComposedAnswer } from './answer';
import { configuredParts, refreshFacts, type AvailabilityTargets, type Facts } from './facts';

/**
 * GET /availability's answer, read from the Platform API once per interval for the whole deployment: one refresh
 * at a time per instance, and through the shared store one instance refreshes for all (it holds a short lease;
 * the others read the answer it shares). A Platform 429 puts the next refresh after its Retry-After, for every
 * instance. Requests never wait on a refresh, except the very first, once and for a bounded time.
 */
export interface AvailabilityOptions {
  targets: AvailabilityTargets;
  /** Absent without an OAuth client: every configured part is then unknown. */
  reads?: AvailabilityReads;
  store: SharedStore;
  refreshMs: number;
  /** How long a part's last good value may stand in for one Genesys cannot give now. */
  staleMs: number;
  /** How long the first request waits for the first refresh. */
  firstAnswerWaitMs: number;
  /** How long one instance holds the right to refresh for all (beyond a refresh's own deadline). */
  leaseMs: number;
  logger: Logger;
  now?: () => number;
}

export interface AvailabilityAnswer {
  answer: Availability;
  /** Seconds until the answer may change (the next refresh or the schedule's next change), at least 1. */
  maxAgeSeconds: number;
}

const FACTS_KEY = 'availability:facts';
const LEASE_KEY = 'availability:lease';
/** How often an instance that did not win the lease looks for the answer the winner shares. */
const SHARED_POLL_MS = 100;
/** How many times the lease is asked for of a store that does not answer. */
const STORE_ATTEMPTS = 5;
/** The soonest a failed tick is tried again. */
const MIN_TICK_MS = 250;

export class AvailabilityService {
  readonly configured: boolean;
  private readonly parts: AvailabilityPart[];
  private readonly now: () => number;
  private readonly instanceId = randomUUID();
  private readonly warned = new Set<string>();
  private readonly listeners = new Set<(answer: Availability) => void>();
  private readonly stopAgeMetric: () => void;
  private facts?: Facts;
  private ticking?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private firstWaited = false;
  private closed = false;
  private notified?: Availability;
  private cached?: { facts: Facts; composed: ComposedAnswer };

  constructor(private readonly options: AvailabilityOptions) {
    this.parts = configuredParts(options.targets);
    this.configured = this.parts.length > 0;
    this.now = options.now ?? Date.now;
    this.stopAgeMetric = countAvailabilityAge(() =>
      this.facts ? Math.max(0, (this.now() - this.facts.refreshedAt) / 1000) : undefined,
    );
  }

  /** Starts the first refresh; later ones follow every interval. */
  start(): void {
    if (!this.configured) return;
    if (!this.options.reads) {
      this.options.logger.warn(
        { parts: this.parts },
        'Availability is configured but GENESYS_CLIENT_ID/GENESYS_CLIENT_SECRET are not set: ' +
          'GET /availability reports every part unknown',
      );
    }
    void this.tick();
  }

  async current(): Promise<AvailabilityAnswer> {
    const now = this.now();
    const refreshSeconds = Math.max(1, Math.round(this.options.refreshMs / 1000));
    if (!this.configured) {
      return { answer: { ...NOT_CONFIGURED, asOf: new Date(now).toISOString() }, maxAgeSeconds: refreshSeconds };
    }
    if (!this.facts && !this.firstWaited) {
      this.firstWaited = true;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.firstAnswerWaitMs)));
      await Promise.race([this.tick(), waited]);
      clearTimeout(timer);
    }
    const at = this.now();
    if (this.facts && at >= this.dueAt(this.facts)) void this.tick();
    const facts = this.facts ?? { refreshedAt: at, notBefore: at };
    const { answer, changesAt } = this.compose(facts, at);
    const until = Math.min(this.facts ? this.dueAt(this.facts) : at + MIN_TICK_MS, changesAt ?? Infinity);
    return { answer, maxAgeSeconds: Math.max(1, Math.ceil((until - at) / 1000)) };
  }

  /** Listens for noticeable changes (open flips, the estimate moves); returns the unsubscribe. */
  subscribe(listener: (answer: Availability) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stopAgeMetric();
    this.listeners.clear();
  }

  private compose(facts: Facts, at: number): ComposedAnswer {
    const cached = this.cached;
    if (cached?.facts === facts && (cached.composed.changesAt === undefined || at < cached.composed.changesAt)) {
      return cached.composed;
    }
    const composed = composeAnswer(facts, this.parts, at);
    if (facts === this.facts) this.cached = { facts, composed };
    return composed;
  }

  private dueAt(facts: Facts): number {
    return Math.max(facts.refreshedAt + this.options.refreshMs, facts.notBefore);
  }

  /** One refresh (or a read of the shared one) at a time on this instance. */
  private tick(): Promise<void> {
    this.ticking ??= this.runTick()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'availability: refresh failed'))
      .finally(() => {
        this.ticking = undefined;
        this.scheduleNext();
        this.notifyIfChanged();
      });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const { store } = this.options;
    this.adopt(await this.readShared());
    if (this.facts && this.now() < this.dueAt(this.facts)) return;
    const claimed = await this.claimLease();
    if (!claimed) return this.awaitShared();
    try {
      // Another instance may have shared a fresh answer and let the lease go between the read above and the claim.
      this.adopt(await this.readShared());
      if (this.facts && this.now() < this.dueAt(this.facts)) return;
      const { facts, result } = await refreshFacts({
        reads: this.options.reads,
        targets: this.options.targets,
        previous: this.facts,
        now: this.now(),
        staleMs: this.options.staleMs,
        logger: this.options.logger,
        onMissingPermission: (permission, part) => this.warnPermission(permission, part),
      });
      if (this.options.reads) availabilityRefreshes.inc({ result });
      this.facts = facts;
      const ttlMs = this.options.staleMs + 2 * this.options.refreshMs;
      await store.put(FACTS_KEY, JSON.stringify(facts), ttlMs).catch(() => undefined);
    } finally {
      await store.swap(LEASE_KEY, this.instanceId, undefined, this.options.leaseMs).catch(() => undefined);
    }
  }

  /**
   * The right to refresh for every instance. A store that does not answer (still connecting, or away) is asked
   * again a few times; after that this instance refreshes for itself, once per interval still.
   */
  private async claimLease(): Promise<boolean> {
    let failure: unknown;
    for (let attempt = 0; attempt < STORE_ATTEMPTS && !this.closed; attempt++) {
      try {
        return await this.options.store.claim(LEASE_KEY, this.instanceId, this.options.leaseMs);
      } catch (error) {
        failure = error;
        await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS * 2).unref());
      }
    }
    this.options.logger.warn({ err: failure }, 'availability: the shared store is away; refreshing alone');
    return true;
  }

  /** Another instance holds the lease: its answer is read once it shares it (bounded by the lease). */
  private async awaitShared(): Promise<void> {
    const before = this.facts?.refreshedAt ?? -Infinity;
    const deadline = Date.now() + this.options.leaseMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SHARED_POLL_MS).unref());
      this.adopt(await this.readShared());
      if ((this.facts?.refreshedAt ?? -Infinity) > before) return;
      const leased = await this.options.store.get(LEASE_KEY).catch(() => undefined);
      if (leased === undefined) return;
    }
  }

  private async readShared(): Promise<Facts | undefined> {
    const text = await this.options.store.get(FACTS_KEY).catch(() => undefined);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as Facts;
    } catch {
      return undefined;
    }
  }

  private adopt(shared: Facts | undefined): void {
    if (shared && shared.refreshedAt > (this.facts?.refreshedAt ?? -Infinity)) this.facts = shared;
  }

  private scheduleNext(): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    const delay = this.facts ? this.dueAt(this.facts) - this.now() : this.options.refreshMs;
    // Up to a tenth of a second apart, so instances do not all ask the store at the same instant.
    this.timer = setTimeout(() => void this.tick(), Math.max(MIN_TICK_MS, delay) + Math.random() * 100);
    this.timer.unref();
  }

  private notifyIfChanged(): void {
    if (!this.facts) return;
    const { answer } = this.compose(this.facts, this.now());
    const before = this.notified;
    this.notified = answer;
    if (!before || !changedNoticeably(before, answer)) return;
    for (const listener of this.listeners) listener(answer);
  }

  private warnPermission(permission: string, part: AvailabilityPart): void {
    if (this.warned.has(permission)) return;
    this.warned.add(permission);
    this.options.logger.warn(
      { permission, part },
      `The OAuth client lacks the permission ${permission}: GET /availability reports "${part}" unknown. ` +
        'Give the OAuth client a role with it (Admin > Roles / Permissions).',
    );
  }
}
