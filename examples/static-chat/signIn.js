// Signing a customer in (Genesys authenticated messaging): the authorization code flow with PKCE,
// run entirely in the page against the identity provider configured in Genesys. The page hands the
// code to the chat service, which exchanges it at Genesys; no Genesys token ever reaches the page.

const PENDING = 'chat-sign-in';

/** @typedef {{ authorizeUrl: string, clientId: string }} SignInConfig */
/** @typedef {import('./bffClient.js').SignInGrant} SignInGrant */

/** The identity provider, from the page's meta tags; undefined when the site has none. @returns {SignInConfig | undefined} */
export function signInConfig() {
  /** @param {string} name */
  const meta = (name) =>
    /** @type {HTMLMetaElement | null} */ (document.querySelector(`meta[name="${name}"]`))?.content ?? '';
  const authorizeUrl = meta('sign-in-authorize-url');
  const clientId = meta('sign-in-client-id');
  return authorizeUrl && clientId ? { authorizeUrl, clientId } : undefined;
}

/** Where the identity provider sends the browser back: this page, without its query. */
function redirectUri() {
  return location.origin + location.pathname;
}

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/**
 * Sends the browser to the identity provider.
 * @param {SignInConfig} config
 * @param {boolean} keep sign the current conversation in (mid-chat) rather than start a signed-in one
 */
export async function beginSignIn(config, keep) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, keep }));
  const url = new URL(config.authorizeUrl);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: config.clientId,
    redirect_uri: redirectUri(),
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })) {
    url.searchParams.set(name, value);
  }
  location.assign(url.toString());
}

/**
 * After the identity provider sent the browser back: the grant for the chat service (and whether to
 * keep the conversation), `{ failed: true }` when the sign-in did not complete, or undefined when this
 * page load is not a return. The code leaves the address bar either way.
 * @returns {{ grant: SignInGrant, keep: boolean } | { failed: true } | undefined}
 */
export function completeSignIn() {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const state = params.get('state');
  const error = params.get('error');
  if (!code && !error) return undefined;
  const saved = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  for (const name of ['code', 'state', 'error', 'error_description', 'iss', 'session_state']) params.delete(name);
  const query = params.toString();
  history.replaceState(null, '', location.pathname + (query ? `?${query}` : '') + location.hash);
  if (!code || !saved || saved.state !== state) return { failed: true };
  return { grant: { code, redirectUri: redirectUri(), codeVerifier: saved.verifier }, keep: saved.keep === true };
}
