import { retried, type RetryPolicy } from './messages.js';
import { startSession } from './session.js';
import type { Transport } from './transport.js';
import type { SessionView, SignInGrant } from './types.js';

/**
 * How hard a sign-in mid-chat tries: once Genesys has taken it, the held token opens nothing but the same sign-in
 * again, so an answer lost or refused for now (the service's store away) is worth a longer wait than a send's.
 */
export const SIGN_IN_POLICY = { retries: 8, maxWaitSeconds: 30 } as const;

/**
 * Signs the customer in. With a session held, mid-chat: the conversation
 * goes on, signed in (the deployment must allow it: `capabilities()`
 * `authentication.allowSessionUpgrade`); an answer lost or refused for now is
 * asked for again with the same grant, which the service answers with the
 * signed-in token once Genesys has taken it. Without one, starts a signed-in
 * session, which continues the customer's conversation if they have one.
 */
export async function signIn(transport: Transport, auth: SignInGrant, policy: RetryPolicy): Promise<SessionView> {
  if (transport.token === undefined) return startSession(transport, { auth });
  const signedIn = await transport.replacingToken(() =>
    retried(policy, () =>
      transport.request<SessionView>('POST', '/guest-session/sign-in', { body: { auth }, replacesToken: true }),
    ),
  );
  return signedIn.body;
}

/** Signs the customer out on every device (streams hear `signed_out`) and forgets the token. */
export async function signOut(transport: Transport): Promise<void> {
  try {
    await transport.request('POST', '/guest-session/sign-out');
  } finally {
    transport.forget();
  }
}
