import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  bearer,
  guestTokenOf,
  IDENTITY_AUDIENCE,
  IDENTITY_ISSUER,
  IDENTITY_SECRET,
  identityToken,
  PAGE_ORIGIN,
  type Stack,
  startStack,
} from '../support/stack';
import { waitFor } from '../support/wait';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.sim.faults.clear());

describe('POST /guest-session', () => {
  test('starts a session: 201 with the contract shape; the well-known fields become attributes (no identity configured)', async () => {
    const anonymous = await startStack({
      simulator: stack.sim,
      env: { IDENTITY_JWT_SECRET: undefined, IDENTITY_ISSUER: undefined, IDENTITY_AUDIENCE: undefined },
    });
    try {
      const before = stack.sim.received.length;
      const res = await anonymous.http
        .post('/guest-session')
        .set('Origin', PAGE_ORIGIN)
        .send({
          firstName: 'Ada',
          lastName: 'Lovelace',
          email: 'ada@example.com',
          phone: '+44 20 0000',
          attributes: { plan: 'gold' },
        });
      expect(res.status).toBe(201);
      expect(res.headers['access-control-allow-origin']).toBe(PAGE_ORIGIN);
      expect(res.body).toEqual({
        sessionToken: expect.any(String),
        routingKey: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        streamPosition: expect.stringMatching(/^t-\d{13}$/),
        expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        sessionExpiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        newSession: true,
        readOnly: false,
        limits: { maxCustomDataBytes: 2048, maxTextBytes: 4096, messagesPerSecond: 2 },
        attributes: {
          plan: 'gold',
          firstName: 'Ada',
          lastName: 'Lovelace',
          email: 'ada@example.com',
          phone: '+44 20 0000',
        },
        authenticated: false,
      });
      const gt = guestTokenOf(stack.sim, before);
      // The browser holds no Genesys token: the sealed token does not contain it in clear.
      expect(res.body.sessionToken).not.toContain(gt);
      expect(Buffer.from(res.body.sessionToken.split('.')[3] ?? '', 'base64url').toString('latin1')).not.toContain(gt);
      expect(JSON.stringify(res.body)).not.toContain(stack.sim.deploymentId);
    } finally {
      await anonymous.close();
    }
  });

  test('every answer with a session token carries the same routingKey; a proposed ?routingKey= (or X-Chat-Session, from older clients) is adopted, a malformed one is not', async () => {
    const derived = await stack.newSession();
    const key = derived.body.routingKey as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(derived.token).not.toContain(key);
    const auth = bearer(derived.token);
    const resumed = await stack.http.post('/guest-session').set(auth).send({});
    const changed = await stack.http.patch('/guest-attributes').set(auth).send({ page: '/x' });
    const sent = await stack.http.post('/messages').set(auth).send({ text: 'hello' });
    expect([resumed.body.routingKey, changed.body.routingKey, sent.body.routingKey]).toEqual([key, key, key]);
    const proposed = 'client-proposed-key_0123';
    const adopted = await stack.http
      .post(`/guest-session?routingKey=${proposed}`)
      .set({ Origin: PAGE_ORIGIN, 'X-Chat-Session': 'the-header-loses-to-the-query' })
      .send({});
    expect(adopted.body.routingKey).toBe(proposed);
    const fromHeader = await stack.http
      .post('/guest-session')
      .set({ Origin: PAGE_ORIGIN, 'X-Chat-Session': 'older-client-proposed_01' })
      .send({});
    expect(fromHeader.body.routingKey).toBe('older-client-proposed_01');
    expect((await stack.http.get('/guest-session').set(bearer(adopted.body.sessionToken))).body.routingKey).toBe(
      proposed,
    );
    const malformed = await stack.http.post('/guest-session?routingKey=short').set({ Origin: PAGE_ORIGIN }).send({});
    expect(malformed.body.routingKey).not.toBe('short');
    const stream = await stack.http
      .get(`/messages/stream?routingKey=${proposed}`)
      .set({ ...bearer(adopted.body.sessionToken) })
      .buffer(false)
      .parse((res, cb) => {
        (res as unknown as { destroy(): void }).destroy();
        cb(null, null);
      });
    expect(stream.status).toBe(200);
    // Not a credential: presented in place of the token, or of a ticket, it opens nothing.
    expect(
      (await stack.http.get('/guest-session').set({ Origin: PAGE_ORIGIN, 'X-Chat-Session': proposed })).status,
    ).toBe(401);
    expect((await stack.http.get('/guest-session').set(bearer(proposed))).status).toBe(401);
    expect(
      (await stack.http.get(`/messages/stream?ticket=${proposed}&routingKey=${proposed}`).set('Origin', PAGE_ORIGIN))
        .status,
    ).toBe(401);
  });

  test('the routing key is accepted on every route, as ?routingKey= (and the older header), and /openapi.json lists the query parameter wherever a session is named', async () => {
    const { token } = await stack.newSession();
    const key = 'client-proposed-key_0123';
    type Operation = { security: unknown[]; parameters?: { in: string; name: string }[] };
    const doc = (await stack.http.get('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    const reads: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (operation.security.length === 0) continue; // public: no session to route
        const named = operation.parameters?.some((p) => p.in === 'query' && p.name === 'routingKey');
        expect([method, path, named]).toEqual([method, path, true]);
        if (method === 'get' && !path.includes('{') && path !== '/messages/stream') reads.push(path);
      }
    }
    expect(reads.sort()).toEqual([
      '/capabilities',
      '/guest-attributes',
      '/guest-session',
      '/messages',
      '/messages/transcript',
    ]);
    for (const path of reads) {
      const routed = await stack.http.get(`${path}?routingKey=${key}`).set({ ...bearer(token), 'X-Chat-Session': key });
      expect([path, routed.status]).toEqual([path, 200]);
    }
  });

  test('with a valid token it resumes the same Genesys session: 200, newSession false', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const res = await stack.http.post('/guest-session').set(bearer(token)).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ newSession: false, readOnly: false });
    const configures = stack.sim.framesFor(gt, 'configureSession');
    expect(configures.length).toBeGreaterThanOrEqual(1);
    expect(configures.every((f) => f.frame.token === gt)).toBe(true);
  });

  test('startNew replaces a read-only conversation; on an open one it is a 409', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const early = await stack.http.post('/guest-session').set(bearer(token)).send({ startNew: true });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('conflict');

    stack.sim.agent.disconnect(gt, { readOnly: true });
    // Read-only once the Disconnect has reached the service, however long that takes.
    await waitFor(async () => (await stack.http.get('/guest-session').set(bearer(token))).body.readOnly === true);

    const fresh = await stack.http.post('/guest-session').set(bearer(token)).send({ startNew: true });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ readOnly: false });
    expect(stack.sim.framesFor(gt, 'configureSession').at(-1)!.frame.startNew).toBe(true);
  });

  test('startNew without a session token is a validation error', async () => {
    const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ startNew: true });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });

  test('unknown body fields and wrong types are refused with every problem named', async () => {
    const res = await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ firstname: 'x', attributes: { a: 1 } });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.detail).toMatch(/firstname/);
  });
});

describe('GET and DELETE /guest-session', () => {
  test('GET answers the same shape with a refreshed token', async () => {
    const { token } = await stack.newSession({ attributes: { a: 'b' } });
    const res = await stack.http.get('/guest-session').set(bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      newSession: false,
      readOnly: false,
      attributes: { a: 'b' },
      limits: { maxTextBytes: 4096 },
    });
    expect(typeof res.body.sessionToken).toBe('string');
  });

  test('DELETE ends the chat with Presence Clear where the deployment allows it: 204', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const res = await stack.http.delete('/guest-session').set(bearer(token));
    expect(res.status).toBe(204);
    const clears = stack.sim
      .framesFor(gt, 'onMessage')
      .filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));
    expect(clears).toHaveLength(1);
    expect(stack.sim.framesFor(gt, 'closeSession')).toHaveLength(0);
  });

  test('two DELETEs of the same chat at once both answer 204, and Genesys is asked to end it once', async () => {
    const before = stack.sim.received.length;
    const { token } = await stack.newSession();
    const gt = guestTokenOf(stack.sim, before);
    const [a, b] = await Promise.all([
      stack.http.delete('/guest-session').set(bearer(token)),
      stack.http.delete('/guest-session').set(bearer(token)),
    ]);
    expect([a.status, b.status]).toEqual([204, 204]);
    const clears = stack.sim
      .framesFor(gt, 'onMessage')
      .filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));
    expect(clears).toHaveLength(1);
  });
});

describe('session tokens', () => {
  test('no token, a malformed header, a tampered token: 401 unauthorized', async () => {
    const { token } = await stack.newSession();
    expect((await stack.http.get('/guest-session').set('Origin', PAGE_ORIGIN)).body.code).toBe('unauthorized');
    expect(
      (await stack.http.get('/guest-session').set({ Origin: PAGE_ORIGIN, Authorization: 'Guest abc' })).status,
    ).toBe(401);
    const parts = token.split('.');
    const flipped = parts[3]!.startsWith('A') ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    const tampered = [...parts.slice(0, 3), flipped, parts[4]].join('.');
    const res = await stack.http.get('/guest-session').set(bearer(tampered));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
  });

  test('a token sealed with another secret is refused', async () => {
    const other = await startStack({
      simulator: stack.sim,
      env: { SESSION_SECRET: 'another-secret-entirely-0123456789-xyz' },
    });
    const { token } = await other.newSession();
    await other.close();
    const res = await stack.http.get('/guest-session').set(bearer(token));
    expect(res.status).toBe(401);
  });

  test('rotation: a token sealed with an older key still opens when that key is listed second', async () => {
    const old = 'old-secret-0123456789-0123456789-abcdef';
    const before = await startStack({ simulator: stack.sim, env: { SESSION_SECRET: old } });
    const { token } = await before.newSession();
    await before.close();
    const after = await startStack({
      simulator: stack.sim,
      env: { SESSION_SECRET: `new-secret-0123456789-0123456789-abcdef,${old}` },
    });
    const res = await after.http.get('/guest-session').set(bearer(token));
    await after.close();
    expect(res.status).toBe(200);
  });

  test('a token used from another allowed origin is refused with 401', async () => {
    const { token } = await stack.newSession();
    const res = await stack.http
      .get('/guest-session')
      .set({ Authorization: `Bearer ${token}`, Origin: 'https://shop.example.com' });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthorized');
    // Without an Origin header (a server), the token alone decides.
    expect((await stack.http.get('/guest-session').set('Authorization', `Bearer ${token}`)).status).toBe(200);
  });

  test('an origin off the allowlist is refused before any work', async () => {
    const before = stack.sim.stats.connectionsOpened;
    const res = await stack.http.post('/guest-session').set('Origin', 'https://evil.example.net').send({});
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('origin_not_allowed');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(stack.sim.stats.connectionsOpened).toBe(before);
  });

  test('an expired session token is refused', async () => {
    const short = await startStack({ simulator: stack.sim, env: { SESSION_TTL_SECONDS: '60' } });
    const { token } = await short.newSession();
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    try {
      const res = await short.http.get('/guest-attributes').set(bearer(token));
      expect(res.status).toBe(401);
      expect(res.body.detail).toMatch(/expired/);
    } finally {
      Date.now = realNow;
      await short.close();
    }
  });
});

describe('identity tokens', () => {
  test('verified claims become locked attributes', async () => {
    const identity = await identityToken({
      sub: 'cust-7',
      given_name: 'Grace',
      family_name: 'Hopper',
      email: 'grace@example.com',
      attributes: { tier: 'platinum' },
    });
    const res = await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ identityToken: identity, attributes: { page: '/pricing' } });
    expect(res.status).toBe(201);
    expect(res.body.attributes).toEqual({
      page: '/pricing',
      firstName: 'Grace',
      lastName: 'Hopper',
      email: 'grace@example.com',
      customerId: 'cust-7',
      tier: 'platinum',
      identityVerified: 'true',
      identityIssuer: 'https://shop.example.com',
    });
    const attrs = await stack.http.get('/guest-attributes').set(bearer(res.body.sessionToken));
    expect(attrs.body.locked.sort()).toEqual([
      'customerId',
      'email',
      'firstName',
      'identityIssuer',
      'identityVerified',
      'lastName',
      'tier',
    ]);
  });

  test('with identity configured, the browser can set none of the keys identity sets, nor the verification markers (403)', async () => {
    for (const body of [
      { firstName: 'Not Grace' },
      { email: 'ceo@victim.example' },
      { attributes: { customerId: 'customer-991' } },
      { attributes: { identityVerified: 'true' } },
      { attributes: { identityIssuer: 'https://shop.example.com' } },
    ]) {
      const before = stack.sim.received.length;
      const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send(body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({
        body,
        status: 403,
        code: 'attribute_locked',
      });
      expect(stack.sim.received.length).toBe(before);
    }
  });

  test('an identity token without iat, or living longer than IDENTITY_MAX_TOKEN_AGE_SECONDS, is identity_invalid', async () => {
    const { SignJWT } = await import('jose');
    const key = new TextEncoder().encode(IDENTITY_SECRET);
    const noIat = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(IDENTITY_ISSUER)
      .setAudience(IDENTITY_AUDIENCE)
      .setExpirationTime('5m')
      .sign(key);
    const forever = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(IDENTITY_ISSUER)
      .setAudience(IDENTITY_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(1e12)
      .sign(key);
    for (const token of [noIat, forever]) {
      const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ identityToken: token });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('identity_invalid');
    }
  });

  test('a lone surrogate in an identity claim is identity_invalid', async () => {
    const res = await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ identityToken: await identityToken({ sub: 'cust-\ud800' }) });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('identity_invalid');
  });

  test.each([
    ['a wrong secret', { secret: 'not-the-right-secret-0123456789-abcdefgh' }],
    ['a wrong issuer', { issuer: 'https://evil.example.net' }],
    ['a wrong audience', { audience: 'someone-else' }],
    ['an expired token', { expiresIn: '-2m' }],
  ])('%s is identity_invalid (401)', async (_name, options) => {
    const res = await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ identityToken: await identityToken({ sub: 'x' }, options) });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('identity_invalid');
  });

  test('a token a few seconds past expiry is still accepted within the clock skew', async () => {
    const res = await stack.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ identityToken: await identityToken({ sub: 'x' }, { expiresIn: '-5s' }) });
    expect(res.status).toBe(201);
  });
});

describe('upstream failures', () => {
  test('a refused handshake is upstream_unavailable (502) and the detail stays with the operator', async () => {
    stack.sim.faults.refuseHandshake(403, 10);
    const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
    stack.sim.faults.clear();
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('upstream_unavailable');
    expect(JSON.stringify(res.body)).not.toMatch(/stack|at .*\.ts/);
  });
});

test("docs/api.md's backend example mints an identity token the service accepts, run as pasted (Node, an ES module)", async () => {
  const doc = readFileSync(path.join(__dirname, '../../docs/api.md'), 'utf8');
  const block = [...doc.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => b.includes('// your backend (Node)'));
  expect(block).toBeDefined();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', `${block}\nprocess.stdout.write(identityToken);`],
    {
      cwd: path.join(__dirname, '../..'),
      env: { PATH: process.env.PATH, IDENTITY_JWT_SECRET: IDENTITY_SECRET },
    },
  );
  const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ identityToken: stdout });
  expect([res.status, res.body.code]).toEqual([201, undefined]);
  expect(res.body.attributes).toMatchObject({
    customerId: 'customer-991',
    firstName: 'Ada',
    email: 'ada@example.com',
    tier: 'gold',
    identityVerified: 'true',
    identityIssuer: IDENTITY_ISSUER,
  });
});
