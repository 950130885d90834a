import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';

/**
 * DELETE /guest-session on a deployment whose Messenger config says conversation clear is on, when
 * Genesys answers the Presence Clear otherwise: refused (the feature was switched off after the
 * service read the config, which it keeps for DEPLOYMENT_CACHE_TTL_SECONDS) falls back to
 * closeSession.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { DEPLOYMENT_CACHE_TTL_SECONDS: '3600' } });
});
afterAll(() => stack.close());
afterEach(() => stack.sim.setOptions({ conversationClear: true }));

const clearsOf = (gt: string) =>
  stack.sim.framesFor(gt, 'onMessage').filter((f) => JSON.stringify(f.frame.message).includes('"Clear"'));

test('a Clear Genesys refuses ends the chat with closeSession instead: 204, and a warning says so', async () => {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = guestTokenOf(stack.sim, before);
  stack.sim.setOptions({ conversationClear: false });
  const res = await stack.http.delete('/guest-session').set(bearer(token));
  expect(res.status).toBe(204);
  expect(clearsOf(gt)).toHaveLength(1);
  expect(stack.sim.framesFor(gt, 'closeSession')).toHaveLength(1);
  expect(stack.log.lines()).toContainEqual(
    expect.objectContaining({
      guestFailure: 'forbidden',
      msg: 'Presence Clear did not end the chat; closing the session instead',
    }),
  );
});
