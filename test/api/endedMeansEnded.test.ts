import { servedRoutes } from '../support/routes';
import { dataOf, openStream } from '../support/sse';
import { signInAt } from '../support/signIn';
import { bearer, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * "Ended means ended", as a table over every route the service serves: after
 * `DELETE /guest-session`, and after `POST /guest-session/sign-out` of a
 * signed-in customer, every way of calling a route with what the session
 * held before its end (its token, an attachment link, a stream ticket, a
 * stream event id to resume from, a sign-in grant) answers
 * `410 session_expired` as problem+json, and reaches nothing at Genesys.
 *
 * The routes come from the running service's own router (test/support/routes.ts),
 * not from this file: a route added without an entry below fails the first
 * test, by name. A route that is not bound to a session says why in its entry,
 * and what it answers instead is checked too.
 */
let stack: Stack;
beforeAll(async () => {
  // The strict profile: Genesys at its least kind (simulator/profile.ts).
  stack = await startStack({
    sim: { profile: 'strict', agent: { enabled: false }, authEnabled: true, allowSessionUpgrade: true },
  });
  await waitFor(async () => (await stack.http.get('/readyz')).status === 200);
});
afterAll(() => stack.close());

// A real (tiny) PNG: signature, IHDR, IDAT, IEND.
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

/** What a session held before it ended, all of it obtained from the service (or the identity provider) while it was live. */
interface Held {
  token: string;
  /** The Genesys guest token behind it (to see what reaches the simulator). */
  guestToken: string;
  /** An uploaded, unsent attachment, and its always-fresh link (path and query on this service). */
  attachmentId: string;
  link: string;
  /** A stream ticket never used. */
  ticket: string;
  /** The id of an event a stream sent this session, to resume from. */
  eventId: string;
  /** A sign-in grant from the identity provider, not yet exchanged. */
  grant: Awaited<ReturnType<typeof signInAt>>;
}

interface Call {
  how: string;
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  path: (h: Held) => string;
  headers?: (h: Held) => Record<string, string>;
  body?: (h: Held) => object | FormData;
}

/**
 * How each served route is called after the end. `ended`: calls that must
 * answer 410 session_expired. `exempt`: calls that legitimately answer
 * something else, why, and what they answer (checked).
 */
interface Entry {
  ended: Call[];
  exempt?: { call: Call; why: string; status: number }[];
}

const withToken = (h: Held) => bearer(h.token);
const json = (body: object) => () => body;
const fileForm = () => {
  const form = new FormData();
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'late.png');
  return form;
};
const PUBLIC = (path: string, why: string, status = 200): Entry => ({
  ended: [],
  exempt: [{ call: { how: 'with the ended token', path: () => path, headers: withToken }, why, status }],
});

const TABLE: Record<string, Entry> = {
  'get /healthz': PUBLIC('/healthz', 'liveness of the process: no session, no I/O'),
  'get /readyz': PUBLIC('/readyz', 'readiness of the instance, not of any session'),
  'get /openapi.json': PUBLIC('/openapi.json', 'the API document, the same for everyone'),
  'get /asyncapi.json': PUBLIC('/asyncapi.json', "the stream's event document, the same for everyone"),
  'get /problems/{code}': PUBLIC(
    '/problems/session_expired',
    "the page every problem's `type` links to, this one included",
  ),
  'post /guest-session': {
    ended: [
      { how: 'resume with the token', path: () => '/guest-session', headers: withToken, body: json({}) },
      {
        how: 'resume with attributes',
        path: () => '/guest-session',
        headers: withToken,
        body: json({ attributes: { plan: 'gold' } }),
      },
      {
        how: 'startNew with the token',
        path: () => '/guest-session',
        headers: withToken,
        body: json({ startNew: true }),
      },
    ],
    exempt: [
      {
        call: {
          how: 'without a token',
          path: () => '/guest-session',
          headers: () => ({ Origin: PAGE_ORIGIN }),
          body: json({}),
        },
        why: 'starts a new session: the way on after an ended chat',
        status: 201,
      },
    ],
  },
  'get /guest-session': { ended: [{ how: 'with the token', path: () => '/guest-session', headers: withToken }] },
  'delete /guest-session': {
    ended: [],
    exempt: [
      {
        call: { how: 'with the ended token', method: 'DELETE', path: () => '/guest-session', headers: withToken },
        why: 'ending is idempotent: a repeated DELETE answers 204 and reaches nothing (CONTRACT.md section 3, RELIABILITY.md row 7)',
        status: 204,
      },
    ],
  },
  'post /guest-session/sign-in': {
    ended: [
      {
        how: 'with a fresh grant',
        path: () => '/guest-session/sign-in',
        headers: withToken,
        body: (h) => ({ auth: h.grant }),
      },
    ],
  },
  'post /guest-session/sign-out': {
    ended: [{ how: 'with the token', path: () => '/guest-session/sign-out', headers: withToken, body: json({}) }],
  },
  'get /guest-attributes': { ended: [{ how: 'with the token', path: () => '/guest-attributes', headers: withToken }] },
  'put /guest-attributes': {
    ended: [
      { how: 'with the token', path: () => '/guest-attributes', headers: withToken, body: json({ plan: 'gold' }) },
    ],
  },
  'patch /guest-attributes': {
    ended: [{ how: 'with the token', path: () => '/guest-attributes', headers: withToken, body: json({ plan: null }) }],
  },
  'post /messages': {
    ended: [
      { how: 'a text', path: () => '/messages', headers: withToken, body: json({ text: 'still there?' }) },
      {
        how: 'the attachment uploaded before',
        path: () => '/messages',
        headers: (h) => ({ ...bearer(h.token), 'Idempotency-Key': 'ended-1' }),
        body: (h) => ({ attachmentIds: [h.attachmentId] }),
      },
      {
        how: 'a quick reply',
        path: () => '/messages',
        headers: withToken,
        body: json({ quickReply: { text: 'Yes', payload: 'yes' } }),
      },
    ],
  },
  'get /messages': {
    ended: [
      { how: 'history', path: () => '/messages', headers: withToken },
      { how: 'a page of history', path: () => '/messages?page=1&pageSize=5', headers: withToken },
    ],
  },
  'get /messages/transcript': {
    ended: [
      { how: 'as text', path: () => '/messages/transcript', headers: withToken },
      { how: 'as a page', path: () => '/messages/transcript?format=html', headers: withToken },
    ],
  },
  'get /messages/stream': {
    ended: [
      { how: 'with the token', path: () => '/messages/stream', headers: withToken },
      {
        how: 'with the ticket from before (EventSource)',
        path: (h) => `/messages/stream?ticket=${encodeURIComponent(h.ticket)}`,
        headers: () => ({ Origin: PAGE_ORIGIN }),
      },
      {
        how: 'resumed with Last-Event-ID',
        path: () => '/messages/stream',
        headers: (h) => ({ ...bearer(h.token), 'Last-Event-ID': h.eventId }),
      },
      {
        how: 'resumed by the ticket with ?lastEventId=',
        path: (h) =>
          `/messages/stream?ticket=${encodeURIComponent(h.ticket)}&lastEventId=${encodeURIComponent(h.eventId)}`,
        headers: () => ({ Origin: PAGE_ORIGIN }),
      },
    ],
  },
  'post /messages/stream-ticket': {
    ended: [{ how: 'with the token', path: () => '/messages/stream-ticket', headers: withToken, body: json({}) }],
  },
  'post /typing': { ended: [{ how: 'with the token', path: () => '/typing', headers: withToken, body: json({}) }] },
  'post /messages/read': {
    ended: [
      { how: 'a message read', path: () => '/messages/read', headers: withToken, body: json({ messageId: 'm1' }) },
    ],
  },
  'get /capabilities': { ended: [{ how: 'with the token', path: () => '/capabilities', headers: withToken }] },
  'put /notifications/push': {
    ended: [
      {
        how: 'a push subscription',
        path: () => '/notifications/push',
        headers: withToken,
        body: json({
          endpoint: 'https://push.example.com/send/ended',
          keys: {
            p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url'),
            auth: Buffer.alloc(16, 9).toString('base64url'),
          },
        }),
      },
    ],
  },
  'delete /notifications/push': {
    ended: [{ how: 'with the token', path: () => '/notifications/push', headers: withToken }],
  },
  'put /notifications/email': {
    ended: [
      {
        how: 'an e-mail opt-in',
        path: () => '/notifications/email',
        headers: withToken,
        body: json({ address: 'ended@example.com' }),
      },
    ],
  },
  'delete /notifications/email': {
    ended: [{ how: 'with the token', path: () => '/notifications/email', headers: withToken }],
  },
  'get /notifications/email/confirm': PUBLIC(
    '/notifications/email/confirm?t=not-a-link',
    "an e-mail's link: its sealed `t` names the chat, no session is sent (no e-mail is set up here: 404)",
    404,
  ),
  'get /notifications/email/stop': PUBLIC(
    '/notifications/email/stop?t=not-a-link',
    "an e-mail's stop link: it works without a session, by its sealed `t` (no e-mail is set up here: 404)",
    404,
  ),
  'post /notifications/email/stop': PUBLIC(
    '/notifications/email/stop?t=not-a-link',
    "a mail client's one-click stop (RFC 8058): no session (no e-mail is set up here: 404)",
    404,
  ),
  'get /availability': PUBLIC(
    '/availability',
    "the deployment's availability, the same for everyone; no session needed",
  ),
  'post /attachments': { ended: [{ how: 'a file', path: () => '/attachments', headers: withToken, body: fileForm }] },
  'delete /attachments/{id}': {
    ended: [
      { how: 'the unsent upload', method: 'DELETE', path: (h) => `/attachments/${h.attachmentId}`, headers: withToken },
    ],
  },
  'get /attachments/{id}/content': {
    ended: [
      { how: 'its link, as <img src> asks (no Authorization, no Origin)', path: (h) => h.link },
      { how: 'its link from the page (Origin)', path: (h) => h.link, headers: () => ({ Origin: PAGE_ORIGIN }) },
      { how: 'with the token, no link', path: (h) => `/attachments/${h.attachmentId}/content`, headers: withToken },
    ],
  },
};

/** Not session-bound, for every served path: a browser never sends Authorization on a preflight, so every path answers its OPTIONS alike (204). */
const PREFLIGHT_WHY = 'a CORS preflight carries no credentials: it cannot know a session';

/** The method a table key names, in upper case. */
const methodOf = (route: string) => route.split(' ')[0]!.toUpperCase() as NonNullable<Call['method']>;

interface Outcome {
  status: number;
  contentType: string;
  code?: string;
}

/** One request as a browser's fetch makes it; a stream's body is not read (it would not end). */
async function ask(
  method: NonNullable<Call['method']>,
  path: string,
  headers: Record<string, string>,
  body?: object | FormData,
): Promise<Outcome> {
  const init: RequestInit = { method, headers: { ...headers }, redirect: 'manual' };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
  }
  const res = await fetch(`${stack.service.url}${path}`, init);
  const contentType = res.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream') || method === 'HEAD') {
    await res.body?.cancel();
    return { status: res.status, contentType };
  }
  const text = await res.text();
  const code = contentType.startsWith('application/problem+json')
    ? (JSON.parse(text) as { code?: string }).code
    : undefined;
  return { status: res.status, contentType, ...(code !== undefined ? { code } : {}) };
}

/** `410 session_expired problem+json` when refused as an ended session should be; anything else, as it came. */
function verdict(o: Outcome): string {
  const problem = o.contentType.startsWith('application/problem+json')
    ? 'problem+json'
    : o.contentType.split(';')[0] || 'no body';
  return [o.status, o.code, problem].filter((p) => p !== undefined).join(' ');
}

const SESSION_EXPIRED = '410 session_expired problem+json';
/** HEAD gets the GET answer's headers and no body. */
const SESSION_EXPIRED_HEAD = '410 problem+json';

/** A live session with everything a client keeps from one; signed in (authenticated messaging) when `customer` is given. */
async function liveSession(customer?: string): Promise<Held> {
  const before = stack.sim.received.length;
  const started = customer
    ? await stack.http
        .post('/guest-session')
        .set('Origin', PAGE_ORIGIN)
        .send({ auth: await signInAt(stack.sim, customer) })
    : await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
  expect([started.status, started.body.code]).toEqual([201, undefined]);
  if (customer) expect(started.body.authenticated).toBe(true);
  const token = started.body.sessionToken as string;
  const configured = stack.sim.received
    .slice(before)
    .find((f) => f.frame?.action === 'configureSession' || f.frame?.action === 'configureAuthenticatedSession');
  const guestToken = configured!.frame.token as string;

  expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'hello' })).status).toBe(201);
  const uploaded = await stack.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
  expect([uploaded.status, uploaded.body.code]).toEqual([201, undefined]);
  const url = new URL(uploaded.body.attachment.url as string);
  const link = `${url.pathname}${url.search}`;
  // The link works while the chat is live.
  expect((await ask('GET', link, {})).status).toBe(302);

  // A ticket works while the chat is live: it opens a stream, whose first event's id is one to resume from.
  const used = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string;
  const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(used)}`, {
    Origin: PAGE_ORIGIN,
  });
  expect(stream.status).toBe(200);
  const opened = await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  stream.close();
  expect(opened.id).toMatch(/^[A-Za-z0-9_-]{1,128}$/);

  const ticketRes = await stack.http.post('/messages/stream-ticket').set(bearer(token));
  expect(ticketRes.status).toBe(201);
  return {
    token,
    guestToken,
    attachmentId: uploaded.body.attachment.id,
    link,
    ticket: ticketRes.body.ticket,
    eventId: opened.id!,
    grant: await signInAt(stack.sim, customer ?? 'customer-late'),
  };
}

/** What reached Genesys for this session: its frames and sockets, and the REST calls a session's request would make (history, sign-in, files). */
function genesysSideOf(h: Held) {
  const background = new Set(['config', 'domains', 'token', 'deployment']);
  const rest = stack.sim.requests.filter((r) => r.target === undefined || !background.has(r.target));
  return {
    frames: stack.sim.framesFor(h.guestToken).length,
    sockets: stack.sim.stats.connectionsBySession(h.guestToken),
    rest: rest.length,
  };
}

type Row = [call: string, answer: string];

/** Every call of the table after the end, and what it answered; and what reached Genesys meanwhile. */
async function afterTheEnd(h: Held): Promise<{ refused: Row[]; exempt: Row[]; preflights: Row[]; genesys: object }> {
  const before = genesysSideOf(h);
  const refused: Row[] = [];
  for (const [route, entry] of Object.entries(TABLE)) {
    for (const call of entry.ended) {
      const method = call.method ?? methodOf(route);
      const label = `${route} ${call.how}`;
      refused.push([label, verdict(await ask(method, call.path(h), call.headers?.(h) ?? {}, call.body?.(h)))]);
      if (method === 'GET')
        refused.push([`${label} (HEAD)`, verdict(await ask('HEAD', call.path(h), call.headers?.(h) ?? {}))]);
    }
  }
  const exempt: Row[] = [];
  for (const [route, entry] of Object.entries(TABLE)) {
    for (const { call, why } of entry.exempt ?? []) {
      exempt.push([
        `${route} ${call.how} (${why})`,
        String(
          (await ask(call.method ?? methodOf(route), call.path(h), call.headers?.(h) ?? {}, call.body?.(h))).status,
        ),
      ]);
    }
  }
  const preflights: Row[] = [];
  for (const path of pathsOf(TABLE)) {
    const concrete = path.replace('{id}', h.attachmentId).replace('{code}', 'session_expired');
    const headers = {
      Origin: PAGE_ORIGIN,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    };
    preflights.push([`options ${path} (${PREFLIGHT_WHY})`, String((await ask('OPTIONS', concrete, headers)).status)]);
  }
  const after = genesysSideOf(h);
  // A new session (the exempt POST /guest-session) uses no REST call; its frames are under its own guest token.
  return {
    refused,
    exempt,
    preflights,
    genesys: {
      frames: after.frames - before.frames,
      sockets: after.sockets - before.sockets,
      rest: after.rest - before.rest,
    },
  };
}

const pathsOf = (table: Record<string, Entry>) => [...new Set(Object.keys(table).map((r) => r.split(' ')[1]!))];

/** What the table says each call answers, and that nothing reaches Genesys. */
function expected() {
  const refused: Row[] = [];
  for (const [route, entry] of Object.entries(TABLE)) {
    for (const call of entry.ended) {
      refused.push([`${route} ${call.how}`, SESSION_EXPIRED]);
      if ((call.method ?? methodOf(route)) === 'GET')
        refused.push([`${route} ${call.how} (HEAD)`, SESSION_EXPIRED_HEAD]);
    }
  }
  const exempt = Object.entries(TABLE).flatMap(([route, entry]) =>
    (entry.exempt ?? []).map((e): Row => [`${route} ${e.call.how} (${e.why})`, String(e.status)]),
  );
  const preflights = pathsOf(TABLE).map((p): Row => [`options ${p} (${PREFLIGHT_WHY})`, '204']);
  return { refused, exempt, preflights, genesys: { frames: 0, sockets: 0, rest: 0 } };
}

test('the table has an entry for every route the service serves, and none for a route it does not', () => {
  const served = servedRoutes(stack.service);
  const missing = served.filter((r) => !(r in TABLE));
  const stale = Object.keys(TABLE).filter((r) => !served.includes(r));
  expect({
    'served without an entry (say how to call it after the end, or why it is not session-bound)': missing,
    'entries for routes not served': stale,
  }).toEqual({
    'served without an entry (say how to call it after the end, or why it is not session-bound)': [],
    'entries for routes not served': [],
  });
  // Every entry decides: calls that must be refused, or the reason they are not.
  for (const [route, entry] of Object.entries(TABLE))
    expect([route, entry.ended.length + (entry.exempt?.length ?? 0) > 0]).toEqual([route, true]);
  for (const [route, entry] of Object.entries(TABLE))
    for (const e of entry.exempt ?? []) expect([route, e.why.length > 10]).toEqual([route, true]);
});

test('after DELETE /guest-session, every session-bound call answers 410 session_expired, and nothing reaches Genesys', async () => {
  const held = await liveSession();
  expect((await stack.http.delete('/guest-session').set(bearer(held.token))).status).toBe(204);
  expect(await afterTheEnd(held)).toEqual(expected());
});

test.each([
  ['an anonymous', undefined],
  ['a signed-in', 'customer-overtaken'],
])(
  'after DELETE of %s chat whose Clear Genesys took while a request meanwhile heard 4007 first: 204, and then every session-bound call answers 410 session_expired',
  async (_kind, customer) => {
    const held = await liveSession(customer);
    const clears = () =>
      stack.sim
        .framesFor(held.guestToken, 'onMessage')
        .filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));
    try {
      // Genesys clears the session at once, but finishes answering the Clear late...
      stack.sim.faults.slowAnswer('onMessage', 10_000, { sessionToken: held.guestToken });
      const ending = stack.http
        .delete('/guest-session')
        .set(bearer(held.token))
        .then((res) => res);
      await waitFor(() => clears().length === 1);
      // ...and a message sent meanwhile hears at once that the session is gone (4007) before the Clear's answer comes.
      const overtaking = await stack.http.post('/messages').set(bearer(held.token)).send({ text: 'one more' });
      expect([overtaking.status, overtaking.body.code]).toEqual([410, 'session_expired']);
      expect((await ending).status).toBe(204);
    } finally {
      stack.sim.faults.clear();
    }
    // Gone at Genesys, as the customer asked: the token configures it anew nowhere.
    expect(await afterTheEnd(held)).toEqual(expected());
    expect(clears()).toHaveLength(1);
  },
);

test('after POST /guest-session/sign-out, every session-bound call answers 410 session_expired, and nothing reaches Genesys', async () => {
  const held = await liveSession('customer-ended');
  expect((await stack.http.post('/guest-session/sign-out').set(bearer(held.token))).status).toBe(204);
  expect(await afterTheEnd(held)).toEqual(expected());
});
