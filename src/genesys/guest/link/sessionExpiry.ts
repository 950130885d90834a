/**
 * When Genesys ends a guest session if nothing happens
 * (docs/genesys-protocol.md#session-expiry-slides). The expiry slides: each
 * message moves it to `now + durationSeconds`, as Genesys's transport SDK
 * computes it (`SessionDurationHandler.onMessage`); a SessionResponse's
 * `expirationDate` is only a snapshot, and an `echo` reply carries the
 * current `durationSeconds` and `expirationDate` (as strings) to confirm it.
 */
/**
 * Genesys answers 2 echoes a minute per connection; its SDK asks
 * at most once per 30 s (HEALTH_CHECK_COOL_DOWN_MILLISECONDS).
 */
const CHECK_COOLDOWN_MS = 30_000;

export class SessionExpiry {
  private durationMs?: number;
  private expiresAt?: number;
  /** The last message before the lifetime was known: it moves the expiry once the lifetime is told. */
  private unslidActivityAt?: number;
  private lastCheckAt = -Infinity;
  private check?: Promise<void>;

  /** `askGenesys` sends an `echo`; its reply comes back through `reported`. */
  constructor(
    private readonly now: () => number,
    private readonly askGenesys: () => Promise<void> = () => Promise.resolve(),
  ) {}

  /**
   * The expiry, confirmed with an `echo` first when the lifetime is not known yet (at most once per CHECK_COOLDOWN_MS).
   */
  async current(): Promise<number | undefined> {
    if (this.durationMs === undefined) await this.confirm();
    return this.expiresAt;
  }

  /** Epoch ms, when known. */
  get at(): number | undefined {
    return this.expiresAt;
  }

  /** What Genesys said (SessionResponse, echo metadata): taken as it is, the newest word. */
  reported(durationSeconds: number | undefined, expirationDate: number | undefined): void {
    if (durationSeconds !== undefined && Number.isFinite(durationSeconds) && durationSeconds > 0)
      this.durationMs = durationSeconds * 1000;
    if (expirationDate !== undefined && Number.isFinite(expirationDate)) this.expiresAt = expirationDate * 1000;
    else if (this.durationMs !== undefined && this.expiresAt === undefined)
      this.expiresAt = this.now() + this.durationMs;
    // The echo that told the lifetime may have been answered before Genesys saw that message.
    if (this.durationMs !== undefined && this.unslidActivityAt !== undefined) {
      this.expiresAt = Math.max(this.expiresAt ?? 0, this.unslidActivityAt + this.durationMs);
      this.unslidActivityAt = undefined;
    }
  }

  /**
   * A message went either way: the expiry moves to a whole lifetime
   * from now (when the lifetime is not known yet, an echo asks, and the
   * expiry moves from this message once the answer tells it).
   */
  activity(): void {
    if (this.durationMs === undefined) {
      this.unslidActivityAt = this.now();
      void this.confirm();
      return;
    }
    this.expiresAt = Math.max(this.expiresAt ?? 0, this.now() + this.durationMs);
  }

  /** Asks Genesys with an `echo` (at most once per CHECK_COOLDOWN_MS); resolves once it answered or was not asked. */
  confirm(): Promise<void> {
    if (this.check) return this.check;
    if (this.now() - this.lastCheckAt < CHECK_COOLDOWN_MS) return Promise.resolve();
    this.lastCheckAt = this.now();
    this.check = this.askGenesys()
      .catch(() => undefined)
      .finally(() => (this.check = undefined));
    return this.check;
  }
}

/** `durationSeconds` / `expirationDate` of an echo reply's metadata (strings there), when present. */
export function expiryInMetadata(
  metadata: Record<string, unknown> | null | undefined,
): { durationSeconds?: number; expirationDate?: number } | undefined {
  if (!metadata) return undefined;
  const num = (v: unknown) =>
    (typeof v === 'string' || typeof v === 'number') && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
  const durationSeconds = num(metadata.durationSeconds);
  const expirationDate = num(metadata.expirationDate);
  return durationSeconds === undefined && expirationDate === undefined
    ? undefined
    : { durationSeconds, expirationDate };
}
