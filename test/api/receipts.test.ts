import { dataOf, openStream } from '../support/sse';
import { waitFor } from '../support/wait';
import { bearer, guestTokenOf, type Stack, startStack } from '../support/stack';

/**
 * Receipts (docs/genesys-protocol.md#receipts; CONTRACT section 10) against the strict simulator, which says
 * `Delivered` after each guest message, `Read` when its agent answers one, and `Failed` (`DataFiltered`) for a text
 * its data filter catches (a card number, by default).
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { typingDelayMs: 5, replyDelayMs: 30 } } });
});
afterAll(() => stack.close());

async function session() {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  return { token, gt: guestTokenOf(stack.sim, before) };
}

const CARD = '4111 1111 1111 1111';

test('a message goes sent, delivered, read: on the stream as Genesys says it, and in GET /messages', async () => {
  const { token } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'where is my order?' });
  expect(sent.status).toBe(201);
  expect(sent.body.message).toMatchObject({ status: 'sent' });
  const id = sent.body.message.id as string;
  const read = await stream.next((e) => e.event === 'receipt' && dataOf(e).status === 'read');
  await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'outbound');
  const receipts = stream.events.filter((e) => e.event === 'receipt').map((e) => dataOf(e));
  expect(receipts).toEqual([
    { messageId: id, status: 'delivered', at: expect.any(String) },
    { messageId: id, status: 'read', at: expect.any(String) },
  ]);
  expect(Date.parse(dataOf(read).at as string)).not.toBeNaN();
  const echo = stream.events.find((e) => e.event === 'message' && dataOf(e).id === id);
  expect(dataOf(echo!)).toMatchObject({ status: 'sent' });

  const history = await stack.http.get('/messages').set(bearer(token));
  const mine = history.body.messages.find((m: { id: string }) => m.id === id);
  expect(mine).toMatchObject({ status: 'read' });
  expect(mine.reasons).toBeUndefined();
  // An agent's message has no status: receipts are about the guest's messages.
  const reply = history.body.messages.find((m: { direction: string }) => m.direction === 'outbound');
  expect(reply.status).toBeUndefined();
  stream.close();
});

test('a message the data filter catches fails with its reason: on the stream, in GET /messages, and no agent reads it', async () => {
  const { token, gt } = await session();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  const sent = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ text: `my card is ${CARD}` });
  expect(sent.status).toBe(201);
  const failed = await stream.next((e) => e.event === 'receipt');
  expect(dataOf(failed)).toEqual({
    messageId: sent.body.message.id,
    status: 'failed',
    reasons: [{ code: 'DataFiltered', message: expect.any(String) }],
    at: expect.any(String),
  });

  const history = await stack.http.get('/messages').set(bearer(token));
  expect(history.body.messages).toEqual([
    expect.objectContaining({
      id: sent.body.message.id,
      status: 'failed',
      reasons: [{ code: 'DataFiltered', message: expect.any(String) }],
    }),
  ]);
  // The transcript marks it under its line, in text and in HTML.
  const text = await stack.http.get('/messages/transcript').set(bearer(token));
  expect(text.text).toMatch(new RegExp(`^\\[[^\\]]+\\] You: my card is ${CARD}\\n {4}\\(Not delivered\\)$`, 'm'));
  const html = await stack.http.get('/messages/transcript?format=html').set(bearer(token));
  expect(html.text).toContain('<li dir="auto">(Not delivered)</li>');
  // A message that follows is not failed by it, and is answered.
  const next = await stack.http.post('/messages').set(bearer(token)).send({ text: 'sorry, no card' });
  await stream.next(
    (e) => e.event === 'receipt' && dataOf(e).messageId === next.body.message.id && dataOf(e).status === 'read',
  );
  expect(stack.sim.conversationMessages(gt)).toHaveLength(3);
  stream.close();
});

test('receipts lost in a stream drop come back on resume, from history', async () => {
  const { token, gt } = await session();
  const first = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await first.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'are you there?' });
  const echo = await first.next((e) => e.event === 'message' && dataOf(e).id === sent.body.message.id);
  // The stream drops before Genesys's receipts reach it: they and the agent's answer come while none is open.
  first.close();
  await waitFor(() => stack.sim.conversationMessages(gt).length === 2);

  const resumed = await openStream(`${stack.service.url}/messages/stream`, {
    ...bearer(token),
    'Last-Event-ID': echo.id!,
  });
  await resumed.next((e) => e.event === 'receipt' && dataOf(e).status === 'read');
  const receipts = resumed.events.filter((e) => e.event === 'receipt').map((e) => dataOf(e));
  expect(receipts).toEqual([
    { messageId: sent.body.message.id, status: 'delivered', at: expect.any(String) },
    { messageId: sent.body.message.id, status: 'read', at: expect.any(String) },
  ]);
  resumed.close();
});

describe('read receipts from the customer (READ_RECEIPTS)', () => {
  let on: Stack;
  beforeAll(async () => {
    on = await startStack({ env: { READ_RECEIPTS: 'on' }, sim: { guestReceipts: 'accepted' } });
  });
  afterAll(() => on.close());

  const receiptsAt = (s: Stack, gt: string) =>
    s.sim
      .framesFor(gt, 'onMessage')
      .map((f) => (f.frame as { message?: { type?: string; status?: string; id?: string } }).message)
      .filter((m) => m?.type === 'Receipt');

  test('on: capabilities say so; Genesys hears Read once per message, whatever reports it again', async () => {
    const { token, gt } = await on.newGuest();
    expect((await on.http.get('/capabilities').set(bearer(token))).body).toMatchObject({ readReceipts: true });
    on.sim.agent.say(gt, 'first');
    on.sim.agent.say(gt, 'second');
    const page = await on.http.get('/messages').set(bearer(token));
    const [first, second] = page.body.messages.map((m: { id: string }) => m.id) as string[];

    expect((await on.http.post('/messages/read').set(bearer(token)).send({ messageId: first })).status).toBe(204);
    // Another tab, a reload, and the same one again: nothing more reaches Genesys.
    for (let i = 0; i < 3; i++)
      expect((await on.http.post('/messages/read').set(bearer(token)).send({ messageId: first })).status).toBe(204);
    expect((await on.http.post('/messages/read').set(bearer(token)).send({ messageId: second })).status).toBe(204);
    await waitFor(() => receiptsAt(on, gt).length === 2);
    expect(receiptsAt(on, gt)).toEqual([
      { type: 'Receipt', status: 'Read', id: first },
      { type: 'Receipt', status: 'Read', id: second },
    ]);
  });

  test('a message id that is no id is refused with a clear problem, and nothing is sent', async () => {
    const { token, gt } = await on.newGuest();
    for (const body of [{}, { messageId: '' }, { messageId: 'a\nid' }, { messageId: 'x'.repeat(129) }, { id: 'm' }]) {
      const res = await on.http.post('/messages/read').set(bearer(token)).send(body);
      expect([res.status, res.body.code]).toEqual([400, 'validation_failed']);
    }
    expect(receiptsAt(on, gt)).toEqual([]);
  });

  test('where Genesys refuses them, the operator is told to turn them off', async () => {
    const { token, gt } = await on.newGuest();
    on.sim.setOptions({ guestReceipts: 'refused' });
    try {
      on.sim.agent.say(gt, 'refused');
      const [message] = (await on.http.get('/messages').set(bearer(token))).body.messages as { id: string }[];
      expect((await on.http.post('/messages/read').set(bearer(token)).send({ messageId: message!.id })).status).toBe(
        204,
      );
      await waitFor(() => on.log.messages('warn').includes(REFUSED));
    } finally {
      on.sim.setOptions({ guestReceipts: 'accepted' });
    }
  });

  test('off (the default): capabilities say so, and POST /messages/read is refused with nothing sent', async () => {
    const { token, gt } = await stack.newGuest();
    expect((await stack.http.get('/capabilities').set(bearer(token))).body).toMatchObject({ readReceipts: false });
    stack.sim.agent.say(gt, 'unread');
    const res = await stack.http.post('/messages/read').set(bearer(token)).send({ messageId: 'abc' });
    expect([res.status, res.body.code]).toEqual([409, 'conflict']);
    expect(receiptsAt(stack, gt)).toEqual([]);
  });
});

const REFUSED = 'Genesys refused a read receipt: set READ_RECEIPTS=off for this deployment';
