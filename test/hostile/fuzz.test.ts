import fc from 'fast-check';
import { startSimulator, type ReceivedFrame, type Simulator } from '../../simulator';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { TEST_SESSION_SECRET } from '../support/app';
import { steerableClock } from '../support/clock';
import {
  allows,
  answerOf,
  BODY_LIMIT_BYTES,
  expectedRefusal,
  forbiddenInFrames,
  reservedKeyPath,
  type PoolSessionView,
} from '../support/fuzzOracle';
import { identityToken, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import {
  checkProblem,
  heapUsedAfterGc,
  internalsIn,
  PAGE_ORIGIN,
  rawBytes,
  rawRequest,
  type RawRequest,
  type RawResponse,
} from '../support/hostile';

/**
 * Property-based tests over every endpoint (RELIABILITY.md): whatever arrives
 * (malformed or huge JSON, wrong types and content types, deep nesting,
 * prototype keys, lone surrogates, garbage headers) the answer is a 2xx or a
 * 4xx problem+json with a code, never a 5xx, never internals; an input of a
 * class that must be refused gets its refusal (test/support/fuzzOracle.ts), and
 * nothing refused ever reaches Genesys (the frames the simulator received); the
 * process stays up, Object.prototype stays clean and memory stays bounded.
 *
 * @lane full — thousands of generated requests against every endpoint
 */

/** Fixed, so a run replays; FUZZ_SEED explores others. Every failure names it. */
const SEED = Number(process.env.FUZZ_SEED ?? 20260520);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * RUNS));
/** A bound on a hang only: these run in seconds alone, but CI machines share their two cores with other suites. */
const TIMEOUT_MS = 300_000;

let sim: Simulator;
let stack: Stack;
/**
 * The clock of the service's and the simulator's per-session limits: it stands still, and every
 * request moves it a quarter of a second, so which requests meet a rate limit depends on the seed,
 * not on how fast this machine answers.
 */
const clock = steerableClock();
const REQUEST_SPACING_MS = 250;

interface PoolSession extends PoolSessionView {
  ticket: string;
  /** The Genesys guest token behind it: the simulator's key for its frames. */
  gt: string;
}
/** Valid session tokens (and stream tickets) the fuzzer mixes in, so requests get past authentication. */
const pool: PoolSession[] = [];

/** The Genesys guest token inside a session token. */
async function guestTokenIn(token: string): Promise<string> {
  return ((await new Sealer(deriveKeys([TEST_SESSION_SECRET])).unseal(token)) as { gt: string }).gt;
}

/** A pool session in the state its index gives it: open, read-only (the agent ended it: 409) or ended by the guest (DELETE: 410). */
async function poolSession(i: number): Promise<PoolSession> {
  const { token } = await stack.newSession({ attributes: { plan: `p${i}` } });
  const auth = { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN };
  const ticket = await stack.http.post('/messages/stream-ticket').set(auth);
  const gt = await guestTokenIn(token);
  if (i % 4 === 3) {
    sim.agent.disconnect(gt);
    // Read-only once the service has seen the Disconnect, not after a guess at how long that takes.
    await waitFor(async () => (await stack.http.get('/guest-session').set(auth)).body.readOnly === true);
  }
  if (i % 4 === 2) expect((await stack.http.delete('/guest-session').set(auth)).status).toBe(204);
  return { token, ticket: ticket.body.ticket as string, gt, open: i % 4 !== 2 };
}
const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  clock.standStill();
  // Recording what reaches Genesys, for the oracle; the memory property turns it off (the simulator shares this heap).
  sim = await startSimulator({
    profile: 'strict',
    record: true,
    clock: clock.now,
    agent: { typingDelayMs: 1, replyDelayMs: 2 },
  });
  // Few upstream sockets: the hub's LRU bound is part of what keeps memory flat.
  stack = await startStack({ simulator: sim, env: { GUEST_SOCKET_MAX: '32', LOG_LEVEL: 'info' }, now: clock.now });
  // Some conversations have ended: every route must handle read-only and ended sessions too.
  for (let i = 0; i < 12; i++) pool.push(await poolSession(i));
  const doc = (await stack.http.get('/openapi.json')).body as {
    paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method,
      pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      statuses: new Map(
        Object.entries(op.responses).map(([status, r]) => [
          status,
          /^Problem: (.*)$/.exec(r.description)?.[1]?.split(', ') ?? [],
        ]),
      ),
    })),
  );
}, 120_000);

afterAll(async () => {
  await stack.close();
  await sim.stop();
});

// ------------------------------------------------------------------ arbitraries

const ENDPOINTS: [string, string][] = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/openapi.json'],
  ['GET', '/asyncapi.json'],
  ['GET', '/problems/rate_limited'],
  ['POST', '/guest-session'],
  ['GET', '/guest-session'],
  ['DELETE', '/guest-session'],
  ['GET', '/guest-attributes'],
  ['PUT', '/guest-attributes'],
  ['PATCH', '/guest-attributes'],
  ['POST', '/messages'],
  ['GET', '/messages'],
  ['GET', '/messages/transcript'],
  ['GET', '/messages/stream'],
  ['POST', '/messages/stream-ticket'],
  ['POST', '/typing'],
  ['GET', '/capabilities'],
  ['GET', '/availability'],
  ['POST', '/attachments'],
  ['DELETE', '/attachments/5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30'],
  ['GET', '/attachments/5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30/content'],
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'PURGE'];

/** Anything Node's HTTP client lets through in a header value: tab, visible ASCII, Latin-1. */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09))
  .map((c) => String.fromCharCode(c));
const headerString = (maxLength = 120) => fc.string({ unit: headerChar, maxLength });

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const oddChar = fc.constantFrom(
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u200b',
  '\u200d',
  '\u202e',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  'e\u0301',
  '👩‍👩‍👧',
  '𝕏',
  '\\',
  '"',
  '</script>',
  '${x}',
  '%00',
  '../',
);
const weirdText = (maxLength = 64) =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: oddChar },
      { weight: 1, arbitrary: loneSurrogate },
    ),
    maxLength,
  });

const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  '__lookupSetter__',
];
const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('firstName', 'email', 'plan', 'customerId', '', ' ', 'a'.repeat(201)) },
  { weight: 4, arbitrary: weirdText(24) },
);

/** A JSON object written as key/value pairs, so `__proto__` stays an own key in the text. */
class Obj {
  constructor(readonly entries: [string, J][]) {}
}
type J = null | boolean | number | string | J[] | Obj;

function toJson(value: J): string {
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  return JSON.stringify(value);
}

const scalar: fc.Arbitrary<J> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(1e308, -0, 2 ** 53 + 1)),
  weirdText(40),
  fc.nat({ max: 6000 }).map((n) => '€'.repeat(n)),
);
const { tree } = fc.letrec<{ tree: J }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.array(fc.tuple(keyArb, tie('tree')), { maxLength: 5 }).map((e) => new Obj(e)),
  ),
}));
const obj = (entries: fc.Arbitrary<[string, J]>[]) =>
  fc
    .tuple(...entries.map((e) => fc.option(e, { nil: undefined })), fc.array(fc.tuple(keyArb, tree), { maxLength: 2 }))
    .map((parts) => {
      const extra = parts.pop() as [string, J][];
      return new Obj([
        ...(parts as ([string, J] | undefined)[]).filter((p): p is [string, J] => p !== undefined),
        ...extra,
      ]);
    });
const field = (name: string, value: fc.Arbitrary<J>) => value.map((v) => [name, v] as [string, J]);
const stringish = fc.oneof({ weight: 4, arbitrary: weirdText(80) }, { weight: 1, arbitrary: tree });
const attributes = fc
  .array(fc.tuple(keyArb, fc.oneof({ weight: 4, arbitrary: weirdText(60) }, { weight: 1, arbitrary: tree })), {
    maxLength: 6,
  })
  .map((e) => new Obj(e));

const sessionBody = obj([
  field('firstName', stringish),
  field('email', stringish),
  field('attributes', fc.oneof({ weight: 4, arbitrary: attributes }, { weight: 1, arbitrary: tree })),
  field('identityToken', fc.oneof(weirdText(40), fc.constant('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'))),
  field('startNew', fc.oneof(fc.boolean(), tree)),
]);
const hostileMessage = obj([
  field(
    'text',
    fc.oneof(
      { weight: 5, arbitrary: stringish },
      { weight: 1, arbitrary: fc.nat({ max: 5000 }).map((n) => 'x'.repeat(n)) },
      // Just over the 4,096 UTF-8 bytes Genesys takes, in one- to four-byte characters: never to reach it.
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.integer({ min: 1, max: 40 }), fc.constantFrom('x', 'é', '€', '😀'))
          .map(([over, c]) => c.repeat(Math.ceil((4096 + over) / Buffer.byteLength(c)))),
      },
    ),
  ),
  field(
    'quickReply',
    fc.oneof(
      obj([field('text', stringish), field('payload', stringish), field('originatingMessageId', stringish)]),
      tree,
    ),
  ),
]);
/** Valid sends too, so the deeper paths (rate limits, read-only sessions, Genesys) are reached. */
const messageBody = fc.oneof(
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 300 })
      .filter((t) => t.trim() !== '')
      .map((t) => new Obj([['text', t]])),
  },
  { weight: 3, arbitrary: hostileMessage },
);
const attributesBody = fc.oneof({ weight: 4, arbitrary: attributes }, { weight: 1, arbitrary: tree });

const deep = fc
  .tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":', '{"attributes":{"k":'))
  .map(([n, open]) => {
    const close = open === '[' ? ']' : '}'.repeat((open.match(/{/g) ?? []).length);
    return open.repeat(n) + (open === '[' ? '' : '1') + close.repeat(n);
  });

const rawBody: fc.Arbitrary<string | Buffer | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.oneof(sessionBody, messageBody, attributesBody, tree).map(toJson) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{',
      '{"text":',
      '{"text":"unterminated',
      '[1,]',
      'nul',
      '{"a":1}{"b":2}',
      '\ufeff{"text":"bom"}',
      '{"text":"\\ud800"}',
      '{"text":"\\udfff\\ud800"}',
      '{"__proto__":{"polluted":"yes"}}',
      '{"constructor":{"prototype":{"polluted":"yes"}}}',
    ),
  },
  { weight: 1, arbitrary: deep },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 20_000, max: 60_000 }), fc.constantFrom('x', 'é', '😀'))
      .map(([n, c]) => JSON.stringify({ text: c.repeat(Math.ceil(n / Buffer.byteLength(c))) })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
);

const authorization = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.nat().map((i) => `Bearer ${pool[i % pool.length]!.token}`) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, at, bit]) => {
      const t = pool[i % pool.length]!.token;
      const p = at % t.length;
      return `Bearer ${t.slice(0, p)}${String.fromCharCode(t.charCodeAt(p) ^ (1 << bit))}${t.slice(p + 1)}`.replace(
        /[^\t\x20-\x7e\x80-\xff]/g,
        'A',
      );
    }),
  },
  { weight: 1, arbitrary: fc.nat().map((i) => `Bearer ${pool[i % pool.length]!.ticket}`) },
  { weight: 2, arbitrary: headerString() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      'bearer a.b.c.d.e',
      'Bearer ....',
      'Bearer a b',
      'Bearer eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIiwia2lkIjoieCJ9....',
    ),
  },
);
const origin = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.constant(PAGE_ORIGIN) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'https://shop.example.com',
      'https://a.example.org',
      'null',
      'https://evil.example',
      'http://localhost:3000.evil.example',
      'HTTP://LOCALHOST:3000',
      'http://localhost:3000/',
      'file://',
    ),
  },
  { weight: 1, arbitrary: headerString(60) },
);
const contentType = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/merge-patch+json',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/',
      '*/*',
    ),
  },
  { weight: 1, arbitrary: headerString(60) },
);
const extraHeaders = fc.record(
  {
    'Idempotency-Key': fc.oneof(headerString(40), fc.constantFrom('x'.repeat(201), 'k-1', ' ', 'é')),
    'X-Request-Id': headerString(200),
    'X-Forwarded-For': headerString(60),
    'Content-Encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'zstd', 'x-garbage'),
    Accept: headerString(40),
    'Accept-Encoding': headerString(20),
    Cookie: headerString(60),
    Range: fc.constantFrom('bytes=0-1', 'bytes=-1', 'garbage'),
  },
  { requiredKeys: [] },
);
const path = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/messages?page=0',
      '/messages?pageSize=1000',
      '/messages?page=abc&pageSize=1e3',
      '/messages?page=1&page=2',
      '/messages/stream?ticket=',
      '/messages/stream?ticket=a&ticket=b',
      '/messages?__proto__[x]=1',
      '/guest-session?startNew=true',
      '/%2e%2e/etc/passwd',
      '/messages/%ff',
      '//messages',
      '/messages/',
      '/MESSAGES',
      '/messages/stream?x=' + 'y'.repeat(2000),
    ),
  },
  { weight: 1, arbitrary: fc.webPath().map((p) => p || '/') },
);

interface Shaped extends RawRequest {
  label: string;
}

const request: fc.Arbitrary<Shaped> = fc
  .record({
    endpoint: fc.constantFrom(...ENDPOINTS),
    method: fc.option(fc.constantFrom(...METHODS), { freq: 4, nil: undefined }),
    path,
    authorization,
    origin,
    contentType,
    extra: extraHeaders,
    body: rawBody,
  })
  .map(({ endpoint, method, path: p, authorization: auth, origin: o, contentType: ct, extra, body }) => {
    const headers: Record<string, string> = { ...(extra as Record<string, string>) };
    if (auth !== undefined) headers.Authorization = auth;
    if (o !== undefined) headers.Origin = o;
    if (ct !== undefined) headers['Content-Type'] = ct;
    const m = method ?? endpoint[0];
    const target = p ?? endpoint[1];
    return { method: m, path: target, headers, body, label: `${m} ${target}` };
  });

/** A route-shaped body for one endpoint, with valid authentication: the deeper validation paths. */
const routeRequest = (method: string, target: string, body: fc.Arbitrary<J>, withAuth = true): fc.Arbitrary<Shaped> =>
  fc.tuple(body, fc.nat(), fc.option(headerString(40), { nil: undefined })).map(([b, i, key]) => ({
    method,
    path: target,
    label: `${method} ${target}`,
    body: toJson(b),
    headers: {
      'Content-Type': 'application/json',
      Origin: PAGE_ORIGIN,
      ...(withAuth ? { Authorization: `Bearer ${pool[i % pool.length]!.token}` } : {}),
      ...(key !== undefined ? { 'Idempotency-Key': key } : {}),
    },
  }));

// ------------------------------------------------------------------ the property

/** The operations /openapi.json documents: method and path pattern, and per status the problem codes listed. */
let operations: { method: string; pattern: RegExp; statuses: Map<string, string[]> }[] = [];

/** The methods /openapi.json documents for a path (GET brings HEAD), or undefined when it documents none. */
function servedMethods(path: string): string[] | undefined {
  const methods = operations.filter((o) => o.pattern.test(path)).map((o) => o.method.toUpperCase());
  return methods.length === 0 ? undefined : [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'];
}

/** A response outside what /openapi.json lists for its operation is a defect of the service or of the document. */
function undocumented(req: Shaped, res: RawResponse): string | undefined {
  const path = req.path.split('?')[0]!;
  const op = operations.find((o) => o.method === req.method.toLowerCase() && o.pattern.test(path));
  if (!op) return undefined;
  const codes = op.statuses.get(String(res.status));
  if (codes === undefined) return `${req.method} ${path} answered ${res.status}, which /openapi.json does not list`;
  if (res.status >= 400 && /^application\/problem\+json/.test(res.headers['content-type'] ?? '')) {
    const code = (JSON.parse(res.text) as { code?: string }).code ?? '';
    if (!codes.includes(code))
      return `${req.method} ${path} answered ${res.status} ${code}, which /openapi.json does not list`;
  }
  return undefined;
}

function verdict(req: Shaped, res: RawResponse): string | undefined {
  if (res.status >= 500) return `${res.status} ${res.text.slice(0, 300)}`;
  const outside = undocumented(req, res);
  if (outside) return outside;
  if (res.status < 100) return 'no status';
  const origin = req.headers?.Origin;
  const allowed =
    origin === undefined ||
    ['http://localhost:3000', 'https://shop.example.com', 'https://a.example.org'].includes(origin);
  if (!allowed && res.headers['access-control-allow-origin'] !== undefined)
    return `ACAO for a foreign origin ${origin}`;
  if (req.method === 'HEAD') {
    if (res.status >= 400 && !/^application\/problem\+json/.test(res.headers['content-type'] ?? ''))
      return `HEAD ${res.status} not problem+json`;
    return undefined;
  }
  const check = checkProblem(res);
  return check.ok ? undefined : check.why;
}

async function answerTo(req: Shaped): Promise<RawResponse> {
  return rawRequest(stack.service.url, req);
}

const failures: string[] = [];
/** What the fuzzer reached: status and code counts, so a run that never got past the edge is noticed. */
const seen = new Map<string, number>();

/** What the oracle finds wrong with an answer and the frames Genesys received meanwhile, if anything. */
function oracleVerdict(req: Shaped, res: RawResponse, frames: ReceivedFrame[]): string | undefined {
  const answer = answerOf(req, res);
  const refusal = expectedRefusal(req, pool, servedMethods);
  if (refusal && !allows(refusal, req, answer)) {
    return `${res.status < 400 ? 'wrongly accepted' : 'wrongly refused'}: ${answer}, expected ${[...refusal.own].join(' or ')} (or earlier ${[...refusal.earlier].join(', ') || 'nothing'}) for ${refusal.why.join('; ')}`;
  }
  const forbidden = forbiddenInFrames(frames);
  if (forbidden.length > 0) return `reached Genesys: ${forbidden.join('; ')}`;
  const session = pool.find((p) => req.headers?.Authorization === `Bearer ${p.token}`);
  if (
    refusal?.own.has(answer) &&
    session &&
    frames.some((f) => f.sessionToken === session.gt && f.frame?.action === 'onMessage')
  ) {
    return `refused (${answer}) but a message went to Genesys`;
  }
  return undefined;
}

/** An ended session's token gets 410 from then on. */
function track(req: Shaped, res: RawResponse): void {
  const session = pool.find((p) => req.headers?.Authorization === `Bearer ${p.token}`);
  const path = req.path
    .split('?')[0]!
    .toLowerCase()
    .replace(/(.)\/$/, '$1');
  const ends =
    (req.method === 'DELETE' && path === '/guest-session') ||
    (req.method === 'POST' && path === '/guest-session/sign-out');
  if (session && ((ends && res.status === 204) || res.status === 410)) session.open = false;
}

/** The answer `holds` got for a request, last one only. */
let lastAnswer: { req: Shaped; answer: string } | undefined;
const seenLast = (req: Shaped) => (lastAnswer?.req === req ? lastAnswer.answer : '');

async function holds(req: Shaped): Promise<boolean> {
  clock.advance(REQUEST_SPACING_MS);
  const before = sim.received.length;
  const res = await answerTo(req);
  const answer = answerOf(req, res);
  lastAnswer = { req, answer };
  seen.set(answer, (seen.get(answer) ?? 0) + 1);
  const why = verdict(req, res) ?? oracleVerdict(req, res, sim.received.slice(before));
  track(req, res);
  if (why)
    failures.push(
      `${req.label} ${JSON.stringify(req.headers)} body=${JSON.stringify(String(req.body ?? '').slice(0, 200))} → ${why}`,
    );
  return why === undefined;
}

/** A property's failure, with the first failing input and the seed that replays it. */
const replayable = (error: Error, first = failures[0]) => {
  const lines = error.message.split('\n');
  const thrown = lines.filter((l) => /^Got (error|thrown)/.test(l)).slice(0, 1);
  return new Error(`${[...lines.slice(0, 3), ...thrown].join('\n')}\nfirst failure: ${first}\n(FUZZ_SEED=${SEED})`);
};

function assertProperty(arb: fc.Arbitrary<Shaped>, numRuns: number) {
  failures.length = 0;
  return fc
    .assert(
      fc.asyncProperty(arb, (req) => holds(req)),
      { numRuns: runs(numRuns), seed: SEED, endOnFailure: true },
    )
    .catch((error: Error) => {
      throw replayable(error);
    });
}

async function stillHealthy(): Promise<void> {
  const health = await rawRequest(stack.service.url, { method: 'GET', path: '/healthz' });
  expect(health.status).toBe(200);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeNames);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

describe('every endpoint under arbitrary input', () => {
  test(
    'any method, path, headers and body: 2xx or a 4xx problem+json with a code, never a 5xx or internals',
    async () => {
      seen.clear();
      await assertProperty(request, 800);
      await stillHealthy();
      // The run got everywhere: past authentication and validation, and into every kind of refusal.
      const outcomes = [...seen.keys()];
      for (const expected of [
        '200',
        '401 unauthorized',
        '400 validation_failed',
        '403 origin_not_allowed',
        '404 not_found',
        '415 unsupported_media_type',
      ]) {
        expect(outcomes).toContain(expected);
      }
      // A sent message (201) is rare here, since a random request is seldom a valid send; the
      // message-shaped property below requires one.
    },
    TIMEOUT_MS,
  );

  test(
    'POST /guest-session with session-shaped bodies (prototype keys, wrong types, odd Unicode, huge values)',
    async () => {
      await assertProperty(routeRequest('POST', '/guest-session', sessionBody, false), 150);
      await assertProperty(routeRequest('POST', '/guest-session', sessionBody, true), 100);
      await stillHealthy();
    },
    TIMEOUT_MS,
  );

  test(
    'PUT and PATCH /guest-attributes with attribute-shaped bodies',
    async () => {
      await assertProperty(
        fc.oneof(
          routeRequest('PUT', '/guest-attributes', attributesBody),
          routeRequest('PATCH', '/guest-attributes', attributesBody),
        ),
        250,
      );
      await stillHealthy();
    },
    TIMEOUT_MS,
  );

  test(
    'POST /messages with message-shaped bodies and Idempotency-Key garbage',
    async () => {
      // The fuzzing above may have ended open conversations (DELETE) or reopened read-only ones (startNew):
      // put every pool session back as beforeAll left it, so 201, 409 and 410 all stay reachable.
      for (let i = 0; i < pool.length; i++) pool[i] = await poolSession(i);
      seen.clear();
      await assertProperty(routeRequest('POST', '/messages', messageBody), 250);
      await stillHealthy();
      const outcomes = [...seen.keys()];
      for (const expected of ['201', '400 validation_failed', '409 conflict', '410 session_expired'])
        expect(outcomes).toContain(expected);
    },
    TIMEOUT_MS,
  );

  test(
    'identity tokens: validly signed with hostile claims, or forged',
    async () => {
      const claims = fc.record(
        {
          sub: stringish,
          given_name: stringish,
          email: stringish,
          attributes: fc.oneof(attributes, tree),
        },
        { requiredKeys: [] },
      );
      const signed = fc
        .tuple(claims, fc.boolean(), fc.constantFrom(undefined, 'wrong-secret-wrong-secret-wrong-secret!!'))
        .map(([c, expired, secret]) => ({ c, expired, secret }));
      failures.length = 0;
      await fc
        .assert(
          fc.asyncProperty(signed, async ({ c, expired, secret }) => {
            // Claims go through JSON so `__proto__` keys survive as data.
            const payload = JSON.parse(toJson(new Obj(Object.entries(c).map(([k, v]) => [k, v as J])))) as Record<
              string,
              unknown
            >;
            const token = await identityToken(payload, { expiresIn: expired ? '-1m' : '5m', secret });
            const req: Shaped = {
              method: 'POST',
              path: '/guest-session',
              label: 'POST /guest-session (identity)',
              headers: { 'Content-Type': 'application/json', Origin: PAGE_ORIGIN },
              body: JSON.stringify({ identityToken: token }),
            };
            const before = sim.received.length;
            if (!(await holds(req))) return false;
            // Forged or expired: refused as such. A reserved key in the claims: refused, whatever else is wrong.
            const answer = seenLast(req);
            const refusals =
              expired || secret
                ? ['401 identity_invalid']
                : reservedKeyPath(payload)
                  ? ['400 validation_failed', '401 identity_invalid', '413 attributes_too_large']
                  : undefined;
            // Too big to read, or longer than an identity token may be: refused before it is verified.
            if (refusals && Buffer.byteLength(req.body as string) > BODY_LIMIT_BYTES)
              refusals.push('413 payload_too_large');
            if (refusals && token.length > 8192) refusals.push('400 validation_failed');
            if (refusals && !refusals.includes(answer)) {
              failures.push(
                `identity claims ${JSON.stringify(payload).slice(0, 200)} (expired ${expired}, foreign secret ${secret !== undefined}) → ${answer}, expected ${refusals.join(' or ')}`,
              );
              return false;
            }
            if (refusals && sim.received.slice(before).length > 0) {
              failures.push(`refused identity (${answer}) but frames reached Genesys`);
              return false;
            }
            return true;
          }),
          { numRuns: runs(80), seed: SEED },
        )
        .catch((error: Error) => {
          throw replayable(error);
        });
      await stillHealthy();
    },
    TIMEOUT_MS,
  );

  test(
    'malformed HTTP on the wire: a 4xx problem+json (or a closed connection), and the process stays up',
    async () => {
      const CRLF = '\r\n';
      const malformed = fc.oneof(
        fc.constantFrom(
          'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          'POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
          'POST /guest-session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
          'GET /healthz HTTP/9.9\r\n\r\n',
          'GET /healthz\r\n\r\n',
          '\u0000\u0001\u0002\r\n\r\n',
          `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`,
          'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n',
          'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\u0000b\r\n\r\n',
        ),
        fc
          .tuple(
            fc.constantFrom('GET', 'POST', 'BREW', 'G\u00c9T'),
            headerString(30),
            fc.string({ unit: 'binary-ascii', maxLength: 80 }),
          )
          .map(([m, target, junk]) => `${m} /${target} HTTP/1.1${CRLF}Host: x${CRLF}${junk}${CRLF}${CRLF}`),
      );
      await fc
        .assert(
          fc.asyncProperty(malformed, async (text) => {
            const answer = await rawBytes(stack.service.url, Buffer.from(text, 'latin1'));
            if (answer === '') return true; // closed without a word is acceptable for garbage on the wire
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
            if (!(status >= 200 && status < 500)) {
              failures.push(`${JSON.stringify(text.slice(0, 80))} → ${answer.slice(0, 200)}`);
              return false;
            }
            if (status >= 400 && !/content-type: application\/problem\+json/i.test(answer)) {
              failures.push(`${JSON.stringify(text.slice(0, 80))} → not problem+json: ${answer.slice(0, 200)}`);
              return false;
            }
            return internalsIn(answer) === undefined;
          }),
          { numRuns: runs(60), seed: SEED },
        )
        .catch((error: Error) => {
          throw replayable(error, failures.at(-1));
        });
      await stillHealthy();
    },
    TIMEOUT_MS,
  );

  test(
    'memory stays bounded: heap after 1,500 more hostile requests is within 40 MB of the warmed-up heap',
    async () => {
      // The simulator shares this heap: its record of every frame would grow it as the service must not.
      sim.setOptions({ record: false });
      const fire = async (n: number, seed: number) => {
        const reqs = fc.sample(request, { numRuns: n, seed });
        for (let i = 0; i < reqs.length; i += 8) {
          clock.advance(REQUEST_SPACING_MS);
          await Promise.all(reqs.slice(i, i + 8).map((r) => answerTo(r).catch(() => undefined)));
        }
        // Measured once the service holds no connection: what is left is what it keeps, not work in flight.
        await waitFor(() => connectionsOf(stack.service.server).then((n) => n === 0), 30_000);
      };
      await fire(300, SEED + 1);
      const before = settledHeap();
      await fire(runs(1500), SEED + 2);
      const after = settledHeap();
      if (process.env.FUZZ_VERBOSE)
        process.stdout.write(`heap: ${Math.round(before / 2 ** 20)} MB → ${Math.round(after / 2 ** 20)} MB\n`);
      const grewMb = (after - before) / 2 ** 20;
      expect({ seed: SEED, grewMb, within40Mb: grewMb < 40 }).toEqual({ seed: SEED, grewMb, within40Mb: true });
      await stillHealthy();
    },
    TIMEOUT_MS,
  );
});

/** Open connections of the service's HTTP server. */
function connectionsOf(server: import('node:http').Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** Heap in use once full collections stop freeing anything (at most five), so one lazy collection does not decide the verdict. */
function settledHeap(): number {
  let heap = heapUsedAfterGc();
  for (let i = 0; i < 5; i++) {
    const next = heapUsedAfterGc();
    if (next >= heap) return next;
    heap = next;
  }
  return heap;
}

describe('regressions the fuzzer found', () => {
  test('a message to a conversation the agent ended is 409 conflict (it was a 502 upstream_unavailable)', async () => {
    const { token } = await stack.newSession();
    const auth = { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN };
    sim.agent.disconnect(await guestTokenIn(token));
    // Wait until the Disconnect event has reached the service's socket.
    await waitFor(async () => (await stack.http.get('/guest-session').set(auth)).body.readOnly === true);
    const res = await rawRequest(stack.service.url, {
      method: 'POST',
      path: '/messages',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: 'anyone there?' }),
    });
    expect(res.status).toBe(409);
    expect(checkProblem(res)).toEqual({ ok: true });
    expect(JSON.parse(res.text)).toMatchObject({ code: 'conflict', detail: expect.stringContaining('startNew') });
    // Starting anew makes the same token usable again.
    expect((await stack.http.post('/guest-session').set(auth).send({ startNew: true })).status).toBe(200);
    expect((await stack.http.post('/messages').set(auth).send({ text: 'hello again' })).status).toBe(201);
  });

  test('HEAD /messages/stream answers its headers and ends (it held a bodiless live stream open)', async () => {
    const { token } = await stack.newSession();
    const res = await rawRequest(stack.service.url, {
      method: 'HEAD',
      path: '/messages/stream',
      headers: { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  });

  test('malformed HTTP that never reaches Express is still answered problem+json (it was a bare 400)', async () => {
    for (const [text, status] of [
      ['GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, 431],
    ] as const) {
      const answer = await rawBytes(stack.service.url, Buffer.from(text, 'latin1'));
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(answer).toContain('"code":"validation_failed"');
    }
  });
});

afterAll(() => {
  if (process.env.FUZZ_VERBOSE)
    process.stdout.write(`fuzz outcomes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}\n`);
});
