import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { AppError } from '../../../src/domain/errors';
import { answerDeadLetters, type DeadLetterSource } from '../../../src/http/server/deadLetterRoutes';
import type { DeadLetters } from '../../../src/webhooks';
import { captureLogger } from '../../support/app';
import { waitFor } from '../../support/wait';

/**
 * The operator's dead-letter routes (src/http/server/deadLetterRoutes.ts), on a bare HTTP server as the metrics
 * listener runs them: which paths they answer, the deployment each request is about, the `limit` and the replay
 * body they accept, and what a refusal or a store that fails answers. Each deployment's dead letters are a stand-in
 * that records what it was asked; the lists themselves are held by test/webhooks/deadLetters.test.ts.
 */

interface Asked {
  deployment: string;
  list?: number;
  replay?: readonly string[] | 'all';
}

function deadLettersOf(deployment: string, asked: Asked[], fail?: () => unknown): DeadLetters {
  return {
    list: async (limit: number) => {
      asked.push({ deployment, list: limit });
      if (fail) throw fail();
      return [{ id: `${deployment}-letter` }];
    },
    replay: async (ids?: readonly string[]) => {
      asked.push({ deployment, replay: ids ?? 'all' });
      if (fail) throw fail();
      return { replayed: ids?.length ?? 7, notFound: 0 };
    },
  } as unknown as DeadLetters;
}

let server: http.Server;
let base: string;
let names: string[];
let asked: Asked[];
let failure: (() => unknown) | undefined;
/** Requests the routes have begun to answer: each asks for the deployments' names first. */
let routed = 0;
const log = captureLogger('debug');

beforeAll(async () => {
  const source: DeadLetterSource = {
    names: () => {
      routed++;
      return names;
    },
    deadLetters: (name) => (names.includes(name) ? deadLettersOf(name, asked, failure) : undefined),
  };
  server = http.createServer((req, res) => {
    if (!answerDeadLetters(req, res, source, log.logger)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not a dead-letter route');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  names = ['default'];
  asked = [];
  failure = undefined;
});

async function call(path: string, init?: RequestInit) {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    cacheControl: res.headers.get('cache-control'),
    retryAfter: res.headers.get('retry-after'),
    connection: res.headers.get('connection'),
    text,
    body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
  };
}
const replay = (body: string, query = '') =>
  call(`/webhooks/dead-letter/replay${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });

test('a listing answers JSON, never cached, with at most 1000 letters unless it asks for fewer', async () => {
  const listed = await call('/webhooks/dead-letter');
  expect(listed).toMatchObject({
    status: 200,
    type: 'application/json; charset=utf-8',
    cacheControl: 'no-store',
    body: { deadLetters: [{ id: 'default-letter' }] },
  });
  expect(listed.text.endsWith('}\n')).toBe(true);
  // Only a body left unread closes the connection.
  expect(listed.connection).toBe('keep-alive');
  await call('/webhooks/dead-letter?limit=1');
  await call('/webhooks/dead-letter?limit=1000');
  expect(asked).toEqual([
    { deployment: 'default', list: 1000 },
    { deployment: 'default', list: 1 },
    { deployment: 'default', list: 1000 },
  ]);
});

test.each(['0', '1001', '2.5', 'ten', '', '-1'])('a limit of %j is refused, and nothing is read', async (limit) => {
  const refused = await call(`/webhooks/dead-letter?limit=${limit}`);
  expect(refused).toMatchObject({
    status: 400,
    type: 'application/problem+json; charset=utf-8',
    cacheControl: 'no-store',
    body: { code: 'validation_failed', status: 400, detail: '`limit` must be a whole number from 1 to 1000.' },
  });
  expect(asked).toEqual([]);
});

test('a replay queues the named letters, or every letter when it names none', async () => {
  expect(await replay('{"ids":["a","b"]}')).toMatchObject({ status: 200, body: { replayed: 2, notFound: 0 } });
  expect(await replay('{}')).toMatchObject({ status: 200, body: { replayed: 7 } });
  expect(await replay('')).toMatchObject({ status: 200, body: { replayed: 7 } });
  expect(await replay('  \n')).toMatchObject({ status: 200 });
  expect(asked.map((a) => a.replay)).toEqual([['a', 'b'], 'all', 'all', 'all']);
});

test.each([
  ['ids that are not a list', '{"ids":"a"}'],
  ['an empty id', '{"ids":[""]}'],
  ['an id of 201 characters', JSON.stringify({ ids: ['x'.repeat(201)] })],
  ['more than 10,000 ids', JSON.stringify({ ids: Array.from({ length: 10_001 }, (_, n) => `id${n}`) })],
  ['a field it does not know', '{"ids":[],"all":true}'],
  ['a list instead of an object', '["a"]'],
])('a replay body with %s is refused, and nothing is replayed', async (_what, body) => {
  expect(await replay(body)).toMatchObject({
    status: 400,
    body: {
      code: 'validation_failed',
      detail: 'The body must be `{}` or `{ "ids": ["<dead letter id>", ...] }`.',
    },
  });
  expect(asked).toEqual([]);
});

test('the longest replay body it takes is accepted: 10,000 ids of 200 characters do not fit, 1000 do', async () => {
  const ids = Array.from({ length: 1000 }, (_, n) => `${n}`.padStart(200, 'x'));
  expect(await replay(JSON.stringify({ ids }))).toMatchObject({ status: 200, body: { replayed: 1000 } });
});

test('a replay body that is not JSON is refused as such', async () => {
  expect(await replay('{ids:')).toMatchObject({
    status: 400,
    body: { code: 'validation_failed', detail: 'The body is not JSON.' },
  });
  expect(asked).toEqual([]);
});

test('a replay body past 256 KiB is refused, and its connection closed rather than read on', async () => {
  const before = log.lines().length;
  const big = JSON.stringify({ ids: [] }).padEnd(256 * 1024 + 1, ' ');
  expect(await replay(big)).toMatchObject({
    status: 413,
    connection: 'close',
    body: { code: 'payload_too_large', detail: 'The body may be at most 262144 bytes.' },
  });
  expect(asked).toEqual([]);
  const atCeiling = JSON.stringify({ ids: [] }).padEnd(256 * 1024, ' ');
  expect(await replay(atCeiling)).toMatchObject({ status: 200 });
  // The body it left unread is no replay that broke off: the refusal is the whole story.
  expect(log.lines().slice(before)).toEqual([]);
});

test('each route answers its own method alone', async () => {
  expect(await call('/webhooks/dead-letter', { method: 'POST', body: '{}' })).toMatchObject({
    status: 405,
    body: { code: 'method_not_allowed', detail: 'Use GET to list the dead letters.' },
  });
  expect(await call('/webhooks/dead-letter/replay')).toMatchObject({
    status: 405,
    body: { code: 'method_not_allowed', detail: 'Use POST to replay the dead letters.' },
  });
  expect(asked).toEqual([]);
});

test('other paths are not theirs to answer', async () => {
  for (const path of ['/webhooks', '/webhooks/dead-letter/', '/webhooks/dead-letters', '/metrics'])
    expect(await call(path)).toMatchObject({ status: 404, text: 'not a dead-letter route' });
  // The query is not part of the path.
  expect(await call('/webhooks/dead-letter?deployment=default')).toMatchObject({ status: 200 });
});

test('with several deployments a request names one; a name that is none of them is refused with the names', async () => {
  names = ['shop', 'support'];
  expect(await call('/webhooks/dead-letter?deployment=support')).toMatchObject({
    status: 200,
    body: { deadLetters: [{ id: 'support-letter' }] },
  });
  expect(await replay('{}', '?deployment=shop')).toMatchObject({ status: 200 });
  const unnamed = await call('/webhooks/dead-letter');
  const unknown = await call('/webhooks/dead-letter?deployment=default');
  for (const refused of [unnamed, unknown])
    expect(refused).toMatchObject({
      status: 400,
      body: { code: 'validation_failed', detail: 'Name a deployment with ?deployment= (one of: shop, support).' },
    });
  expect(asked).toEqual([
    { deployment: 'support', list: 1000 },
    { deployment: 'shop', replay: 'all' },
  ]);
});

test('the refusal naming the deployments is at most 500 characters, however many there are', async () => {
  names = Array.from({ length: 100 }, (_, n) => `deployment-${n}`);
  const refused = await call('/webhooks/dead-letter');
  expect(refused.status).toBe(400);
  expect(refused.body.detail).toHaveLength(500);
  expect(refused.body.detail.startsWith('Name a deployment with ?deployment= (one of: deployment-0, ')).toBe(true);
});

test('a store that fails answers 503 with Retry-After, logged; a refusal of the request is not logged', async () => {
  failure = () => new Error('connect ECONNREFUSED 127.0.0.1:6379');
  const before = log.lines().length;
  const failed = await call('/webhooks/dead-letter');
  expect(failed).toMatchObject({
    status: 503,
    type: 'application/problem+json; charset=utf-8',
    retryAfter: '2',
    body: { code: 'store_unavailable', detail: 'The shared store did not answer; retry shortly.' },
  });
  const said = log.lines().slice(before);
  expect(said).toEqual([
    expect.objectContaining({ msg: 'webhook dead-letter request failed', code: 'store_unavailable', level: 40 }),
  ]);
  expect(said[0]!.err).toMatchObject({ message: 'connect ECONNREFUSED 127.0.0.1:6379' });

  // A refusal the dead letters make themselves is answered as it is; one of 5xx is logged, one of 4xx is not.
  failure = () => new AppError('upstream_unavailable', 'Redis is loading', { retryAfterSeconds: 9 });
  expect(await replay('{}')).toMatchObject({ status: 503, retryAfter: '9', body: { code: 'upstream_unavailable' } });
  expect(log.lines().slice(before)).toHaveLength(2);
  failure = () => new AppError('not_found', 'no such letter');
  expect(await replay('{}')).toMatchObject({ status: 404, retryAfter: null, body: { code: 'not_found' } });
  expect(await call('/webhooks/dead-letter?limit=0')).toMatchObject({ status: 400, retryAfter: null });
  expect(log.lines().slice(before)).toHaveLength(2);
});

test('a replay whose body breaks off replays nothing, and says so', async () => {
  const before = log.lines().length;
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const routedBefore = routed;
  try {
    socket.write(
      'POST /webhooks/dead-letter/replay HTTP/1.1\r\nHost: metrics\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100\r\n\r\n{"ids":',
    );
    // The route is reading the body before the client goes.
    await waitFor(() => routed > routedBefore);
  } finally {
    socket.destroy();
  }
  await waitFor(() => log.lines().length > before);
  expect(log.lines().slice(before)).toEqual([
    expect.objectContaining({
      level: 30,
      msg: 'a dead-letter replay broke off before its body ended; nothing was replayed',
    }),
  ]);
  expect(asked).toEqual([]);
});

test('a failure of the dead letters that is a fault of this service is answered 500, and logged', async () => {
  failure = () => new AppError('internal_error', 'the list is corrupt');
  const before = log.lines().length;
  expect(await replay('{}')).toMatchObject({ status: 500, body: { code: 'internal_error' } });
  expect(log.lines().slice(before)).toEqual([
    expect.objectContaining({ msg: 'webhook dead-letter request failed', code: 'internal_error', level: 40 }),
  ]);
});

/** A replay whose body the test writes (a PassThrough), answered to a stand-in response that records its status. */
function replayByHand() {
  const req = Object.assign(new PassThrough(), { url: '/webhooks/dead-letter/replay', method: 'POST', headers: {} });
  const answered: number[] = [];
  const res = {
    setHeader: () => undefined,
    writeHead: (status: number) => void answered.push(status),
    end: () => undefined,
  };
  const source: DeadLetterSource = { names: () => ['default'], deadLetters: () => deadLettersOf('default', asked) };
  expect(answerDeadLetters(req as never, res as never, source, log.logger)).toBe(true);
  return { req, answered };
}

test('a body refused as too large and cut off after is no replay that broke off: the refusal is all that is said', async () => {
  const before = log.lines().length;
  const { req, answered } = replayByHand();
  req.write(Buffer.alloc(256 * 1024 + 1, 0x20));
  await waitFor(() => answered.length === 1);
  req.emit('error', new Error('aborted'));
  await new Promise((resolve) => setImmediate(resolve));
  expect([answered, log.lines().slice(before), asked]).toEqual([[413], [], []]);
});

test('a body that breaks off at exactly 256 KiB is a replay that broke off: logged with its cause', async () => {
  const before = log.lines().length;
  const { req, answered } = replayByHand();
  req.write(Buffer.alloc(256 * 1024, 0x20));
  await new Promise((resolve) => setImmediate(resolve));
  req.emit('error', new Error('aborted'));
  await waitFor(() => answered.length === 1);
  expect(answered).toEqual([400]);
  expect(log.lines().slice(before)).toEqual([
    expect.objectContaining({
      level: 30,
      msg: 'a dead-letter replay broke off before its body ended; nothing was replayed',
      err: expect.objectContaining({ message: 'aborted' }),
    }),
  ]);
  expect(asked).toEqual([]);
});
