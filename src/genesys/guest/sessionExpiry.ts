/**
 * When Genesys ends a guest session if nothing happens
 * (docs/genesys-protocol.md#session-expiry-slides). The expiry slides: each
 * message moves it to `now + durationSeconds`, as Genesys's transport SDK
 * computes it (`SessionDurationHandler.onMessage`); a SessionResponse's
 * `expirationDate` is only a snapshot, and an `echo` reply carries the
 * current `durationSeconds` and `expirationDate` (as strings) to confirm it.
 */
export class SessionExpiry {
  private durationMs?: number;
  private expiresAt?: number;

  constructor(private readonly now: () => number) {}

  /** Epoch ms, when known. */
  get at(): number | undefined {
    return this.expiresAt;
  }

  /** Whether the session's lifetime is known (the strict fixtures send `durationSeconds: null`). */
  get knowsDuration(): boolean {
    return this.durationMs !== undefined;
  }

  /** What Genesys said (SessionResponse, echo metadata): taken as it is, the newest word. */
  reported(durationSeconds: number | undefined, expirationDate: number | undefined): void {
    if (durationSeconds !== undefined && Number.isFinite(durationSeconds) && durationSeconds > 0) this.durationMs = durationSeconds * 1000;
    if (expirationDate !== undefined && Number.isFinite(expirationDate)) this.expiresAt = expirationDate * 1000;
    else if (this.durationMs !== undefined && this.expiresAt === undefined) this.expiresAt = this.now() + this.durationMs;
  }

  /** A message went either way: the expiry moves to a whole lifetime from now. False when the lifetime is not known yet. */
  activity(): boolean {
    if (this.durationMs === undefined) return false;
    this.expiresAt = Math.max(this.expiresAt ?? 0, this.now() + this.durationMs);
    return true;
  }
}

/** `durationSeconds` / `expirationDate` of an echo reply's metadata (strings there), when present. */
export function expiryInMetadata(metadata: Record<string, unknown> | null | undefined): { durationSeconds?: number; expirationDate?: number } | undefined {
  if (!metadata) return undefined;
  const num = (v: unknown) => (typeof v === 'string' || typeof v === 'number') && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;
  const durationSeconds = num(metadata.durationSeconds);
  const expirationDate = num(metadata.expirationDate);
  return durationSeconds === undefined && expirationDate === undefined ? undefined : { durationSeconds, expirationDate };
}
