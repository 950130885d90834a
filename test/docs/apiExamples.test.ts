import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import * as schemas from '../../src/http/spec/schemas';

/**
 * docs/api.md shows each request and answer as JSON. Every example under a
 * `<!-- shape: <schema> -->` comment is parsed with that schema, the one the
 * route validates with or answers by, so the reference cannot drift from the
 * code; request bodies are strict, so a renamed or removed field fails too.
 */
const DOC = fs.readFileSync(path.join(__dirname, '../../docs/api.md'), 'utf8');
const examples = [...DOC.matchAll(/<!-- shape: (\w+) -->\n```json\n([\s\S]*?)```/g)].map((m) => ({
  shape: m[1]!,
  json: m[2]!,
}));

test('docs/api.md shows the main requests and answers', () => {
  const shown = new Set(examples.map((e) => e.shape));
  for (const shape of [
    'startSessionBody',
    'sessionViewSchema',
    'attributesBodySchema',
    'attributesChangedSchema',
    'sendMessageBody',
    'sentMessageSchema',
    'historySchema',
    'ticketSchema',
    'attachmentViewSchema',
    'capabilitiesViewSchema',
    'availabilitySchema',
    'problemSchema',
  ]) {
    expect({ shape, shown: shown.has(shape) }).toEqual({ shape, shown: true });
  }
});

test.each(examples.map((e, i) => [`${i + 1}: ${e.shape}`, e] as const))(
  'example %s fits its schema',
  (_name, { shape, json }) => {
    const schema = (schemas as unknown as Record<string, z.ZodType | undefined>)[shape];
    expect(schema).toBeDefined();
    const result = schema!.safeParse(JSON.parse(json));
    expect(result.error?.issues ?? []).toEqual([]);
  },
);
