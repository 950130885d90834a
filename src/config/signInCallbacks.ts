import { OriginAllowlist } from './originAllowlist';

/**
 * Where a sign-in's code may have been sent back to (the `redirectUri` of an
 * authorization-code grant, docs/configuration.md): one of
 * SIGN_IN_REDIRECT_URIS exactly, as OAuth compares them; or, with that unset,
 * any http(s) URL on an origin CORS_ALLOWED_ORIGINS allows (the site's own
 * pages). A code minted for someone else's callback is then refused before
 * Genesys, and through it the site's identity provider, is asked.
 */
export function signInCallbacks(
  redirectUris: readonly string[] | undefined,
  allowedOrigins: readonly string[],
): (uri: string) => boolean {
  if (redirectUris !== undefined) {
    const exact = new Set(redirectUris);
    return (uri) => exact.has(uri);
  }
  const origins = OriginAllowlist.parse(allowedOrigins);
  return (uri) => redirectUriProblem(uri) === undefined && origins.allows(new URL(uri).origin);
}

/** Why `uri` cannot be a sign-in callback URL (absolute http(s), no credentials, no fragment), or undefined. */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return (
      'is not an absolute URL; write the callback URL as sent to the identity provider, e.g. ' +
      'https://shop.example.com/signed-in'
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use http or https';
  if (url.username || url.password || url.hash) return 'may not carry credentials or a #fragment';
  return undefined;
}
