import { z } from 'zod';
import { streamEventSchemas } from '../../domain/api';

/**
 * The AsyncAPI 3 document of the live stream (GET /messages/stream): one
 * channel, the service sends, one message per event name; the payloads are
 * the same zod schemas the service's types come from.
 */
export function asyncApiDocument(version: string): Record<string, unknown> {
  const messages = Object.fromEntries(
    Object.entries(streamEventSchemas).map(([name, schema]) => [
      name,
      {
        name,
        title: `${name} event`,
        summary: schema.description,
        contentType: 'application/json',
        payload: jsonSchema(schema),
      },
    ]),
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Genesys Cloud Web Messaging BFF: live stream',
      version,
      description:
        'Server-Sent Events on GET /messages/stream. Each event has an SSE `event` name (below), an `id` (for ' +
        'Last-Event-ID; 1 to 128 of A-Z a-z 0-9 _ -, never text the client sent: the newest message id (not one ' +
        'that came while a guest message waited for its echo: Genesys may deliver its reply first), or before ' +
        'the first message a time position `t-` and epoch milliseconds, the form of the `streamPosition` every ' +
        'answer with a sessionToken carries: the one the stream resumed from, written anew from its number and ' +
        'never later than the moment the stream opened, or that moment) and JSON `data`. Opened with Last-Event-ID ' +
        '(header, or ?lastEventId=), the stream first sends from history the messages after that message, or since ' +
        'that time position; its `open` event comes once that place is found.',
    },
    defaultContentType: 'application/json',
    servers: {
      service: {
        host: 'localhost:8080',
        protocol: 'http',
        description: 'This service (the stream is at /messages/stream)',
      },
    },
    channels: {
      stream: {
        address: '/messages/stream',
        title: 'The guest session live stream',
        messages: Object.fromEntries(
          Object.keys(messages).map((name) => [name, { $ref: `#/components/messages/${name}` }]),
        ),
      },
    },
    operations: {
      receiveEvents: {
        action: 'send',
        channel: { $ref: '#/channels/stream' },
        summary: 'The service sends these events to the page',
        messages: Object.keys(messages).map((name) => ({ $ref: `#/channels/stream/messages/${name}` })),
      },
    },
    components: { messages },
  };
}

/** AsyncAPI 3's default payload format is its own schema, a superset of JSON Schema draft-07. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'output',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}
