import { attributesBodySchema, attributesPatchSchema } from '../../../src/http/spec/schemas';

/**
 * The refusal of an attribute value that is not a string: an object there is most often the map
 * wrapped as {"attributes": {...}}, and only then does the message say which shape to send.
 */
const messageOf = (schema: typeof attributesBodySchema | typeof attributesPatchSchema, body: unknown) => {
  const result = schema.safeParse(body);
  if (result.success) throw new Error(`${JSON.stringify(body)} was accepted`);
  return result.error.issues.map((issue) => issue.message).join('; ');
};

const WRAPPED = /not an object: the body is the attributes map itself/;

test('a wrapped map is refused with the shape to send instead', () => {
  expect(messageOf(attributesBodySchema, { attributes: { cart: '3 items' } })).toBe(
    'an attribute value must be a string, not an object: the body is the attributes map itself, like ' +
      '{"cart":"3 items"}, not {"attributes":{"cart":"3 items"}}',
  );
  expect(messageOf(attributesPatchSchema, { attributes: { cart: '3 items' } })).toMatch(WRAPPED);
});

test.each([
  ['a number', 3],
  ['an array', ['3 items']],
  ['null, on PUT (PATCH takes null as a removal)', null],
])('%s is refused as not a string, without the wrapped-map advice', (_what, value) => {
  const message = messageOf(attributesBodySchema, { cart: value });
  expect(message).not.toMatch(WRAPPED);
  expect(message).toMatch(/string/);
});
