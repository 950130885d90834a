import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';

/** DELETE /guest-session on a deployment whose Messenger config has conversation clear off. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { conversationClear: false } });
});
afterAll(() => stack.close());

const clearsOf = (gt: string) => stack.sim.framesFor(gt, 'onMessage').filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));

test('DELETE falls back to closeSession when the deployment has conversation clear off: 204', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  const res = await stack.http.delete('/guest-session').set(bearer(token));
  expect(res.status).toBe(204);
  expect(stack.sim.framesFor(gt, 'closeSession')).toHaveLength(1);
  expect(clearsOf(gt)).toHaveLength(0);
});
