import { openApiPath } from '../../src/http/openapi';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import Ajv2020 from 'ajv/dist/2020';
import type supertest from 'supertest';
import { bearer, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';

let stack: Stack;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: unknown };
beforeAll(async () => {
  stack = await startStack();
  doc = (await stack.http.get('/openapi.json')).body;
});
afterAll(() => stack.close());

/** Every method and path express actually routes, read from the running app's router. */
function routesOf(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: unknown[] } }[]) => {
    for (const layer of stack) {
      if (layer.route) for (const m of Object.keys(layer.route.methods)) found.push(`${m} ${openApiPath(layer.route.path)}`);
      else if (layer.handle?.stack) walk(layer.handle.stack as never);
    }
  };
  walk((app as unknown as { router: { stack: never[] } }).router.stack);
  return found.sort();
}

test('every route is in the document, and nothing else is', () => {
  const app = stack.service.server.listeners('request').find((l) => typeof (l as Express).use === 'function') as Express;
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
    .sort();
  expect(routesOf(app)).toEqual(documented);
  expect(documented).toEqual(
    [
      'get /healthz',
      'get /readyz',
      'get /openapi.json',
      'get /asyncapi.json',
      'get /problems/{code}',
      'post /guest-session',
      'get /guest-session',
      'delete /guest-session',
      'post /guest-session/sign-in',
      'post /guest-session/sign-out',
      'get /guest-attributes',
      'put /guest-attributes',
      'patch /guest-attributes',
      'post /messages',
      'get /messages',
      'get /messages/stream',
      'post /messages/stream-ticket',
      'post /typing',
      'get /capabilities',
      'post /attachments',
      'delete /attachments/{id}',
      'get /attachments/{id}/content',
    ].sort(),
  );
});

test('the document validates as OpenAPI 3.1', () => {
  expect(doc.openapi).toBe('3.1.0');
  const dir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
  const file = path.join(dir, 'openapi.json');
  writeFileSync(file, JSON.stringify(doc));
  const cli = require.resolve('@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
  const out = execFileSync(process.execPath, [cli, file], { encoding: 'utf8' });
  expect(JSON.parse(out.slice(out.indexOf('{')))).toMatchObject({ valid: true });
}, 60_000);

interface Operation {
  requestBody?: { content: Record<string, { schema: object }> };
  parameters?: { name: string; in: string; schema: object }[];
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
/** A validator for a schema of the document; `#/components/...` references resolve against the document's components. */
const validatorFor = (schema: object) => ajv.compile({ ...schema, components: doc.components });

/** What the document says a response with this status carries, checked against what the route answered. */
function expectDocumentedAnswer(method: string, path: string, res: supertest.Response): void {
  const documented = doc.paths[path]![method]!.responses[String(res.status)];
  expect({ method, path, status: res.status, documented: documented !== undefined }).toEqual({ method, path, status: res.status, documented: true });
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
  const schema = documented!.content?.[type]?.schema;
  if (!schema) {
    expect({ method, path, status: res.status, type, body: res.text }).toEqual({ method, path, status: res.status, type, body: '' });
    return;
  }
  const validate = validatorFor(schema);
  const body = JSON.parse(res.text) as unknown;
  expect({ method, path, status: res.status, errors: validate(body) ? null : validate.errors }).toEqual({ method, path, status: res.status, errors: null });
}

/** Values of every JSON type, to put where a documented field or attribute goes. */
const PROBE_VALUES: unknown[] = ['x', 5, true, null, [], ['x'], {}, { a: 'b' }];

/** Bodies built from a documented request schema: each field (or an attribute) with each kind of value, an unknown field, and non-objects. */
function probeBodies(schema: { properties?: Record<string, unknown>; additionalProperties?: unknown }): unknown[] {
  const fields = Object.keys(schema.properties ?? {});
  return [
    [],
    ['x'],
    { unknownField: 'x' },
    ...fields.flatMap((field) => PROBE_VALUES.map((value) => ({ [field]: value }))),
    ...(typeof schema.additionalProperties === 'object' ? PROBE_VALUES.map((value) => ({ someKey: value })) : []),
  ];
}

test('every JSON request body the document refuses, the route refuses (400 validation_failed), and what it accepts passes validation', async () => {
  const disagreements: string[] = [];
  const verdicts = { accepted: 0, refused: 0 };
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const schema = operation.requestBody?.content['application/json']?.schema;
      if (!schema) continue;
      const documented = validatorFor(schema);
      const shared = (await stack.newSession()).token;
      for (const body of probeBodies(schema)) {
        // A body the document accepts may change the session (a send, a new conversation): it gets one of its own.
        const token = documented(body) ? (await stack.newSession()).token : shared;
        const res = await stack.http[method as 'post'](path).set(bearer(token)).send(body as object);
        const refusedByRoute = res.status === 400 && res.body.code === 'validation_failed';
        verdicts[documented(body) ? 'accepted' : 'refused']++;
        if (documented(body) === refusedByRoute) disagreements.push(`${method} ${path} ${JSON.stringify(body)}: document ${documented(body) ? 'accepts' : 'refuses'}, route answered ${res.status} ${res.body.code ?? ''}`);
        expectDocumentedAnswer(method, path, res);
      }
    }
  }
  expect(disagreements).toEqual([]);
  // Both kinds were tried, so a document that accepted (or refused) everything could not pass.
  expect(verdicts.accepted).toBeGreaterThan(5);
  expect(verdicts.refused).toBeGreaterThan(50);
}, 60_000);

test('the history query parameters: a value the document refuses, the route refuses, and the others it serves', async () => {
  const { token } = await stack.newSession();
  const parameters = doc.paths['/messages']!.get!.parameters!.filter((p) => p.in === 'query');
  expect(parameters.map((p) => p.name).sort()).toEqual(['page', 'pageSize']);
  const disagreements: string[] = [];
  for (const parameter of parameters) {
    const documented = validatorFor(parameter.schema);
    for (const value of ['0', '1', '2', '-1', 'abc', '1.5', '100', '101', '10000', '10001']) {
      const res = await stack.http.get(`/messages?${parameter.name}=${value}`).set(bearer(token));
      const accepted = documented(/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);
      // A value the document accepts may still meet the history read limit (429), never a validation refusal.
      if (accepted === (res.status === 400)) disagreements.push(`${parameter.name}=${value}: document ${accepted ? 'accepts' : 'refuses'}, route answered ${res.status}`);
    }
  }
  expect(disagreements).toEqual([]);
});

test("a chat's answers are what the document says each route answers, status and body", async () => {
  const created = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ attributes: { plan: 'gold' } });
  expect(created.status).toBe(201);
  expectDocumentedAnswer('post', '/guest-session', created);
  const auth = bearer(created.body.sessionToken as string);
  const answers: [string, string, supertest.Response][] = [
    ['post', '/guest-session', await stack.http.post('/guest-session').set(auth).send({})],
    ['get', '/guest-session', await stack.http.get('/guest-session').set(auth)],
    ['get', '/guest-attributes', await stack.http.get('/guest-attributes').set(auth)],
    ['put', '/guest-attributes', await stack.http.put('/guest-attributes').set(auth).send({ plan: 'silver' })],
    ['patch', '/guest-attributes', await stack.http.patch('/guest-attributes').set(auth).send({ plan: null, tier: '2' })],
    ['post', '/messages', await stack.http.post('/messages').set(auth).send({ text: 'hello' })],
    ['get', '/messages', await stack.http.get('/messages').set(auth)],
    ['post', '/messages/stream-ticket', await stack.http.post('/messages/stream-ticket').set(auth)],
    ['post', '/typing', await stack.http.post('/typing').set(auth)],
    ['get', '/capabilities', await stack.http.get('/capabilities').set(auth)],
    ['get', '/healthz', await stack.http.get('/healthz')],
    ['get', '/readyz', await stack.http.get('/readyz')],
    ['get', '/guest-session', await stack.http.get('/guest-session').set(bearer('not-a-token'))],
    ['post', '/messages', await stack.http.post('/messages').set(auth).send({ text: 'x'.repeat(5000) })],
    ['get', '/guest-session', await stack.http.get('/guest-session').set('Origin', 'https://evil.example')],
    ['delete', '/guest-session', await stack.http.delete('/guest-session').set(auth)],
    ['get', '/messages', await stack.http.get('/messages').set(auth)],
  ];
  for (const [method, path, res] of answers) expectDocumentedAnswer(method, path, res);
  // The run met the statuses it meant to: successes, then refusals of each kind.
  expect(answers.map(([, , res]) => res.status)).toEqual([200, 200, 200, 200, 200, 201, 200, 201, 204, 200, 200, 200, 401, 413, 403, 204, 410]);
});

test("every problem code's `type` resolves to a page about it, and an unknown code is 404", async () => {
  const { ERROR_CODES } = await import('../../src/domain/errors');
  for (const code of Object.keys(ERROR_CODES)) {
    const res = await stack.http.get(`/problems/${code}`);
    expect({ code, status: res.status, type: res.headers['content-type'] }).toEqual({ code, status: 200, type: expect.stringMatching(/^text\/html/) });
    expect(res.text).toContain(code);
  }
  const refused = await stack.http.get('/guest-session').set('Origin', 'https://evil.example');
  expect(refused.body.type).toBe('/problems/origin_not_allowed');
  const followed = await stack.http.get(refused.body.type);
  expect(followed.text).toContain('CORS_ALLOWED_ORIGINS');
  expect((await stack.http.get('/problems/no_such_code')).status).toBe(404);
});

test('GET /asyncapi.json describes every event the stream sends, with the schemas the service uses', async () => {
  const res = await stack.http.get('/asyncapi.json');
  expect(res.status).toBe(200);
  const doc = res.body as { asyncapi: string; channels: Record<string, { address: string; messages: Record<string, unknown> }>; components: { messages: Record<string, { payload: { properties?: Record<string, unknown>; required?: string[] } }> } };
  expect(doc.asyncapi).toBe('3.0.0');
  expect(doc.channels.stream!.address).toBe('/messages/stream');
  expect(Object.keys(doc.channels.stream!.messages).sort()).toEqual(['message', 'presence', 'session', 'typing']);
  expect(doc.components.messages.message!.payload.required).toEqual(expect.arrayContaining(['id', 'direction', 'type', 'time']));
  expect(Object.keys(doc.components.messages.session!.payload.properties ?? {})).toEqual(['state', 'expiresAt', 'detail', 'reconnect']);
});
