import axios, { type AxiosInstance } from 'axios';
import nock from 'nock';
import { createGenesysHttp, type GenesysHttp } from '../../../src/genesys/restClient';
import { captureLogger, TEST_DEPLOYMENT_ID, type CapturedLogger } from '../../support/app';
import {
  DEFAULT_MESSENGER_FEATURES,
  MessengerConfigSource,
  messengerDeploymentConfigSchema,
  messengerFeaturesOf,
  type MessengerConfigOptions,
} from '../../../src/genesys/platform/messengerConfig';
import { useFixture, type Fixture } from '../../support/nockBack';
import { manualClock, testConfig } from '../../support/platform';
import { waitFor } from '../../support/wait';
import { VARIABLE_NAMES } from '../../support/settingNames';

describe('messengerFeaturesOf', () => {
  const parse = (body: unknown) => messengerFeaturesOf(messengerDeploymentConfigSchema.parse(body));

  it('reads the conversation features', () => {
    expect(
      parse({
        status: 'Active',
        messenger: {
          apps: {
            conversations: {
              autoStart: { enabled: true },
              showUserTypingIndicator: true,
              showAgentTypingIndicator: false,
              conversationDisconnect: { enabled: true, type: 'ReadOnly' },
              conversationClear: { enabled: true },
            },
          },
        },
      }),
    ).toEqual({
      autoStart: true,
      userTypingIndicator: true,
      agentTypingIndicator: false,
      conversationClear: true,
      disconnect: { enabled: true, type: 'ReadOnly' },
      status: 'Active',
      markdown: false,
      languages: [],
      fileUpload: { mediaTypes: [], maxBytes: 0 },
      auth: { enabled: false, allowSessionUpgrade: false },
    });
  });

  it.each([
    ['an empty object', {}],
    ['no conversations app', { messenger: { enabled: true, apps: {} } }],
    [
      'fields of the wrong type',
      {
        status: 7,
        messenger: {
          apps: { conversations: { autoStart: 'yes', showUserTypingIndicator: 'true', conversationClear: [] } },
        },
      },
    ],
  ])('treats %s as nothing switched on', (_name, body) => {
    expect(parse(body)).toEqual(DEFAULT_MESSENGER_FEATURES);
  });
});

describe("file upload, as Genesys's SDK reads it (createFileAttachmentProfile)", () => {
  const fileUpload = (upload: unknown) =>
    messengerFeaturesOf(messengerDeploymentConfigSchema.parse({ messenger: { fileUpload: upload } })).fileUpload;
  const modes = [
    { fileTypes: ['image/png'], maxFileSizeKB: 500 },
    { fileTypes: ['application/pdf'], maxFileSizeKB: 2000 },
  ];

  it.each([true, false])('enableAttachments %s hands the decision to the session', (enableAttachments) => {
    expect(fileUpload({ enableAttachments, modes })).toEqual({ mediaTypes: [], maxBytes: 0, fromSession: true });
  });

  it("without enableAttachments, the modes apply: their types, and the first mode's size in KB of 1000 bytes", () => {
    expect(fileUpload({ modes })).toEqual({ mediaTypes: ['image/png', 'application/pdf'], maxBytes: 500 * 1000 });
  });

  it('skips a mode without a type or without a size above 0: it allows nothing', () => {
    const empty = [
      { fileTypes: ['image/png'], maxFileSizeKB: 0 },
      { fileTypes: ['image/gif'] },
      { fileTypes: [], maxFileSizeKB: 100 },
    ];
    expect(fileUpload({ modes: [...empty, modes[1]] })).toEqual({
      mediaTypes: ['application/pdf'],
      maxBytes: 2000 * 1000,
    });
    expect(fileUpload({ modes: empty })).toEqual({ mediaTypes: [], maxBytes: 0 });
  });
});

describe('MessengerConfigSource', () => {
  let fixture: Fixture;
  let genesysHttp: GenesysHttp;
  let log: CapturedLogger;
  let source: MessengerConfigSource;
  let states: Array<{ ok: boolean; detail: string }>;

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
    log = captureLogger('debug');
    states = [];
  });

  afterEach(() => {
    source?.close();
    fixture?.done();
    genesysHttp.close();
  });

  function configSource(overrides: Partial<MessengerConfigOptions> = {}): MessengerConfigSource {
    const { genesys } = testConfig(fixture.env).deployments[0]!;
    source = new MessengerConfigSource({
      cdnUrl: genesys.cdnUrl,
      deploymentId: genesys.deploymentId,
      region: genesys.region.domain,
      named: genesys.named,
      http: genesysHttp.axios,
      logger: log.logger,
      ttlMs: 300_000,
      onState: (state) => states.push(state),
      ...overrides,
    });
    return source;
  }

  const configRequests = () => fixture.requests({ path: '/config.json' });

  it('reads the public config.json once for many concurrent callers', async () => {
    fixture = await useFixture('messenger-config.json');
    const config = configSource();

    const results = await Promise.all(Array.from({ length: 20 }, () => config.get()));

    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(results[0]).toEqual({
      autoStart: true,
      userTypingIndicator: true,
      agentTypingIndicator: true,
      conversationClear: true,
      disconnect: { enabled: true, type: 'ReadOnly' },
      status: 'Active',
      markdown: true,
      languages: ['en-us', 'fr'],
      defaultLanguage: 'en-us',
      fileUpload: { mediaTypes: ['image/png', 'image/jpeg', 'image/gif'], maxBytes: 10240 * 1000 },
      auth: { enabled: false, allowSessionUpgrade: false },
    });
    expect(configRequests()).toHaveLength(1);
    expect(configRequests()[0]!.url).toBe(
      'api-cdn.mypurecloud.ie/webdeployments/v1/deployments/3e6d2c55-8b0a-4f7e-9c61-5a2b7d4e1f90/config.json',
    );
    expect(configRequests()[0]!.headers.authorization).toBeUndefined();
    expect(config.state().ok).toBe(true);
  });

  it('fails its readiness check naming GENESYS_DEPLOYMENT_ID and the region when the CDN does not know the deployment', async () => {
    fixture = await useFixture('messenger-config-unknown-deployment.json');
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);
    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expect(configRequests()).toHaveLength(1);
    expect(config.state().ok).toBe(false);
    expect(config.state().detail).toContain('GENESYS_DEPLOYMENT_ID');
    expect(config.state().detail).toContain('region mypurecloud.ie');
    expect(config.state().detail).toContain('HTTP 403');
    expect(log.messages('error')).toEqual([config.state().detail]);
  });

  it('serves safe defaults while the CDN is unavailable and nothing was read yet, and is not ready (it fails closed)', async () => {
    fixture = await useFixture('messenger-config-unavailable.json');
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expect(config.state()).toEqual({ ok: false, detail: expect.stringContaining('cannot reach Genesys') });
    expect(log.messages('error')).toEqual([config.state().detail]);
  });

  it('keeps serving the last good config when a refresh fails', async () => {
    fixture = await useFixture('messenger-config-then-unavailable.json');
    const clock = manualClock();
    const config = configSource({ now: clock.now, ttlMs: 60_000 });
    const first = await config.get();
    expect(first.autoStart).toBe(false);

    clock.advance(61_000);
    await expect(config.get()).resolves.toEqual(first);
    await waitFor(() => expect(states.at(-1)?.detail).toContain('Refreshing it failed'));

    await expect(config.get()).resolves.toEqual(first);
    expect(configRequests()).toHaveLength(2);
    expect(config.state().ok).toBe(true);
  });
});

/** The CDN's answers no recording holds (a refused connection, a redirect, a proxy's page), scripted with nock. */
describe('MessengerConfigSource against a scripted CDN', () => {
  const CDN_URL = 'https://api-cdn.example.test';
  const CONFIG_PATH = `/webdeployments/v1/deployments/${TEST_DEPLOYMENT_ID}/config.json`;
  let genesysHttp: GenesysHttp;
  let log: CapturedLogger;
  let source: MessengerConfigSource | undefined;

  beforeEach(() => {
    genesysHttp = createGenesysHttp({ timeoutMs: 5_000 });
    log = captureLogger('debug');
  });

  afterEach(() => {
    source?.close();
    source = undefined;
    nock.cleanAll();
    genesysHttp.close();
    jest.useRealTimers();
  });

  function configSource(
    http: AxiosInstance = genesysHttp.axios,
    overrides: Partial<MessengerConfigOptions> = {},
  ): MessengerConfigSource {
    source = new MessengerConfigSource({
      cdnUrl: CDN_URL,
      deploymentId: TEST_DEPLOYMENT_ID,
      region: 'mypurecloud.ie',
      named: VARIABLE_NAMES,
      http,
      logger: log.logger,
      ttlMs: 60_000,
      ...overrides,
    });
    return source;
  }

  /** What the check says when the instance could not get a config.json it can read: Genesys is out of reach, the id is not to blame. */
  function expectOutOfReach(config: MessengerConfigSource, reason: string): void {
    expect(config.state()).toEqual({
      ok: false,
      detail: expect.stringContaining(`from ${CDN_URL} (${reason}): this instance cannot reach Genesys`),
    });
    expect(config.state().detail).not.toContain('GENESYS_DEPLOYMENT_ID');
    expect(log.lines()).toEqual([
      expect.objectContaining({ level: 50, msg: config.state().detail, url: `${CDN_URL}${CONFIG_PATH}` }),
    ]);
  }

  it('takes a connection that fails as Genesys out of reach, not as an unknown deployment', async () => {
    nock(CDN_URL)
      .get(CONFIG_PATH)
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expectOutOfReach(config, 'ECONNREFUSED');
  });

  it.each([
    ['a 502 with a JSON error body', 502, { message: 'Bad gateway', code: 'bad.gateway', status: 502 }, {}],
    ['a redirect (never followed)', 302, '', { Location: 'https://elsewhere.example.test/config.json' }],
  ])('takes %s as Genesys out of reach, and serves safe defaults', async (_name, status, body, headers) => {
    nock(CDN_URL).get(CONFIG_PATH).reply(status, body, headers);
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expectOutOfReach(config, `HTTP ${status}`);
  });

  it("takes a 200 whose body is not a JSON object (a proxy's page) as Genesys out of reach", async () => {
    nock(CDN_URL)
      .get(CONFIG_PATH)
      .reply(200, '<html><body>Please sign in to the network</body></html>', { 'Content-Type': 'text/html' });
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expectOutOfReach(config, 'the body is not a JSON object');
  });

  it('says it is fetching before its first read, then what it read: each feature on or off, or the deployment Inactive', async () => {
    const answers = [
      { status: 'Active', messenger: { apps: { conversations: { autoStart: { enabled: true } } } } },
      { status: 'Inactive' },
    ];
    const cdn = { get: async () => ({ status: 200, data: answers.shift() }) } as unknown as AxiosInstance;
    const clock = manualClock();
    const config = configSource(cdn, { now: clock.now });
    expect(config.state()).toEqual({ ok: false, detail: 'Fetching the Messenger configuration.' });

    await config.get();
    expect(config.state()).toEqual({
      ok: true,
      detail: 'Messenger configuration read (autostart on, guest typing off, agent typing off).',
    });
    clock.advance(61_000);
    await config.get();
    await waitFor(() => expect(config.state().ok).toBe(false));
    expect(config.state().detail).toBe(
      'The Messenger configuration says the deployment is Inactive: activate it under Admin > Message > ' +
        `Messenger Deployments, or set ${VARIABLE_NAMES.deploymentId} to an active deployment.`,
    );
    expect(log.lines().map((l) => [l.level, l.msg])).toEqual([
      [30, 'Messenger configuration read (autostart on, guest typing off, agent typing off).'],
      [50, config.state().detail],
    ]);
  });

  it.each([400, 404, 499])(
    'takes a %i as an unknown deployment, whatever the HTTP client makes of error statuses',
    async (status) => {
      nock(CDN_URL).get(CONFIG_PATH).reply(status, { message: 'no' });
      // A client with axios's default validateStatus, which throws on 4xx: the source reads the status itself.
      const config = configSource(axios.create());

      await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

      expect(config.state()).toEqual({
        ok: false,
        detail:
          `Genesys has no Messenger configuration for ${VARIABLE_NAMES.deploymentId} in region mypurecloud.ie ` +
          `(HTTP ${status} from ${CDN_URL}): copy the id from Admin > Message > Messenger Deployments ` +
          `and check that ${VARIABLE_NAMES.region} is the region of your Genesys Cloud org.`,
      });
    },
  );

  it.each([300, 500])('takes a %i as Genesys out of reach, with the whole advice', async (status) => {
    nock(CDN_URL).get(CONFIG_PATH).reply(status, {});
    const config = configSource();

    await expect(config.get()).resolves.toEqual(DEFAULT_MESSENGER_FEATURES);

    expect(config.state().detail).toBe(
      `The Messenger configuration could not be read from ${CDN_URL} (HTTP ${status}): this instance cannot reach ` +
        'Genesys. Serving safe defaults (autostart and typing indicators off) to any guest, and retrying.',
    );
  });

  it('tries a failed first read again within 30 s, sooner than its TTL, and says at warn when a refresh failed', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const answers = [503, 200, 503];
    let reads = 0;
    const cdn = {
      get: async () => {
        reads++;
        return { status: answers.shift(), data: { status: 'Active' } };
      },
    } as unknown as AxiosInstance;
    const config = configSource(cdn, { ttlMs: 10 * 60_000 });
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    config.start();
    await settle();
    expect([reads, config.state().ok]).toEqual([1, false]);
    jest.advanceTimersByTime(30_000);
    await settle();
    expect([reads, config.state().ok]).toEqual([2, true]);
    jest.advanceTimersByTime(10 * 60_000);
    await settle();
    expect(reads).toBe(3);
    expect(log.lines().at(-1)).toMatchObject({
      level: 40,
      msg: 'Messenger configuration read (autostart off, guest typing off, agent typing off). Refreshing it failed (HTTP 503); retrying.',
    });
  });

  it('re-reads config.json every TTL until it is closed, then reads nothing more', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let reads = 0;
    const cdn = {
      get: async () => {
        reads++;
        return {
          status: 200,
          data: { status: 'Active', messenger: { apps: { conversations: { autoStart: { enabled: true } } } } },
        };
      },
    } as unknown as AxiosInstance;
    const config = configSource(cdn);
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    config.start();
    await settle();
    expect(reads).toBe(1);
    jest.advanceTimersByTime(60_000);
    await settle();
    expect(reads).toBe(2);

    config.close();
    jest.advanceTimersByTime(10 * 60_000);
    await settle();
    expect(reads).toBe(2);
    await expect(config.get()).resolves.toMatchObject({ autoStart: true });
  });
});
