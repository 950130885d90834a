import { normalizeMessage } from '../../../../src/genesys/guest/protocol/normalize';

test("a message without a direction is the guest's (inbound), never shown as the agent's", () => {
  expect(normalizeMessage({ id: 'x', type: 'Text', text: 'hi' }).direction).toBe('inbound');
  expect(normalizeMessage({ id: 'y', type: 'Text', text: 'hi', direction: 'Outbound' }).direction).toBe('outbound');
});

test("only a guest message carries our client message id; an agent message's channel.messageId is Genesys's own", () => {
  expect(
    normalizeMessage({ id: 'a', type: 'Text', text: 'hi', direction: 'Inbound', channel: { messageId: 'ours' } })
      .clientMessageId,
  ).toBe('ours');
  expect(
    normalizeMessage({ id: 'b', type: 'Text', text: 'hi', direction: 'Outbound', channel: { messageId: 'theirs' } })
      .clientMessageId,
  ).toBeUndefined();
});

test('a message with no text, or an empty one, has no text: not an empty one, not one set to nothing', () => {
  for (const text of [undefined, '']) {
    const message = normalizeMessage({
      id: 'e',
      type: 'Structured',
      direction: 'Outbound',
      ...(text === undefined ? {} : { text }),
    });
    expect({ text, has: 'text' in message }).toEqual({ text, has: false });
  }
  expect(normalizeMessage({ id: 't', type: 'Text', text: ' ' }).text).toBe(' ');
});

test('the type is text, structured or event; a missing or unknown one (whatever its name) is text', () => {
  expect(normalizeMessage({ id: 's', type: 'Structured' }).type).toBe('structured');
  expect(normalizeMessage({ id: 'e', type: 'Event' }).type).toBe('event');
  expect(normalizeMessage({ id: 'n' }).type).toBe('text');
  for (const type of ['Hologram', 'constructor', 'toString', '__proto__', ''])
    expect(normalizeMessage({ id: 'u', type }).type).toBe('text');
});

test('the sender is named by nickname, else by first and last name as given; an image alone is kept', () => {
  const from = (f: Record<string, string>) =>
    normalizeMessage({ id: 'a', type: 'Text', direction: 'Outbound', channel: { from: f } }).from;
  expect(from({ nickname: 'Sam', firstName: 'Samuel', lastName: 'Lee' })).toEqual({ name: 'Sam' });
  expect(from({ firstName: 'Ann', lastName: 'Lee' })).toEqual({ name: 'Ann Lee' });
  expect(from({ firstName: 'Ann' })).toEqual({ name: 'Ann' });
  expect(from({ lastName: 'Lee' })).toEqual({ name: 'Lee' });
  expect(from({ image: 'https://example.com/ann.png' })).toEqual({ image: 'https://example.com/ann.png' });
  expect(from({})).toBeUndefined();
});

test('a quick reply without a payload answers with its text; one without text has an empty label', () => {
  const replies = normalizeMessage({
    id: 'q',
    type: 'Structured',
    direction: 'Outbound',
    content: [{ quickReply: { text: 'Yes' } }, { quickReply: { payload: 'NO' } }, { quickReply: {} }],
  }).quickReplies;
  expect(replies).toEqual([
    { text: 'Yes', payload: 'Yes' },
    { text: '', payload: 'NO' },
    { text: '', payload: '' },
  ]);
});

test('a form component that does not name its type takes it from what it carries', () => {
  const form = normalizeMessage({
    id: 'f',
    type: 'Structured',
    direction: 'Outbound',
    content: [
      {
        form: {
          formPages: [
            {
              pageComponents: [
                { datePicker: { id: 'when' } },
                { listPicker: { id: 'size' } },
                { input: { id: 'name' } },
                { wheelPicker: { id: 'guests' } },
                { hologram: { id: 'h' } },
              ],
            },
          ],
        },
      },
    ],
  }).forms![0]!;
  expect(form.pages[0]!.components.map((c) => [c.type, c.id])).toEqual([
    ['DatePicker', 'when'],
    ['ListPicker', 'size'],
    ['Input', 'name'],
    ['WheelPicker', 'guests'],
    ['Unknown', undefined],
  ]);
});
