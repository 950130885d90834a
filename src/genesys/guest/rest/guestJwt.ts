/** A guest JWT (getJwt), the credential of the REST history endpoint. */
export interface GuestJwt {
  jwt: string;
  /** Epoch seconds. */
  exp: number;
}

/** The session's guest JWT, cached until `marginMs` before it expires and fetched once at a time. */
export class GuestJwtCache {
  private jwt?: GuestJwt;
  private inFlight?: Promise<GuestJwt>;

  constructor(
    private readonly fetch: () => Promise<GuestJwt>,
    private readonly marginMs: number,
    private readonly now: () => number,
  ) {}

  get(): Promise<GuestJwt> {
    if (this.jwt && this.jwt.exp * 1000 - this.marginMs > this.now()) return Promise.resolve(this.jwt);
    this.inFlight ??= this.fetch()
      .then((jwt) => (this.jwt = jwt))
      .finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Genesys refused it, or the conversation it names is gone. */
  forget(): void {
    this.jwt = undefined;
  }
}
