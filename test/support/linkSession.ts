import { InboundDispatch } from '../../src/genesys/guest/desk/inboundDispatch';
import type { RequestDesk } from '../../src/genesys/guest/desk/requestDesk';
import type { GuestEvent, SessionNews } from '../../src/genesys/guest/desk/sessionNews';
import type { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import type { InboundFrame, SessionResponse } from '../../src/genesys/guest/protocol/frames';
import type { InDoubtSends, LinkSession, SessionLink } from '../../src/genesys/guest/sessionLink';
import type { Logger } from '../../src/observability/logger';
import { StandInLedger, StandInSignIn, StandInUploads } from './inbound';

/**
 * A stand-in for what a SessionLink (src/genesys/guest/sessionLink.ts) needs of its session, and for the
 * ledger that proves its sends in doubt: each a jest mock a test scripts (`mockImplementationOnce`) and
 * asks (`toHaveBeenCalledWith`). The session reads the link's frames with a real InboundDispatch, and acts on
 * what it hears of its streams and its connection as a GuestSession does, so a test sees the link hold and
 * replay events around a reconnect.
 */

export const CONFIGURED = { connected: true, newSession: true, readOnly: false } as SessionResponse;

export class StandInLinkSession implements LinkSession {
  /** Live streams listening. */
  listeners = 0;
  /** What the streams heard, in order. */
  readonly events: GuestEvent[] = [];
  readonly configureLink = jest.fn(async (): Promise<SessionResponse> => CONFIGURED);
  /** Told of each configure Genesys answered. */
  readonly configured = jest.fn((_info: SessionResponse): void => undefined);
  /** Told of the session's end; the link is left as it is (a GuestSession would end it too). */
  readonly ended = jest.fn((_error: GuestApiError): void => undefined);
  private link?: SessionLink;
  private inbound?: InboundDispatch;

  constructor(private readonly logger: Logger) {}

  get listening(): boolean {
    return this.listeners > 0;
  }

  /** The link this session stands behind, whose frames it reads and whose events it holds. */
  serve(link: SessionLink, now: () => number): void {
    this.link = link;
    const parts = { ledger: new StandInLedger(), uploads: new StandInUploads(), signIn: new StandInSignIn() };
    this.inbound = new InboundDispatch({ desk: link.desk, ...parts, session: this, logger: this.logger, now });
  }

  received(frame: InboundFrame): void {
    this.inbound?.dispatch(frame);
  }

  hear(news: SessionNews): void {
    switch (news.type) {
      case 'event':
        if (!this.link?.hold(news.event)) this.events.push(news.event);
        return;
      case 'closing':
        if (this.link) this.link.closedByServer = true;
        return;
      case 'configured':
        return this.configured(news.info);
      case 'ended':
        return this.ended(news.error);
      default:
        return;
    }
  }
}

/** The ledger's part in a reconnect: the sends in doubt, proven (a test scripts how). */
export class StandInProof implements InDoubtSends {
  readonly settleInDoubt = jest.fn(async (_desk: RequestDesk): Promise<void> => undefined);
}
