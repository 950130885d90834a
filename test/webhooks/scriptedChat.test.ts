import { Webhook } from 'standardwebhooks';
import { scrape } from '../support/metrics';
import { signInAt } from '../support/signIn';
import { dataOf, openStream } from '../support/sse';
import { bearer, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';
import { startWebhookReceiver, WEBHOOK_SECRET, type Delivery, type WebhookReceiver } from '../support/webhookReceiver';

/**
 * Webhooks of a whole chat (docs/api.md#webhooks), against the strict simulator: a start, messages both ways, an
 * agent joining and leaving, an upload, a sign-in and the end each reach a local receiver once, signed per Standard
 * Webhooks (checked with standardwebhooks' Webhook.verify), numbered in the chat's order.
 */

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

let stack: Stack;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  stack = await startStack({
    sim: { agent: { typingDelayMs: 5, replyDelayMs: 20 }, dataFilter: 'forbidden phrase' },
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET, METRICS_PORT: '0' },
  });
  stack.sim.setOptions({ authEnabled: true, allowSessionUpgrade: true, authJwtLifetimeSeconds: 900, clock: Date.now });
});
afterAll(async () => {
  await stack.close();
  await receiver.close();
});

test('every event of a scripted chat arrives once, verified, in the chat sequence', async () => {
  const { token: first } = await stack.newSession();
  let token = first;
  const ticket = (await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string;
  const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    Origin: PAGE_ORIGIN,
  });
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
  const send = async (text: string) => {
    const res = await stack.http.post('/messages').set(bearer(token)).send({ text });
    expect(res.status).toBe(201);
    token = res.body.sessionToken ?? token;
    return res.body.message as { id: string };
  };

  const asked = await send('talk to a person');
  await stream.next((e) => e.event === 'presence' && dataOf(e).presence === 'join');
  await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'outbound');
  const upload = await stack.http
    .post('/attachments')
    .set(bearer(token))
    .attach('file', PNG, { filename: 'photo.png', contentType: 'image/png' });
  expect(upload.status).toBe(201);
  const back = await send('back to the bot');
  await stream.next((e) => e.event === 'presence' && dataOf(e).presence === 'disconnect');
  await stream.next(
    (e) => e.event === 'message' && dataOf(e).direction === 'outbound' && dataOf(e).originatingEntity === 'bot',
  );
  // Genesys's data filter refuses this one: a Failed receipt.
  const filtered = await send('a forbidden phrase');
  await stream.next((e) => e.event === 'receipt' && dataOf(e).status === 'failed');
  const signedIn = await stack.http
    .post('/guest-session/sign-in')
    .set(bearer(token))
    .send({ auth: await signInAt(stack.sim, 'customer-webhooks') });
  expect(signedIn.status).toBe(200);
  token = signedIn.body.sessionToken;
  const history = await stack.http.get('/messages?pageSize=100').set(bearer(token));
  const outbound = (history.body.messages as Array<{ id: string; direction: string }>)
    .filter((m) => m.direction === 'outbound')
    .map((m) => m.id);
  expect((await stack.http.delete('/guest-session').set(bearer(token))).status).toBe(204);
  stream.close();

  // Started, three sent, the answers, joined, left, uploaded, the failed receipt, signed in, ended.
  const expected = 1 + 3 + outbound.length + 1 + 1 + 1 + 1 + 1 + 1;
  await waitFor(
    () => receiver.accepted().length >= expected && receiver.accepted().some((d) => d.body.type === 'chat.ended'),
  );
  // Then the outbox empty (its depth gauge 0, read after the last delivery was removed): a repeat queued late, or
  // an event beyond the chat's, would be delivered by now and fail the exact count below.
  await waitFor(async () => {
    const metrics = await scrape(stack.service.metricsUrl!);
    return metrics.value('genesys_bff_webhook_outbox_depth', { deployment: 'default' }) === 0;
  });
  const deliveries = receiver.accepted();
  expect(receiver.unverified).toEqual([]);
  // Verified by the library a receiver uses, apart from the receiver's own check.
  for (const d of deliveries) expect(new Webhook(WEBHOOK_SECRET).verify(d.raw, d.headers)).toEqual(d.body);
  // Once each: no webhook-id twice, and nothing beyond what the chat did.
  expect(new Set(deliveries.map((d) => d.id)).size).toBe(deliveries.length);
  expect(deliveries).toHaveLength(expected);

  const inOrder = [...deliveries].sort((a, b) => a.body.chat.sequence - b.body.chat.sequence);
  expect(new Set(deliveries.map((d) => d.body.chat.id)).size).toBe(1);
  expect(new Set(deliveries.map((d) => d.body.chat.sequence)).size).toBe(deliveries.length);
  const types = inOrder.map((d) => d.body.type);
  const at = (type: string, where: (d: Delivery) => boolean = () => true) =>
    inOrder.findIndex((d) => d.body.type === type && where(d));
  expect(types[0]).toBe('chat.started');
  expect(types.at(-1)).toBe('chat.ended');
  expect(inOrder.at(-1)!.body.data).toEqual({ by: 'guest' });
  const sent = (id: string) => (d: Delivery) => (d.body.data.message as { id: string }).id === id;
  expect(at('message.sent', sent(asked.id))).toBeLessThan(at('agent.joined'));
  expect(at('agent.joined')).toBeLessThan(at('attachment.uploaded'));
  expect(at('attachment.uploaded')).toBeLessThan(at('message.sent', sent(back.id)));
  expect(at('message.sent', sent(back.id))).toBeLessThan(at('agent.left'));
  expect(at('agent.left')).toBeLessThan(at('message.sent', sent(filtered.id)));
  expect(at('message.sent', sent(filtered.id))).toBeLessThan(at('receipt.failed'));
  expect(at('receipt.failed')).toBeLessThan(at('customer.signed_in'));
  expect(inOrder[at('receipt.failed')]!.body.data).toEqual({
    messageId: filtered.id,
    reasons: [expect.objectContaining({ code: 'DataFiltered' })],
  });
  expect(
    inOrder
      .filter((d) => d.body.type === 'message.received')
      .map((d) => (d.body.data.message as { id: string }).id)
      .sort(),
  ).toEqual([...outbound].sort());
  expect(inOrder[at('agent.joined')]!.body.data).toEqual({ agent: { name: expect.any(String) } });
  expect(inOrder[at('attachment.uploaded')]!.body.data).toEqual({
    attachment: { id: upload.body.attachment.id, fileName: 'photo.png', mediaType: 'image/png', size: PNG.length },
  });
  // The chat's id is opaque: neither the session token nor the guest token.
  const chatId = deliveries[0]!.body.chat.id;
  expect(chatId).toMatch(/^chat_[A-Za-z0-9_-]{27}$/);
  expect(JSON.stringify(deliveries.map((d) => d.raw))).not.toContain(first);
  expect(deliveries.every((d) => d.body.deployment === 'default')).toBe(true);
}, 60_000);

test('a chat started signed in says so, and signing out ends it', async () => {
  const start = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ auth: await signInAt(stack.sim, 'customer-signs-out') });
  expect(start.status).toBe(201);
  const token = start.body.sessionToken as string;
  const ended = () => receiver.accepted().filter((d) => d.body.type === 'chat.ended');
  const endedBefore = ended().length;
  expect((await stack.http.post('/guest-session/sign-out').set(bearer(token))).status).toBe(204);
  await waitFor(() => ended().length > endedBefore);
  const chat = ended().at(-1)!.body.chat.id;
  const events = receiver.accepted().filter((d) => d.body.chat.id === chat);
  const started = events.find((d) => d.body.type === 'chat.started');
  expect(started?.body.data).toEqual({ authenticated: true });
  expect(events.filter((d) => d.body.type === 'chat.ended').map((d) => d.body.data)).toEqual([{ by: 'guest' }]);
});
