import Ajv2020 from 'ajv/dist/2020';
import Ajv from 'ajv';
import { schemas as asyncApiSchemas } from '@asyncapi/specs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type supertest from 'supertest';
import { bearer, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { openStream } from '../support/sse';
import { undocumentedAnswers } from '../support/documentedAnswers';
import { servedRoutes } from '../support/routes';

let stack: Stack;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: unknown };
beforeAll(async () => {
  stack = await startStack();
  doc = (await stack.http.get('/openapi.json')).body;
});
afterAll(() => stack.close());

test('every route is in the document, and nothing else is', () => {
  const documented = Object.entries(doc.paths)
    .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`))
    .sort();
  expect(servedRoutes(stack.service)).toEqual(documented);
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
      'get /messages/transcript',
      'get /messages/stream',
      'post /messages/stream-ticket',
      'post /typing',
      'post /messages/read',
      'get /capabilities',
      'get /availability',
      'post /attachments',
      'delete /attachments/{id}',
      'get /attachments/{id}/content',
      'put /notifications/push',
      'delete /notifications/push',
      'put /notifications/email',
      'delete /notifications/email',
      'get /notifications/email/confirm',
      'get /notifications/email/stop',
      'post /notifications/email/stop',
    ].sort(),
  );
});

test('a documented path asked with a method the document does not list answers 405, its Allow naming the documented ones', async () => {
  const token = (await stack.newSession()).token;
  for (const [path, operations] of Object.entries(doc.paths)) {
    const concrete = path.replace('{code}', 'not_found').replace('{id}', 'some-id');
    const documented = Object.keys(operations).map((m) => m.toUpperCase());
    for (const method of ['get', 'post', 'put', 'patch', 'delete'].filter((m) => !(m in operations))) {
      const res = await stack.http[method as 'get'](concrete).set(bearer(token));
      expect([`${method} ${path}`, res.status, res.body.code]).toEqual([
        `${method} ${path}`,
        405,
        'method_not_allowed',
      ]);
      expect(
        String(res.headers.allow)
          .split(', ')
          .filter((m: string) => m !== 'HEAD' && m !== 'OPTIONS')
          .sort(),
      ).toEqual(documented.sort());
    }
  }
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

const documentAjv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
/** A validator for a schema of the document; `#/components/...` references resolve against the document's components. */
const validatorFor = (schema: object) => documentAjv.compile({ ...schema, components: doc.components });

/** What the document says a response with this status carries, checked against what the route answered. */
function expectDocumentedAnswer(method: string, path: string, res: supertest.Response): void {
  const documented = doc.paths[path]![method]!.responses[String(res.status)];
  expect({ method, path, status: res.status, documented: documented !== undefined }).toEqual({
    method,
    path,
    status: res.status,
    documented: true,
  });
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!;
  const schema = documented!.content?.[type]?.schema;
  if (!schema) {
    expect({ method, path, status: res.status, type, body: res.text }).toEqual({
      method,
      path,
      status: res.status,
      type,
      body: '',
    });
    return;
  }
  const validate = validatorFor(schema);
  const body = JSON.parse(res.text) as unknown;
  expect({ method, path, status: res.status, errors: validate(body) ? null : validate.errors }).toEqual({
    method,
    path,
    status: res.status,
    errors: null,
  });
}

test('the history query parameters: a value the document refuses, the route refuses, and the others it serves', async () => {
  const { token } = await stack.newSession();
  const parameters = doc.paths['/messages']!.get!.parameters!.filter((p) => p.in === 'query');
  expect(parameters.map((p) => p.name).sort()).toEqual(['page', 'pageSize', 'routingKey']);
  const disagreements: string[] = [];
  for (const parameter of parameters) {
    const documented = validatorFor(parameter.schema);
    const textual = (parameter.schema as { type?: string }).type === 'string';
    const values = textual
      ? ['', 'abc', '1', 'x'.repeat(64), 'x'.repeat(65)]
      : ['0', '1', '2', '-1', 'abc', '1.5', '100', '101', '10000', '10001'];
    for (const value of values) {
      const res = await stack.http.get(`/messages?${parameter.name}=${value}`).set(bearer(token));
      const accepted = documented(!textual && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value);
      // A value the document accepts may still meet the history read limit (429), never a validation refusal.
      if (accepted === (res.status === 400))
        disagreements.push(
          `${parameter.name}=${value}: document ${accepted ? 'accepts' : 'refuses'}, route answered ${res.status}`,
        );
    }
  }
  expect(disagreements).toEqual([]);
});

test("a chat's answers are what the document says each route answers, status and body", async () => {
  const created = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ attributes: { plan: 'gold' } });
  expect(created.status).toBe(201);
  expectDocumentedAnswer('post', '/guest-session', created);
  const auth = bearer(created.body.sessionToken as string);
  const answers: [string, string, supertest.Response][] = [
    ['post', '/guest-session', await stack.http.post('/guest-session').set(auth).send({})],
    ['get', '/guest-session', await stack.http.get('/guest-session').set(auth)],
    ['get', '/guest-attributes', await stack.http.get('/guest-attributes').set(auth)],
    ['put', '/guest-attributes', await stack.http.put('/guest-attributes').set(auth).send({ plan: 'silver' })],
    [
      'patch',
      '/guest-attributes',
      await stack.http.patch('/guest-attributes').set(auth).send({ plan: null, tier: '2' }),
    ],
    ['post', '/messages', await stack.http.post('/messages').set(auth).send({ text: 'hello' })],
    ['get', '/messages', await stack.http.get('/messages').set(auth)],
    ['post', '/messages/stream-ticket', await stack.http.post('/messages/stream-ticket').set(auth)],
    ['post', '/typing', await stack.http.post('/typing').set(auth)],
    ['get', '/capabilities', await stack.http.get('/capabilities').set(auth)],
    ['get', '/healthz', await stack.http.get('/healthz')],
    ['get', '/readyz', await stack.http.get('/readyz')],
    ['get', '/guest-session', await stack.http.get('/guest-session').set(bearer('not-a-token'))],
    [
      'post',
      '/messages',
      await stack.http
        .post('/messages')
        .set(auth)
        .send({ text: 'x'.repeat(5000) }),
    ],
    ['get', '/guest-session', await stack.http.get('/guest-session').set('Origin', 'https://evil.example')],
    ['delete', '/guest-session', await stack.http.delete('/guest-session').set(auth)],
    ['get', '/messages', await stack.http.get('/messages').set(auth)],
  ];
  for (const [method, path, res] of answers) expectDocumentedAnswer(method, path, res);
  // The run met the statuses it meant to: successes, then refusals of each kind.
  expect(answers.map(([, , res]) => res.status)).toEqual([
    200, 200, 200, 200, 200, 201, 200, 201, 204, 200, 200, 200, 401, 413, 403, 204, 410,
  ]);
});

test("every problem code's `type` resolves to a page about it, and an unknown code is 404", async () => {
  const { ERROR_CODES } = await import('../../src/domain/errors');
  for (const code of Object.keys(ERROR_CODES)) {
    const res = await stack.http.get(`/problems/${code}`);
    expect({ code, status: res.status, type: res.headers['content-type'] }).toEqual({
      code,
      status: 200,
      type: expect.stringMatching(/^text\/html/),
    });
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
  const doc = res.body as {
    asyncapi: string;
    channels: Record<string, { address: string; messages: Record<string, unknown> }>;
    components: {
      messages: Record<string, { payload: { properties?: Record<string, unknown>; required?: string[] } }>;
    };
  };
  expect(doc.asyncapi).toBe('3.0.0');
  expect(doc.channels.stream!.address).toBe('/messages/stream');
  expect(Object.keys(doc.channels.stream!.messages).sort()).toEqual([
    'availability',
    'message',
    'notice',
    'presence',
    'receipt',
    'session',
    'typing',
  ]);
  expect(doc.components.messages.message!.payload.required).toEqual(
    expect.arrayContaining(['id', 'direction', 'type', 'time']),
  );
  expect(Object.keys(doc.components.messages.session!.payload.properties ?? {})).toEqual([
    'state',
    'expiresAt',
    'detail',
    'customer',
    'reconnect',
  ]);
});

test('an answer outside the document is caught: a file that started a stack fails on one (test/setup/documentedAnswers.ts)', async () => {
  const refused = await stack.http.get('/messages').set('Origin', 'https://evil.example');
  expect([refused.status, refused.body.code]).toEqual([403, 'origin_not_allowed']);
  // The access line and the error line of that request, as the service logged them.
  const lines = stack.log.lines().filter((l) => l.requestId === refused.body.requestId);
  expect(undocumentedAnswers(doc as never, lines)).toEqual([]);
  const get = structuredClone(doc.paths['/messages']!.get) as { responses: Record<string, { description: string }> };
  get.responses['403'] = { description: 'Problem: attribute_locked' };
  expect(undocumentedAnswers({ paths: { '/messages': { get } } }, lines)).toEqual([
    'GET /messages answered 403 origin_not_allowed, which /openapi.json does not list for 403',
  ]);
  delete get.responses['403'];
  expect(undocumentedAnswers({ paths: { '/messages': { get } } }, lines)).toEqual([
    'GET /messages answered 403, which /openapi.json does not list',
  ]);
});

test('a request body the document refuses, the service refuses with 400, and one it accepts, the service does not refuse as invalid', async () => {
  type Operation = { requestBody: { content: Record<string, { schema: object }> } };
  const schemaOf = (path: string, method: string) =>
    (doc.paths[path]![method] as Operation).requestBody.content['application/json']!.schema;
  // zod's own patterns for uuid and date-time are in the document beside their formats; a URI is what URL parses.
  const ajv = new Ajv2020({
    strict: false,
    formats: { uuid: true, 'date-time': true, uri: (value: string) => URL.canParse(value) },
  });
  const reply = { text: 'Yes', payload: 'yes' };
  const uuid = '5d1a7c52-8e0b-4f3a-9c6d-2b7e4f1a9c30';
  const cases: [path: string, method: string, body: unknown][] = [
    ...(
      [
        {},
        { text: 'hello' },
        { text: '' },
        { text: ' \n\t' },
        { text: 'hello', attachmentIds: [uuid] },
        { attachmentIds: [uuid] },
        { attachmentIds: [] },
        { attachmentIds: [uuid, uuid] },
        { attachmentIds: ['not-a-uuid'] },
        { quickReply: reply },
        { quickReply: { text: 'Yes' } },
        { quickReply: { text: ' ', payload: 'yes' } },
        { quickReply: reply, text: 'hello' },
        { quickReply: reply, button: reply },
        { button: { ...reply, originatingMessageId: 'm-1' } },
        { datePicker: { dateTime: '2030-01-02T10:00:00Z', originatingMessageId: 'm-1' } },
        { datePicker: { dateTime: 'tomorrow', originatingMessageId: 'm-1' } },
        { datePicker: { dateTime: '2030-01-02T10:00:00Z' } },
        { text: 'hello', extra: 1 },
        { text: 5 },
      ] as unknown[]
    ).map((body): [string, string, unknown] => ['/messages', 'post', body]),
    ...(
      [
        {},
        { firstName: 'Ada', attributes: { plan: 'gold' } },
        { firstName: 5 },
        { attributes: { plan: 1 } },
        { auth: {} },
        { auth: { code: 'c' } },
        { nickname: 'x' },
      ] as unknown[]
    ).map((body): [string, string, unknown] => ['/guest-session', 'post', body]),
    ...(
      [{}, { auth: {} }, { auth: { idToken: 't' } }, { auth: { code: 'c', redirectUri: 'not a url' } }] as unknown[]
    ).map((body): [string, string, unknown] => ['/guest-session/sign-in', 'post', body]),
    ...([{ plan: 'gold' }, { plan: 1 }, []] as unknown[]).map((body): [string, string, unknown] => [
      '/guest-attributes',
      'put',
      body,
    ]),
    ...([{ plan: null }, { plan: 'gold' }, { plan: 1 }] as unknown[]).map((body): [string, string, unknown] => [
      '/guest-attributes',
      'patch',
      body,
    ]),
  ];
  const disagreements: string[] = [];
  for (const [i, [path, method, body]] of cases.entries()) {
    const accepted = ajv.validate(schemaOf(path, method), body);
    // A session of its own for each case that needs one, so no answer depends on an earlier case (a rate limit, a sign-in).
    const auth =
      path === '/guest-session'
        ? { Origin: 'http://localhost:3000' }
        : bearer((await stack.newSession({ attributes: { case: String(i) } })).token);
    const res = await stack.http[method as 'post'](path)
      .set(auth)
      .send(body as object);
    const refused = res.status === 400 && res.body.code === 'validation_failed';
    if (accepted === refused)
      disagreements.push(
        `${method.toUpperCase()} ${path} ${JSON.stringify(body)}: the document ${accepted ? 'accepts' : 'refuses'} it, the service answered ${res.status} ${res.body.code ?? ''}`,
      );
  }
  expect(disagreements).toEqual([]);
}, 120_000);

test("the Idempotency-Key header's pattern in the document is the one the service enforces", async () => {
  const parameters = (doc.paths['/messages']!.post as { parameters: { name: string; schema: object }[] }).parameters;
  const schema = parameters.find((p) => p.name === 'Idempotency-Key')!.schema;
  const ajv = new Ajv2020({ strict: false });
  const disagreements: string[] = [];
  for (const key of ['order-42:retry', 'a b', '', 'x'.repeat(200), 'x'.repeat(201), '"quoted"~']) {
    const res = await stack.http
      .post('/messages')
      .set({ ...bearer((await stack.newSession()).token), 'Idempotency-Key': key })
      .send({ text: 'keyed' });
    const refused = res.status === 400 && res.body.code === 'validation_failed';
    if (ajv.validate(schema, key) === refused)
      disagreements.push(
        `${JSON.stringify(key)}: the document ${refused ? 'accepts' : 'refuses'} it, the service answered ${res.status}`,
      );
  }
  expect(disagreements).toEqual([]);
});

/** Every `$ref` in a document, and whether it points at something in it. */
function unresolvedRefs(document: unknown): string[] {
  const refs: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') refs.push(value);
      else walk(value);
    }
  };
  walk(document);
  const at = (ref: string) =>
    ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, part) =>
          (node as Record<string, unknown> | undefined)?.[part.replaceAll('~1', '/').replaceAll('~0', '~')],
        document,
      );
  return refs.filter((ref) => !ref.startsWith('#/') || at(ref) === undefined);
}

test('the AsyncAPI document validates against the AsyncAPI 3.0.0 schema, and each of its references resolves', async () => {
  const asyncapi = (await stack.http.get('/asyncapi.json')).body as Record<string, unknown>;
  // The published schema bundles its own copy of the draft-07 meta-schema.
  const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false, validateFormats: false });
  const validate = ajv.compile(asyncApiSchemas['3.0.0']);
  expect({ valid: validate(asyncapi), errors: validate.errors ?? [] }).toEqual({ valid: true, errors: [] });
  expect(unresolvedRefs(asyncapi)).toEqual([]);
  // The schema does refuse a broken document: an action AsyncAPI 3 does not have.
  const broken = structuredClone(asyncapi) as { operations: Record<string, { action: string }> };
  broken.operations.receiveEvents!.action = 'emit';
  expect(validate(broken)).toBe(false);
});

test("the events a real stream sends are what the AsyncAPI document's payload schemas say", async () => {
  const asyncapi = (await stack.http.get('/asyncapi.json')).body as {
    components: { messages: Record<string, { payload: object }> };
  };
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const { token } = await stack.newSession();
  const { ticket } = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body as { ticket: string };
  const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    Origin: PAGE_ORIGIN,
  });
  try {
    await stream.next((e) => e.event === 'session');
    // A text, quick replies, the agent ends the chat, the guest ends it too: messages, receipts, typing, presence, and
    // the stream's last session event.
    const outbound = (text: string) => (e: { event: string; data: string }) =>
      e.event === 'message' && e.data.includes(text);
    for (const [text, reply] of [
      ['hello', 'You said: hello'],
      ['quick replies', 'What would you like to do?'],
    ] as const) {
      expect((await stack.http.post('/messages').set(bearer(token)).send({ text })).status).toBe(201);
      await stream.next(outbound(reply));
    }
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'disconnect' })).status).toBe(201);
    await stream.next((e) => e.event === 'presence');
    expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
    await stream.next(
      (e) => e.event === 'session' && (JSON.parse(e.data) as { reconnect?: boolean }).reconnect !== undefined,
      10_000,
    );
  } finally {
    stream.close();
  }
  const outside = stream.events.flatMap((e) => {
    const schema = asyncapi.components.messages[e.event]?.payload;
    if (!schema) return [`event ${e.event} is not in the document`];
    return ajv.validate(schema, JSON.parse(e.data)) ? [] : [`${e.event} ${e.data}: ${ajv.errorsText()}`];
  });
  expect(outside).toEqual([]);
  expect(new Set(stream.events.map((e) => e.event))).toEqual(
    new Set(['session', 'message', 'receipt', 'typing', 'presence']),
  );
}, 60_000);
