import request from 'supertest';
import { captureLogger, type CapturedLogger } from '../../support/app';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { createGenesysPlatform, type GenesysPlatform } from '../../../src/genesys/platform';
import { createApp } from '../../../src/http/app';
import { Readiness } from '../../../src/observability/readiness';
import { FIXTURE_GENESYS, useFixture, type Fixture } from '../../support/nockBack';
import { recordingSleep, testConfig } from '../../support/platform';
import { waitFor } from '../../support/wait';

/** The whole Platform side behind the real app, as server.ts wires it. */
describe('/readyz with the Platform side', () => {
  let fixture: Fixture;
  let log: CapturedLogger;
  let side: GenesysPlatform;
  let readiness: Readiness;
  let http: GenesysHttp | undefined;

  afterEach(async () => {
    await side?.close();
    http?.close();
    fixture?.done();
  });

  function start(env: Record<string, string> = {}) {
    const config = testConfig({ ...fixture.env, ...env });
    log = captureLogger('debug');
    readiness = new Readiness();
    readiness.set('config', { ok: true, detail: 'Configuration is valid.' });
    http = createGenesysHttp({ timeoutMs: config.process.genesys.timeoutMs });
    side = createGenesysPlatform(
      { deployment: config.deployments[0]!, settings: config.process.genesys, http, logger: log.logger, readiness },
      { sleep: recordingSleep().sleep },
    );
    const app = createApp({ process: config.process, logger: log.logger, readiness });
    side.start();
    return app;
  }

  /** Waits until no check is still in its starting state. */
  const settled = (...names: string[]) =>
    waitFor(() => {
      const { checks } = readiness.report();
      for (const name of names) expect(checks[name]?.detail).not.toMatch(/^(Fetching|Checking)/);
    });

  const readyz = async (app: ReturnType<typeof start>) => {
    const res = await request(app).get('/readyz');
    return {
      status: res.status,
      checks: res.body.checks as Record<string, { ok: boolean; detail: string; status?: string }>,
    };
  };

  it('is 503 naming the credentials and the region when the login host refuses the client, without hammering it', async () => {
    fixture = await useFixture('readyz-token-rejected.json', {
      GENESYS_CLIENT_SECRET: 'not-the-real-secret-for-this-client',
    });
    const app = start();
    await settled('token', 'deployment', 'messengerConfig');

    for (let i = 0; i < 5; i++) {
      const { status, checks } = await readyz(app);
      expect(status).toBe(503);
      expect(checks.token!.ok).toBe(false);
      expect(checks.token!.detail).toContain('invalid_client');
      expect(checks.token!.detail).toContain('GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET');
      expect(checks.token!.detail).toContain('GENESYS_REGION');
      expect(checks.token!.detail).toContain('https://login.mypurecloud.ie');
      expect(checks.deployment).toMatchObject({ ok: false, detail: expect.stringContaining('token check') });
      expect(checks.messengerConfig!.ok).toBe(true);
    }
    await side.tokenCache!.getToken().catch(() => undefined);
    expect(fixture.requests({ path: '/oauth/token' })).toHaveLength(1);
    expect(fixture.requests({ path: '/api/v2/' })).toHaveLength(0);
    expect(log.messages('error').filter((m) => m.includes('invalid_client'))).toHaveLength(1);
  });

  it('is 200 and reports the deployment status when the deployment is Active, warning about each origin it does not allow', async () => {
    fixture = await useFixture('deployment-active.json');
    const app = start({
      CORS_ALLOWED_ORIGINS: 'https://shop.example.com,https://checkout.example.org,https://*.example.net',
      GENESYS_ORIGIN: 'https://bff.example.org',
    });
    await settled('token', 'deployment', 'messengerConfig');

    const { status, checks } = await readyz(app);
    expect(status).toBe(200);
    expect(checks.token!.ok).toBe(true);
    expect(checks.deployment).toEqual({
      ok: true,
      status: 'Active',
      detail: 'Messenger deployment "Shop Messenger" is Active.',
    });
    expect(checks.messengerConfig!.ok).toBe(true);

    const allowed = '[shop.example.com, https://www.example.com]';
    expect(log.messages('warn').sort()).toEqual(
      [
        `CORS_ALLOWED_ORIGINS allows https://checkout.example.org but the deployment's allowedDomains ${allowed} do not include checkout.example.org: Genesys may refuse this origin`,
        `CORS_ALLOWED_ORIGINS allows https://*.example.net but the deployment's allowedDomains ${allowed} do not cover every host under example.net: Genesys may refuse those origins`,
        `GENESYS_ORIGIN (https://bff.example.org) is not among the deployment's allowedDomains ${allowed}: the guest WebSocket handshake will be refused with 403`,
      ].sort(),
    );
  });

  it('with GENESYS_ORIGIN unset, names the Origin it took from CORS_ALLOWED_ORIGINS as such when the deployment refuses it', async () => {
    fixture = await useFixture('deployment-active.json');
    start({ CORS_ALLOWED_ORIGINS: 'https://*.example.org,https://checkout.example.org' });
    await settled('deployment');

    const allowed = '[shop.example.com, https://www.example.com]';
    expect(log.messages('warn')).toContain(
      'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://checkout.example.org) ' +
        `is not among the deployment's allowedDomains ${allowed}: the guest WebSocket handshake will be refused with 403`,
    );
    expect(log.messages('warn').filter((m) => m.startsWith('GENESYS_ORIGIN https://'))).toEqual([]);
  });

  it('warns about nothing when the deployment allows all domains', async () => {
    fixture = await useFixture('deployment-all-domains.json');
    const app = start({
      CORS_ALLOWED_ORIGINS: 'https://checkout.example.org',
      GENESYS_ORIGIN: 'https://bff.example.org',
    });
    await settled('deployment');

    expect((await readyz(app)).status).toBe(200);
    expect(log.messages('warn')).toEqual([]);
  });

  it('is 503 with the status when the deployment is not Active', async () => {
    fixture = await useFixture('deployment-inactive.json');
    const app = start();
    await settled('deployment', 'messengerConfig');

    const { status, checks } = await readyz(app);
    expect(status).toBe(503);
    expect(checks.deployment).toMatchObject({ ok: false, status: 'Inactive' });
    expect(checks.deployment!.detail).toContain('is Inactive, not Active');
    expect(checks.deployment!.detail).toContain('Admin > Message > Messenger Deployments');
  });

  it('is 503 naming the missing permission when Genesys answers 403, and logs the correlation id', async () => {
    fixture = await useFixture('deployment-forbidden.json');
    const app = start();
    await settled('deployment');

    const { status, checks } = await readyz(app);
    expect(status).toBe(503);
    expect(checks.deployment!.ok).toBe(false);
    expect(checks.deployment!.detail).toContain('403 missing.permissions');
    expect(checks.deployment!.detail).toContain('webDeployments:deployment:view');
    const failure = log.lines().find((l) => l.msg === 'Genesys Platform request failed');
    expect(failure).toMatchObject({
      genesys: {
        status: 403,
        code: 'missing.permissions',
        correlationId: 'a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d',
        contextId: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
      },
    });
  });

  it('is 503 naming GENESYS_DEPLOYMENT_ID and the region when the deployment does not exist', async () => {
    fixture = await useFixture('deployment-not-found.json');
    const app = start();
    await settled('deployment', 'messengerConfig');

    const { status, checks } = await readyz(app);
    expect(status).toBe(503);
    for (const check of [checks.deployment!, checks.messengerConfig!]) {
      expect(check.ok).toBe(false);
      expect(check.detail).toContain('GENESYS_DEPLOYMENT_ID');
      expect(check.detail).toContain('mypurecloud.ie');
    }
    expect(JSON.stringify(checks)).not.toContain(FIXTURE_GENESYS.deploymentId);
  });

  it('runs without credentials: no token or deployment check, the Messenger config still read', async () => {
    fixture = await useFixture('messenger-config.json', { GENESYS_CLIENT_ID: '', GENESYS_CLIENT_SECRET: '' });
    const app = start();
    await settled('messengerConfig');

    const { status, checks } = await readyz(app);
    expect(status).toBe(200);
    expect(Object.keys(checks).sort()).toEqual(['config', 'draining', 'messengerConfig']);
    expect(side.tokenCache).toBeUndefined();
    expect(side.platform).toBeUndefined();
    await expect(side.messengerConfig.get()).resolves.toMatchObject({ autoStart: true });
    expect(log.lines()).toContainEqual(
      expect.objectContaining({
        level: 30,
        component: 'genesys-platform',
        msg:
          'No OAuth client (GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET unset): ' +
          'the Platform API features and the deployment preflight are off',
      }),
    );
  });

  it('asks Genesys nothing more once closed: no re-read of the deployment, the Messenger config or the token', async () => {
    fixture = await useFixture('deployment-active.json');
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance'] });
    try {
      start({ DEPLOYMENT_CACHE_TTL_SECONDS: '60' });
      // Timers are fake here, so the wait turns the event loop instead of sleeping (bounded by the real clock).
      const since = performance.now();
      while (
        (side.deployment!.state().status !== 'Active' || !side.messengerConfig.state().ok) &&
        performance.now() - since < 10_000
      ) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(side.deployment!.state().status).toBe('Active');
      const before = fixture.requests().length;

      await side.close();
      // Past every re-read: the deployment's and the config's TTL, and the token's refresh a day on.
      jest.advanceTimersByTime(48 * 3_600_000);
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));

      expect(fixture.requests()).toHaveLength(before);
    } finally {
      jest.useRealTimers();
    }
  });

  it('never writes the client secret or an access token to the log', async () => {
    const secretsSeen: string[] = [];
    for (const name of ['platform-401-then-200.json', 'readyz-token-rejected.json', 'deployment-forbidden.json']) {
      fixture = await useFixture(name);
      start({ LOG_LEVEL: 'debug' });
      await settled('token', 'deployment');
      await side
        .platform!.request({
          method: 'GET',
          path: `/api/v2/webdeployments/deployments/${FIXTURE_GENESYS.deploymentId}`,
        })
        .catch(() => undefined);
      const text = log.text();
      const basic = Buffer.from(`${FIXTURE_GENESYS.clientId}:${FIXTURE_GENESYS.clientSecret}`).toString('base64');
      for (const secret of [FIXTURE_GENESYS.clientSecret, basic, 'fixture-access-token']) {
        if (text.includes(secret)) secretsSeen.push(`${name}: ${secret}`);
      }
      expect(log.lines().length).toBeGreaterThan(0);
      await side.close();
      fixture.done();
    }
    expect(secretsSeen).toEqual([]);
  });
});
