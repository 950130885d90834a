import { dataOf, openStream } from '../support/sse';
import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';

/** DELETE /guest-session on a deployment whose Messenger config has conversation clear off. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { conversationClear: false } });
});
afterAll(() => stack.close());

const clearsOf = (gt: string) =>
  stack.sim.framesFor(gt, 'onMessage').filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));

test('DELETE falls back to closeSession when the deployment has conversation clear off: 204', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const res = await stack.http.delete('/guest-session').set(bearer(token));
  expect(res.status).toBe(204);
  expect(stack.sim.framesFor(gt, 'closeSession')).toHaveLength(1);
  expect(clearsOf(gt)).toHaveLength(0);
});

test('after the closeSession fallback, open streams hear that the session is over', async () => {
  const { token } = await stack.newSession();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
  const last = await stream.next((e) => e.event === 'session' && dataOf(e).reconnect !== undefined);
  expect(dataOf(last)).toMatchObject({ state: 'expired', reconnect: false });
  await stream.ended;
});
