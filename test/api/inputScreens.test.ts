import { messageIdFor } from '../../src/session/sending/idempotency';
import { bearer, guestTokenOf, identityToken, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/** Each screen on its own: none of these may pass because another layer happens to catch it too. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());

test('a text of exactly 4096 UTF-8 bytes is sent; 4097 bytes is refused before Genesys', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const exact = 'é'.repeat(2048);
  expect(Buffer.byteLength(exact)).toBe(4096);
  expect((await stack.http.post('/messages').set(bearer(token)).send({ text: exact })).status).toBe(201);
  const over = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ text: `${exact}x` });
  expect(over.status).toBe(413);
  expect(over.body.code).toBe('message_too_long');
  expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(1);
});

test('a reserved key nested anywhere in a body is refused, not only at the top or inside attributes', async () => {
  const { token } = await stack.newSession();
  const nested = '{"quickReply":{"text":"a","payload":"b","meta":{"deep":{"constructor":{"x":1}}}}}';
  const res = await stack.http
    .post('/messages')
    .set({ ...bearer(token), 'Content-Type': 'application/json' })
    .send(nested);
  expect(res.status).toBe(400);
  expect(res.body.detail).toContain('constructor');
});

test('an identity token whose attributes claim holds a reserved key is refused, not locked in', async () => {
  const identity = await identityToken({ sub: 'c-1', attributes: JSON.parse('{"__proto__":"x","tier":"gold"}') });
  const res = await stack.http.post('/guest-session').set('Origin', PAGE_ORIGIN).send({ identityToken: identity });
  expect(res.status).toBe(400);
  expect(res.body.code).toBe('validation_failed');
});

test('the same Idempotency-Key in two sessions names two different messages', () => {
  expect(messageIdFor('guest-a', 'key-1')).not.toBe(messageIdFor('guest-b', 'key-1'));
  expect(messageIdFor('guest-a', 'key-1')).toBe(messageIdFor('guest-a', 'key-1'));
});

test('a refused origin still gets Vary: Origin, so no cache hands its answer to an allowed one', async () => {
  const res = await stack.http.get('/guest-session').set('Origin', 'https://evil.example');
  expect(res.status).toBe(403);
  expect(String(res.headers.vary)).toMatch(/origin/i);
});

test("the attribute budget is the deployment's maxCustomDataBytes, not a default", async () => {
  const small = await startStack({ sim: { maxCustomDataBytes: 100, agent: { enabled: false } } });
  try {
    const fits = await small.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ attributes: { note: 'x'.repeat(90) } });
    expect(fits.status).toBe(201);
    expect(fits.body.limits.maxCustomDataBytes).toBe(100);
    const over = await small.http
      .patch('/guest-attributes')
      .set(bearer(fits.body.sessionToken))
      .send({ more: 'y'.repeat(20) });
    expect(over.status).toBeGreaterThanOrEqual(413);
    expect(over.body.code).toBe('attributes_too_large');
  } finally {
    await small.close();
    await small.sim.stop();
  }
});
