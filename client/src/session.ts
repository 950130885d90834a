import { BffError } from './errors.js';
import type { Transport } from './transport.js';
import type {
  Attributes,
  AttributesView,
  Capabilities,
  SessionView,
  StartedSession,
  StartSessionOptions,
} from './types.js';

/** The guest session: start or resume, read, end; its attributes; what the deployment allows. */

/**
 * Resumes the held session (200) or, without one, starts a new session
 * (201). A held token that is no longer valid is dropped and a new session
 * started; `replacedExpired` says so.
 */
export async function startSession(transport: Transport, options: StartSessionOptions = {}): Promise<StartedSession> {
  let replacedExpired = false;
  transport.restartStream();
  if (transport.token !== undefined) {
    try {
      const resumed = await transport.request<SessionView>('POST', '/guest-session', { body: options });
      return { ...resumed.body, resumed: true, replacedExpired: false };
    } catch (error) {
      if (!(error instanceof BffError && error.sessionLost) || options.startNew) throw error;
    }
    replacedExpired = true;
  }
  transport.proposeRoutingKey();
  const started = await transport.request<SessionView>('POST', '/guest-session', { body: options, auth: false });
  return { ...started.body, resumed: false, replacedExpired };
}

export async function getSession(transport: Transport): Promise<SessionView> {
  return (await transport.request<SessionView>('GET', '/guest-session')).body;
}

/** Ends the conversation (Genesys closeSession) and forgets the token. */
export async function endSession(transport: Transport): Promise<void> {
  try {
    await transport.request('DELETE', '/guest-session');
  } finally {
    transport.forget();
  }
}

export async function capabilities(transport: Transport): Promise<Capabilities> {
  return (await transport.request<Capabilities>('GET', '/capabilities')).body;
}

export async function getAttributes(transport: Transport): Promise<AttributesView> {
  return (await transport.request<AttributesView>('GET', '/guest-attributes')).body;
}

/** Replaces the browser-settable attributes (PUT): the body is the map itself. */
export async function setAttributes(transport: Transport, attributes: Attributes): Promise<AttributesView> {
  return (await transport.request<AttributesView>('PUT', '/guest-attributes', { body: attributes })).body;
}

/** Merges attributes (PATCH); a `null` value removes the key. */
export async function updateAttributes(
  transport: Transport,
  changes: Record<string, string | null>,
): Promise<AttributesView> {
  return (await transport.request<AttributesView>('PATCH', '/guest-attributes', { body: changes })).body;
}
