import { dataOf, openStream } from '../support/sse';
import { guestTokenOf, identityToken, PAGE_ORIGIN, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { typingDelayMs: 10, replyDelayMs: 40, originatingEntity: 'Human' } } });
});
afterAll(() => stack.close());

test('identity and attributes, a live stream, a send, the agent reply, history, attributes delivered exactly once', async () => {
  // 1. The website's backend vouches for the customer; the page adds context.
  const identity = await identityToken({ sub: 'customer-991', given_name: 'Ada', email: 'ada@example.com' });
  const before = stack.sim.received.length;
  const start = await stack.http
    .post('/guest-session')
    .set('Origin', PAGE_ORIGIN)
    .send({ identityToken: identity, attributes: { page: '/checkout', cartValue: '149.00' } });
  expect(start.status).toBe(201);
  const gt = guestTokenOf(stack.sim, before);
  let token: string = start.body.sessionToken;
  const auth = () => ({ Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN });

  // 2. The page opens the live stream with a ticket, as EventSource would.
  const ticket = (await stack.http.post('/messages/stream-ticket').set(auth())).body.ticket as string;
  const stream = await openStream(`${stack.service.url}/messages/stream?ticket=${encodeURIComponent(ticket)}`, {
    Origin: PAGE_ORIGIN,
  });
  await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');

  // 3. The guest sends; the agent's reply arrives on the stream.
  const sent = await stack.http
    .post('/messages')
    .set({ ...auth(), 'Idempotency-Key': 'e2e-1' })
    .send({ text: 'Where is my order?' });
  expect(sent.status).toBe(201);
  token = sent.body.sessionToken;
  await stream.next((e) => e.event === 'typing');
  const reply = await stream.next((e) => e.event === 'message' && dataOf(e).direction === 'outbound');
  expect(dataOf(reply)).toMatchObject({ originatingEntity: 'human', type: 'text' });

  // 4. History shows both, oldest first.
  const history = await stack.http.get('/messages').set(auth());
  expect(history.status).toBe(200);
  const texts = history.body.messages.map((m: { direction: string; text: string }) => [m.direction, m.text]);
  expect(texts).toEqual([
    ['inbound', 'Where is my order?'],
    ['outbound', dataOf(reply).text],
  ]);

  // 5. A second message carries no attributes: they reached Genesys exactly once, in the official place.
  expect((await stack.http.post('/messages').set(auth()).send({ text: 'Thanks' })).status).toBe(201);
  const carriers = stack.sim.framesFor(gt).filter((f) => f.frame.message?.channel?.metadata?.customAttributes);
  expect(carriers).toHaveLength(1);
  expect(carriers[0]!.frame.message.channel.metadata.customAttributes).toEqual({
    page: '/checkout',
    cartValue: '149.00',
    customerId: 'customer-991',
    firstName: 'Ada',
    email: 'ada@example.com',
    identityVerified: 'true',
    identityIssuer: 'https://shop.example.com',
  });
  expect(stack.sim.framesFor(gt).some((f) => 'channel' in f.frame)).toBe(false);
  expect(stack.sim.customAttributes(gt)).toMatchObject({ customerId: 'customer-991', page: '/checkout' });

  stream.close();
});
