import { Router, type RequestHandler } from 'express';
import request from 'supertest';
import { rateLimits } from '../../../src/http/middleware/rateLimits';
import { limitsRefused } from '../../../src/observability/metrics';
import { testApp, testConfig } from '../../support/app';
import { standInAuthentication } from '../../support/limits';

/**
 * The sign-in and attribute-write limits (src/http/middleware/rateLimits.ts), per address and per session,
 * each on an app built inside its test (what a suite builds in beforeAll judges no mutant):
 * what counts as a sign-in, which requests each limiter skips, the words of each refusal and the
 * series it counts under. rateLimits.test.ts covers the session and conversation limits on Redis.
 */

function limitedApp(env: Record<string, string>) {
  const config = testConfig({ TRUST_PROXY: '1', ...env });
  const limits = rateLimits(config.limits);
  const router = Router();
  const ok: RequestHandler = (_req, res) => void res.status(200).json({ ok: true });
  // One route per path, as the service mounts them (src/http/spec/routeSpec.ts).
  for (const path of ['/guest-session', '/guest-session/sign-in', '/guest-session/sign-out', '/messages']) {
    router.post(path, limits.signInsPerIp, standInAuthentication, limits.signInsPerSession, ok);
  }
  router.put(
    '/guest-attributes',
    limits.attributeWritesPerIp,
    standInAuthentication,
    limits.attributeWritesPerSession,
    ok,
  );
  return testApp({ config, routers: [router] }).app;
}
type App = ReturnType<typeof limitedApp>;

const post = (app: App, path: string, from: string, body: object = {}, token?: string) => {
  const req = request(app).post(path).set('X-Forwarded-For', from).send(body);
  return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
};
const putAttributes = (app: App, from: string, token: string) =>
  request(app)
    .put('/guest-attributes')
    .set('X-Forwarded-For', from)
    .set('Authorization', `Bearer ${token}`)
    .send({ attributes: { a: '1' } });

const refusals = async (limit: string) =>
  (await limitsRefused.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

function expectRefused(res: request.Response, detail: string): void {
  expect({ status: res.status, code: res.body.code, detail: res.body.detail }).toEqual({
    status: 429,
    code: 'rate_limited',
    detail,
  });
}

describe('sign-ins per address', () => {
  const FROM_ADDRESS = 'Too many sign-in or sign-out attempts from this address; wait before trying again.';

  it('refuses the one over the limit in its words, counted under its own series', async () => {
    const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
    const before = await refusals('sign_ins_per_ip');
    expect((await post(app, '/guest-session/sign-in', '203.0.113.10')).status).toBe(200);
    expectRefused(await post(app, '/guest-session/sign-out', '203.0.113.10'), FROM_ADDRESS);
    expect(await refusals('sign_ins_per_ip')).toBe(before + 1);
    expect((await post(app, '/guest-session/sign-in', '203.0.113.11')).status).toBe(200);
  });

  it('counts a session start with `auth` as a sign-in, and nothing else', async () => {
    const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
    for (let i = 0; i < 3; i++) {
      expect((await post(app, '/guest-session', '203.0.113.12')).status).toBe(200);
      expect((await post(app, '/messages', '203.0.113.12', { text: 'hi' })).status).toBe(200);
      expect((await post(app, '/messages', '203.0.113.12', { text: 'hi', auth: { code: 'c' } })).status).toBe(200);
    }
    expect((await post(app, '/guest-session', '203.0.113.12', { auth: { code: 'c' } })).status).toBe(200);
    expectRefused(await post(app, '/guest-session', '203.0.113.12', { auth: { code: 'c' } }), FROM_ADDRESS);
  });

  it.each([
    ['a session start', '/GUEST-SESSION/', { auth: { code: 'c' } }],
    ['a sign-in', '/Guest-Session/Sign-In', {}],
    ['a sign-out', '/guest-session/sign-out/', {}],
  ])('counts %s however its path is spelled (%s): Express routes it all the same', async (_what, path, body) => {
    const app = limitedApp({ SIGN_INS_PER_IP_PER_MINUTE: '1' });
    expect((await post(app, path, '203.0.113.13', body)).status).toBe(200);
    expectRefused(await post(app, path, '203.0.113.13', body), FROM_ADDRESS);
  });
});

describe('sign-ins per session', () => {
  const IN_SESSION = 'Too many sign-in or sign-out attempts in this session; wait before trying again.';

  it('refuses the one over the limit in its words, from any address, counted under its own series', async () => {
    const app = limitedApp({ SIGN_INS_PER_SESSION_PER_MINUTE: '1' });
    const before = await refusals('sign_ins_per_session');
    expect((await post(app, '/guest-session/sign-in', '203.0.113.20', {}, 'guest-a')).status).toBe(200);
    expectRefused(await post(app, '/guest-session/sign-out', '203.0.113.21', {}, 'guest-a'), IN_SESSION);
    expect(await refusals('sign_ins_per_session')).toBe(before + 1);
    expect((await post(app, '/guest-session/sign-in', '203.0.113.22', {}, 'guest-b')).status).toBe(200);
  });

  it('skips a sign-in without a session, and whatever a session does that is not a sign-in', async () => {
    const app = limitedApp({ SIGN_INS_PER_SESSION_PER_MINUTE: '1' });
    for (let i = 0; i < 3; i++) {
      expect((await post(app, '/guest-session/sign-in', `203.0.113.${30 + i}`)).status).toBe(200);
      expect((await post(app, '/messages', `203.0.113.${40 + i}`, { text: 'hi' }, 'guest-c')).status).toBe(200);
    }
  });
});

describe('attribute writes', () => {
  it('per address: refuses the one over the limit in its words, counted under its own series', async () => {
    const app = limitedApp({ ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: '1' });
    const before = await refusals('attribute_writes_per_ip');
    expect((await putAttributes(app, '203.0.113.50', 'guest-d')).status).toBe(200);
    expectRefused(
      await putAttributes(app, '203.0.113.50', 'guest-e'),
      'Too many attribute changes from this address; wait before trying again.',
    );
    expect(await refusals('attribute_writes_per_ip')).toBe(before + 1);
  });

  it('per session: refuses the one over the limit in its words, from any address, counted under its own series', async () => {
    const app = limitedApp({ ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE: '1' });
    const before = await refusals('attribute_writes_per_session');
    expect((await putAttributes(app, '203.0.113.60', 'guest-f')).status).toBe(200);
    expectRefused(
      await putAttributes(app, '203.0.113.61', 'guest-f'),
      'Too many attribute changes in this session; wait before trying again.',
    );
    expect(await refusals('attribute_writes_per_session')).toBe(before + 1);
    expect((await putAttributes(app, '203.0.113.62', 'guest-g')).status).toBe(200);
  });
});
