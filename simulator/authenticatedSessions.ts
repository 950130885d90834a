import {
  CODES,
  configureAuthenticatedSessionFrame,
  connectionClosedEvent,
  ERRORS,
  errorFrame,
  inboundEcho,
  logoutEvent,
  presenceEvent,
  sessionResponse,
} from './frames';
import type { ResolvedOptions } from './options';
import { UNKNOWN_CLASS_FRAME } from './profile';
import type { GuestConnection, SimulatedSession, Sessions } from './sessions';
import type { SimulatedSignIn } from './signIn';

/**
 * `configureAuthenticatedSession` (docs/genesys-protocol.md#configureauthenticatedsession):
 * a session configured with a sign-in JWT belongs to that customer, and a
 * customer has one conversation across devices. Where the sources are
 * silent the simulator chooses, and says so:
 *
 * - a new session of a customer with an open conversation joins it (no
 *   autostart then: `newSession` is false); every device gets its messages;
 * - signing an anonymous session in (step-up) keeps its conversation, which
 *   becomes the customer's; the session's other connections get
 *   ConnectionClosedEvent `signedIn`; an older conversation of the customer
 *   is cleared, its devices closed the same way, and the SessionResponse
 *   says `clearedExistingSession: true` (the SDK's ExistingAuthSessionCleared);
 * - Genesys then sends an Inbound Presence `SignIn` to the conversation;
 * - a refused JWT is a 401 "User is unauthorized"; a JWT of another customer
 *   on a signed-in session, a 403 "Session authentication failed…";
 * - signing out (the revoke endpoint) sends LogoutEvent to every connection
 *   of every device and detaches them; the session stays the customer's.
 */
interface AuthenticatedSessionsDeps {
  options: ResolvedOptions;
  sessions: Sessions;
  signIn: SimulatedSignIn;
}

export class AuthenticatedSessions {
  constructor(private readonly deps: AuthenticatedSessionsDeps) {}

  async configure(connection: GuestConnection, frame: unknown, tracingId: string | undefined): Promise<void> {
    const parsed = configureAuthenticatedSessionFrame.safeParse(frame);
    if (!parsed.success) return connection.send(errorFrame(CODES.badRequest, ERRORS.requestFailed, tracingId));
    const { token, deploymentId, startNew, data } = parsed.data;
    const { options, sessions } = this.deps;
    if (deploymentId !== options.deploymentId)
      return connection.send(errorFrame(CODES.badRequest, ERRORS.deploymentNotFound, tracingId));
    if (!options.authEnabled)
      return connection.send(errorFrame(CODES.forbidden, ERRORS.authenticationDisabled, tracingId));
    const customer = await this.deps.signIn.customerOf(data.code);
    if (!customer) return connection.send(errorFrame(CODES.unauthorized, ERRORS.unauthorized, tracingId));
    let session = sessions.get(token);
    if (session?.expired) return connection.send(errorFrame(CODES.sessionExpired, ERRORS.sessionExpired, tracingId));
    if (session?.customer !== undefined && session.customer !== customer) {
      return connection.send(errorFrame(CODES.forbidden, ERRORS.authenticationFailed, tracingId));
    }
    let newSession = false;
    let clearedExistingSession = false;
    let signedInNow = true;
    if (!session) {
      session = sessions.create(token);
      const existing = sessions.customerConversation(customer);
      newSession = existing === undefined;
      sessions.joinCustomer(session, customer, existing ?? session.conversation);
    } else if (session.customer === undefined) {
      if (!options.allowSessionUpgrade)
        return connection.send(errorFrame(CODES.forbidden, ERRORS.authenticationDisabled, tracingId));
      clearedExistingSession = this.stepUp(connection, session, customer);
    } else if (startNew === true && session.conversation.readOnly) {
      session.startNewConversation();
      sessions.joinCustomer(session, customer, session.conversation);
      newSession = true;
    } else {
      signedInNow = false;
    }
    sessions.attach(connection, session);
    sessions.touch(session);
    connection.send(sessionResponse(sessions.describe(session, { newSession, clearedExistingSession }), tracingId));
    if (options.profile === 'strict') connection.send(UNKNOWN_CLASS_FRAME);
    if (signedInNow) sessions.deliver(session, inboundEcho({ type: 'Event', events: [presenceEvent('SignIn')] }));
  }

  /** Signs every device of the customer out: LogoutEvent, and the connections serve the session no more. */
  signOut(customer: string): void {
    for (const session of this.deps.sessions.sessionsOf(customer)) {
      for (const connection of [...session.connections]) {
        this.deps.sessions.detach(connection);
        connection.send(logoutEvent());
      }
    }
  }

  /** An anonymous session signs in: its conversation goes on as the customer's. Answers whether an older one was cleared. */
  private stepUp(connection: GuestConnection, session: SimulatedSession, customer: string): boolean {
    const { sessions } = this.deps;
    for (const peer of [...session.connections]) {
      if (peer === connection) continue;
      sessions.detach(peer);
      peer.sendAndClose(connectionClosedEvent('signedIn'));
    }
    const older = sessions.customerConversation(customer);
    if (older && older !== session.conversation) {
      for (const device of [...(older.members ?? [])]) {
        for (const peer of [...device.connections]) peer.sendAndClose(connectionClosedEvent('signedIn'));
        sessions.delete(device);
      }
      older.readOnly = true;
    }
    sessions.joinCustomer(session, customer, session.conversation);
    return older !== undefined && older !== session.conversation;
  }
}
