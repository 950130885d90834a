/** What the simulator saw coming in, for tests to assert on what a client sends to Genesys. */

export interface ReceivedFrame {
  at: number;
  connectionId: number;
  /** The frame's own `token`, else the session the connection had configured. */
  sessionToken?: string;
  raw: string;
  /** Parsed JSON, or undefined when the text was not JSON. */
  frame: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- whatever the client sent
  /** Set when a fault swallowed the frame (before-processing) or its reply (after-processing). */
  dropped?: 'before-processing' | 'after-processing';
}

export interface RecordedRequest {
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Which simulated endpoint answered, or undefined for an unknown path. */
  target?: RestTarget;
}

export type RestTarget =
  | 'token'
  | 'deployment'
  | 'config'
  | 'domains'
  | 'history'
  | 'upload'
  | 'download'
  | 'signInExchange'
  | 'signInRefresh'
  | 'signInRevoke'
  | 'estimatedWait'
  | 'queueObservations'
  | 'scheduleGroup'
  | 'schedule'
  | 'emergencyGroup';

export interface Stats {
  connectionsOpened: number;
  /** Connections closed because their session had more than `maxConnectionsPerSession`. */
  connectionsEvicted: number;
  /** Of those, the session's: connections Genesys closed because it had a 4th. */
  evictionsBySession(token: string): number;
  /** WebSocket upgrades refused with 429 (new connections a minute per deployment, strict profile). */
  upgradesRefused: number;
  /** Requests refused with 429 for the per-connection budget (strict profile). */
  requestsRefusedForBudget: number;
  /** Connections that joined the session since start (or reset), however many were open at once. */
  connectionsBySession(token: string): number;
  /** Connections the session has open now. */
  openConnectionsBySession(token: string): number;
  /** The most connections the session had open at once (Genesys allows 3; a 4th closes the oldest). */
  peakConnectionsBySession(token: string): number;
  /** When a connection joined the session and left it with 3 or more open (before any eviction), and how many. */
  crowdedJoinsBySession(token: string): { at: number; open: number }[];
  openConnections(): number;
  tokenRequests: number;
  historyRequests: number;
  deploymentRequests: number;
  configRequests: number;
}

/** Live counters; the same object for the simulator's whole life (reset zeroes it). */
class Counters implements Stats {
  connectionsOpened = 0;
  connectionsEvicted = 0;
  upgradesRefused = 0;
  requestsRefusedForBudget = 0;
  tokenRequests = 0;
  historyRequests = 0;
  deploymentRequests = 0;
  configRequests = 0;
  readonly perSession = new Map<string, number>();
  readonly peakPerSession = new Map<string, number>();
  readonly evictedPerSession = new Map<string, number>();
  readonly crowdedPerSession = new Map<string, { at: number; open: number }[]>();

  constructor(
    readonly openConnections: () => number,
    private readonly openNow: (token: string) => number,
  ) {}

  connectionsBySession(token: string): number {
    return this.perSession.get(token) ?? 0;
  }

  openConnectionsBySession(token: string): number {
    return this.openNow(token);
  }

  peakConnectionsBySession(token: string): number {
    return this.peakPerSession.get(token) ?? 0;
  }

  evictionsBySession(token: string): number {
    return this.evictedPerSession.get(token) ?? 0;
  }

  crowdedJoinsBySession(token: string): { at: number; open: number }[] {
    return [...(this.crowdedPerSession.get(token) ?? [])];
  }

  reset(): void {
    this.connectionsOpened = 0;
    this.connectionsEvicted = 0;
    this.upgradesRefused = 0;
    this.requestsRefusedForBudget = 0;
    this.tokenRequests = 0;
    this.historyRequests = 0;
    this.deploymentRequests = 0;
    this.configRequests = 0;
    this.perSession.clear();
    this.peakPerSession.clear();
    this.evictedPerSession.clear();
    this.crowdedPerSession.clear();
  }
}

export class Recorder {
  enabled: boolean;
  readonly received: ReceivedFrame[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly bySession = new Map<string, ReceivedFrame[]>();
  private readonly counters: Counters;

  constructor(enabled: boolean, openConnections: () => number, openBySession: (token: string) => number = () => 0) {
    this.enabled = enabled;
    this.counters = new Counters(openConnections, openBySession);
  }

  get stats(): Stats {
    return this.counters;
  }

  frame(entry: ReceivedFrame): void {
    if (!this.enabled) return;
    this.received.push(entry);
    if (entry.sessionToken === undefined) return;
    const list = this.bySession.get(entry.sessionToken);
    if (list) list.push(entry);
    else this.bySession.set(entry.sessionToken, [entry]);
  }

  framesFor(sessionToken: string, action?: string): ReceivedFrame[] {
    const list = this.bySession.get(sessionToken) ?? [];
    return action === undefined ? [...list] : list.filter((f) => f.frame?.action === action);
  }

  connectionEvicted(token: string): void {
    const { evictedPerSession } = this.counters;
    this.counters.connectionsEvicted += 1;
    evictedPerSession.set(token, (evictedPerSession.get(token) ?? 0) + 1);
  }

  refusedForBudget(): void {
    this.counters.requestsRefusedForBudget += 1;
  }

  upgradeRefused(): void {
    this.counters.upgradesRefused += 1;
  }

  connectionOpened(): void {
    this.counters.connectionsOpened += 1;
  }

  /** A connection configured a session with this token; `open` counts the session's connections now, this one included. */
  connectionJoined(token: string, open = 1): void {
    const { perSession, peakPerSession } = this.counters;
    perSession.set(token, (perSession.get(token) ?? 0) + 1);
    peakPerSession.set(token, Math.max(peakPerSession.get(token) ?? 0, open));
    if (open < 3) return;
    const crowded = this.counters.crowdedPerSession.get(token) ?? [];
    crowded.push({ at: Date.now(), open });
    this.counters.crowdedPerSession.set(token, crowded);
  }

  request(entry: RecordedRequest): void {
    const c = this.counters;
    if (entry.target === 'token') c.tokenRequests += 1;
    else if (entry.target === 'history') c.historyRequests += 1;
    else if (entry.target === 'deployment') c.deploymentRequests += 1;
    else if (entry.target === 'config') c.configRequests += 1;
    if (this.enabled) this.requests.push(entry);
  }

  reset(): void {
    this.received.length = 0;
    this.requests.length = 0;
    this.bySession.clear();
    this.counters.reset();
  }
}
