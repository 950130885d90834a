import { bearer, guestTokenOf, identityToken, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());

async function lockedSession() {
  const identity = await identityToken({ sub: 'cust-1', email: 'locked@example.com' });
  const before = stack.sim.received.length;
  const { token } = await stack.newSession({ identityToken: identity, attributes: { page: '/home' } });
  return { token, gt: guestTokenOf(stack.sim, before) };
}

test('GET /guest-attributes lists the attributes and the locked keys', async () => {
  const { token } = await lockedSession();
  const res = await stack.http.get('/guest-attributes').set(bearer(token));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    attributes: {
      page: '/home',
      customerId: 'cust-1',
      email: 'locked@example.com',
      identityVerified: 'true',
      identityIssuer: 'https://shop.example.com',
    },
    locked: ['customerId', 'email', 'identityVerified', 'identityIssuer'],
  });
});

test('PUT replaces the browser-settable attributes and keeps the locked ones', async () => {
  const { token } = await lockedSession();
  const res = await stack.http.put('/guest-attributes').set(bearer(token)).send({ cart: '3 items' });
  expect(res.status).toBe(200);
  expect(res.body.attributes).toEqual({
    customerId: 'cust-1',
    email: 'locked@example.com',
    cart: '3 items',
    identityVerified: 'true',
    identityIssuer: 'https://shop.example.com',
  });
  const after = await stack.http.get('/guest-attributes').set(bearer(res.body.sessionToken));
  expect(after.body.attributes).toEqual(res.body.attributes);
});

test('PATCH merges, and null removes a key', async () => {
  const { token } = await lockedSession();
  const res = await stack.http.patch('/guest-attributes').set(bearer(token)).send({ cart: '1 item', page: null });
  expect(res.status).toBe(200);
  expect(res.body.attributes).toEqual({
    customerId: 'cust-1',
    email: 'locked@example.com',
    cart: '1 item',
    identityVerified: 'true',
    identityIssuer: 'https://shop.example.com',
  });
});

test('a locked key cannot be changed or removed by the browser (403 attribute_locked), and nothing changes', async () => {
  const { token } = await lockedSession();
  for (const [method, body] of [
    ['patch', { email: 'other@example.com' }],
    ['patch', { email: null }],
    ['put', { email: 'other@example.com' }],
  ] as const) {
    const res = await stack.http[method]('/guest-attributes').set(bearer(token)).send(body);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('attribute_locked');
  }
  const start = await stack.http.post('/guest-session').set(bearer(token)).send({ email: 'again@example.com' });
  expect(start.status).toBe(403);
  const after = await stack.http.get('/guest-attributes').set(bearer(token));
  expect(after.body.attributes.email).toBe('locked@example.com');
});

test('attributes over maxCustomDataBytes are refused with 413 and nothing changes', async () => {
  const { token } = await stack.newSession({ attributes: { a: 'b' } });
  const res = await stack.http
    .patch('/guest-attributes')
    .set(bearer(token))
    .send({ big: 'é'.repeat(1100) });
  expect(res.status).toBe(413);
  expect(res.body).toMatchObject({ code: 'attributes_too_large', limit: 2048 });
  expect((await stack.http.get('/guest-attributes').set(bearer(token))).body.attributes).toEqual({ a: 'b' });
  const start = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ attributes: { big: 'x'.repeat(2100) } });
  expect(start.status).toBe(413);
});

test('attribute values must be strings; reserved keys are refused loudly', async () => {
  const { token } = await stack.newSession();
  const number = await stack.http.patch('/guest-attributes').set(bearer(token)).send({ count: 3 });
  expect(number.status).toBe(400);
  expect(number.body.code).toBe('validation_failed');
  const proto = await stack.http
    .patch('/guest-attributes')
    .set({ ...bearer(token), 'Content-Type': 'application/json' })
    .send('{"__proto__":"x"}');
  expect(proto.status).toBe(400);
  expect(proto.body.detail).toMatch(/__proto__/);
  const array = await stack.http.put('/guest-attributes').set(bearer(token)).send(['a']);
  expect(array.status).toBe(400);
});

test('a body wrapped as {"attributes": {...}} is refused with a detail saying the body is the map itself, and nothing changes', async () => {
  const { token } = await stack.newSession({ attributes: { page: '/home' } });
  for (const method of ['put', 'patch'] as const) {
    const res = await stack.http[method]('/guest-attributes')
      .set(bearer(token))
      .send({ attributes: { cart: '3 items' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.detail).toBe(
      'attributes: an attribute value must be a string, not an object: the body is the attributes map itself, like {"cart":"3 items"}, not {"attributes":{"cart":"3 items"}}',
    );
  }
  expect((await stack.http.get('/guest-attributes').set(bearer(token))).body.attributes).toEqual({ page: '/home' });
  // The same shape is right where attributes are one field among others.
  const start = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ attributes: { cart: '3 items' } });
  expect(start.status).toBe(201);
});

test('attributes reach Genesys once, with the first message, and changes go with the next one', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession({ attributes: { plan: 'gold', name: 'Ada' } });
  const gt = guestTokenOf(stack.sim, before);
  let current = token;
  const send = async (text: string) => {
    const res = await stack.http.post('/messages').set(bearer(current)).send({ text });
    expect(res.status).toBe(201);
    current = res.body.sessionToken;
  };
  await send('one');
  await send('two');
  const patched = await stack.http.patch('/guest-attributes').set(bearer(current)).send({ plan: 'platinum' });
  current = patched.body.sessionToken;
  await send('three');
  await send('four');
  // One entry per message: a frame Genesys refused for its rate and the service wrote again carries the same tracingId.
  const carried = onePerMessage(stack.sim.framesFor(gt, 'onMessage')).map(
    (f) => f.frame.message.channel?.metadata?.customAttributes,
  );
  expect(carried).toEqual([{ plan: 'gold', name: 'Ada' }, undefined, { plan: 'platinum', name: 'Ada' }, undefined]);
  expect(stack.sim.customAttributes(gt)).toEqual({ plan: 'platinum', name: 'Ada' });
});

test('a send Genesys refuses (429) goes out again after its wait with the attributes it carried, and they reach Genesys once', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession({ attributes: { source: 'ad' } });
  const gt = guestTokenOf(stack.sim, before);
  stack.sim.faults.rateLimit({ retryAfter: 1, times: 1, sessionToken: gt });
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'first try' });
  expect(sent.status).toBe(201);
  // The newest token says the attributes reached Genesys.
  const ok = await stack.http
    .post('/messages')
    .set(bearer(sent.body.sessionToken ?? token))
    .send({ text: 'second try' });
  expect(ok.status).toBe(201);
  const written = stack.sim.framesFor(gt, 'onMessage');
  // The refused frame was written again, the same frame with the same attributes; the next message does not need them.
  expect(written.length).toBeGreaterThanOrEqual(3);
  expect(written[1]!.frame).toEqual(written[0]!.frame);
  expect(onePerMessage(written).map((f) => f.frame.message.channel?.metadata?.customAttributes)).toEqual([
    { source: 'ad' },
    undefined,
  ]);
  expect(stack.sim.customAttributes(gt)).toEqual({ source: 'ad' });
});

test('with autostart on, attributes ride on the Join at session start, before any message', async () => {
  stack.sim.setOptions({ autoStart: true });
  const autostart = await startStack({ simulator: stack.sim, env: { DEPLOYMENT_CACHE_TTL_SECONDS: '1' } });
  try {
    const before = stack.sim.received.length;
    const { token } = await autostart.newSession({ attributes: { intent: 'billing' } });
    const gt = guestTokenOf(stack.sim, before);
    const join = stack.sim.framesFor(gt, 'onMessage')[0]!.frame;
    expect(join.message).toEqual({
      type: 'Event',
      events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
      channel: { metadata: { customAttributes: { intent: 'billing' } } },
    });
    expect(stack.sim.customAttributes(gt)).toEqual({ intent: 'billing' });
    const res = await autostart.http.post('/messages').set(bearer(token)).send({ text: 'hello' });
    expect(res.status).toBe(201);
    expect(stack.sim.framesFor(gt, 'onMessage')[1]!.frame.message.channel).toBeUndefined();
  } finally {
    stack.sim.setOptions({ autoStart: false });
    await autostart.close();
  }
});

test('an older token cannot set identity keys after the session was resumed with an identity token', async () => {
  const before = stack.sim.received.length;
  const { token: t0 } = await stack.newSession({ attributes: { page: '/home' } });
  const gt = guestTokenOf(stack.sim, before);
  const t1 = await stack.http
    .post('/guest-session')
    .set(bearer(t0))
    .send({ identityToken: await identityToken({ sub: 'cust-42' }) });
  expect(t1.status).toBe(200);
  for (const change of [{ customerId: 'victim-42' }, { email: 'ceo@victim.example' }, { identityVerified: 'true' }]) {
    const res = await stack.http.patch('/guest-attributes').set(bearer(t0)).send(change);
    expect({ change, status: res.status, code: res.body.code }).toEqual({
      change,
      status: 403,
      code: 'attribute_locked',
    });
  }
  expect((await stack.http.post('/messages').set(bearer(t0)).send({ text: 'hello' })).status).toBe(201);
  const carried = stack.sim
    .framesFor(gt, 'onMessage')
    .map((f) => f.frame.message.channel?.metadata?.customAttributes ?? {});
  for (const attrs of carried) expect(attrs.customerId === undefined || attrs.customerId === 'cust-42').toBe(true);
});

test('look-alikes of reserved and locked keys are refused (403 attribute_locked): another case, Cyrillic letters, full width', async () => {
  const { token } = await lockedSession();
  const lookAlikes = [
    'IdentityVerified',
    'identityverified',
    '\u0456dentityVerified',
    'customerID',
    'ＣｕｓｔｏｍｅｒＩｄ',
    'EMAIL',
    'identityІssuer',
  ];
  for (const key of lookAlikes) {
    const res = await stack.http
      .patch('/guest-attributes')
      .set(bearer(token))
      .send({ [key]: 'true' });
    expect({ key, status: res.status, code: res.body.code }).toEqual({ key, status: 403, code: 'attribute_locked' });
  }
  const started = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ attributes: { '\u0456dentityVerified': 'true' } });
  expect([started.status, started.body.code]).toEqual([403, 'attribute_locked']);
  // Nothing changed, and an ordinary key is still welcome.
  const after = await stack.http.get('/guest-attributes').set(bearer(token));
  expect(Object.keys(after.body.attributes).sort()).toEqual([
    'customerId',
    'email',
    'identityIssuer',
    'identityVerified',
    'page',
  ]);
  expect((await stack.http.patch('/guest-attributes').set(bearer(token)).send({ identityHint: 'x' })).status).toBe(200);
});

test("a session verified as one customer cannot be resumed with another customer's identity token (409); the same customer resumes", async () => {
  const { token } = await lockedSession();
  const other = await stack.http
    .post('/guest-session')
    .set(bearer(token))
    .send({ identityToken: await identityToken({ sub: 'cust-2', email: 'other@example.com' }) });
  expect([other.status, other.body.code]).toEqual([409, 'conflict']);
  const otherIssuer = await stack.http
    .post('/guest-session')
    .set(bearer(token))
    .send({ identityToken: await identityToken({ sub: 'cust-1' }, { issuer: 'https://elsewhere.example.com' }) });
  expect(otherIssuer.status).toBeGreaterThanOrEqual(400);
  const unchanged = await stack.http.get('/guest-attributes').set(bearer(token));
  expect(unchanged.body.attributes).toMatchObject({ customerId: 'cust-1', email: 'locked@example.com' });
  const same = await stack.http
    .post('/guest-session')
    .set(bearer(token))
    .send({ identityToken: await identityToken({ sub: 'cust-1', email: 'new@example.com' }) });
  expect(same.status).toBe(200);
  expect(same.body.attributes).toMatchObject({ customerId: 'cust-1', email: 'new@example.com' });
});

test('attribute writes are limited per session and per address (429 with Retry-After), PUT and PATCH alike', async () => {
  const limited = await startStack({
    simulator: stack.sim,
    env: { ATTRIBUTE_WRITES_PER_SESSION_PER_MINUTE: '3', ATTRIBUTE_WRITES_PER_IP_PER_MINUTE: '5' },
  });
  try {
    const write = (method: 'put' | 'patch', token: string, body: object) =>
      limited.http[method]('/guest-attributes').set(bearer(token)).send(body);
    const a = await limited.newSession();
    expect((await write('put', a.token, { step: '1' })).status).toBe(200);
    expect((await write('patch', a.token, { step: '2' })).status).toBe(200);
    expect((await write('patch', a.token, { step: '3' })).status).toBe(200);
    const perSession = await write('patch', a.token, { step: '4' });
    expect([perSession.status, perSession.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(perSession.headers['retry-after'])).toBeGreaterThan(0);
    // Reads are not writes.
    expect((await limited.http.get('/guest-attributes').set(bearer(a.token))).status).toBe(200);

    const b = await limited.newSession();
    expect((await write('patch', b.token, { step: '1' })).status).toBe(200);
    // Five writes from this address in the minute (the refused one counts too): the sixth is refused, whatever the session.
    const perIp = await write('put', b.token, { step: '2' });
    expect([perIp.status, perIp.body.code]).toEqual([429, 'rate_limited']);
    expect(Number(perIp.headers['retry-after'])).toBeGreaterThan(0);
  } finally {
    await limited.close();
  }
});

/** The frames of distinct messages: one written again after a refusal carries the same tracingId. */
function onePerMessage<T extends { frame: { tracingId?: string } }>(frames: T[]): T[] {
  const seen = new Set<string | undefined>();
  return frames.filter((f) => !seen.has(f.frame.tracingId) && (seen.add(f.frame.tracingId), true));
}
