import { scrape } from '../support/metrics';
import { bearer, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Delivery of webhooks (docs/api.md#webhooks) when the receiver fails: answered 503 or refusing connections for a
 * while, every event still arrives, none twice; a 410 disables the endpoint, the dead-letter list on the metrics
 * listener shows what was not delivered, and a replay delivers it. Backoff is short (WEBHOOK_RETRY_FIRST_MS), so
 * the retries happen within the test; nothing waits on a clock.
 */

let stack: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({
    sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 } },
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, WEBHOOK_RETRY_FIRST_MS: '40', METRICS_PORT: '0' },
  });
});
afterAll(async () => {
  await stack.close();
  await receiver.close();
});

const outcomes = async () => {
  const s = await scrape(stack.service.metricsUrl!);
  const of = (outcome: string) => s.value('genesys_bff_webhook_deliveries_total', { deployment: 'default', outcome });
  return {
    delivered: of('delivered'),
    failed: of('failed'),
    disabled: of('disabled'),
    deadLettered: of('dead_lettered'),
    depth: s.value('genesys_bff_webhook_outbox_depth', { deployment: 'default' }),
    dead: s.value('genesys_bff_webhook_dead_letters', { deployment: 'default' }),
  };
};

const operator = (path: string, init?: RequestInit) =>
  fetch(new URL(path, stack.service.metricsUrl!), init).then(async (res) => ({
    status: res.status,
    body: await res.json(),
  }));

/** A short chat: its start, three messages sent and what the bot answers. */
async function chat(): Promise<string> {
  const { token } = await stack.newSession();
  for (const text of ['one', 'two', 'three'])
    expect((await stack.http.post('/messages').set(bearer(token)).send({ text })).status).toBe(201);
  return token;
}

/** The ids of the bot's answers in the chat's history (Genesys's), once it has answered each of the three sends. */
async function answersIn(token: string): Promise<string[]> {
  let outbound: string[] = [];
  await waitFor(async () => {
    const history = await stack.http.get('/messages?pageSize=100').set(bearer(token));
    outbound = (history.body.messages as Array<{ id: string; direction: string }>)
      .filter((m) => m.direction === 'outbound')
      .map((m) => m.id);
    return outbound.length >= 3;
  });
  return outbound;
}

test('a receiver answering 503, then refusing connections, then up: every event arrives, none twice', async () => {
  receiver.received.length = 0;
  const before = await outcomes();
  receiver.answer(503);
  const token = await chat();
  const answers = await answersIn(token);
  expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
  // Four events at least were tried and refused, some more than once.
  await waitFor(() => receiver.received.length >= 8);
  await receiver.stop();
  const refusedAt = (await outcomes()).failed;
  await waitFor(async () => (await outcomes()).failed >= refusedAt + 4);
  receiver.answer(204);
  await receiver.start();
  // Every event queued gets through: nothing waits in the outbox.
  await waitFor(
    async () => (await outcomes()).depth === 0 && receiver.accepted().some((d) => d.body.type === 'chat.ended'),
    30_000,
    50,
  );
  const accepted = receiver.accepted();
  const ids = accepted.map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
  // What was refused is what arrived later: the same ids, nothing lost.
  const refused = new Set(receiver.received.filter((d) => d.status === 503).map((d) => d.id));
  expect([...refused].every((id) => ids.includes(id))).toBe(true);
  const types = accepted.map((d) => d.body.type);
  expect(types.filter((t) => t === 'chat.started')).toHaveLength(1);
  expect(types.filter((t) => t === 'message.sent')).toHaveLength(3);
  // Each of the bot's answers once, and the end once, by the customer.
  expect(
    accepted
      .filter((d) => d.body.type === 'message.received')
      .map((d) => (d.body.data.message as { id: string }).id)
      .sort(),
  ).toEqual([...answers].sort());
  expect(accepted.filter((d) => d.body.type === 'chat.ended').map((d) => d.body.data)).toEqual([{ by: 'guest' }]);
  expect(accepted).toHaveLength(1 + 3 + answers.length + 1);
  const after = await outcomes();
  expect(after.delivered - before.delivered).toBe(accepted.length);
  expect(after.deadLettered).toBe(before.deadLettered);
}, 60_000);

test('a 410 disables the endpoint; the dead-letter list shows what was not delivered, and a replay delivers it', async () => {
  receiver.received.length = 0;
  const before = await outcomes();
  receiver.answer(410);
  await chat();
  await waitFor(async () => (await outcomes()).disabled === before.disabled + 1);
  // Everything of the chat goes to the dead-letter list, tried once at most: the endpoint is disabled. The chat is
  // its start, three messages sent and the bot's three answers; the answers come a moment after the sends.
  const listedTypes = async () =>
    ((await operator('/webhooks/dead-letter?deployment=default')).body.deadLetters as Array<{ type: string }>).map(
      (d) => d.type,
    );
  await waitFor(async () => (await listedTypes()).filter((t) => t === 'message.received').length === 3);
  await waitFor(async () => (await outcomes()).depth === 0);
  const listed = await operator('/webhooks/dead-letter?deployment=default');
  expect(listed.status).toBe(200);
  const dead = listed.body.deadLetters as Array<{ id: string; webhookId: string; type: string; reason: string }>;
  expect(dead.length).toBeGreaterThanOrEqual(4);
  expect(dead.map((d) => d.type)).toEqual(expect.arrayContaining(['chat.started', 'message.sent']));
  expect(new Set(dead.map((d) => d.reason))).toEqual(new Set(['endpoint_disabled']));
  expect(receiver.received.filter((d) => d.status === 410)).toHaveLength(1);
  expect((await outcomes()).dead).toBe(dead.length);

  // The operator fixes the receiver and replays.
  receiver.answer(204);
  const replay = await operator('/webhooks/dead-letter/replay?deployment=default', { method: 'POST', body: '{}' });
  expect(replay).toEqual({ status: 200, body: { replayed: dead.length, notFound: 0 } });
  await waitFor(() => dead.every((d) => receiver.accepted().some((a) => a.id === d.webhookId)));
  expect((await operator('/webhooks/dead-letter')).body.deadLetters).toEqual([]);
  const ids = receiver.accepted().map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
}, 60_000);

test('the operator routes refuse what they cannot do, with problem+json', async () => {
  const unknown = await operator('/webhooks/dead-letter?deployment=nope');
  expect(unknown.status).toBe(400);
  expect(unknown.body).toMatchObject({ code: 'validation_failed' });
  expect((await operator('/webhooks/dead-letter/replay', { method: 'POST', body: '{"ids": 3}' })).status).toBe(400);
  expect((await operator('/webhooks/dead-letter/replay')).status).toBe(405);
  // Never on the public port.
  expect((await stack.http.get('/webhooks/dead-letter')).status).toBe(404);
});
