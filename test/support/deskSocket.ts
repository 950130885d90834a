import type { DeskSocket } from '../../src/genesys/guest/desk/requestDesk';
import type { GuestSocket } from '../../src/genesys/guest/link/guestSocket';
import type { GuestApiError } from '../../src/genesys/guest/protocol/errors';

/**
 * A stand-in for the link a request desk (src/genesys/guest/desk/requestDesk.ts) writes on: a socket that
 * takes every frame and keeps it, configured and open unless the test says otherwise.
 */
export class StandInSocket implements DeskSocket {
  ready = true;
  open = true;
  /** How often the desk asked for a connection. */
  woken = 0;
  /** Set when the session can no longer be used. */
  ended?: GuestApiError;
  /** Every frame written, in order. */
  readonly frames: Record<string, unknown>[] = [];
  private readonly socket = {
    send: (frame: Record<string, unknown>) => {
      this.frames.push(frame);
      this.onFrame?.(frame);
      return Promise.resolve();
    },
  } as unknown as GuestSocket;

  /** `onFrame` is told of each frame as it is written. */
  constructor(private readonly onFrame?: (frame: Record<string, unknown>) => void) {}

  current(): GuestSocket | undefined {
    return this.open ? this.socket : undefined;
  }

  isReady(): boolean {
    return this.ready;
  }

  wake(): void {
    this.woken++;
  }

  dead(): GuestApiError | undefined {
    return this.ended;
  }
}
