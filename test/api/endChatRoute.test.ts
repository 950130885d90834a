import { bearer, type Stack, startStack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * DELETE /guest-session as routes/session.ts declares it: repeatable on an ended chat, counted
 * against the address's and the session's conversation changes, as every change is, and never
 * leaving a history read that meets it an empty page of a chat that had messages.
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

test('a history read that reaches Genesys after the Clear is refused as of an ended chat, not answered empty', async () => {
  const { token, gt } = await stack.newGuest();
  expect((await stack.http.post('/messages').set(bearer(token)).send({ text: 'before the end' })).status).toBe(201);
  expect((await stack.http.get('/messages').set(bearer(token))).body.messages).toHaveLength(1);

  // The customer's page reads history while the same customer's DELETE ends the chat: the read is at Genesys
  // (held there) when the Clear goes through, and Genesys (the simulator) forgets a cleared conversation.
  const hold = stack.sim.faults.holdRest('history');
  const read = stack.http
    .get('/messages')
    .set(bearer(token))
    .then((res) => res);
  await waitFor(() => hold.held() === 1);
  expect((await end(stack, token)).status).toBe(204);
  expect(stack.sim.conversationMessages(gt)).toEqual([]);
  hold.release();

  const res = await read;
  expect([res.status, res.body.code]).toEqual([410, 'session_expired']);
});
