import { startSession } from './session.js';
import type { Transport } from './transport.js';
import type { SessionView, SignInGrant } from './types.js';

/**
 * Signs the customer in. With a session held, mid-chat: the conversation
 * goes on, signed in (the deployment must allow it: `capabilities()`
 * `authentication.allowSessionUpgrade`). Without one, starts a signed-in
 * session, which continues the customer's conversation if they have one.
 */
export async function signIn(transport: Transport, auth: SignInGrant): Promise<SessionView> {
  if (transport.token === undefined) return startSession(transport, { auth });
  return (
    await transport.request<SessionView>('POST', '/guest-session/sign-in', { body: { auth }, replacesToken: true })
  ).body;
}

/** Signs the customer out on every device (streams hear `signed_out`) and forgets the token. */
export async function signOut(transport: Transport): Promise<void> {
  try {
    await transport.request('POST', '/guest-session/sign-out');
  } finally {
    transport.forget();
  }
}
