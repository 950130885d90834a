import { z } from 'zod';
import { ERROR_CODES, mustAdviseRetry, type ErrorCode } from '../../domain/errors';
import { bodyKindOf, type AnyRouteSpec } from './routeSpec';
import { problemSchema } from './schemas';

/**
 * The OpenAPI 3.1 document, generated from the same route specs and zod schemas the routes validate with.
 * `perDeployment`: the routes a deployment serves (with several, the request chooses it; X-Deployment may name it).
 */
export function openApiDocument(
  specs: AnyRouteSpec[],
  version: string,
  perDeployment: ReadonlySet<AnyRouteSpec> = new Set(),
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of specs) {
    const operation: Record<string, unknown> = {
      operationId: `${spec.method}${spec.path.replace(/[^a-zA-Z]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      security: security(spec.auth),
      responses: responses(spec),
    };
    const parameters = [
      ...[...spec.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(spec.query ? queryParameters(spec.query) : []),
      ...routingQueryOf(spec),
      ...headersOf(spec, perDeployment.has(spec)).map((h) => ({
        name: h.name,
        in: 'header',
        required: false,
        description: h.description,
        schema: { type: 'string', ...(h.pattern ? { pattern: h.pattern } : {}) },
      })),
    ];
    if (parameters.length > 0) operation.parameters = parameters;
    const body = requestBody(spec);
    if (body) operation.requestBody = body;
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Genesys Cloud Web Messaging BFF',
      version,
      description:
        'Lets a static website run its own chat UI against a Genesys Cloud Web Messaging deployment with plain ' +
        'fetch. Errors are RFC 9457 problem+json with a stable `code`.',
    },
    paths,
    components: {
      securitySchemes: {
        sessionToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The sealed sessionToken from POST /guest-session',
        },
        streamTicket: {
          type: 'apiKey',
          in: 'query',
          name: 'ticket',
          description: 'From POST /messages/stream-ticket; valid for one minute',
        },
      },
      schemas: { Problem: schemaOf(problemSchema, 'output') },
    },
  };
}

const ROUTING_HEADER = {
  name: 'X-Chat-Session',
  description:
    "The session's routingKey as a header, from clients older than the routingKey query parameter; the shipped " +
    'proxies hash on the query parameter only, and the service itself ignores it (except as a proposal on POST ' +
    '/guest-session).',
};

const ROUTING_QUERY = {
  name: 'routingKey',
  in: 'query',
  required: false,
  description:
    "The session's routingKey, on every request of the session (fetch and EventSource alike): the one value a " +
    'proxy hashes on to keep the session on one instance (README "Scaling out"). On POST /guest-session without a ' +
    "session, a proposed key (16 to 64 of A-Z a-z 0-9 _ -) that becomes the new session's routingKey. Otherwise " +
    'the service ignores it.',
  schema: { type: 'string', maxLength: 64 },
};

/** The routingKey query parameter wherever a session may be named, unless the operation's own query schema has it. */
function routingQueryOf(spec: AnyRouteSpec): Record<string, unknown>[] {
  if (spec.auth === 'public') return [];
  const own = spec.query
    ? ((schemaOf(spec.query, 'input') as { properties?: Record<string, unknown> }).properties ?? {})
    : {};
  return 'routingKey' in own ? [] : [ROUTING_QUERY];
}

const DEPLOYMENT_HEADER = {
  name: 'X-Deployment',
  description:
    'With several deployments (DEPLOYMENTS_FILE), the name of the one a request without an Origin is for, when it ' +
    'carries nothing sealed that names it (a session token, a ticket, a link). With an Origin it must be the ' +
    "Origin's deployment, or the request is refused with 400. Ignored when the service serves one deployment.",
  pattern: '^[a-z][a-z0-9-]{0,31}$',
};

/** The operation's own headers, X-Deployment on a deployment's routes, X-Chat-Session where a session is named. */
function headersOf(spec: AnyRouteSpec, perDeployment: boolean): NonNullable<AnyRouteSpec['headers']> {
  const own = [...(spec.headers ?? []), ...(perDeployment ? [DEPLOYMENT_HEADER] : [])];
  if (spec.auth === 'public' || own.some((h) => h.name === ROUTING_HEADER.name)) return own;
  return [...own, ROUTING_HEADER];
}

/** The body the operation takes: a multipart upload's file part, or JSON by its schema. */
function requestBody(spec: AnyRouteSpec): Record<string, unknown> | undefined {
  const body = spec.body;
  if (body?.kind === 'multipart') {
    return {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: [body.field],
            properties: { [body.field]: { type: 'string', format: 'binary', description: body.description } },
          },
        },
      },
    };
  }
  if (body?.kind === 'json' && body.schema) {
    return {
      required: !body.optional,
      content: { 'application/json': { schema: schemaOf(body.schema, 'input') } },
    };
  }
  return undefined;
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

function queryParameters(query: z.ZodType): Record<string, unknown>[] {
  const json = schemaOf(query, 'input') as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
    schema,
  }));
}

function security(auth: AnyRouteSpec['auth']): Record<string, string[]>[] {
  switch (auth) {
    case 'public':
      return [];
    case 'none':
      return [{}, { sessionToken: [] }];
    case 'session':
      return [{ sessionToken: [] }];
    case 'session-or-ticket':
      return [{ sessionToken: [] }, { streamTicket: [] }];
  }
}

function responses(spec: AnyRouteSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const types = r.contentType === undefined ? undefined : [r.contentType].flat();
    out[status] = {
      description: r.description,
      ...(r.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(r.headers).map(([name, description]) => [
                name,
                { schema: { type: 'string' }, description },
              ]),
            ),
          }
        : {}),
      ...(r.schema
        ? { content: { [types?.[0] ?? 'application/json']: { schema: schemaOf(r.schema, 'output') } } }
        : {}),
      ...(!r.schema && types
        ? { content: Object.fromEntries(types.map((type) => [type, { schema: { type: 'string' } }])) }
        : {}),
    };
  }
  const byStatus = new Map<number, string[]>();
  for (const code of answerableCodes(spec)) {
    for (const status of STATUSES_OF[code] ?? [ERROR_CODES[code].status]) {
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
  }
  for (const [status, codes] of byStatus) {
    out[String(status)] = {
      description: `Problem: ${codes.join(', ')}`,
      ...(status === 429 || mustAdviseRetry(status)
        ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } } }
        : {}),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }
  return out;
}

/** Codes answered with more than their usual status: Genesys refusing (502) or not answering in time (504). */
const STATUSES_OF: Partial<Record<ErrorCode, number[]>> = { upstream_unavailable: [502, 503, 504] };

/**
 * Every code an operation can answer: its own (`errors`), and those its options imply: reading
 * a token (`unauthorized`; an ended or lost chat, `session_expired`; the store that says so,
 * `store_unavailable`), reading a body, its rate limits, and the edge every operation shares (a
 * refused origin, an internal error). Among the codes of one status, `unauthorized` comes first
 * and the other implied ones after the route's own, as the published document lists them.
 */
export function answerableCodes(spec: AnyRouteSpec): ErrorCode[] {
  const readsToken = spec.auth !== 'public';
  const codes = new Set<ErrorCode>(readsToken ? ['unauthorized'] : []);
  for (const code of spec.errors ?? []) codes.add(code);
  if (bodyKindOf(spec) !== 'none') {
    for (const code of ['validation_failed', 'payload_too_large', 'unsupported_media_type'] as const) codes.add(code);
  }
  if (spec.limits?.perAddress?.length || spec.limits?.perSession?.length) codes.add('rate_limited');
  if (readsToken) {
    codes.add('session_expired');
    codes.add('store_unavailable');
  }
  codes.add('origin_not_allowed');
  codes.add('internal_error');
  // Reaching Genesys may (re)open a signed-in session's guest socket, whose sign-in can have run out; or an
  // anonymous token's socket to a conversation Genesys has signed in meanwhile (a sign-in whose answer the page
  // has not had yet), which Genesys refuses (4017).
  if ((spec.auth === 'session' || spec.auth === 'session-or-ticket') && codes.has('upstream_unavailable')) {
    codes.add('reauthentication_required');
    codes.add('cannot_downgrade');
  }
  return [...codes];
}

/** Express's `/problems/:code` is OpenAPI's `/problems/{code}`. */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}
