import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { startSimulator, type Simulator } from '../../simulator';
import { deriveKeys, Sealer } from '../../src/session/tokens/sealing';
import { SessionTokens } from '../../src/session/tokens/sessionToken';
import { TEST_SESSION_SECRET } from '../support/app';
import { dataOf, openStream } from '../support/sse';
import {
  bearer,
  IDENTITY_AUDIENCE,
  IDENTITY_ISSUER,
  IDENTITY_SECRET,
  identityToken,
  type Stack,
  startStack,
} from '../support/stack';
import {
  checkProblem,
  expectProblem,
  internalsIn,
  newGuest,
  PAGE_ORIGIN,
  rawRequest,
  spyOnEgress,
  type RawResponse,
} from '../support/hostile';
import { sleep, waitFor } from '../support/wait';

/**
 * Security (RELIABILITY.md): no secret or issued token in the logs of a realistic
 * flow at debug level; session tokens are tamper-proof and bound to their
 * origin; one session cannot reach another's data; helmet's headers on every
 * kind of answer; no internals in any answer; and the service connects only
 * to the configured Genesys hosts, whatever the input.
 */

let sim: Simulator;
let stack: Stack;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 2, replyDelayMs: 10 } });
  stack = await startStack({ simulator: sim });
});
afterAll(async () => {
  await stack.close();
  await sim.stop();
});
afterEach(() => sim.faults.clear());

const json = (headers: Record<string, string>) => ({ ...headers, 'Content-Type': 'application/json' });

// ------------------------------------------------------------------ logs

describe('logs', () => {
  test('a realistic flow at debug level, errors included, writes no secret and no issued token', async () => {
    const issued = new Set<string>();
    const keep = (value: unknown) => {
      if (typeof value === 'string' && value.length > 0) issued.add(value);
    };

    const idToken = await identityToken({ sub: 'customer-42', email: 'ada@example.com', attributes: { tier: 'gold' } });
    keep(idToken);
    const g = await newGuest(stack, { identityToken: idToken, attributes: { plan: 'basic' } });
    keep(g.token);
    keep(g.gt);
    const auth = bearer(g.token);
    const collect = (res: { body?: Record<string, unknown> }) => {
      keep(res.body?.sessionToken);
      keep(res.body?.ticket);
      return res;
    };

    collect(
      await stack.http
        .post('/guest-session')
        .set(auth)
        .send({ attributes: { plan: 'pro' } }),
    );
    collect(await stack.http.patch('/guest-attributes').set(auth).send({ note: 'hello' }));
    collect(
      await stack.http
        .post('/messages')
        .set({ ...auth, 'Idempotency-Key': 'log-1' })
        .send({ text: 'first' }),
    );
    const ticket = collect(await stack.http.post('/messages/stream-ticket').set(auth)).body!.ticket as string;
    const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
      Origin: PAGE_ORIGIN,
    });
    await stream.next((e) => e.event === 'session');
    await stack.http.post('/typing').set(auth);
    collect(await stack.http.get('/messages').set(auth));
    // A dropped socket mid-send: the service reconnects and reads history with the guest JWT.
    sim.faults.dropOnNext('onMessage', { sessionToken: g.gt, when: 'after-processing' });
    collect(
      await stack.http
        .post('/messages')
        .set({ ...auth, 'Idempotency-Key': 'log-2' })
        .send({ text: 'second' }),
    );
    // Failures that log detail: foreign origin, tampered token, bad identity, upstream errors.
    await stack.http.get('/guest-session').set({ ...auth, Origin: 'https://shop.example.com' });
    await stack.http.get('/guest-session').set(bearer(`${g.token.slice(0, -3)}AAA`));
    await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ identityToken: `${idToken.slice(0, -2)}xx` });
    await stack.http.get(`/messages/stream?ticket=${encodeURIComponent(ticket)}x`).set('Origin', PAGE_ORIGIN);
    sim.faults.failRest('history', { status: 500, times: 1 });
    await stack.http.get('/messages').set(auth);
    // Everything the service was handed or handed out upstream: guest tokens, OAuth access tokens, guest JWTs.
    const upstream = { oauth: new Set<string>(), jwt: new Set<string>() };
    const harvest = () => {
      for (const f of sim.received) keep(f.frame?.token);
      for (const r of sim.requests) {
        const credential = String(r.headers.authorization ?? '').replace(/^(bearer|basic)\s+/i, '');
        keep(credential);
        if (r.target === 'deployment') upstream.oauth.add(credential);
        if (r.target === 'history') upstream.jwt.add(credential);
      }
    };
    harvest();
    // A refused Platform token: the service logs in again (a new OAuth token) and retries once.
    sim.reset();
    await waitFor(() => sim.stats.tokenRequests > 0);
    stream.close();
    await stack.http.delete('/guest-session').set(auth);

    await waitFor(() => sim.stats.deploymentRequests > 0);
    harvest();
    expect({ oauth: upstream.oauth.size >= 2, jwt: upstream.jwt.size >= 1 }).toEqual({ oauth: true, jwt: true });
    const secrets = [
      sim.credentials.clientSecret,
      TEST_SESSION_SECRET,
      IDENTITY_SECRET,
      Buffer.from(`${sim.credentials.clientId}:${sim.credentials.clientSecret}`).toString('base64'),
    ];
    const text = stack.log.text();
    expect(text.length).toBeGreaterThan(1000);
    expect(stack.log.lines().some((l) => l.level === 20)).toBe(true); // debug lines were written
    expect(issued.size).toBeGreaterThan(10);
    const leaked = [...secrets, ...issued].filter(
      (s) => text.includes(s) || (longestPart(s).length >= 16 && text.includes(longestPart(s))),
    );
    expect(leaked).toEqual([]);
  }, 60_000);
});

/** The longest dot-separated part of a token (a JWE's ciphertext, a JWT's payload), which a truncated log line could still show. */
function longestPart(token: string): string {
  return token.split('.').reduce((a, b) => (b.length > a.length ? b : a), '');
}

// ------------------------------------------------------------------ tokens

describe('session tokens', () => {
  let token: string;
  beforeAll(async () => {
    token = (await newGuest(stack)).token;
  });

  const stateWith = (t: string, origin: string | undefined = PAGE_ORIGIN) =>
    rawRequest(stack.service.url, {
      method: 'GET',
      path: '/guest-session',
      headers: { Authorization: `Bearer ${t}`, ...(origin ? { Origin: origin } : {}) },
    });

  test('any flipped bit, in any part, makes a token worthless (401 unauthorized)', async () => {
    const parts = token.split('.');
    const flippable = parts
      .map((p, i) => ({ i, bytes: Buffer.from(p, 'base64url') }))
      .filter((p) => p.bytes.length > 0);
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), async (which, at, bit) => {
        const part = flippable[which % flippable.length]!;
        const bytes = Buffer.from(part.bytes);
        bytes[at % bytes.length]! ^= 1 << bit;
        const forged = parts.map((p, i) => (i === part.i ? bytes.toString('base64url') : p)).join('.');
        const res = await stateWith(forged);
        return res.status === 401 && JSON.parse(res.text).code === 'unauthorized';
      }),
      { numRuns: 200 },
    );
    expect((await stateWith(token)).status).toBe(200);
  });

  test('spliced, truncated, re-keyed, unencrypted and expired tokens are all 401', async () => {
    const other = (await newGuest(stack)).token.split('.');
    const mine = token.split('.');
    const splice = (i: number) => mine.map((p, j) => (j === i ? other[i]! : p)).join('.');
    const foreignSealer = new Sealer(deriveKeys(['another-secret-of-at-least-32-characters!!']));
    const past = new SessionTokens(new Sealer(deriveKeys([TEST_SESSION_SECRET])), 60, () => Date.now() - 3_600_000);
    const claims = {
      guestToken: 'guest',
      origin: PAGE_ORIGIN,
      attributes: {},
      locked: [],
      deliveredFingerprint: '',
      maxCustomDataBytes: 2048,
      routingKey: 'routing-key-for-tests',
    };
    const forgeries = [
      splice(2), // another token's IV
      splice(3), // another token's ciphertext
      splice(4), // another token's tag
      mine.slice(0, 4).join('.'),
      token.slice(0, -1),
      `${token}.`,
      await foreignSealer.seal({ typ: 'session', ...claims, exp: Math.floor(Date.now() / 1000) + 600 }),
      (await past.issue(claims)).token,
      await new SignJWT({ typ: 'session', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(TEST_SESSION_SECRET)),
      `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify({ typ: 'session', ...claims })).toString('base64url')}.`,
      (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string,
    ];
    for (const [i, forged] of forgeries.entries()) {
      const res = await stateWith(forged);
      expect({ i, status: res.status, check: checkProblem(res) }).toEqual({ i, status: 401, check: { ok: true } });
    }
  });

  test('a token is bound to the origin that created it', async () => {
    expect((await stateWith(token, PAGE_ORIGIN)).status).toBe(200);
    // Another allowed website cannot use it.
    expectProblem(await stateWith(token, 'https://shop.example.com'), 401, 'unauthorized');
    expectProblem(await stateWith(token, 'https://a.example.org'), 401, 'unauthorized');
    // A website not on the allowlist is refused before the token is even looked at.
    expectProblem(await stateWith(token, 'https://evil.example'), 403, 'origin_not_allowed');
    expectProblem(await stateWith(token, 'null'), 403, 'origin_not_allowed');
    // Without an Origin (a server, curl) the token alone decides (README.md#http-behaviour-common-to-every-endpoint).
    expect((await stateWith(token, undefined)).status).toBe(200);
    // Stream tickets too.
    const ticket = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string;
    const foreign = await rawRequest(stack.service.url, {
      method: 'GET',
      path: `/messages/stream?ticket=${encodeURIComponent(ticket)}`,
      headers: { Origin: 'https://shop.example.com' },
    });
    expectProblem(foreign, 401, 'unauthorized');
  });
});

// ------------------------------------------------------------------ isolation

test("one session cannot reach another session's messages, attributes, stream or idempotency record", async () => {
  const a = await newGuest(stack, { attributes: { secretOfA: 'attr-of-A' } });
  const b = await newGuest(stack);
  const streamB = await openStream(`${stack.service.url}/messages/stream`, bearer(b.token));
  await streamB.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  const sentA = await stack.http
    .post('/messages')
    .set({ ...bearer(a.token), 'Idempotency-Key': 'shared-key' })
    .send({ text: 'message of A' });
  expect(sentA.status).toBe(201);
  sim.agent.say(a.gt, 'reply to A only');
  // B uses the same Idempotency-Key: it gets its own message, never A's.
  const sentB = await stack.http
    .post('/messages')
    .set({ ...bearer(b.token), 'Idempotency-Key': 'shared-key' })
    .send({ text: 'message of B' });
  expect(sentB.status).toBe(201);
  expect(sentB.body.message.id).not.toBe(sentA.body.message.id);
  expect(sentB.body.message.text).toBe('message of B');
  await streamB.next((e) => e.event === 'message' && dataOf(e).text === 'message of B');

  const seenByB = [
    (await stack.http.get('/messages').set(bearer(b.token))).text,
    (await stack.http.get('/guest-attributes').set(bearer(b.token))).text,
    (await stack.http.get('/guest-session').set(bearer(b.token))).text,
    streamB.events.map((e) => e.data).join('\n'),
  ].join('\n');
  streamB.close();
  for (const secret of ['message of A', 'reply to A only', 'attr-of-A', 'secretOfA', sentA.body.message.id as string]) {
    expect({ secret, seen: seenByB.includes(secret) }).toEqual({ secret, seen: false });
  }
  // A's session token does not open B's stream with B's ticket either: a ticket names exactly one guest.
  const ticketA = (await stack.http.post('/messages/stream-ticket').set(bearer(a.token))).body.ticket as string;
  const viaTicket = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticketA)}`, {
    Origin: PAGE_ORIGIN,
  });
  sim.agent.say(b.gt, 'for B only');
  sim.agent.say(a.gt, 'for A via ticket');
  await viaTicket.next((e) => e.event === 'message' && dataOf(e).text === 'for A via ticket');
  expect(viaTicket.events.map((e) => e.data).join()).not.toContain('for B only');
  viaTicket.close();
});

// ------------------------------------------------------------------ headers and internals

describe('answers', () => {
  const HELMET = {
    'content-security-policy': expect.stringContaining("default-src 'self'"),
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'cross-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'SAMEORIGIN',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
  };

  test("helmet's headers on every kind of answer, and no X-Powered-By", async () => {
    const g = await newGuest(stack);
    const requests: [string, Parameters<typeof rawRequest>[1]][] = [
      ['200 health', { method: 'GET', path: '/healthz' }],
      ['200 openapi', { method: 'GET', path: '/openapi.json' }],
      ['201 session', { method: 'POST', path: '/guest-session', headers: json({ Origin: PAGE_ORIGIN }), body: '{}' }],
      ['200 stream', { method: 'GET', path: '/messages/stream', headers: bearer(g.token) }],
      [
        '204 preflight',
        {
          method: 'OPTIONS',
          path: '/messages',
          headers: { Origin: PAGE_ORIGIN, 'Access-Control-Request-Method': 'POST' },
        },
      ],
      ['400 problem', { method: 'POST', path: '/messages', headers: json(bearer(g.token)), body: '{' }],
      ['401 problem', { method: 'GET', path: '/guest-session' }],
      ['403 foreign origin', { method: 'GET', path: '/healthz', headers: { Origin: 'https://evil.example' } }],
      ['404 problem', { method: 'GET', path: '/nope' }],
      ['415 problem', { method: 'POST', path: '/guest-session', headers: { 'Content-Type': 'text/plain' }, body: 'x' }],
    ];
    for (const [label, req] of requests) {
      const res = await rawRequest(stack.service.url, req);
      expect({ label, headers: res.headers }).toEqual({ label, headers: expect.objectContaining(HELMET) });
      expect({ label, poweredBy: res.headers['x-powered-by'] }).toEqual({ label, poweredBy: undefined });
    }
  });

  test('internals never reach a client, even when Genesys answers with stack traces and garbage', async () => {
    const g = await newGuest(stack);
    const trace =
      'TypeError: boom\n    at Object.<anonymous> (/srv/genesys/app.js:12:7)\n    at node_modules/express/lib/router.js:1:1';
    const answers: RawResponse[] = [];
    const get = (path: string) => rawRequest(stack.service.url, { method: 'GET', path, headers: bearer(g.token) });
    sim.faults.failRest('history', {
      status: 500,
      body: { message: trace, code: 'internal.server.error', contextId: 'ctx-1' },
      times: 1,
    });
    answers.push(await get('/messages'));
    sim.faults.failRest('history', { status: 200, body: `<html>${trace}</html>`, times: 1 });
    answers.push(await get('/messages?page=2'));
    sim.faults.failRest('history', { status: 200, body: { entities: 'not a list', trace }, times: 1 });
    answers.push(await get('/messages?page=3'));
    answers.push(
      await rawRequest(stack.service.url, {
        method: 'POST',
        path: '/messages',
        headers: json(bearer(g.token)),
        body: '{"text": "\\ud800"}',
      }),
    );
    answers.push(
      await rawRequest(stack.service.url, {
        method: 'POST',
        path: '/guest-session',
        headers: json({ Origin: PAGE_ORIGIN }),
        body: '{"identityToken":"a.b.c"}',
      }),
    );
    answers.push(
      await rawRequest(stack.service.url, {
        method: 'PUT',
        path: '/guest-attributes',
        headers: json(bearer(g.token)),
        body: '{"__proto__":{"x":"y"}}',
      }),
    );
    for (const res of answers) {
      expect({ status: res.status, check: checkProblem(res) }).toEqual({
        status: expect.any(Number),
        check: { ok: true },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(internalsIn(res.text)).toBeUndefined();
      expect(res.text).not.toMatch(/boom|ctx-1|internal\.server\.error|<html>|not a list/);
    }
  });
});

// ------------------------------------------------------------------ egress

describe('egress', () => {
  test('the spy sees connections, lookups and requests nock refuses (sanity check of the instrument)', async () => {
    const egress = spyOnEgress();
    try {
      await new Promise<void>((resolve) => {
        const req = http.get('http://evil.example/steal', () => resolve());
        req.on('error', () => resolve());
      });
      await new Promise<void>((resolve) => {
        const socket = net.connect({ host: 'evil.invalid', port: 1 });
        socket.on('error', () => resolve());
        socket.on('connect', () => (socket.destroy(), resolve()));
      });
    } finally {
      egress.restore();
    }
    expect(egress.blocked).toContain('evil.example');
    expect(egress.lookups).toContain('evil.invalid');
    expect(egress.connections).toContain('evil.invalid:1');
  });

  test('whatever the input, the service connects only to the configured Genesys hosts', async () => {
    const egress = spyOnEgress();
    const evil = [
      'http://evil.example/x',
      'https://169.254.169.254/latest/meta-data/',
      'ws://127.0.0.2:9/v1',
      'file:///etc/passwd',
      '//evil.example',
      'gopher://evil.example:70/',
    ];
    let own: Stack | undefined;
    try {
      // Genesys itself tries to send the service elsewhere: redirects, and a config.json naming other endpoints.
      sim.faults.failRest('token', { status: 302, headers: { location: evil[0]! }, times: 1 });
      sim.faults.failRest('config', {
        status: 200,
        body: {
          id: sim.deploymentId,
          apiEndpoint: evil[0],
          messenger: {
            enabled: true,
            apps: { conversations: { messagingEndpoint: evil[2], autoStart: { enabled: true } } },
          },
        },
      });
      own = await startStack({ simulator: sim });
      sim.faults.failRest('deployment', { status: 307, headers: { location: evil[1]! } });
      sim.faults.failRest('history', { status: 301, headers: { location: evil[0]! } });

      const identityWithUrls = await new SignJWT({ sub: evil[0], attributes: { homepage: evil[1]!, avatar: evil[0]! } })
        .setProtectedHeader({ alg: 'HS256', jku: evil[0], x5u: evil[1], kid: evil[0] })
        .setIssuer(IDENTITY_ISSUER)
        .setAudience(IDENTITY_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(IDENTITY_SECRET));
      const hostile = {
        Host: 'evil.example',
        'X-Forwarded-Host': 'evil.example',
        'X-Forwarded-Proto': 'https',
        Forwarded: 'host=evil.example;proto=https',
        Referer: evil[0]!,
        'X-Original-URL': evil[0]!,
        'X-Rewrite-URL': evil[0]!,
      };
      const start = await own.http
        .post('/guest-session')
        .set({ ...hostile, Origin: PAGE_ORIGIN })
        .send({ identityToken: identityWithUrls, attributes: Object.fromEntries(evil.map((u, i) => [`url${i}`, u])) });
      expect(start.status).toBe(201);
      const auth = { ...hostile, ...bearer(start.body.sessionToken) };
      for (const text of evil) {
        const sent = await own.http.post('/messages').set(auth).send({ text });
        expect({ status: sent.status, detail: sent.body.detail }).toEqual({ status: 201, detail: undefined });
        // Under 5 a second, counting the autostart Join that Genesys counts too.
        await sleep(300);
      }
      await own.http
        .post('/messages')
        .set(auth)
        .send({ quickReply: { text: 'go', payload: evil[0], originatingMessageId: evil[1] } });
      await own.http.put('/guest-attributes').set(auth).send({ next: evil[1] });
      expect(
        (await own.http.get(`/messages?page=1&pageSize=10&url=${encodeURIComponent(evil[0]!)}`).set(auth)).status,
      ).toBeGreaterThanOrEqual(400);
      await own.http.get(`/messages/stream?ticket=${encodeURIComponent(evil[0]!)}`).set({ Origin: PAGE_ORIGIN });
      await rawRequest(own.service.url, { method: 'GET', path: evil[0]!, headers: { Host: 'evil.example' } });
      await rawRequest(own.service.url, {
        method: 'GET',
        path: 'http://evil.example/healthz',
        headers: { Host: 'evil.example' },
      });
      sim.agent.say(
        sim.received.findLast((f) => f.frame.action === 'configureSession')!.frame.token as string,
        evil[0]!,
      );
      // Give the background work (deployment re-read, config refresh, token) its rounds with the faults armed.
      const reads = sim.stats.deploymentRequests;
      await waitFor(() => sim.stats.deploymentRequests >= reads + 2);
    } finally {
      egress.restore();
      await own?.close();
    }
    const allowed = new Set([
      `127.0.0.1:${sim.port}`,
      `127.0.0.1:${new URL(stack.service.url).port}`,
      `127.0.0.1:${own ? new URL(own.service.url).port : 0}`,
    ]);
    expect(egress.connections.length).toBeGreaterThan(0);
    expect([...new Set(egress.connections)].filter((c) => !allowed.has(c))).toEqual([]);
    expect(egress.lookups.filter((h) => h !== 'localhost' && h !== '127.0.0.1')).toEqual([]);
    expect(egress.blocked).toEqual([]);
  }, 60_000);
});
