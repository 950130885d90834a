import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatedSignIn } from './signIn';

/**
 * A small OpenID Connect authorization server, standing in for the
 * organisation's identity provider that Genesys's "OpenID Connect Messenger
 * Configuration" points at, so the demo can sign a customer in with no
 * account: an authorize page ("Sign in as a demo customer"), codes bound to
 * their redirect URI and PKCE challenge, a token endpoint and discovery.
 * Any redirect URI is accepted (a real provider checks it against the
 * client's registration).
 */

export const OIDC_CLIENT_ID = 'demo-chat';
const PREFIX = '/oidc';
const DEFAULT_CUSTOMER = 'demo-customer';
const CUSTOMER = /^[A-Za-z0-9._@-]{1,64}$/;
const MAX_FORM_BYTES = 16 * 1024;

export function isOidcRequest(req: IncomingMessage): boolean {
  return (req.url ?? '').startsWith(`${PREFIX}/`);
}

export async function serveOidc(
  req: IncomingMessage,
  res: ServerResponse,
  signIn: SimulatedSignIn,
  base: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  const route = `${req.method} ${url.pathname.slice(PREFIX.length)}`;
  if (route === 'GET /.well-known/openid-configuration') return json(res, 200, discovery(base));
  if (route === 'GET /authorize') return authorizePage(res, url.searchParams);
  if (route === 'POST /authorize') return authorize(res, signIn, await form(req));
  if (route === 'POST /token') return token(res, signIn, await form(req));
  json(res, 404, { error: 'not_found' });
}

function discovery(base: string) {
  return {
    issuer: `${base}${PREFIX}`,
    authorization_endpoint: `${base}${PREFIX}/authorize`,
    token_endpoint: `${base}${PREFIX}/token`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['HS256'],
    scopes_supported: ['openid', 'profile'],
  };
}

/** The page a customer signs in on: the request's parameters ride along in the form. */
function authorizePage(res: ServerResponse, params: URLSearchParams): void {
  const problem = requestProblem(params);
  if (problem) return html(res, 400, `<h1>Sign-in request refused</h1><p>${escape(problem)}</p>`);
  const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'nonce']
    .filter((name) => params.has(name))
    .map((name) => `<input type="hidden" name="${name}" value="${escape(params.get(name)!)}">`)
    .join('');
  html(
    res,
    200,
    `<h1>Demo identity provider</h1>
<p>This page stands in for your organisation's sign-in (the identity provider configured in Genesys Cloud). No account or password is needed.</p>
<form method="post" action="${PREFIX}/authorize">${hidden}
<label for="customer">Customer</label> <input id="customer" name="customer" value="${DEFAULT_CUSTOMER}" pattern="[A-Za-z0-9._@-]{1,64}" required>
<button type="submit">Sign in as a demo customer</button>
</form>`,
  );
}

function requestProblem(params: URLSearchParams): string | undefined {
  if (params.get('response_type') !== 'code')
    return 'Only the authorization code flow (response_type=code) is offered.';
  if (params.get('client_id') !== OIDC_CLIENT_ID) return `Unknown client_id; this provider knows "${OIDC_CLIENT_ID}".`;
  if (!redirectTarget(params.get('redirect_uri'))) return 'redirect_uri must be an http(s) URL.';
  if (params.has('code_challenge') && params.get('code_challenge_method') !== 'S256')
    return 'Only the S256 code challenge method is offered.';
  return undefined;
}

function authorize(res: ServerResponse, signIn: SimulatedSignIn, params: URLSearchParams): void {
  const problem = requestProblem(new URLSearchParams({ ...Object.fromEntries(params), response_type: 'code' }));
  const customer = params.get('customer') ?? '';
  if (problem || !CUSTOMER.test(customer))
    return html(
      res,
      400,
      `<h1>Sign-in refused</h1><p>${escape(problem ?? 'Name a customer: letters, digits and . _ @ -')}</p>`,
    );
  const target = redirectTarget(params.get('redirect_uri'))!;
  const code = signIn.issueCode({
    customer,
    redirectUri: params.get('redirect_uri')!,
    codeChallenge: params.get('code_challenge') ?? undefined,
    nonce: params.get('nonce') ?? undefined,
  });
  target.searchParams.set('code', code);
  if (params.has('state')) target.searchParams.set('state', params.get('state')!);
  res.writeHead(302, { Location: target.toString(), 'Cache-Control': 'no-store' });
  res.end();
}

/** The token endpoint: what Genesys calls with the code it was given (here the exchange redeems codes directly). */
async function token(res: ServerResponse, signIn: SimulatedSignIn, params: URLSearchParams): Promise<void> {
  if (params.get('grant_type') !== 'authorization_code') return json(res, 400, { error: 'unsupported_grant_type' });
  const issued = signIn.redeem(
    params.get('code') ?? '',
    params.get('redirect_uri') ?? undefined,
    params.get('code_verifier') ?? undefined,
  );
  if (!issued) return json(res, 400, { error: 'invalid_grant' });
  const idToken = await signIn.idToken(issued.customer, params.get('client_id') ?? OIDC_CLIENT_ID, issued.nonce);
  json(res, 200, { access_token: idToken, id_token: idToken, token_type: 'Bearer', expires_in: 600 });
}

function redirectTarget(value: string | null): URL | undefined {
  try {
    const url = new URL(value ?? '');
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_FORM_BYTES) break;
  }
  return new URLSearchParams(text.slice(0, MAX_FORM_BYTES));
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · demo identity provider</title><style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}input,button{font:inherit;padding:.4rem .6rem}button{margin-top:1rem;display:block}</style></head><body>${body}</body></html>`,
  );
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}
