/**
 * What `npm run verify:genesys` talks about: the deployment it checks, the run its steps share, the frames and
 * REST answers seen on the way, and the verdict on each point. The checks (verifyRest.ts, verifyBudgets.ts,
 * verifySignIn.ts, verifyAvailability.ts) and the raw connection import it; verifyGenesys.ts runs them all.
 */

/** The OAuth client and ids GET /availability reads (verifyAvailability.ts). */
export interface AvailabilityTarget {
  loginUrl: string;
  apiUrl: string;
  clientId?: string;
  clientSecret?: string;
  queueIds: string[];
  scheduleGroupId?: string;
  emergencyGroupId?: string;
}

export interface VerifyTarget {
  /** The deployment's name: its entry's in DEPLOYMENTS_FILE, `default` for the single-deployment variables. */
  name: string;
  deploymentId: string;
  origin: string;
  webMessagingUrl: string;
  apiUrl: string;
  cdnUrl: string;
  timeoutMs?: number;
  availability?: AvailabilityTarget;
}

export type Verdict = 'holds' | 'differs' | 'not checked';

export interface Finding {
  point: string;
  expected: string;
  observed: string;
  verdict: Verdict;
}

/** A frame or REST answer seen on the way, for `--record` (scrubbed before it is written). */
export interface Exchange {
  kind: 'frame-out' | 'frame-in' | 'rest';
  data: unknown;
}

export interface VerifyReport {
  target: { name: string; deploymentId: string; webMessagingUrl: string; apiUrl: string };
  findings: Finding[];
  exchanges: Exchange[];
  /** What the run must keep out of any file it writes. */
  secrets: string[];
}

/** A Guest API frame as it arrived, kept whole so its shape can be inspected. */
export type Frame = { type?: string; class?: string; code?: number; body?: unknown; tracingId?: string };

/** The guest connection a run talks on, as its steps use it (RawConnection, rawGuestConnection.ts). */
export interface RunSocket {
  readonly frames: Frame[];
  send(frame: object): void;
  /** The first frame from `from` on that matches, or undefined after the timeout. */
  next(match: (f: Frame) => boolean, from: number, timeoutMs: number): Promise<Frame | undefined>;
  close(): void;
}

/** What each step of the run shares. */
export interface Run {
  target: VerifyTarget;
  socket: RunSocket;
  token: string;
  timeoutMs: number;
  exchanges: Exchange[];
  secrets: string[];
  config?: Record<string, unknown>;
  add(point: string, expected: string, observed: string, verdict: Verdict): void;
}
