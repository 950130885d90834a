import path from 'node:path';
import zlib from 'node:zlib';
import nock, { type BackMode, type Definition } from 'nock';
import { findRegion } from '../../src/config/regions';

/**
 * Genesys REST traffic in tests comes from nock.back fixtures under
 * test/fixtures/genesys/. The mode is NOCK_BACK_MODE (default `lockdown`:
 * replay only, no network). In `record` mode a test whose fixture file does
 * not exist talks to the real Genesys with the GENESYS_* values from the
 * environment and writes the fixture, scrubbed (see scrubRecording and
 * docs/recording-fixtures.md).
 */
export const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures', 'genesys');

/** The Genesys values fixtures are written for; a recording replaces the real ones with these. */
export const FIXTURE_GENESYS = {
  region: 'mypurecloud.ie',
  awsRegion: 'eu-west-1',
  deploymentId: '3e6d2c55-8b0a-4f7e-9c61-5a2b7d4e1f90',
  clientId: '5b2f1c8e-0d4a-4e6b-8f3c-7a9d1e2b4c6f',
  clientSecret: 'fixture-client-secret-9Qe7sLw2pXo4Rt8Kd1Vz',
};

const LOOPBACK = /^(127\.0\.0\.1|localhost)(:\d+)?$/;
const MODE = (process.env.NOCK_BACK_MODE ?? 'lockdown') as BackMode;

nock.back.fixtures = FIXTURES_DIR;
nock.back.setMode(MODE);
allowLoopback();

/** nock.back's modes switch the network off entirely; the app under test and loopback servers stay reachable. */
export function allowLoopback(): void {
  nock.enableNetConnect(LOOPBACK);
}

export interface GenesysRequest {
  method: string;
  /** Host and path, e.g. `login.mypurecloud.ie/oauth/token`. */
  url: string;
  headers: Record<string, unknown>;
  body?: string;
  /** False when the fixture had no answer for it (the test will see a network error). */
  answered: boolean;
}

export interface Fixture {
  /** True when this run talks to the real Genesys and writes the fixture. */
  recording: boolean;
  /** GENESYS_* variables for loadConfig: the fixture's values, or the real ones while recording. */
  env: Record<string, string>;
  /** Every request that went to a Genesys host while the fixture was loaded, in order. */
  requests(match?: { method?: string; path?: string }): GenesysRequest[];
  /** Fixture entries nothing asked for. */
  pending(): string[];
  done(): void;
}

const REAL_ENV_KEYS = [
  'GENESYS_REGION',
  'GENESYS_DEPLOYMENT_ID',
  'GENESYS_CLIENT_ID',
  'GENESYS_CLIENT_SECRET',
] as const;

/**
 * Loads `name` (a file under test/fixtures/genesys/), or records it. `env`
 * overrides the Genesys variables in both modes (e.g. a wrong secret to
 * record the invalid_client answer).
 */
export async function useFixture(name: string, env: Record<string, string> = {}): Promise<Fixture> {
  const fixtureEnv: Record<string, string> = {
    GENESYS_REGION: FIXTURE_GENESYS.awsRegion,
    GENESYS_DEPLOYMENT_ID: FIXTURE_GENESYS.deploymentId,
    GENESYS_CLIENT_ID: FIXTURE_GENESYS.clientId,
    GENESYS_CLIENT_SECRET: FIXTURE_GENESYS.clientSecret,
  };
  let usedEnv = { ...fixtureEnv, ...env };
  const { nockDone, context } = await nock.back(name, {
    afterRecord: (definitions) =>
      scrubRecording(definitions as unknown as RecordedDefinition[], secretsOf(usedEnv)) as unknown as Definition[],
  });
  const recording = (context as { isRecording?: boolean }).isRecording === true;
  if (recording) {
    const real = Object.fromEntries(
      REAL_ENV_KEYS.flatMap((key) => (process.env[key] ? [[key, process.env[key]!]] : [])),
    );
    usedEnv = { ...fixtureEnv, ...real, ...env };
  }
  allowLoopback();

  const seen: GenesysRequest[] = [];
  const onRequest = (
    req: { method: string; path: string; host?: string; headers: Record<string, unknown> },
    _i: unknown,
    body?: string,
  ) => {
    seen.push({
      method: req.method,
      url: `${String(req.headers.host ?? req.host)}${req.path}`,
      headers: req.headers,
      body,
      answered: true,
    });
  };
  type NoMatch = {
    method?: string;
    host?: string;
    hostname?: string;
    path?: string;
    headers?: Record<string, unknown>;
  };
  const onNoMatch = (req: NoMatch, options?: NoMatch) => {
    const target = options ?? req;
    const host = target.hostname ?? target.host ?? '';
    if (LOOPBACK.test(host)) return;
    seen.push({
      method: target.method ?? req.method ?? 'GET',
      url: `${host}${target.path ?? ''}`,
      headers: req.headers ?? {},
      answered: false,
    });
  };
  for (const scope of context.scopes) scope.on('request', onRequest);
  nock.emitter.on('no match', onNoMatch);

  return {
    recording,
    env: usedEnv,
    requests(match = {}) {
      const all = recording ? recordedSoFar() : seen;
      return all.filter(
        (r) =>
          (match.method === undefined || r.method === match.method) &&
          (match.path === undefined || r.url.includes(match.path)),
      );
    },
    pending() {
      return context.scopes.flatMap((scope) => scope.pendingMocks());
    },
    done() {
      nock.emitter.removeListener('no match', onNoMatch);
      nockDone();
      nock.restore();
      nock.cleanAll();
      nock.activate();
      nock.disableNetConnect();
      allowLoopback();
    },
  };
}

/** One request/response as nock's recorder writes it (`output_objects`). */
export interface RecordedDefinition {
  scope: string;
  method: string;
  path: string;
  body?: unknown;
  status: number;
  response?: unknown;
  rawHeaders?: unknown;
  reqheaders?: Record<string, string>;
  responseIsBinary?: boolean;
}

function recordedSoFar(): GenesysRequest[] {
  return (nock.recorder.play() as unknown as RecordedDefinition[])
    .filter((d) => !isLoopback(d.scope))
    .map((d) => ({
      method: d.method,
      url: `${new URL(d.scope).host}${d.path}`,
      headers: {},
      body: typeof d.body === 'string' ? d.body : JSON.stringify(d.body),
      answered: true,
    }));
}

function isLoopback(scope: string): boolean {
  return LOOPBACK.test(new URL(scope).host);
}

export interface RecordingSecrets {
  clientId?: string;
  clientSecret?: string;
  deploymentId?: string;
  regionDomain?: string;
}

function secretsOf(env: Record<string, string>): RecordingSecrets {
  const region = env.GENESYS_REGION;
  return {
    clientId: env.GENESYS_CLIENT_ID,
    clientSecret: env.GENESYS_CLIENT_SECRET,
    deploymentId: env.GENESYS_DEPLOYMENT_ID,
    regionDomain: region ? findRegion(region.trim())?.domain : undefined,
  };
}

const SECRET_KEYS = new Set(['access_token', 'refresh_token', 'id_token', 'jwt', 'token', 'client_secret']);
const DROPPED_HEADERS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'content-encoding',
  'content-length',
  'transfer-encoding',
]);

/**
 * Makes a recording safe to commit and replayable: drops loopback traffic,
 * decompresses bodies (so secrets inside can be found), replaces token and
 * JWT values with placeholders, drops credential and cookie headers, and
 * rewrites the client id/secret, the real deployment id and region domain
 * into the fixture values.
 */
export function scrubRecording(definitions: RecordedDefinition[], secrets: RecordingSecrets): RecordedDefinition[] {
  let tokenCount = 0;
  const scrubValues = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(scrubValues);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) =>
        SECRET_KEYS.has(key) && typeof v === 'string'
          ? [key, `scrubbed-${key.replace(/_/g, '-')}-${++tokenCount}`]
          : [key, scrubValues(v)],
      ),
    );
  };
  const scrubHeaders = (headers: unknown): Record<string, string> | undefined => {
    if (headers === undefined || headers === null) return undefined;
    const pairs: [string, string][] = Array.isArray(headers)
      ? (headers as string[]).flatMap((v, i, all) => (i % 2 === 0 ? [[v, String(all[i + 1])] as [string, string]] : []))
      : Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k, String(v)]);
    return Object.fromEntries(pairs.filter(([k]) => !DROPPED_HEADERS.has(k.toLowerCase())));
  };

  const scrubbed = definitions
    .filter((d) => !isLoopback(d.scope))
    .map((definition) => {
      const d = { ...definition };
      d.response = scrubValues(decodedBody(d));
      delete d.responseIsBinary;
      d.rawHeaders = scrubHeaders(d.rawHeaders);
      if (d.reqheaders) d.reqheaders = scrubHeaders(d.reqheaders);
      return d;
    });

  let text = JSON.stringify(scrubbed, null, 2);
  const replacements: [string | undefined, string][] = [
    [secrets.clientSecret, FIXTURE_GENESYS.clientSecret],
    [
      secrets.clientId &&
        secrets.clientSecret &&
        Buffer.from(`${secrets.clientId}:${secrets.clientSecret}`).toString('base64'),
      'scrubbed-basic-credentials',
    ],
    [secrets.clientId, FIXTURE_GENESYS.clientId],
    [secrets.deploymentId, FIXTURE_GENESYS.deploymentId],
    [secrets.regionDomain, FIXTURE_GENESYS.region],
  ];
  for (const [real, placeholder] of replacements) {
    if (real && real !== placeholder) text = text.split(real).join(placeholder);
  }
  return JSON.parse(text) as RecordedDefinition[];
}

/** The response body as JSON or text, inflating what the recorder kept as compressed hex chunks. */
function decodedBody(definition: RecordedDefinition): unknown {
  const { response } = definition;
  const headers = (definition.rawHeaders ?? {}) as Record<string, string>;
  const encoding = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-encoding')?.[1];
  let buffer: Buffer | undefined;
  if (encoding && Array.isArray(response)) {
    const raw = Buffer.concat((response as string[]).map((chunk) => Buffer.from(chunk, 'hex')));
    buffer =
      encoding === 'gzip'
        ? zlib.gunzipSync(raw)
        : encoding === 'br'
          ? zlib.brotliDecompressSync(raw)
          : zlib.inflateSync(raw);
  } else if (definition.responseIsBinary && typeof response === 'string') {
    buffer = Buffer.from(response, 'hex');
  }
  if (buffer === undefined) return response;
  const text = buffer.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
