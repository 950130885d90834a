import { createHash, randomBytes } from 'node:crypto';
import type { Simulator } from '../../simulator';

/** Where the demo page would be sent back to after signing in. */
export const REDIRECT_URI = 'http://localhost:3000/signed-in';

/**
 * Signs `customer` in at the simulator's demo identity provider, as a browser
 * would after the authorize page (PKCE S256), and returns the grant a page
 * hands to POST /guest-session or /guest-session/sign-in.
 */
export async function signInAt(
  sim: Simulator,
  customer: string,
  { redirectUri = REDIRECT_URI, nonce }: { redirectUri?: string; nonce?: string } = {},
): Promise<{ code: string; redirectUri: string; codeVerifier: string }> {
  const codeVerifier = randomBytes(32).toString('base64url');
  const form = new URLSearchParams({
    client_id: sim.signIn.clientId,
    redirect_uri: redirectUri,
    state: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
    customer,
    ...(nonce ? { nonce } : {}),
  });
  const res = await fetch(sim.signIn.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
  if (res.status !== 302) throw new Error(`the demo identity provider answered ${res.status}: ${await res.text()}`);
  const code = new URL(res.headers.get('location')!).searchParams.get('code');
  if (!code) throw new Error('no code in the redirect');
  return { code, redirectUri, codeVerifier };
}

/** The payload of a JWT, unverified (to see whom the simulator's sign-in JWT names). */
export function jwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
