import type { AttachmentFailure } from '../../src/genesys/guest/protocol/attachmentFrames';
import type { GuestApiError } from '../../src/genesys/guest/protocol/errors';
import { parseInbound, type SessionResponse } from '../../src/genesys/guest/protocol/frames';
import { dispatchInbound, type GuestEvent, type InboundTarget } from '../../src/genesys/guest/desk/inboundDispatch';
import { PendingRequests, type Pending, type PendingKind } from '../../src/genesys/guest/desk/pendingRequests';
import { createLogger } from '../../src/observability/logger';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

/**
 * An InboundTarget that records what a frame did to it: settled requests, events, deaths, refusals,
 * upload verdicts, what the session learned, and each log line. `feed` parses a frame as it comes off
 * the socket and dispatches it.
 */
export function inboundTarget(options: { uploads?: string[]; info?: SessionResponse } = {}) {
  const pending = new PendingRequests(60_000, () => 0);
  const lines: LogLine[] = [];
  const settled = new Map<string, Error | { value: unknown }>();
  const events: GuestEvent[] = [];
  const died: GuestApiError[] = [];
  const refused: [string | undefined, GuestApiError][] = [];
  const uploads = new Set(options.uploads ?? []);
  const uploadVerdicts: [string, { downloadUrl?: string } | { failure: AttachmentFailure }][] = [];
  const state = { info: options.info, updates: 0 };
  const t: InboundTarget = {
    pending,
    logger: createLogger({
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
    }),
    now: () => 0,
    settle: (p, outcome) => {
      if (pending.remove(p, false)) settled.set(p.tracingId, outcome);
    },
    refused: (tracingId, error) => void refused.push([tracingId, error]),
    emit: (event) => void events.push(event),
    die: (error) => void died.push(error),
    updateInfo: (change) => void ((state.info = change(state.info)), (state.updates += 1)),
    closingByServer: () => undefined,
    configuredSignedIn: () => false,
    signedInOnAnotherConnection: () => undefined,
    accountFor: () => undefined,
    lateEcho: () => undefined,
    uploadSettled: (attachmentId, outcome) => {
      if (!uploads.delete(attachmentId)) return false;
      uploadVerdicts.push([attachmentId, outcome]);
      return true;
    },
  };
  return {
    lines,
    settled,
    events,
    died,
    refused,
    uploadVerdicts,
    state,
    /** A request written and waiting for its reply. */
    add(kind: PendingKind, tracingId: string, extra: Partial<Pending> = {}): Pending {
      const p: Pending = {
        kind,
        tracingId,
        frame: {},
        written: true,
        writtenAt: 0,
        inDoubt: false,
        resolve: () => undefined,
        reject: () => undefined,
        timer: setTimeout(() => undefined, 0),
        ...extra,
      };
      pending.add(p);
      return p;
    },
    feed: (frame: object) => dispatchInbound(parseInbound(JSON.stringify(frame)), t),
  };
}
