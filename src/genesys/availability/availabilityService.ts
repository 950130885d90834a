import type { Availability, AvailabilityPart } from '../../domain/availability';
import type { Logger } from '../../observability/logger';
import { availabilityRefreshes, countAvailabilityAge } from '../../observability/metrics';
import type { SharedStore } from '../../store';
import { NothingShared, RefreshingValue, type AvailabilityReads } from '../platform';
import { changedNoticeably, composeAnswer, NOT_CONFIGURED, type ComposedAnswer } from './answer';
import { configuredParts, refreshFacts, type AvailabilityTargets, type Facts } from './facts';

/**
 * GET /availability's answer, read from the Platform API once per interval for the whole deployment: a
 * RefreshingValue shared through the store, so one refresh runs at a time per instance and one instance refreshes
 * for all (it holds a short lease; the others read the answer it shares). A Platform 429 puts the next refresh
 * after its Retry-After, for every instance. Requests never wait on a refresh, except the very first, once and
 * for a bounded time.
 */
export interface AvailabilityOptions {
  targets: AvailabilityTargets;
  /** Absent without an OAuth client: every configured part is then unknown. */
  reads?: AvailabilityReads;
  /** The OAuth client's settings as the warning about their absence names them (SettingNames). */
  credentialsNamed: string;
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

const SHARED_KEYS = { value: 'availability:facts', lease: 'availability:lease' };
/** The soonest a refresh that found nothing to adopt (or failed) is tried again. */
const RETRY_MS = 250;

export class AvailabilityService {
  readonly configured: boolean;
  private readonly parts: AvailabilityPart[];
  private readonly now: () => number;
  private readonly warned = new Set<string>();
  private readonly listeners = new Set<(answer: Availability) => void>();
  private readonly stopAgeMetric: () => void;
  /** What Genesys last said, refreshed once per interval (or after a Retry-After) and shared between instances. */
  private readonly facts: RefreshingValue<Facts>;
  private firstWaited = false;
  private notified?: Availability;
  private cached?: { facts: Facts; composed: ComposedAnswer };

  constructor(private readonly options: AvailabilityOptions) {
    this.parts = configuredParts(options.targets);
    this.configured = this.parts.length > 0;
    this.now = options.now ?? Date.now;
    const { logger } = options;
    this.facts = new RefreshingValue<Facts>({
      load: () => this.read(),
      // A refresh records Genesys's refusals in the facts, so only the store or a lease ending unshared fails one.
      lifetime: (facts) => ({ refreshAt: this.dueAt(facts) }),
      retryMs: RETRY_MS,
      now: this.now,
      onLoaded: () => this.notifyIfChanged(),
      onFailed: (error) => {
        if (error instanceof NothingShared) logger.debug('availability: no answer shared yet; asking again');
        else logger.error({ err: error }, 'availability: refresh failed');
      },
      shared: {
        store: options.store,
        keys: SHARED_KEYS,
        leaseMs: options.leaseMs,
        keepMs: options.staleMs + 2 * options.refreshMs,
        loadedAt: (facts) => facts.refreshedAt,
        onStoreAway: (error) => logger.warn({ err: error }, 'availability: the shared store is away; refreshing alone'),
      },
    });
    this.stopAgeMetric = countAvailabilityAge(() => {
      const facts = this.facts.peek();
      return facts ? Math.max(0, (this.now() - facts.refreshedAt) / 1000) : undefined;
    });
  }

  /** Starts the first refresh; later ones follow every interval. */
  start(): void {
    if (!this.configured) return;
    if (!this.options.reads) {
      this.options.logger.warn(
        { parts: this.parts },
        `Availability is configured but ${this.options.credentialsNamed} are not set: ` +
          'GET /availability reports every part unknown',
      );
    }
    this.facts.refresh();
  }

  async current(): Promise<AvailabilityAnswer> {
    const now = this.now();
    const refreshSeconds = Math.max(1, Math.round(this.options.refreshMs / 1000));
    if (!this.configured) {
      return { answer: { ...NOT_CONFIGURED, asOf: new Date(now).toISOString() }, maxAgeSeconds: refreshSeconds };
    }
    // Served at once (a due refresh runs behind it), except the very first, which waits a bounded time.
    const loading = this.facts.get().catch(() => undefined);
    if (!this.facts.peek() && !this.firstWaited) {
      this.firstWaited = true;
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.firstAnswerWaitMs)));
      await Promise.race([loading, waited]);
      clearTimeout(timer);
    }
    const at = this.now();
    const known = this.facts.peek();
    const facts = known ?? { refreshedAt: at, notBefore: at };
    const { answer, changesAt } = this.compose(facts, at);
    const until = Math.min(known ? this.dueAt(known) : at + RETRY_MS, changesAt ?? Infinity);
    return { answer, maxAgeSeconds: Math.max(1, Math.ceil((until - at) / 1000)) };
  }

  /** Listens for noticeable changes (open flips, the estimate moves); returns the unsubscribe. */
  subscribe(listener: (answer: Availability) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.facts.close();
    this.stopAgeMetric();
    this.listeners.clear();
  }

  /** One refresh from Genesys, for every instance. */
  private async read(): Promise<Facts> {
    const { facts, result } = await refreshFacts({
      reads: this.options.reads,
      targets: this.options.targets,
      previous: this.facts.peek(),
      now: this.now(),
      staleMs: this.options.staleMs,
      logger: this.options.logger,
      onMissingPermission: (permission, part, request) => this.warnPermission(permission, part, request),
      onNoTimeZone: (groupId, assumed) => this.warnNoTimeZone(groupId, assumed),
    });
    if (this.options.reads) availabilityRefreshes.inc({ result });
    return facts;
  }

  private compose(facts: Facts, at: number): ComposedAnswer {
    const cached = this.cached;
    if (cached?.facts === facts && (cached.composed.changesAt === undefined || at < cached.composed.changesAt)) {
      return cached.composed;
    }
    const composed = composeAnswer(facts, this.parts, at);
    if (facts === this.facts.peek()) this.cached = { facts, composed };
    return composed;
  }

  /** When the next refresh is due: an interval after the last, and never before a Platform Retry-After. */
  private dueAt(facts: Facts): number {
    return Math.max(facts.refreshedAt + this.options.refreshMs, facts.notBefore);
  }

  private notifyIfChanged(): void {
    const facts = this.facts.peek();
    if (!facts) return;
    const { answer } = this.compose(facts, this.now());
    const before = this.notified;
    this.notified = answer;
    if (!before || !changedNoticeably(before, answer)) return;
    for (const listener of this.listeners) {
      // A listener's failure is its own: the others still hear, and the refresh that told them schedules the next.
      try {
        listener(answer);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'availability: a listener failed to take a change');
      }
    }
  }

  private warnNoTimeZone(groupId: string, assumed: string): void {
    if (this.warned.has(`timeZone:${groupId}`)) return;
    this.warned.add(`timeZone:${groupId}`);
    this.options.logger.warn(
      { scheduleGroupId: groupId, timeZone: assumed },
      `The schedule group ${groupId} states no time zone: GET /availability reads its schedules in ${assumed}. ` +
        'Set the time zone on the schedule group in Architect (docs/genesys-protocol.md#availability).',
    );
  }

  private warnPermission(permission: string, part: AvailabilityPart, request: string): void {
    if (this.warned.has(permission)) return;
    this.warned.add(permission);
    this.options.logger.warn(
      { permission, part, request },
      `The OAuth client lacks the permission ${permission}, or holds it in another division than the object's ` +
        `(${request}): ` +
        `GET /availability reports "${part}" unknown. Give the OAuth client a role with it, granted for the ` +
        "object's division (docs/genesys-setup.md).",
    );
  }
}
