import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';

/** Answers to a card's button and to a date picker reach Genesys in the shapes its own client sends. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { agent: { enabled: false } } });
});
afterAll(() => stack.close());

async function session() {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  return { token, gt: guestTokenOf(stack.sim, before) };
}

test('a card button goes as a Structured message with the button text and a Button response', async () => {
  const { token, gt } = await session();
  const res = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ button: { text: 'Track my order', payload: 'TRACK', originatingMessageId: 'card-1' } });
  expect(res.status).toBe(201);
  const frame = stack.sim.framesFor(gt, 'onMessage').at(-1)!.frame;
  expect(frame.message).toMatchObject({
    type: 'Structured',
    text: 'Track my order',
    content: [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'Button', text: 'Track my order', payload: 'TRACK', originatingMessageId: 'card-1' },
      },
    ],
  });
});

test('a date pick goes as a Text message with empty text and a DatePicker response carrying the date-time', async () => {
  const { token, gt } = await session();
  const dateTime = '2026-12-01T10:00:00.000Z';
  const res = await stack.http
    .post('/messages')
    .set(bearer(token))
    .send({ datePicker: { dateTime, originatingMessageId: 'picker-1' } });
  expect(res.status).toBe(201);
  const frame = stack.sim.framesFor(gt, 'onMessage').at(-1)!.frame;
  expect(frame.message).toMatchObject({
    type: 'Text',
    text: '',
    content: [
      {
        contentType: 'ButtonResponse',
        buttonResponse: { type: 'DatePicker', payload: dateTime, originatingMessageId: 'picker-1' },
      },
    ],
  });
});

test.each([
  ['a date that is not a date-time', { datePicker: { dateTime: 'tomorrow', originatingMessageId: 'p' } }],
  ['a date pick without the picker message', { datePicker: { dateTime: '2026-12-01T10:00:00Z' } }],
  ['a button and a text together', { text: 'hi', button: { text: 'a', payload: 'b' } }],
])('%s is 400 and sends nothing', async (_name, body) => {
  const { token, gt } = await session();
  const res = await stack.http.post('/messages').set(bearer(token)).send(body);
  expect(res.status).toBe(400);
  expect(stack.sim.framesFor(gt, 'onMessage')).toHaveLength(0);
});
