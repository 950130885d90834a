import { SignJWT } from 'jose';
import supertest from 'supertest';
import { genesysEnvFor, startSimulator, type Simulator, type SimulatorOptions } from '../../simulator';
import { captureLogger, testEnv, type CapturedLogger, type EnvOverrides } from './app';
import { loadConfig, type Config } from '../../src/config/schema';
import { startService, type RunningService } from '../../src/server';
import { checkWhenDone, undocumentedAnswers } from './documentedAnswers';
import { waitFor } from './wait';

/**
 * The whole product against the Genesys simulator, in-process: the service
 * on an ephemeral port, configured exactly as a user would (environment
 * variables pointing at the simulator's URLs).
 */
export const PAGE_ORIGIN = 'http://localhost:3000';
export const IDENTITY_SECRET = 'identity-secret-for-tests-0123456789abcdef';
export const IDENTITY_ISSUER = 'https://shop.example.com';
export const IDENTITY_AUDIENCE = 'genesys-bff';

export interface Stack {
  sim: Simulator;
  service: RunningService;
  config: Config;
  log: CapturedLogger;
  http: ReturnType<typeof supertest>;
  /** A session created from the page origin: its token and view. */
  newSession(body?: object): Promise<{ token: string; body: Record<string, unknown> }>;
  /** A new session's token and its guest token as the simulator knows it (`gt`, for its frames and faults). */
  newGuest(body?: object): Promise<{ token: string; gt: string }>;
  close(): Promise<void>;
}

/**
 * The simulator profile a suite runs against: the strict one (simulator/profile.ts), so no test relies on the
 * simulator being kinder than Genesys. `SIM_PROFILE=default` runs the suites against the kind one, to tell a failure
 * the strict profile causes from another; a suite that needs the kind one says why (`kindProfileBecause`).
 */
export function simProfile(kindProfileBecause?: string): 'default' | 'strict' {
  return kindProfileBecause !== undefined || process.env.SIM_PROFILE === 'default' ? 'default' : 'strict';
}

export function simulatorEnv(sim: Simulator, overrides: EnvOverrides = {}): NodeJS.ProcessEnv {
  return testEnv({
    ...genesysEnvFor(sim),
    GENESYS_ORIGIN: PAGE_ORIGIN,
    // Only bounds a hang: a test of the deadline sets its own, with a delay beyond it.
    GENESYS_TIMEOUT_MS: '10000',
    DEPLOYMENT_CACHE_TTL_SECONDS: '1',
    IDENTITY_JWT_SECRET: IDENTITY_SECRET,
    IDENTITY_ISSUER,
    IDENTITY_AUDIENCE,
    SESSIONS_PER_IP_PER_MINUTE: '1000',
    // Every test talks from 127.0.0.1; the churn limits have their own tests (test/hostile/churn.test.ts).
    CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '100000',
    SIGN_INS_PER_IP_PER_MINUTE: '100000',
    ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: '1000000',
    ...overrides,
  });
}

interface StackOptions {
  env?: EnvOverrides;
  sim?: SimulatorOptions;
  simulator?: Simulator;
  /**
   * The clock of the per-session limits, the service's and (for a simulator started here) Genesys's:
   * a test that counts what fits in a second or a minute moves it instead of racing the wall clock.
   */
  now?: () => number;
  /** Runs the kind (`default`) simulator profile instead of the strict one; the reason, in one line (test/lint/simulatorProfile.test.ts). */
  kindProfileBecause?: string;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const clock = options.now ? { clock: options.now } : {};
  const sim =
    options.simulator ??
    (await startSimulator({
      agent: { typingDelayMs: 5, replyDelayMs: 20 },
      profile: simProfile(options.kindProfileBecause),
      ...clock,
      ...options.sim,
    }));
  const config = loadConfig(simulatorEnv(sim, options.env));
  const log = captureLogger('debug');
  const service = await startService(config, log.logger, { now: options.now });
  // The instance's first, bare guest handshake (the guestApi readiness check) is over before a test counts sockets.
  await waitFor(() => !service.readiness.report().checks.guestApi?.detail.startsWith('Checking'));
  const http = supertest(service.url);
  // Read now: some tests stop the service before closing the stack.
  const document = (await http.get('/openapi.json')).body;
  checkWhenDone(() => undocumentedAnswers(document, log.lines()));
  async function newSession(body = {}) {
    const res = await http.post('/guest-session').set('Origin', PAGE_ORIGIN).send(body);
    if (res.status !== 201) throw new Error(`POST /guest-session answered ${res.status}: ${res.text}`);
    return { token: res.body.sessionToken as string, body: res.body as Record<string, unknown> };
  }
  return {
    sim,
    service,
    config,
    log,
    http,
    newSession,
    async newGuest(body = {}) {
      const before = sim.received.length;
      const { token } = await newSession(body);
      return { token, gt: guestTokenOf(sim, before) };
    },
    async close() {
      await service.stop();
      if (!options.simulator) await sim.stop();
    },
  };
}

export function identityToken(
  claims: Record<string, unknown>,
  options: { secret?: string; expiresIn?: string; issuer?: string; audience?: string } = {},
) {
  return (
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(options.issuer ?? IDENTITY_ISSUER)
      .setAudience(options.audience ?? IDENTITY_AUDIENCE)
      // Issued a minute ago, so a token made already expired still has exp after iat.
      .setIssuedAt(Math.floor(Date.now() / 1000) - 60)
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(new TextEncoder().encode(options.secret ?? IDENTITY_SECRET))
  );
}

/** The headers a page sends with its session token (no Origin when `origin` is undefined, as a server would). */
export const bearer = (token: string, origin: string | undefined = PAGE_ORIGIN): Record<string, string> => ({
  Authorization: `Bearer ${token}`,
  ...(origin === undefined ? {} : { Origin: origin }),
});

/**
 * The Genesys guest token behind a session, as the simulator saw it configure: the first token configured since
 * `before` that no earlier frame carried. An earlier session's socket may reconnect meanwhile (on a busy machine a
 * late ping is enough), and its configureSession names that session, not the new one.
 */
export function guestTokenOf(sim: Simulator, before: number): string {
  const earlier = new Set(sim.received.slice(0, before).map((f) => f.frame.token));
  const frame = sim.received
    .slice(before)
    .find((f) => f.frame.action === 'configureSession' && !earlier.has(f.frame.token));
  if (!frame) throw new Error('no configureSession frame for a new session recorded');
  return frame.frame.token as string;
}
