import type { SettingNames } from '../../../src/config/deployment';
import { DeploymentCheck } from '../../../src/genesys/platform/deploymentCheck';
import { PlatformApiError } from '../../../src/genesys/platform/platformClient';
import { TokenUnavailableError } from '../../../src/genesys/platform/tokenCache';
import { Readiness } from '../../../src/observability/readiness';
import { captureLogger, TEST_DEPLOYMENT_ID, type CapturedLogger } from '../../support/app';
import { VARIABLE_NAMES } from '../../support/settingNames';

/**
 * What the deployment preflight tells the operator at start-up, and after, for each state the
 * deployment can be in: /readyz (the `deployment` check), the log line of each change (its level
 * and fields), and the warnings about origins the deployment does not allow. The Platform client
 * is a fake that answers what a case needs (its own rules: platformClient.test.ts).
 */
const PATH = `/api/v2/webdeployments/deployments/${TEST_DEPLOYMENT_ID}`;
const LEVEL = { info: 30, warn: 40, error: 50 } as const;

/** What Genesys answers one read with: a body, or a failure. */
type Answer = { body: unknown } | { error: unknown };

const active = (extra: Record<string, unknown> = {}): Answer => ({
  body: { id: TEST_DEPLOYMENT_ID, name: 'Shop Messenger', status: 'Active', allowAllDomains: true, ...extra },
});

function refusal(status: number, code?: string): Answer {
  const upstream = { method: 'GET' as const, path: PATH, status, code };
  return {
    error: new PlatformApiError(
      upstream,
      'upstream_unavailable',
      'Genesys Cloud refused a request this service made.',
      { status: 502 },
    ),
  };
}

describe('DeploymentCheck', () => {
  let log: CapturedLogger;
  let readiness: Readiness;
  let check: DeploymentCheck;
  let answers: Answer[];
  let requests: Array<{ method: string; path: string }>;

  afterEach(() => check?.close());

  function deploymentCheck(
    options: { allowedOrigins?: string[]; genesysOrigin?: string; named?: SettingNames } = {},
  ): DeploymentCheck {
    log = captureLogger('debug');
    readiness = new Readiness();
    answers = [];
    requests = [];
    check = new DeploymentCheck({
      platform: {
        request: async <T>(request: { method: string; path: string }): Promise<T> => {
          requests.push(request);
          const answer = answers.shift();
          if (!answer) throw new Error('the test gave no answer for this read');
          if ('error' in answer) throw answer.error;
          return answer.body as T;
        },
      },
      deploymentId: TEST_DEPLOYMENT_ID,
      region: 'mypurecloud.ie',
      ttlMs: 3_600_000,
      allowedOrigins: options.allowedOrigins ?? ['https://shop.example.com'],
      genesysOrigin: options.genesysOrigin ?? 'https://shop.example.com',
      named: options.named ?? {
        ...VARIABLE_NAMES,
        origin: 'GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com)',
      },
      logger: log.logger,
      onState: (state) => readiness.set('deployment', state),
    });
    return check;
  }

  /** One read of the deployment (the first one at start-up, or a re-read), answered with `answer`. */
  async function read(answer: Answer): Promise<void> {
    answers.push(answer);
    check.start();
    await new Promise((resolve) => setImmediate(resolve));
    expect(answers).toEqual([]);
  }

  const deploymentCheckInReadyz = () => readiness.report().checks.deployment;
  const linesAbout = (detail: RegExp) => log.lines().filter((line) => detail.test(line.msg));

  it('is not ready while the first read is under way, and logs nothing for it', () => {
    deploymentCheck();

    expect(readiness.report()).toMatchObject({
      ready: false,
      checks: { deployment: { ok: false, detail: 'Checking the Messenger deployment.' } },
    });
    expect(log.lines()).toEqual([]);
  });

  it('reads the deployment by its id and is ready when it is Active, logging the change at info with the id and status', async () => {
    deploymentCheck();
    await read(active());

    expect(requests).toEqual([{ method: 'GET', path: PATH }]);
    expect(readiness.report().ready).toBe(true);
    expect(deploymentCheckInReadyz()).toEqual({
      ok: true,
      status: 'Active',
      detail: 'Messenger deployment "Shop Messenger" is Active.',
    });
    expect(log.lines()).toEqual([
      expect.objectContaining({
        level: LEVEL.info,
        msg: 'Messenger deployment "Shop Messenger" is Active.',
        deploymentId: TEST_DEPLOYMENT_ID,
        status: 'Active',
      }),
    ]);
  });

  it('names a deployment without a name as "The Messenger deployment"', async () => {
    deploymentCheck();
    await read(active({ name: undefined }));

    expect(deploymentCheckInReadyz()).toEqual({
      ok: true,
      status: 'Active',
      detail: 'The Messenger deployment is Active.',
    });
  });

  it.each([
    ['Pending', 'Genesys is still deploying it'],
    ['Inactive', 'activate it under Admin > Message > Messenger Deployments'],
    ['Error', 'Genesys could not deploy it'],
    ['Deleting', 'it is being deleted; set GENESYS_DEPLOYMENT_ID to another deployment'],
    // A status Genesys may add later is reported as it is, with the general advice.
    ['Archived', 'only an Active deployment can start conversations.'],
  ])(
    'is not ready when the deployment is %s, saying what to do, and logs it as an error with the id and status',
    async (status, advice) => {
      deploymentCheck();
      await read(active({ status }));

      expect(readiness.report().ready).toBe(false);
      const detail = `Messenger deployment "Shop Messenger" (GENESYS_DEPLOYMENT_ID) is ${status}, not Active: `;
      expect(deploymentCheckInReadyz()).toEqual({ ok: false, status, detail: expect.stringContaining(detail) });
      expect(deploymentCheckInReadyz()!.detail).toContain(advice);
      expect(log.lines()).toEqual([
        expect.objectContaining({
          level: LEVEL.error,
          msg: deploymentCheckInReadyz()!.detail,
          deploymentId: TEST_DEPLOYMENT_ID,
          status,
        }),
      ]);
    },
  );

  it('reads again 30 s after a failed read, not a TTL (an hour here) later', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      deploymentCheck();
      await read({ error: new Error('socket hang up') });
      expect(deploymentCheckInReadyz()).toMatchObject({ ok: false });

      answers.push(active());
      jest.advanceTimersByTime(30_000);
      await new Promise((resolve) => setImmediate(resolve));

      expect(requests).toHaveLength(2);
      expect(deploymentCheckInReadyz()).toMatchObject({ ok: true });
    } finally {
      jest.useRealTimers();
    }
  });

  it('reports a deployment without a status as unknown, not Active', async () => {
    deploymentCheck();
    await read(active({ status: undefined }));

    expect(readiness.report().ready).toBe(false);
    expect(deploymentCheckInReadyz()).toMatchObject({
      ok: false,
      status: 'unknown',
      detail: expect.stringContaining('is unknown, not Active'),
    });
  });

  describe('allowed domains', () => {
    it('warns once per origin the deployment does not allow, with the deployment id, and not again on a re-read', async () => {
      deploymentCheck({
        allowedOrigins: ['https://shop.example.com', 'https://checkout.example.org'],
        genesysOrigin: 'https://bff.example.org',
        named: { ...VARIABLE_NAMES, origin: 'GENESYS_ORIGIN (https://bff.example.org)' },
      });
      await read(active({ allowAllDomains: false, allowedDomains: ['shop.example.com'] }));
      await read(active({ allowAllDomains: false, allowedDomains: ['shop.example.com'] }));

      const warnings = log.lines().filter((line) => line.level === LEVEL.warn);
      expect(warnings.map((line) => line.msg).sort()).toEqual([
        "CORS_ALLOWED_ORIGINS allows https://checkout.example.org but the deployment's allowedDomains [shop.example.com] do not include checkout.example.org: Genesys may refuse this origin",
        "GENESYS_ORIGIN (https://bff.example.org) is not among the deployment's allowedDomains [shop.example.com]: the guest WebSocket handshake will be refused with 403",
      ]);
      for (const warning of warnings) expect(warning.deploymentId).toBe(TEST_DEPLOYMENT_ID);
      // A domain problem is a warning, not a readiness failure: the deployment itself is Active.
      expect(readiness.report().ready).toBe(true);
    });

    it('takes a deployment that lists no domains and does not allow all as allowing none', async () => {
      deploymentCheck();
      await read({ body: { id: TEST_DEPLOYMENT_ID, status: 'Active' } });

      expect(log.messages('warn')).toEqual([
        "CORS_ALLOWED_ORIGINS allows https://shop.example.com but the deployment's allowedDomains [] do not include shop.example.com: Genesys may refuse this origin",
        "GENESYS_ORIGIN (unset: the first exact CORS_ALLOWED_ORIGINS entry, https://shop.example.com) is not among the deployment's allowedDomains []: the guest WebSocket handshake will be refused with 403",
      ]);
    });
  });

  describe('when Genesys refuses the read', () => {
    it('names the permission and the way out on a 403, with the code Genesys sent', async () => {
      deploymentCheck();
      await read(refusal(403, 'missing.permissions'));

      expect(readiness.report().ready).toBe(false);
      const { detail } = deploymentCheckInReadyz()!;
      expect(detail).toContain(
        'The OAuth client may not read the Messenger deployment in mypurecloud.ie (403 missing.permissions)',
      );
      expect(detail).toContain('webDeployments:deployment:view');
      expect(detail).toContain('or unset GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET to run without the Platform API.');
      expect(linesAbout(/^The OAuth client may not read/)).toEqual([
        expect.objectContaining({ level: LEVEL.error, deploymentId: TEST_DEPLOYMENT_ID }),
      ]);
    });

    it('says "forbidden" on a 403 whose body has no code', async () => {
      deploymentCheck();
      await read(refusal(403));

      expect(deploymentCheckInReadyz()!.detail).toContain('(403 forbidden)');
    });

    it('names GENESYS_DEPLOYMENT_ID and the region on a 404, with the code Genesys sent, or "not found" without one', async () => {
      deploymentCheck();
      await read(refusal(404, 'not.found'));

      expect(readiness.report().ready).toBe(false);
      const { detail } = deploymentCheckInReadyz()!;
      expect(detail).toContain(
        'Genesys has no Messenger deployment with this GENESYS_DEPLOYMENT_ID in mypurecloud.ie (404 not.found)',
      );
      expect(detail).toContain('check that GENESYS_REGION is the region of your Genesys Cloud org');
      expect(linesAbout(/^Genesys has no Messenger deployment/)).toEqual([
        expect.objectContaining({ level: LEVEL.error, deploymentId: TEST_DEPLOYMENT_ID }),
      ]);

      check.close();
      deploymentCheck();
      await read(refusal(404));
      expect(deploymentCheckInReadyz()!.detail).toContain('(404 not found)');
    });

    it("names the settings as a deployments file's entry writes them, not the variables nobody set", async () => {
      const named = {
        deploymentId: 'deploymentId of deployment "shop"',
        region: 'region of deployment "shop"',
        origins: 'origins of deployment "shop"',
        credentials: 'clientId and clientSecret of deployment "shop"',
        origin: 'genesysOrigin of deployment "shop" (https://shop.example.com)',
      };
      deploymentCheck({ named });
      await read(refusal(404, 'not.found'));
      let { detail } = deploymentCheckInReadyz()!;
      expect(detail).toContain('no Messenger deployment with this deploymentId of deployment "shop" in mypurecloud.ie');
      expect(detail).toContain('check that region of deployment "shop" is the region');
      check.close();
      deploymentCheck({ named });
      await read(refusal(403, 'missing.permissions'));
      expect(deploymentCheckInReadyz()!.detail).toContain('or unset clientId and clientSecret of deployment "shop"');
      check.close();
      deploymentCheck({ named });
      await read(active({ status: 'Inactive' }));
      ({ detail } = deploymentCheckInReadyz()!);
      expect(detail).toContain('(deploymentId of deployment "shop") is Inactive');
      expect(detail).toContain('or set deploymentId of deployment "shop" to an active deployment');
      expect(detail).not.toMatch(/GENESYS_|CORS_/);
    });

    it('points at the token check when there is no token, leaving the error log to it', async () => {
      deploymentCheck();
      await read({ error: new TokenUnavailableError(30_000, { status: 503, logDetail: {} }) });

      expect(readiness.report().ready).toBe(false);
      expect(deploymentCheckInReadyz()).toEqual({
        ok: false,
        detail: 'The Messenger deployment cannot be checked without an OAuth token (see the token check).',
      });
      expect(log.lines()).toEqual([expect.objectContaining({ level: LEVEL.warn, deploymentId: TEST_DEPLOYMENT_ID })]);
    });

    it('is not ready when the first read fails otherwise, logging it as an error', async () => {
      deploymentCheck();
      await read(refusal(500, 'internal.server.error'));

      expect(readiness.report().ready).toBe(false);
      expect(deploymentCheckInReadyz()).toEqual({
        ok: false,
        detail: 'The Messenger deployment could not be read from Genesys (see the log); retrying.',
      });
      expect(log.lines()).toEqual([
        expect.objectContaining({
          level: LEVEL.error,
          msg: deploymentCheckInReadyz()!.detail,
          deploymentId: TEST_DEPLOYMENT_ID,
        }),
      ]);
    });

    it('keeps reporting an Active deployment through a failed re-read, as a warning, and stays ready', async () => {
      deploymentCheck();
      await read(active());
      await read(refusal(503, 'service.unavailable'));

      expect(readiness.report()).toMatchObject({ ready: true, status: 'ready' });
      expect(deploymentCheckInReadyz()).toEqual({
        ok: true,
        status: 'Active',
        detail: 'Messenger deployment "Shop Messenger" is Active. Re-reading it failed just now; retrying.',
      });
      expect(linesAbout(/Re-reading it failed/)).toEqual([
        expect.objectContaining({ level: LEVEL.warn, deploymentId: TEST_DEPLOYMENT_ID, status: 'Active' }),
      ]);
      await expect(check.get()).resolves.toMatchObject({ status: 'Active' });
    });

    it('keeps reporting an inactive deployment through a failed re-read, still as an error', async () => {
      deploymentCheck();
      await read(active({ status: 'Inactive' }));
      await read(refusal(503, 'service.unavailable'));

      expect(readiness.report().ready).toBe(false);
      expect(deploymentCheckInReadyz()).toMatchObject({
        ok: false,
        status: 'Inactive',
        detail: expect.stringMatching(/is Inactive, not Active: .* Re-reading it failed just now; retrying\.$/),
      });
      expect(linesAbout(/Re-reading it failed/)).toEqual([
        expect.objectContaining({ level: LEVEL.error, status: 'Inactive' }),
      ]);
    });
  });

  describe('when Genesys answers with a body that is not a deployment', () => {
    it('logs each problem with its field path and the deployment id, fails the read with a 502, and is not ready', async () => {
      deploymentCheck();
      await read({ body: { id: TEST_DEPLOYMENT_ID, status: 'Active', allowedDomains: ['shop.example.com', 42] } });

      const [problem] = log.lines().filter((line) => line.issues !== undefined);
      expect(problem).toMatchObject({
        level: LEVEL.error,
        msg: expect.stringContaining('unexpected body'),
        deploymentId: TEST_DEPLOYMENT_ID,
        issues: [expect.stringMatching(/^allowedDomains\.1: ./)],
      });
      expect(readiness.report().ready).toBe(false);
      expect(deploymentCheckInReadyz()!.detail).toContain('could not be read from Genesys (see the log)');

      // A caller of the deployment (until the retry) is told Genesys failed, not handed a half-read one.
      const error = await check.get().catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: 'upstream_unavailable',
        status: 502,
        message: expect.stringContaining('unexpected body'),
      });
    });
  });
});
