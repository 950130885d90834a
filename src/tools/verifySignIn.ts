import { randomUUID } from 'node:crypto';
import axios from 'axios';
import {
  configureAuthenticatedSessionFrame,
  configureSessionFrame,
  getJwtFrame,
  type SignInGrant,
} from '../genesys/guest';
import { RawConnection } from './rawGuestConnection';
import type { Frame, Run } from './verifyRun';

/**
 * The authenticated-messaging part of `npm run verify:genesys`
 * (docs/genesys-protocol.md#unverified-points): given a sign-in the operator
 * got from the deployment's identity provider (`VERIFY_SIGN_IN_CODE` with
 * `VERIFY_SIGN_IN_REDIRECT_URI` and, with PKCE, `VERIFY_SIGN_IN_CODE_VERIFIER`;
 * or `VERIFY_SIGN_IN_ID_TOKEN` with `VERIFY_SIGN_IN_NONCE`), it checks what
 * the service assumes: the exchange's answer and the JWT's lifetime, configuring and the SignIn
 * presence, 401 for a refused JWT, 4017, which refresh body Genesys takes,
 * and that the revoke sends LogoutEvent and ends the credentials.
 */

type SignInRun = Pick<Run, 'target' | 'exchanges' | 'secrets' | 'timeoutMs' | 'add'>;

/** The operator's sign-in from the environment, or undefined when none was given. */
export function grantFromEnv(env: NodeJS.ProcessEnv): SignInGrant | undefined {
  if (env.VERIFY_SIGN_IN_CODE && env.VERIFY_SIGN_IN_REDIRECT_URI) {
    return {
      code: env.VERIFY_SIGN_IN_CODE,
      redirectUri: env.VERIFY_SIGN_IN_REDIRECT_URI,
      ...(env.VERIFY_SIGN_IN_CODE_VERIFIER ? { codeVerifier: env.VERIFY_SIGN_IN_CODE_VERIFIER } : {}),
    };
  }
  if (env.VERIFY_SIGN_IN_ID_TOKEN && env.VERIFY_SIGN_IN_NONCE)
    return { idToken: env.VERIFY_SIGN_IN_ID_TOKEN, nonce: env.VERIFY_SIGN_IN_NONCE };
  return undefined;
}

export async function verifySignIn(run: SignInRun, grant: SignInGrant | undefined): Promise<void> {
  if (!grant) {
    run.add(
      'authenticated messaging',
      'checked with a sign-in from the identity provider',
      'no VERIFY_SIGN_IN_CODE (or _ID_TOKEN) given',
      'not checked',
    );
    return;
  }
  const exchanged = await rest(run, 'POST', '/api/v2/webdeployments/token/oauthcodegrantjwtexchange', {
    deploymentId: run.target.deploymentId,
    oauth: grant,
  });
  const body = exchanged.data as { jwt?: string; refreshToken?: string };
  const holds = exchanged.status === 200 && typeof body?.jwt === 'string';
  run.add(
    'sign-in exchange',
    '200 { jwt, refreshToken? }',
    `HTTP ${exchanged.status}; keys: ${Object.keys(body ?? {})
      .sort()
      .join(', ')}`,
    holds ? 'holds' : 'differs',
  );
  if (!holds || !body.jwt) return;
  run.secrets.push(body.jwt, ...(body.refreshToken ? [body.refreshToken] : []));
  const lifetime = lifetimeOf(body.jwt);
  run.add(
    'sign-in JWT lifetime',
    'about 15 minutes (a Genesys developer, MT PR #176); the service renews the JWT on a 401 whatever it is',
    lifetime === undefined ? 'no iat and exp claims to read' : `${lifetime} s (exp - iat)`,
    lifetime === undefined ? 'differs' : 'holds',
  );
  const socket = await RawConnection.open(run.target, run.exchanges, run.timeoutMs);
  try {
    await signedInSession(run, socket, body.jwt);
    if (body.refreshToken) await refresh(run, body.refreshToken);
    await revoke(run, socket, body.jwt, body.refreshToken);
  } finally {
    socket.close();
  }
}

async function signedInSession(run: SignInRun, socket: RawConnection, jwt: string): Promise<void> {
  const { deploymentId } = run.target;
  const refused = await request(run, socket, (tracingId) =>
    configureAuthenticatedSessionFrame({
      token: randomUUID(),
      deploymentId,
      startNew: false,
      tracingId,
      jwt: 'not.a.jwt',
    }),
  );
  run.add(
    'a refused sign-in JWT',
    'error 401 (the SDK refreshes and configures again)',
    describe(refused),
    refused?.code === 401 ? 'holds' : 'differs',
  );

  const token = randomUUID();
  run.secrets.push(token);
  const mark = socket.frames.length;
  const session = await request(run, socket, (tracingId) =>
    configureAuthenticatedSessionFrame({ token, deploymentId, startNew: false, tracingId, jwt }),
  );
  run.add(
    'configureAuthenticatedSession',
    'a SessionResponse',
    describe(session),
    session?.class === 'SessionResponse' ? 'holds' : 'differs',
  );
  const signIn = await socket.next(
    (f) => f.class === 'StructuredMessage' && JSON.stringify(f.body).includes('"SignIn"'),
    mark,
    run.timeoutMs,
  );
  run.add(
    'Presence SignIn after signing in',
    'an Inbound Presence SignIn event',
    signIn ? 'seen' : 'not seen',
    signIn ? 'holds' : 'differs',
  );
  const guestJwt = await request(run, socket, (tracingId) => getJwtFrame({ token, tracingId }));
  run.add(
    'getJwt on a signed-in session',
    'a JwtResponse (history works the same)',
    describe(guestJwt),
    guestJwt?.class === 'JwtResponse' ? 'holds' : 'differs',
  );

  const other = await RawConnection.open(run.target, run.exchanges, run.timeoutMs);
  try {
    const downgrade = await request(run, other, (tracingId) =>
      configureSessionFrame({ token, deploymentId, startNew: false, tracingId }),
    );
    run.add(
      'anonymous configure of a signed-in session',
      'error 4017 (cannot downgrade)',
      describe(downgrade),
      downgrade?.code === 4017 ? 'holds' : 'differs',
    );
  } finally {
    other.close();
  }
}

async function refresh(run: SignInRun, refreshToken: string): Promise<void> {
  const sdkBody = await rest(run, 'POST', '/api/v2/webdeployments/token/refresh', { refreshToken });
  const withDeployment = await rest(run, 'POST', '/api/v2/webdeployments/token/refresh', {
    refreshToken,
    deploymentId: run.target.deploymentId,
  });
  for (const fresh of [sdkBody, withDeployment]) {
    const jwt = (fresh.data as { jwt?: string } | undefined)?.jwt;
    if (jwt) run.secrets.push(jwt);
  }
  run.add(
    'refresh body',
    '200 { jwt } for { refreshToken, deploymentId } (what the service sends; the SDK sends only refreshToken)',
    `{ refreshToken }: HTTP ${sdkBody.status}; with deploymentId: HTTP ${withDeployment.status}`,
    withDeployment.status === 200 ? 'holds' : 'differs',
  );
}

async function revoke(
  run: SignInRun,
  socket: RawConnection,
  jwt: string,
  refreshToken: string | undefined,
): Promise<void> {
  const mark = socket.frames.length;
  const revoked = await rest(run, 'DELETE', '/api/v2/webdeployments/token/revoke', undefined, jwt);
  const logout = await socket.next((f) => f.class === 'LogoutEvent', mark, run.timeoutMs);
  run.add(
    'revoke',
    '2xx, and LogoutEvent on the signed-in connection',
    `HTTP ${revoked.status}; LogoutEvent ${logout ? 'seen' : 'not seen'}`,
    revoked.status < 300 && logout ? 'holds' : 'differs',
  );
  if (!refreshToken) return;
  const after = await rest(run, 'POST', '/api/v2/webdeployments/token/refresh', {
    refreshToken,
    deploymentId: run.target.deploymentId,
  });
  run.add(
    'refresh after the revoke',
    'refused (4xx): the customer must sign in again',
    `HTTP ${after.status}`,
    after.status >= 400 && after.status < 500 ? 'holds' : 'differs',
  );
}

/**
 * Seconds from `iat` to `exp` in a JWT's claims, read without checking its signature (only the figures are reported).
 */
function lifetimeOf(jwt: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      iat?: unknown;
      exp?: unknown;
    };
    return typeof claims.iat === 'number' && typeof claims.exp === 'number' ? claims.exp - claims.iat : undefined;
  } catch {
    return undefined;
  }
}

function describe(frame: Frame | undefined): string {
  if (!frame) return 'no answer';
  return frame.class === 'string' || frame.class === 'Error'
    ? `error ${frame.code}: ${String(frame.body)}`
    : `${frame.class}`;
}

async function request(
  run: SignInRun,
  socket: RawConnection,
  build: (tracingId: string) => object,
): Promise<Frame | undefined> {
  const mark = socket.frames.length;
  socket.send(build(randomUUID()));
  return socket.next((f) => f.type === 'response' || f.class === 'string', mark, run.timeoutMs);
}

async function rest(
  run: SignInRun,
  method: 'POST' | 'DELETE',
  path: string,
  data: unknown,
  jwt?: string,
): Promise<{ status: number; data: unknown }> {
  const url = `${run.target.apiUrl.replace(/\/+$/, '')}${path}`;
  const res = await axios
    .request({
      method,
      url,
      data,
      headers: jwt ? { Authorization: `bearer ${jwt}` } : {},
      timeout: run.timeoutMs,
      validateStatus: () => true,
    })
    .catch((error: Error) => ({ status: 0, data: error.message }));
  run.exchanges.push({ kind: 'rest', data: { method, url, status: res.status, response: res.data } });
  return { status: res.status, data: res.data };
}
