import type { Logger } from '../../../observability/logger';
import { DependencyState, type Readiness } from '../../../observability/readiness';
import type { GuestApiError } from '../protocol';
import { GuestSocket } from './guestSocket';

/**
 * The `guestApi` readiness check: whether Genesys accepts this instance's
 * guest WebSocket handshakes. It starts unready and a bare handshake (no
 * session is configured) is tried at once, so an instance that cannot open
 * a guest socket (a wrong GENESYS_ORIGIN, a host it cannot reach) gets no
 * traffic rather than failing its first guest. A refused or failed
 * handshake turns it unready; while it is, the bare handshake is retried in
 * the background, so the instance proves itself healthy again without
 * needing traffic. Any successful handshake clears it.
 */
interface GuestApiHealthOptions {
  webMessagingUrl: string;
  deploymentId: string;
  origin: string;
  readiness: Readiness;
  logger: Logger;
  probeIntervalMs: number;
  connectTimeoutMs: number;
}

export class GuestApiHealth {
  private readonly check: DependencyState;
  private probeTimer?: NodeJS.Timeout;
  private closed = false;
  private refused = false;
  /** The bare handshake under way, ended if the instance stops first. */
  private probing?: GuestSocket;

  constructor(private readonly options: GuestApiHealthOptions) {
    this.check = new DependencyState({
      initial: { ok: false, detail: `Checking that Genesys accepts a guest WebSocket at ${options.webMessagingUrl}.` },
      logger: options.logger,
      onState: (state) => options.readiness.set('guestApi', state),
    });
  }

  /** The first handshake, at start-up. */
  start(): void {
    void this.probe();
  }

  succeeded(): void {
    clearTimeout(this.probeTimer);
    this.check.set({
      ok: true,
      detail: this.refused ? 'Genesys accepts the guest WebSocket again.' : 'Genesys accepts the guest WebSocket.',
    });
  }

  failed(error: GuestApiError): void {
    const detail =
      error.failure === 'handshake_refused'
        ? `Genesys refused the guest WebSocket handshake (HTTP 403) at ${this.options.webMessagingUrl}. ` +
          'Check GENESYS_DEPLOYMENT_ID, that the deployment is active, ' +
          `and that GENESYS_ORIGIN (${this.options.origin}) is one of its allowed domains.`
        : `The guest WebSocket at ${this.options.webMessagingUrl} could not be opened: ${error.message}`;
    this.refused = true;
    this.check.set({ ok: false, detail }, { level: 'error', fields: { genesysCode: error.logDetail?.genesysCode } });
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    if (this.closed) return;
    this.probeTimer = setTimeout(() => void this.probe(), this.options.probeIntervalMs);
    this.probeTimer.unref();
  }

  /**
   * A bare handshake: at start, and from the retry timer, which
   * success and close() clear (so never while ok or closed).
   */
  private async probe(): Promise<void> {
    const socket = new GuestSocket(
      {
        webMessagingUrl: this.options.webMessagingUrl,
        deploymentId: this.options.deploymentId,
        origin: this.options.origin,
        connectTimeoutMs: this.options.connectTimeoutMs,
        pingIntervalMs: 60_000,
        logger: this.options.logger,
      },
      () => undefined,
      () => undefined,
    );
    this.probing = socket;
    let failure: GuestApiError | undefined;
    try {
      await socket.connect();
      socket.close();
    } catch (error) {
      failure = error as GuestApiError;
    }
    this.probing = undefined;
    // Stopped while it ran (shutdown): its outcome says nothing.
    if (this.closed) return;
    if (failure) this.failed(failure);
    else this.succeeded();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.probing?.close();
  }
}
