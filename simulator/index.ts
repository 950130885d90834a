import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScriptedAgent, type AgentControls } from './agent';
import { SimulatedAttachments } from './attachments';
import { fileRoute, serveFile } from './fileServer';
import type { ServerFrame } from './frames';
import { Faults, type FaultControls } from './faults';
import { GuestSocketServer } from './guestSocket';
import { GuestJwtIssuer } from './jwt';
import { applyOptions, resolveOptions, type SimulatorOptions } from './options';
import { Recorder, type ReceivedFrame, type RecordedRequest, type Stats } from './recorder';
import { PlatformRest } from './rest';
import { Sessions } from './sessions';
import { AuthenticatedSessions } from './authenticatedSessions';
import { isOidcRequest, OIDC_CLIENT_ID, serveOidc } from './oidcProvider';
import { SimulatedSignIn } from './signIn';
import { SimulatedAvailability, type AvailabilityControls } from './availability';
import { setAvailabilityState } from './availabilityStates';

/**
 * A local, protocol-faithful Genesys Cloud for tests, the benchmark and the
 * embedded demo: OAuth login, the Platform and CDN endpoints the BFF reads,
 * the Web Messaging Guest API WebSocket, a scripted agent, fault injection and
 * recording, all on one loopback port. Behaviour follows
 * docs/genesys-protocol.md; where
 * those mark something unverified, the code says which choice it made.
 */

export { availabilityEnvFor, deploymentEntryFor, genesysEnvFor, type SimulatorAddress } from './env';
export { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_DEPLOYMENT_ID } from './options';
export type { AgentOptions, SimulatorOptions } from './options';
export type { ReceivedFrame, RecordedRequest, Stats } from './recorder';
export type { AgentControls } from './agent';
export type {
  AvailabilityControls,
  AvailabilityTarget,
  DivisionHolder,
  SimPrediction,
  SimSchedule,
} from './availability';
export { ALL_AVAILABILITY_GRANTS, HOME_DIVISION_ID } from './platformAccess';
export { DEFAULT_EMERGENCY_GROUP_ID, DEFAULT_QUEUE_ID, DEFAULT_SCHEDULE_GROUP_ID } from './availability';
export {
  AVAILABILITY_STATES,
  isAvailabilityState,
  setAvailabilityState,
  type AvailabilityState,
} from './availabilityStates';
export type { FaultControls, RestFault, RestFaultTarget, RestHold, DropWhen } from './faults';

export interface Simulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** webMessagingUrl is ws://127.0.0.1:PORT (the client appends /v1?deploymentId=). */
  readonly urls: { loginUrl: string; apiUrl: string; cdnUrl: string; webMessagingUrl: string };
  /** The demo identity provider (oidcProvider.ts): its authorize endpoint and client id, for a sign-in button. */
  readonly signIn: { authorizeUrl: string; clientId: string };
  readonly port: number;
  readonly deploymentId: string;
  readonly credentials: { clientId: string; clientSecret: string };
  /** Every received WebSocket frame, oldest first (empty when `record` is off). */
  readonly received: ReceivedFrame[];
  /** Every REST request, oldest first (empty when `record` is off). */
  readonly requests: RecordedRequest[];
  framesFor(sessionToken: string, action?: string): ReceivedFrame[];
  readonly stats: Stats;
  /** What reached the session's current conversation (participant data). */
  customAttributes(sessionToken: string): Record<string, string>;
  /** The session's current conversation, oldest first (typing events are not kept; receipts are not messages). */
  conversationMessages(sessionToken: string): object[];
  readonly agent: AgentControls;
  readonly faults: FaultControls;
  /** Open hours, emergency, agents and the estimated wait the Platform API reports (availability.ts). */
  readonly availability: AvailabilityControls;
  /**
   * The OAuth client is deleted in Genesys: the access tokens it was given answer 401 and `POST /oauth/token` refuses
   * it (`invalid_client`) until `reset()`.
   */
  revokeClient(): void;
  /** Changes options between tests (port and host are fixed once listening). */
  setOptions(patch: Partial<SimulatorOptions>): void;
  /** Forgets sessions, records, counters, issued tokens and faults; open sockets are terminated. */
  reset(): void;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // A deep accept queue: the benchmark opens thousands of guest sockets at once.
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** One HTTP server for every host role: file storage, the demo identity provider, and the Platform REST API. */
function requestRouter(
  files: Parameters<typeof serveFile>[3],
  signIn: SimulatedSignIn,
  rest: PlatformRest,
  base: () => string,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const file = fileRoute(req);
    if (file) serveFile(req, res, file, files).catch(() => res.destroy());
    else if (isOidcRequest(req)) serveOidc(req, res, signIn, base()).catch(() => res.destroy());
    else rest.handle(req, res);
  };
}

/** The faults a test injects, over the parts they reach (`sockets` comes last, so it is reached when used). */
function faultsOver(attachments: SimulatedAttachments, sessions: Sessions, sockets: () => GuestSocketServer): Faults {
  return new Faults({
    failNextUploads: (times) => attachments.failNextUploads(times),
    dropSocket: (token) => sockets().dropSockets(token),
    expireSession: (token) => {
      const session = sessions.get(token);
      if (!session) throw new Error(`simulator faults: no session with token ${token}`);
      sessions.expire(session);
    },
  });
}

export async function startSimulator(input: SimulatorOptions = {}): Promise<Simulator> {
  const options = resolveOptions(input);
  // The closures below reach `sockets`, created last because it needs all the others.
  const recorder = new Recorder(
    options.record,
    (): number => sockets.openCount,
    (token) => sessions.get(token)?.connections.size ?? 0,
  );
  const sessions = new Sessions(
    options,
    (token, open) => recorder.connectionJoined(token, open),
    (token) => recorder.connectionEvicted(token),
  );
  let httpBase = '';
  let wsBase = '';
  const attachments = new SimulatedAttachments(options, () => httpBase);
  const agent = new ScriptedAgent(sessions, options, attachments, () => availability);
  const jwt = new GuestJwtIssuer(() => options.deploymentId);
  const faults = faultsOver(attachments, sessions, () => sockets);
  const signIn: SimulatedSignIn = new SimulatedSignIn(options, (customer) => authenticated.signOut(customer));
  const authenticated = new AuthenticatedSessions({ options, sessions, signIn });
  const sockets = new GuestSocketServer({
    options,
    sessions,
    faults,
    recorder,
    agent,
    jwt,
    attachments,
    authenticated,
  });
  const availability = new SimulatedAvailability(faults, options);
  if (options.availabilityState !== 'open') setAvailabilityState(availability, options.availabilityState);
  const rest = new PlatformRest({
    availability,
    options,
    recorder,
    faults,
    sessions,
    jwt,
    signIn,
    baseUrls: () => ({ http: httpBase, ws: wsBase }),
  });

  const push = (token: string, f: ServerFrame) => sessions.get(token)?.broadcast(f);
  const files = { attachments, recorder, faults, push, verdictFirst: () => options.profile === 'strict' };
  const server = createServer(requestRouter(files, signIn, rest, () => httpBase));
  server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
  const address = await listen(server, options.port, options.host);
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  httpBase = `http://${hostForUrl}:${address.port}`;
  wsBase = `ws://${hostForUrl}:${address.port}`;

  let stopped: Promise<void> | undefined;

  return {
    url: httpBase,
    urls: { loginUrl: httpBase, apiUrl: httpBase, cdnUrl: httpBase, webMessagingUrl: wsBase },
    signIn: { authorizeUrl: `${httpBase}/oidc/authorize`, clientId: OIDC_CLIENT_ID },
    port: address.port,
    get deploymentId() {
      return options.deploymentId;
    },
    get credentials() {
      return { clientId: options.clientId, clientSecret: options.clientSecret };
    },
    received: recorder.received,
    requests: recorder.requests,
    framesFor: (token, action) => recorder.framesFor(token, action),
    stats: recorder.stats,
    customAttributes: (token) => ({ ...sessions.get(token)?.conversation.customAttributes }),
    conversationMessages: (token) => messagesOf(sessions.get(token)?.conversation.messages ?? []),
    agent,
    faults,
    availability,
    revokeClient: () => rest.revokeClient(),
    setOptions(patch) {
      applyOptions(options, patch);
      recorder.enabled = options.record;
    },
    reset() {
      agent.cancelAll();
      faults.clear();
      sockets.dropSockets();
      sessions.clear();
      rest.reset();
      availability.reset();
      signIn.reset();
      attachments.reset();
      recorder.reset();
    },
    stop() {
      stopped ??= (async () => {
        agent.cancelAll();
        sessions.clear();
        sockets.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopped;
    },
  };
}

/** A conversation's messages, without the receipts that report on them. */
function messagesOf(stored: object[]): object[] {
  return stored.filter((m) => (m as { type?: string }).type !== 'Receipt');
}
