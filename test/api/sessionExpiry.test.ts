import { steerableClock } from '../support/clock';
import { bearer, startStack, type Stack } from '../support/stack';

/**
 * Genesys moves a session's expiry forward with every message (its transport SDK computes `now + durationSeconds`
 * and confirms with `echo`: docs/genesys-protocol.md#session-expiry-slides). On a deployment with short sessions,
 * an active guest's expiry moves with them, in /capabilities and in the session's own responses.
 */
let stack: Stack;
// The service's clock and Genesys's, moved by the test: a minute passes without waiting for one.
const clock = steerableClock();
const LIFETIME_S = 900; // the shortest session Genesys lets an admin configure (15 minutes)

beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false }, sessionDurationSeconds: LIFETIME_S }, now: clock.now });
});

afterAll(async () => {
  await stack.close();
});

const expiryOf = async (token: string): Promise<number> => {
  const res = await stack.http.get('/capabilities').set(bearer(token));
  expect(res.status).toBe(200);
  return Date.parse(res.body.session.expiresAt as string);
};

test("the session's expiry moves with each message on a short-session deployment", async () => {
  const { token } = await stack.newSession();
  const first = await expiryOf(token);
  expect(Math.abs(first - (clock.now() + LIFETIME_S * 1000))).toBeLessThan(5_000);

  clock.advance(10 * 60_000);
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'still here' });
  expect(sent.status).toBe(201);
  const moved = await expiryOf(token);
  // A whole lifetime from the message, not the snapshot the session started with.
  expect(moved - first).toBeGreaterThan(9 * 60_000);
  expect(Math.abs(moved - (clock.now() + LIFETIME_S * 1000))).toBeLessThan(5_000);

  const state = await stack.http.get('/guest-session').set(bearer(token));
  expect(state.status).toBe(200);
  expect(Math.abs(Date.parse(state.body.sessionExpiresAt as string) - moved)).toBeLessThan(1_000);

  // Genesys agrees (its echo says when it will end the session now).
  clock.advance(5 * 60_000);
  const again = await stack.http.post('/messages').set(bearer(token)).send({ text: 'and again' });
  expect(again.status).toBe(201);
  expect(await expiryOf(token)).toBeGreaterThan(moved + 4 * 60_000);
});

test("a session's first message moves its expiry, though the lifetime was not known yet when it went", async () => {
  const { token } = await stack.newSession();
  clock.advance(10 * 60_000);
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'first words, ten minutes in' });
  expect(sent.status).toBe(201);
  expect(Math.abs((await expiryOf(token)) - (clock.now() + LIFETIME_S * 1000))).toBeLessThan(5_000);
});
