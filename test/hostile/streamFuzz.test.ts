import net from 'node:net';
import fc from 'fast-check';
import { manualClock } from '../support/platform';
import { bearer, guestTokenOf, PAGE_ORIGIN, type Stack, startStack } from '../support/stack';

/**
 * The live stream under arbitrary client input (RELIABILITY.md, attack table): whatever the
 * Last-Event-ID header, `?lastEventId=`, `?routingKey=` and `?ticket=` hold (newlines, SSE field
 * names, Unicode, valid-looking ids, the ids of real messages), no byte sequence of the client's
 * reaches the event stream outside a JSON string. The answer is parsed as SSE: every line is a
 * comment or one of the fields the service writes, every `id:` is an id the service issued,
 * every `event:` one it emits, every `data:` JSON.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const TIMEOUT_MS = 300_000;
/** The ids a stream writes, as README.md documents them: message ids, 1 to 128 of A-Z a-z 0-9 _ -. */
const STREAM_EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/;
const EVENTS = new Set(['message', 'receipt', 'typing', 'presence', 'session']);
const FIELDS = new Set(['retry', 'id', 'event', 'data']);

let stack: Stack;
let token: string;
let gt: string;
/** Every message id the conversation holds (the only ids a stream may write). */
const issued = new Set<string>();

beforeAll(async () => {
  // Streams open and close faster than a cap could free its place; history reads stand still on this clock.
  stack = await startStack({
    env: { STREAMS_PER_SESSION: '100', STREAMS_PER_IP: '1000' },
    now: manualClock(Date.now()).now,
  });
  const before = stack.sim.received.length;
  ({ token } = await stack.newSession());
  gt = guestTokenOf(stack.sim, before);
  const sent = await stack.http.post('/messages').set(bearer(token)).send({ text: 'a message to resume after' });
  issued.add(sent.body.message.id as string);
}, 60_000);
afterAll(() => stack.close());

interface StreamAnswer {
  status: number;
  head: string;
  body: string;
}

/** Undoes chunked transfer coding. */
function dechunk(payload: string): string {
  let out = '';
  let rest = payload;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    if (eol < 0) return out;
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

/**
 * GET /messages/stream written byte for byte; once the stream is open, the agent says `marker`, and
 * reading stops when it arrives (live events wait behind any replay, so the replay is over by then).
 */
function openRaw(target: string, headers: string[], marker: string): Promise<StreamAnswer> {
  const { port } = new URL(stack.service.url);
  const head =
    [
      `GET ${target} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      `Origin: ${PAGE_ORIGIN}`,
      'Connection: close',
      ...headers,
    ].join('\r\n') + '\r\n\r\n';
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let raw = '';
    let said = false;
    const finish = () => {
      clearTimeout(bound);
      socket.destroy();
      const cut = raw.indexOf('\r\n\r\n');
      const headText = raw.slice(0, cut);
      const payload = raw.slice(cut + 4);
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1]),
        head: headText,
        body: /transfer-encoding: chunked/i.test(headText) ? dechunk(payload) : payload,
      });
    };
    const bound = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`the stream did not show the marker in time; it had sent ${JSON.stringify(raw.slice(0, 2000))}`),
      );
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      raw += chunk;
      if (!said && raw.includes('"state":"open"')) {
        said = true;
        stack.sim.agent.say(gt, marker);
      }
      if (raw.includes(marker)) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(head, 'latin1');
  });
}

/** A time position the service took itself while this test ran (`t-` and epoch ms): what events carry before the first message. */
const STARTED_AT = Date.now();
function isOwnPosition(id: string): boolean {
  const at = /^t-(\d{13})$/.exec(id)?.[1];
  return at !== undefined && Number(at) >= STARTED_AT - 1000 && Number(at) <= Date.now();
}

/** The SSE answer, checked line by line; returns the ids of the messages it carried. */
function checkEventStream(body: string, clientTexts: string[]): void {
  const seenIds = new Set<string>();
  for (const block of body.split('\n\n')) {
    if (block === '') continue;
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        expect(line).toBe(': heartbeat');
        continue;
      }
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 2);
      expect({ line, known: FIELDS.has(field), spaced: line[colon + 1] === ' ' }).toEqual({
        line,
        known: true,
        spaced: true,
      });
      expect(fields[field]).toBeUndefined();
      fields[field] = value;
    }
    if (fields.retry !== undefined) {
      expect(fields.retry).toMatch(/^\d+$/);
      continue;
    }
    expect(EVENTS.has(fields.event ?? '')).toBe(true);
    const data = JSON.parse(fields.data ?? '') as { id?: string };
    if (fields.event === 'message' && data.id) {
      seenIds.add(data.id);
      issued.add(data.id);
    }
    if (fields.id !== undefined) {
      expect(fields.id).toMatch(STREAM_EVENT_ID);
      expect(seenIds.has(fields.id) || issued.has(fields.id) || isOwnPosition(fields.id)).toBe(true);
    }
    // Outside the JSON of `data:`, nothing of the client's (field names and values alike).
    const outside = block
      .split('\n')
      .filter((l) => !l.startsWith('data: '))
      .join('\n');
    for (const text of clientTexts)
      if (text.length >= 3 && !issued.has(text)) expect(outside.includes(text)).toBe(false);
  }
}

/** Text a client could put anywhere: SSE syntax, line breaks, Unicode, plausible ids. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    'x\n\nevent: message\ndata: {"text":"card number?"}\n\n',
    'id: forged\r\n',
    '\u2028data: x',
    'issued-by-nobody',
    '0'.repeat(128),
    'a'.repeat(129),
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
);

test(
  'no client-supplied bytes reach the event stream outside JSON strings, whatever the stream request holds',
  async () => {
    let n = 0;
    const outcomes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            query: fc.option(fc.oneof(hostileText, fc.constantFrom(...issued)), { nil: undefined }),
            header: fc.option(
              fc.oneof(
                hostileText.map((t) => t.replace(/[\r\n]/g, ' ')),
                fc.constantFrom(...issued),
              ),
              { nil: undefined },
            ),
            routingKey: fc.option(hostileText, { nil: undefined }),
            ticket: fc.option(fc.oneof(hostileText, fc.constant('fresh')), { nil: undefined }),
          },
          { requiredKeys: [] },
        ),
        async ({ query, header, routingKey, ticket }) => {
          const marker = `marker-${n++}`;
          const params: string[] = [];
          const ticketValue =
            ticket === 'fresh'
              ? ((await stack.http.post('/messages/stream-ticket').set(bearer(token))).body.ticket as string)
              : ticket;
          if (query !== undefined) params.push(`lastEventId=${encodeURIComponent(query)}`);
          if (routingKey !== undefined) params.push(`routingKey=${encodeURIComponent(routingKey)}`);
          if (ticketValue !== undefined) params.push(`ticket=${encodeURIComponent(ticketValue)}`);
          const headers = ticketValue === undefined ? [`Authorization: Bearer ${token}`] : [];
          if (header !== undefined) headers.push(`Last-Event-ID: ${Buffer.from(header, 'utf8').toString('latin1')}`);
          const answer = await openRaw(
            `/messages/stream${params.length ? `?${params.join('&')}` : ''}`,
            headers,
            marker,
          );
          outcomes.set(answer.status, (outcomes.get(answer.status) ?? 0) + 1);
          const clientTexts = [query, header, routingKey, ticket].filter((t): t is string => t !== undefined);
          if (answer.status !== 200) {
            // A refusal is a problem document, all of it JSON.
            expect(answer.status).toBeGreaterThanOrEqual(400);
            expect(answer.status).toBeLessThan(500);
            if (answer.body !== '') expect(() => JSON.parse(answer.body) as unknown).not.toThrow();
            return;
          }
          expect(answer.head).toMatch(/content-type: text\/event-stream/i);
          checkEventStream(answer.body, clientTexts);
        },
      ),
      { numRuns: Math.max(1, Math.round(60 * RUNS)), seed: SEED, endOnFailure: true },
    );
    // The run reached both sides: streams served, and requests refused.
    expect(outcomes.get(200)).toBeGreaterThan(0);
    expect([...outcomes.keys()].some((s) => s >= 400)).toBe(true);
  },
  TIMEOUT_MS,
);
