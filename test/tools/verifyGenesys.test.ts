import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { genesysEnvFor, startSimulator, type Simulator } from '../../simulator';
import { fixturesOf } from '../../src/tools/verifyFixtures';
import { verifyGenesys } from '../../src/tools/verifyGenesys';
import { targetFromEnv } from '../../src/tools/verifyTargets';
import type { VerifyReport, VerifyTarget } from '../../src/tools/verifyRun';
import { signInAt } from '../support/signIn';

/**
 * @simulator kind it runs verify:genesys once per profile, to compare what each reports
 */
/**
 * `npm run verify:genesys` against the simulator, in both profiles: every assumption is reported with what was observed.
 *
 * @lane full — runs the verify:genesys tool as its own process, once per profile (about 40 s)
 */
const POINTS = [
  'config.json readable',
  'deployment features',
  'SessionResponse carries tracingId',
  'SessionResponse limits',
  'Presence Join echo carries tracingId',
  'message echo carries tracingId',
  'metadata.id comes back as channel.messageId',
  'receipts Genesys sends a guest',
  'a guest Read receipt',
  'JwtResponse carries tracingId',
  'history (REST)',
  'session expiry slides with a message',
  'onMessage rate per session',
  "an agent file's download link",
  "getAttachment on an agent's file",
  'a text over 4096 bytes is refused with 4011',
  'error frames carry tracingId',
  'nulls in optional fields',
  'Presence Clear ends the conversation',
  'frame classes',
  'authenticated messaging',
  'availability (Platform API)',
];

const SIGN_IN_POINTS = [
  'sign-in exchange',
  'sign-in JWT lifetime',
  'a refused sign-in JWT',
  'configureAuthenticatedSession',
  'Presence SignIn after signing in',
  'getJwt on a signed-in session',
  'anonymous configure of a signed-in session',
  'refresh body',
  'revoke',
  'refresh after the revoke',
];

function targetOf(sim: Simulator): VerifyTarget {
  const target = targetFromEnv({
    ...genesysEnvFor(sim),
    GENESYS_ORIGIN: 'http://localhost:3000',
    GENESYS_TIMEOUT_MS: '3000',
  });
  if (Array.isArray(target)) throw new Error(target.join('; '));
  return target;
}

const observed = (report: VerifyReport, point: string) => report.findings.find((f) => f.point === point);

describe.each(['default', 'strict'] as const)('against the %s simulator profile', (profile) => {
  let sim: Simulator;
  let report: VerifyReport;
  beforeAll(async () => {
    sim = await startSimulator({ profile, autoStart: true, agent: { enabled: false } });
    report = await verifyGenesys(targetOf(sim));
  });
  afterAll(() => sim.stop());

  test('every assumption is reported, with what was observed', () => {
    expect(report.findings.map((f) => f.point)).toEqual(POINTS);
    for (const f of report.findings) expect(f.observed).not.toBe('');
  });

  test('what the run saw matches what the profile does', () => {
    const strict = profile === 'strict';
    expect(observed(report, 'SessionResponse carries tracingId')).toMatchObject({
      observed: strict ? 'no tracingId' : 'tracingId present',
    });
    expect(observed(report, 'JwtResponse carries tracingId')).toMatchObject({
      observed: strict ? 'no tracingId' : 'tracingId present',
    });
    expect(observed(report, 'Presence Join echo carries tracingId')).toMatchObject({
      observed: strict ? 'no tracingId' : 'tracingId present',
    });
    expect(observed(report, 'message echo carries tracingId')).toMatchObject({ observed: 'tracingId present' });
    expect(observed(report, 'metadata.id comes back as channel.messageId')).toMatchObject({
      verdict: strict ? 'differs' : 'holds',
    });
    expect(observed(report, 'a text over 4096 bytes is refused with 4011')).toMatchObject({ verdict: 'holds' });
    // The strict simulator says Delivered (its agent is off here, so nobody reads) and refuses a guest's Read.
    expect(observed(report, 'receipts Genesys sends a guest')!.observed).toBe(strict ? 'Delivered' : 'none within 3 s');
    expect(observed(report, 'a guest Read receipt')!.observed).toMatch(/^refused: (Error|string) 400: /);
    expect(observed(report, 'Presence Clear ends the conversation')).toMatchObject({
      verdict: 'holds',
      observed: 'SessionClearedEvent then ConnectionClosedEvent',
    });
    expect(observed(report, 'history (REST)')!.observed).toContain(strict ? 'by its text only' : 'by its id');
    expect(observed(report, 'nulls in optional fields')!.observed).toMatch(
      strict ? /SessionResponse: durationSeconds/ : /none seen/,
    );
    expect(observed(report, 'frame classes')).toMatchObject({ verdict: strict ? 'differs' : 'holds' });
    // Genesys's budgets and the expiry slide, as the simulator has them (2 messages a second in both profiles).
    expect(observed(report, 'session expiry slides with a message')).toMatchObject({
      verdict: 'holds',
      observed: expect.stringMatching(/^moved [1-9]\d* s/),
    });
    expect(observed(report, 'onMessage rate per session')).toMatchObject({
      verdict: 'holds',
      observed: expect.stringContaining(
        `2 accepted, 1 refused with 429 (retryAfter 1, ${strict ? 'no tracingId' : 'tracingId present'})`,
      ),
    });
    expect(observed(report, "getAttachment on an agent's file")).toMatchObject({ verdict: 'not checked' });
    // Without an agent's file there is no agent link to read, and the report says so.
    expect(observed(report, "an agent file's download link")).toMatchObject({
      verdict: 'not checked',
      observed: expect.stringContaining('no agent file in this run'),
    });
  });

  test("with a prompt the bot answers with a file, getAttachment on the agent's file is checked (strict: refused)", async () => {
    sim.setOptions({ agent: { enabled: true } });
    try {
      const withFile = await verifyGenesys(targetOf(sim), { agentFilePrompt: 'send image' });
      // The agent link's shape (names, never values) and the lifetime it states: the default simulator's signed
      // links say 600 s (a second either way for the clock's rounding); the strict one's, like Genesys's own
      // links may, state none, and the report says what to set then. The strict one's file ids are no UUIDs.
      const link = observed(withFile, "an agent file's download link")!;
      if (profile === 'strict') {
        expect(link.verdict).toBe('differs');
        expect(link.observed).toMatch(
          /^id not a UUID \(26 characters\); http:\/\/127\.0\.0\.1:\d+\/.*; states no lifetime: set DOWNLOAD_LINK_UNKNOWN_LIFETIME_SECONDS/,
        );
      } else {
        expect(link.verdict).toBe('holds');
        expect(link.observed).toMatch(
          /^id a UUID; http:\/\/127\.0\.0\.1:\d+\/…\?X-Amz-\w+.*; states it works (59\d|60[01]) s more$/,
        );
      }
      expect(link.observed).not.toMatch(/Signature=/);
      expect(observed(withFile, "getAttachment on an agent's file")).toMatchObject(
        profile === 'strict'
          ? { verdict: 'differs', observed: 'refused: string 4009' }
          : { verdict: 'holds', observed: 'a fresh URL' },
      );
      if (profile === 'default')
        expect(observed(withFile, "an agent file's download link (from getAttachment)")).toMatchObject({
          verdict: 'holds',
        });
    } finally {
      sim.setOptions({ agent: { enabled: false } });
    }
  });

  test('with a sign-in from the identity provider, authenticated messaging is checked point by point', async () => {
    const withSignIn = await verifyGenesys(targetOf(sim), { signIn: await signInAt(sim, `verify-${profile}`) });
    const signInFindings = withSignIn.findings.filter((f) => SIGN_IN_POINTS.includes(f.point));
    expect(signInFindings.map((f) => [f.point, f.verdict])).toEqual(SIGN_IN_POINTS.map((p) => [p, 'holds']));
    expect(observed(withSignIn, 'sign-in JWT lifetime')!.observed).toBe('900 s (exp - iat)');
    const { rest, frames } = fixturesOf(withSignIn);
    const text = JSON.stringify({ rest, frames });
    for (const secret of withSignIn.secrets) expect(text).not.toContain(secret);
  });

  test('recorded fixtures hold no guest token, JWT or bearer value', () => {
    const { rest, frames } = fixturesOf(report);
    const text = JSON.stringify({ rest, frames });
    expect(report.secrets.length).toBeGreaterThanOrEqual(2);
    for (const secret of report.secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
    expect(rest.length).toBeGreaterThanOrEqual(2);
    expect(frames.length).toBeGreaterThan(5);
  });
});

test('the command reports missing configuration clearly and exits 2; with the environment set it writes scrubbed fixtures', async () => {
  const run = promisify(execFile);
  const cli = path.join(__dirname, '../../src/tools/verifyGenesysMain.ts');
  const tsx = path.join(__dirname, '../../node_modules/.bin/tsx');
  const bare = await run(tsx, [cli], { env: { PATH: process.env.PATH }, cwd: tmpdir() }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(bare).toMatchObject({ code: 2 });
  expect((bare as { stderr: string }).stderr).toContain('GENESYS_REGION is not set');
  const sim = await startSimulator({ agent: { enabled: false } });
  try {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-'));
    // What `npm run sim` prints (the README's offline run): the origin comes from the allowlist, no GENESYS_ORIGIN.
    const env = { PATH: process.env.PATH, ...genesysEnvFor(sim), CORS_ALLOWED_ORIGINS: 'http://localhost:3000' };
    const { stdout } = await run(tsx, [cli, '--record', dir], { env, cwd: tmpdir() });
    expect(stdout).toContain('metadata.id comes back as channel.messageId');
    const frames = readFileSync(path.join(dir, 'verify-frames.json'), 'utf8');
    expect(frames).toContain('configureSession');
    expect(frames).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
  } finally {
    await sim.stop();
  }
}, 60_000);

describe('what the command needs, read as the service reads it: only what is missing is named', () => {
  const deployment = {
    GENESYS_REGION: 'mypurecloud.ie',
    GENESYS_DEPLOYMENT_ID: '3b9e5e0c-6f2f-4a4b-9b7e-4a0c1f0b2d11',
  };

  test('the origin falls back to the first exact CORS_ALLOWED_ORIGINS entry, as for the service; a blank GENESYS_ORIGIN is unset', () => {
    for (const env of [
      { CORS_ALLOWED_ORIGINS: 'https://*.example.com, https://shop.example.com' },
      { CORS_ALLOWED_ORIGINS: 'https://shop.example.com', GENESYS_ORIGIN: ' ' },
    ]) {
      expect(targetFromEnv({ ...deployment, ...env })).toMatchObject({
        origin: 'https://shop.example.com',
        webMessagingUrl: 'wss://webmessaging.mypurecloud.ie',
      });
    }
  });

  test('with an allowlist, a missing region and deployment are named, and no origin is asked for', () => {
    expect(targetFromEnv({ CORS_ALLOWED_ORIGINS: 'http://localhost:3000', GENESYS_REGION: '' })).toEqual([
      'GENESYS_REGION is not set (e.g. mypurecloud.ie)',
      'GENESYS_DEPLOYMENT_ID is not set (the Messenger deployment id)',
    ]);
  });

  test('with neither an origin nor an allowlist, either is asked for; with wildcards only, GENESYS_ORIGIN', () => {
    const [bare] = [targetFromEnv(deployment) as string[]];
    expect(bare).toHaveLength(1);
    expect(bare[0]).toMatch(
      /^no origin to present to Genesys: set CORS_ALLOWED_ORIGINS \(its first exact origin is used, as by the service\) or GENESYS_ORIGIN/,
    );
    expect(targetFromEnv({ ...deployment, CORS_ALLOWED_ORIGINS: 'https://*.example.com' })).toEqual([
      "GENESYS_ORIGIN is not set and CORS_ALLOWED_ORIGINS has no exact origin to fall back on: set GENESYS_ORIGIN to an origin on the deployment's allowed domains, e.g. https://shop.example.com",
    ]);
  });
});
