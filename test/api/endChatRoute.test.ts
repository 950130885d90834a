import { bearer, type Stack, startStack } from '../support/stack';

/**
 * DELETE /guest-session as routes/session.ts declares it: repeatable on an ended chat, and counted
 * against the address's and the session's conversation changes, as every change is.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());

const end = (on: Stack, token: string) => on.http.delete('/guest-session').set(bearer(token));

test('ending an ended chat answers 204 again', async () => {
  const { token } = await stack.newSession();
  expect((await end(stack, token)).status).toBe(204);
  expect((await end(stack, token)).status).toBe(204);
});

test.each([
  // A new session is not a change of a conversation (SESSIONS_PER_IP_PER_MINUTE counts those).
  ['address', { CONVERSATION_CHANGES_PER_IP_PER_MINUTE: '1' }],
  ['session', { CONVERSATION_CHANGES_PER_SESSION_PER_MINUTE: '1' }],
])('a DELETE counts against the %s limit of conversation changes', async (_what, env) => {
  const limited = await startStack({ simulator: stack.sim, env });
  try {
    const { token } = await limited.newSession();
    expect((await end(limited, token)).status).toBe(204);
    const refused = await end(limited, token);
    expect([refused.status, refused.body.code]).toEqual([429, 'rate_limited']);
  } finally {
    await limited.close();
  }
});
