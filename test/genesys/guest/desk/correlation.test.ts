import fc from 'fast-check';
import { inboundHarness } from '../../../support/inbound';

/**
 * Which request an inbound frame settles, fed the shapes Genesys's own SDK
 * fixtures allow: replies with and without `tracingId`, `null` in optional
 * fields, unknown fields and classes, late replies and any order.
 */

const TIMEOUT_MS = 1000;

/** The requests settled, as `{ value }` or `{ error }`, by tracingId. */
function harness() {
  const h = inboundHarness({ now: 1_000_000, lateWindowMs: 2 * TIMEOUT_MS });
  const outcome = (id: string): { value?: unknown; error?: Error } | undefined => {
    const settled = h.desk.settled.get(id);
    return settled instanceof Error ? { error: settled } : settled;
  };
  return { ...h, settled: { get: outcome, has: (id: string) => h.desk.settled.has(id) } };
}

const errorFrame = (code: number, body: string, tracingId?: string) => ({
  type: 'response',
  class: 'string',
  code,
  body,
  ...(tracingId ? { tracingId } : {}),
});
const tooMany = (tracingId?: string) => ({
  type: 'response',
  class: 'TooManyRequestsErrorMessage',
  code: 429,
  body: { retryAfter: 3, errorCode: 4029, errorMessage: 'Message rate too high for this session' },
  ...(tracingId ? { tracingId } : {}),
});
const echoOf = (text: string, messageId: string | null, tracingId?: string) => ({
  type: 'message',
  class: 'StructuredMessage',
  code: 200,
  body: {
    id: `g-${text}`,
    type: 'Text',
    text,
    direction: 'Inbound',
    channel: { time: null, messageId, from: { image: null } },
    metadata: null,
  },
  ...(tracingId ? { tracingId } : {}),
});

describe('replies without a tracingId', () => {
  test('a late 429 for a send that already gave up never reaches the next send', () => {
    const h = harness();
    const a = h.desk.add('send', 'A', { messageId: 'ma', text: 'A text' });
    h.desk.expire(a);
    const b = h.desk.add('send', 'B', { messageId: 'mb', text: 'B text' });
    h.feed(tooMany()); // untraced: A (gone) or B could have caused it
    h.feed(tooMany('A')); // traced to A, which no longer waits
    expect(h.settled.has('B')).toBe(false);
    h.feed(echoOf('B text', null, 'B'));
    expect(h.settled.get('B')?.value).toMatchObject({ text: 'B text' });
    expect(b.tracingId).toBe('B');
  });

  test('an error without tracingId never rejects an unrelated request', () => {
    const h = harness();
    h.desk.add('send', 'S', { messageId: 'ms', text: 'long text' });
    h.desk.add('jwt', 'J');
    h.feed(errorFrame(4011, 'Message length 5000 is larger than 4096')); // only a send can be too long
    expect(h.settled.get('S')?.error).toMatchObject({ failure: 'message_too_long' });
    expect(h.settled.has('J')).toBe(false);
    h.feed({ type: 'response', class: 'JwtResponse', code: 200, body: { jwt: 'x.y.z', exp: 2_000_000_000 } });
    expect(h.settled.get('J')?.value).toMatchObject({ jwt: 'x.y.z' });
  });

  test('an error without tracingId on a new socket never fails a send in doubt from the socket that dropped', () => {
    const h = harness();
    h.desk.add('send', 'S', { messageId: 'ms', text: 'hello', inDoubt: true });
    h.feed(errorFrame(4020, 'Invalid request'));
    expect(h.settled.has('S')).toBe(false);
  });

  test('an echo without tracingId or our id, whose text a send that gave up also had, settles no other send with that text', () => {
    const h = harness();
    const gone = h.desk.add('send', 'A', { messageId: 'ma', text: 'yes' });
    h.desk.expire(gone);
    h.desk.add('send', 'B', { messageId: 'mb', text: 'yes' });
    h.feed(echoOf('yes', null)); // A's late echo, or B's: no telling
    expect(h.settled.has('B')).toBe(false);
    h.feed(echoOf('yes', null, 'B'));
    expect(h.settled.get('B')?.value).toMatchObject({ text: 'yes' });
  });

  test('an echo without tracingId or our id never settles a send in doubt by its text; one with our id does', () => {
    const h = harness();
    h.desk.add('send', 'D', { messageId: 'md', text: 'still there?', inDoubt: true });
    h.feed(echoOf('still there?', null));
    expect(h.settled.has('D')).toBe(false);
    h.feed(echoOf('still there?', 'md'));
    expect(h.settled.get('D')?.value).toMatchObject({ text: 'still there?' });
  });

  test("an echo without tracingId that carries the id of a send that gave up is that send's late echo", () => {
    const h = harness();
    const gone = h.desk.add('send', 'A', { messageId: 'ma', text: 'late' });
    h.desk.expire(gone);
    h.desk.add('send', 'B', { messageId: 'mb', text: 'late' });
    h.feed(echoOf('late', 'ma'));
    expect(h.settled.has('B')).toBe(false);
    expect(h.ledger.late).toEqual([['ma', 'g-late']]);
  });

  test('a typing 403 without tracingId does not reject a send written at the same time', () => {
    const h = harness();
    h.desk.pending.sentWithoutReply('T', 'typing');
    h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
    h.feed(errorFrame(403, 'Turn on the Feature Toggle or fix the configuration.'));
    expect(h.settled.has('S')).toBe(false);
    h.feed(echoOf('hello', 'ms'));
    expect(h.settled.get('S')?.value).toMatchObject({ text: 'hello' });
  });

  test('a 403 that names conversation clear fails the pending Clear even right after a typing frame', () => {
    const h = harness();
    h.desk.pending.sentWithoutReply('T', 'typing');
    h.desk.add('clear', 'CL');
    h.desk.add('send', 'S', { messageId: 'ms', text: 'hello' });
    h.feed(errorFrame(403, 'Presence events Conversation Clear are not supported'));
    expect(h.settled.get('CL')?.error).toMatchObject({ failure: 'forbidden' });
    expect(h.settled.has('S')).toBe(false);
  });

  test('a SessionResponse with nulls answers the pending configure; a JwtResponse the pending getJwt', () => {
    const h = harness();
    h.desk.add('configure', 'C');
    h.desk.add('jwt', 'J');
    h.feed({
      type: 'response',
      class: 'SessionResponse',
      code: 200,
      body: {
        connected: true,
        newSession: true,
        durationSeconds: null,
        expirationDate: null,
        clearedExistingSession: null,
      },
    });
    expect(h.settled.get('C')?.value).toMatchObject({ connected: true, newSession: true });
    expect(h.settled.has('J')).toBe(false);
  });

  test('a Presence Join echo without tracingId answers the pending join, not a send', () => {
    const h = harness();
    h.desk.add('send', 'S', { messageId: 'ms', text: 'hi' });
    h.desk.add('join', 'JN');
    h.feed({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        id: 'e1',
        type: 'Event',
        direction: 'Inbound',
        events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
        channel: { time: null },
      },
    });
    expect(h.settled.has('JN')).toBe(true);
    expect(h.settled.has('S')).toBe(false);
  });

  test('a reply whose tracingId matches nothing waiting is dropped, never handed to another request', () => {
    const h = harness();
    h.desk.add('configure', 'C');
    h.feed({
      type: 'response',
      class: 'SessionResponse',
      code: 200,
      body: { connected: true },
      tracingId: 'someone-else',
    });
    expect(h.settled.has('C')).toBe(false);
  });

  test('SessionClearedEvent answers the pending Clear and tells the streams', () => {
    const h = harness();
    h.desk.add('clear', 'CL');
    h.feed({ type: 'message', class: 'SessionClearedEvent', code: 200, body: {} });
    expect(h.settled.has('CL')).toBe(true);
    expect(h.session.events).toContainEqual({ type: 'session', state: 'cleared' });
  });
});

// ------------------------------------------------------------------ properties

type Kind = 'configure' | 'close' | 'clear' | 'send' | 'join' | 'jwt';

/** One request and the reply Genesys gives it, in one of the shapes the official fixtures allow. */
interface Scenario {
  kind: Kind;
  id: string;
  traced: boolean;
  fails: boolean;
  expires: boolean;
  nulls: boolean;
}

const maybeNull = (nulls: boolean, value: unknown) => (nulls ? null : value);

function replyFor(s: Scenario): object {
  const tracing = s.traced ? { tracingId: s.id } : {};
  if (s.fails) {
    const [code, text] =
      s.kind === 'send' ? [4011, 'Message length 5000 is larger than 4096'] : [400, 'Request failed.'];
    return { type: 'response', class: 'string', code, body: text, ...tracing };
  }
  switch (s.kind) {
    case 'configure':
    case 'close':
      return {
        type: 'response',
        class: 'SessionResponse',
        code: 200,
        body: {
          connected: s.kind === 'configure',
          newSession: false,
          durationSeconds: maybeNull(s.nulls, 259200),
          expirationDate: maybeNull(s.nulls, 1791139139),
          extra: 'x',
        },
        ...tracing,
      };
    case 'jwt':
      return {
        type: 'response',
        class: 'JwtResponse',
        code: 200,
        body: { jwt: `jwt-${s.id}`, exp: 2_000_000_000 },
        ...tracing,
      };
    case 'join':
      return {
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: `e-${s.id}`,
          type: 'Event',
          direction: 'Inbound',
          events: [{ eventType: 'Presence', presence: { type: 'Join' } }],
          channel: { time: maybeNull(s.nulls, '2026-01-01T00:00:00Z') },
        },
        ...tracing,
      };
    case 'clear':
      return { type: 'message', class: 'SessionClearedEvent', code: 200, body: {} };
    case 'send':
      return {
        type: 'message',
        class: 'StructuredMessage',
        code: 200,
        body: {
          id: `g-${s.id}`,
          type: 'Text',
          text: `text of ${s.id}`,
          direction: 'Inbound',
          channel: {
            time: maybeNull(s.nulls, '2026-01-01T00:00:00Z'),
            messageId: maybeNull(s.nulls, `other-id-${s.id}`),
            from: { image: maybeNull(s.nulls, 'x') },
          },
          metadata: maybeNull(s.nulls, { customAttributes: {} }),
        },
        ...tracing,
      };
  }
}

/** Did this settlement come from this request's own reply? */
function ownReply(s: Scenario, outcome: { value?: unknown; error?: Error }): boolean {
  if (outcome.error) return s.fails || s.expires;
  const v = outcome.value as Record<string, unknown> | undefined;
  switch (s.kind) {
    case 'jwt':
      return v?.jwt === `jwt-${s.id}`;
    case 'send':
      return v?.text === `text of ${s.id}`;
    case 'join':
      return v?.id === `e-${s.id}`;
    case 'configure':
      return v?.connected === true;
    case 'close':
      return v?.connected === false;
    case 'clear':
      return true;
  }
}

const singletonKinds: Kind[] = ['configure', 'clear', 'join', 'jwt'];
const scenarioArb = fc
  .record({
    singles: fc.subarray(singletonKinds),
    closeInsteadOfConfigure: fc.boolean(),
    sends: fc.integer({ min: 0, max: 4 }),
    shapes: fc.array(
      fc.record({ traced: fc.boolean(), fails: fc.boolean(), expires: fc.boolean(), nulls: fc.boolean() }),
      { minLength: 9, maxLength: 9 },
    ),
    agentMessages: fc.integer({ min: 0, max: 3 }),
    noise: fc.array(fc.constantFrom('unknownClass', 'garbage', 'agentNulls', 'connectionClosed', 'typing403'), {
      maxLength: 4,
    }),
    typing: fc.boolean(),
    seed: fc.integer(),
  })
  .map((r) => {
    const kinds: Kind[] = r.singles.map((k) => (k === 'configure' && r.closeInsteadOfConfigure ? 'close' : k));
    for (let i = 0; i < r.sends; i++) kinds.push('send');
    const scenarios: Scenario[] = kinds.map((kind, i) => ({ kind, id: `${kind}-${i}`, ...r.shapes[i]! }));
    return { scenarios, agentMessages: r.agentMessages, noise: r.noise, typing: r.typing, seed: r.seed };
  });

const agentMessage = (i: number, nulls: boolean) => ({
  type: 'message',
  class: 'StructuredMessage',
  code: 200,
  body: {
    id: `agent-${i}`,
    type: 'Text',
    text: `agent says ${i}`,
    direction: 'Outbound',
    originatingEntity: 'Human',
    channel: { time: null, from: { nickname: 'Ann', image: nulls ? null : 'x' } },
    futureField: { a: 1 },
  },
});

const NOISE: Record<string, object | string> = {
  unknownClass: { type: 'message', class: 'FancyNewEvent', code: 200, body: { whatever: null } },
  garbage: '{"not":"an envelope"',
  agentNulls: agentMessage(99, true),
  connectionClosed: { type: 'message', class: 'ConnectionClosedEvent', code: 200, body: { reasonCode: null } },
  // What Genesys answers a guest typing event when the deployment has it off: it must not fail anything else.
  typing403: {
    type: 'response',
    class: 'string',
    code: 403,
    body: 'Turn on the Feature Toggle or fix the configuration.',
  },
};

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let x = seed | 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = Math.abs(x) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test("property: no crash, no request settled by another request's reply, no agent message lost", () => {
  fc.assert(
    fc.property(scenarioArb, ({ scenarios, agentMessages, noise, typing, seed }) => {
      const h = harness();
      if (typing) h.desk.pending.sentWithoutReply('typing-1', 'typing');
      const pendings = new Map(
        scenarios.map((s) => [
          s.id,
          h.desk.add(s.kind, s.id, s.kind === 'send' ? { messageId: `m-${s.id}`, text: `text of ${s.id}` } : {}),
        ]),
      );
      for (const s of scenarios) if (s.expires) h.desk.expire(pendings.get(s.id)!);
      const frames: (object | string)[] = scenarios.map(replyFor);
      for (let i = 0; i < agentMessages; i++) frames.push(agentMessage(i, i % 2 === 0));
      for (const n of noise) frames.push(NOISE[n]!);
      for (const frame of shuffled(frames, seed)) h.feed(frame);

      for (const s of scenarios) {
        const outcome = h.settled.get(s.id);
        if (outcome && !ownReply(s, outcome))
          throw new Error(`${s.id} was settled by another reply: ${JSON.stringify(outcome)}`);
      }
      const streamed = h.session.events
        .filter((e) => e.type === 'message')
        .map((e) => (e as { message: { id: string } }).message.id);
      for (let i = 0; i < agentMessages; i++) expect(streamed).toContain(`agent-${i}`);
      if (noise.includes('agentNulls')) expect(streamed).toContain('agent-99');
    }),
    { numRuns: 400, seed: 20261122 },
  );
});

test('property: a traced reply always reaches its own request, whatever arrives around it', () => {
  fc.assert(
    fc.property(scenarioArb, ({ scenarios, seed }) => {
      const h = harness();
      for (const s of scenarios)
        h.desk.add(s.kind, s.id, s.kind === 'send' ? { messageId: `m-${s.id}`, text: `text of ${s.id}` } : {});
      const traced = scenarios.map((s) => ({ ...s, traced: true, expires: false }));
      for (const frame of shuffled(traced.map(replyFor), seed)) h.feed(frame);
      for (const s of traced) {
        if (s.kind === 'clear') continue; // SessionClearedEvent carries no tracingId in any fixture
        const outcome = h.settled.get(s.id);
        expect(outcome).toBeDefined();
        expect(ownReply(s, outcome!)).toBe(true);
      }
    }),
    { numRuns: 300, seed: 20261123 },
  );
});

// History pages: generated from the official entity shapes, with random nulls, unknown fields and one unreadable entity.
const entityArb = fc.record({
  id: fc.uuid(),
  type: fc.constantFrom('Text', 'Structured', 'Event', 'Receipt', 'FutureType'),
  text: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  direction: fc.option(fc.constantFrom('Inbound', 'Outbound'), { nil: null }),
  originatingEntity: fc.option(fc.constantFrom('Human', 'Bot', ''), { nil: null }),
  channel: fc.option(
    fc.record({
      time: fc.option(fc.constant('2026-01-01T00:00:00Z'), { nil: null }),
      messageId: fc.option(fc.uuid(), { nil: null }),
    }),
    { nil: null },
  ),
  content: fc.option(
    fc.constant([
      { contentType: 'QuickReply', quickReply: { text: 'a', payload: null } },
      { contentType: 'Hologram', hologram: {} },
    ]),
    { nil: null },
  ),
  metadata: fc.option(fc.constant({ correlationId: 'c' }), { nil: null }),
  futureField: fc.anything({ maxDepth: 1 }),
});

test('property: any history page built from the official shapes parses; a bad entity costs only itself', async () => {
  const axios = (await import('axios')).default;
  const nock = (await import('nock')).default;
  const { GuestHistory } = await import('../../../../src/genesys/guest/rest/history');
  const session = { getJwt: async () => ({ jwt: 'jwt', exp: 2e9 }), forgetJwt: () => undefined } as never;
  await fc.assert(
    fc.asyncProperty(fc.array(entityArb, { maxLength: 12 }), fc.nat(), async (entities, badAt) => {
      const page = [...entities];
      page.splice(badAt % (page.length + 1), 0, { id: 42, type: 'Text' } as never);
      nock('https://api.example.test')
        .get('/api/v2/webmessaging/messages')
        .query(true)
        .reply(200, { entities: page, pageNumber: 1, total: page.length });
      const history = new GuestHistory(axios.create(), 'https://api.example.test', 'https://shop.example.com');
      const result = await history.page(session, 1, 25);
      const shown = entities.filter((e) => e.type !== 'Receipt').map((e) => e.id);
      expect(result.messages.map((m) => m.id).sort()).toEqual(shown.sort());
    }),
    { numRuns: 60, seed: 20261124 },
  );
  nock.cleanAll();
});
