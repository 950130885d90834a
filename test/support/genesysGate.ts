import type { GenesysGate } from '../../src/genesys/guest/link/guestApiHealth';
import { GuestApiError } from '../../src/genesys/guest/protocol/errors';

/**
 * A stand-in for the circuit to Genesys (src/genesys/guest/link/guestApiHealth.ts) that a test opens and
 * closes by hand: while open, calls are refused with `circuit_open`; opening it tells every listener (and
 * refuses the calls that asked to be abandoned), as the circuit does; a call that goes through is run as it is.
 */
export class StandInGate implements GenesysGate {
  private opened = false;
  private readonly listeners = new Set<(refusal: GuestApiError) => void>();

  constructor(private readonly retryAfterSeconds = 3) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /** Opens the circuit: what waits on Genesys hears it. */
  open(): GuestApiError {
    this.opened = true;
    const refusal = this.refusal()!;
    for (const listener of [...this.listeners]) listener(refusal);
    return refusal;
  }

  close(): void {
    this.opened = false;
  }

  refusal(): GuestApiError | undefined {
    if (!this.opened) return undefined;
    return new GuestApiError('circuit_open', 'Genesys is away (stand-in).', {
      retryAfterSeconds: this.retryAfterSeconds,
    });
  }

  /** The options of each call watched, in order: how the caller asked its outcome be weighed. */
  readonly watched: { abandonOnOpen?: boolean; countFailures?: boolean }[] = [];

  /** Refused while open; with `abandonOnOpen`, a call still under way when it opens is refused then. */
  async watch<T>(
    call: () => Promise<T>,
    options: { abandonOnOpen?: boolean; countFailures?: boolean } = {},
  ): Promise<T> {
    this.watched.push(options);
    const refused = this.refusal();
    if (refused) throw refused;
    if (!options.abandonOnOpen) return call();
    let stop = () => {};
    const abandoned = new Promise<never>((_, reject) => (stop = this.onOpen(reject)));
    try {
      return await Promise.race([call(), abandoned]);
    } finally {
      stop();
    }
  }

  onOpen(listener: (refusal: GuestApiError) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** How many listen for the circuit to open. */
  get listening(): number {
    return this.listeners.size;
  }
}
