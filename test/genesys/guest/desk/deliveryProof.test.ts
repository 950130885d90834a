import fc from 'fast-check';
import pino from 'pino';
import type { NormalizedMessage } from '../../../../src/domain/message';
import { CLOCK_SKEW_MS, DeliveryLedger, type SentMessage } from '../../../../src/genesys/guest/desk/deliveryProof';
import type { Pending } from '../../../../src/genesys/guest/desk/pendingRequests';
import { RequestDesk } from '../../../../src/genesys/guest/desk/requestDesk';
import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { createLogger, type Logger } from '../../../../src/observability/logger';
import { registry } from '../../../../src/observability/metrics';
import { StandInSocket } from '../../../support/deskSocket';
import { inboundHarness } from '../../../support/inbound';

/**
 * Whether a send reached Genesys (src/genesys/guest/desk/deliveryProof.ts): what in history proves
 * it (allowing for Genesys's clock to run behind this instance's), the ledger that keeps one Genesys message from proving two sends, sends in doubt after a
 * socket dropped; and the ledger's memory, a ceiling rather than a hope.
 */

describe('proving a send from history', () => {
  const logger = pino({ level: 'silent' });
  const SENT_AT = Date.parse('2026-11-22T10:00:00Z');
  const sent: SentMessage = { messageId: 'our-id', text: 'where is my order?', sentAt: SENT_AT };

  const inbound = (over: Partial<NormalizedMessage>): NormalizedMessage => ({
    id: 'genesys-id',
    direction: 'inbound',
    type: 'text',
    text: 'where is my order?',
    time: '2026-11-22T10:00:01Z',
    ...over,
  });

  const page =
    (...messages: NormalizedMessage[]) =>
    () =>
      Promise.resolve(messages);

  /** One send proved against one page, by a ledger that already accounts for `accounted` (Genesys ids of answered sends). */
  function prove(
    what: SentMessage,
    read: () => Promise<NormalizedMessage[]>,
    accounted: string[] = [],
    log: Logger = logger,
  ) {
    const ledger = new DeliveryLedger(read, log, () => SENT_AT + 1000);
    for (const id of accounted) ledger.accountFor(id);
    return ledger.prove(what);
  }

  /** A logger whose lines the test reads. */
  function capture() {
    const lines: Record<string, unknown>[] = [];
    return {
      lines,
      logger: createLogger({
        level: 'info',
        destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
      }),
    };
  }

  /** genesys_bff_sends_in_doubt_total: guest messages answered "may have been delivered" (the GenesysBffSendsInDoubt alert). */
  async function inDoubtCount(): Promise<number> {
    return (await registry.getSingleMetric('genesys_bff_sends_in_doubt_total')!.get()).values[0]?.value ?? 0;
  }

  test('our id coming back as channel.messageId proves delivery', async () => {
    const verdict = await prove(sent, page(inbound({ clientMessageId: 'our-id', text: 'edited?' })));
    expect(verdict).toMatchObject({ verdict: 'delivered', message: { clientMessageId: 'our-id' } });
  });

  test('when Genesys reports its own messageId, the same text from the guest after the send proves delivery, and the log says how', async () => {
    const { lines, logger: captured } = capture();
    const verdict = await prove(sent, page(inbound({ clientMessageId: 'genesys-generated' })), [], captured);
    expect(verdict).toMatchObject({ verdict: 'delivered', message: { id: 'genesys-id' } });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        messageId: 'our-id',
        msg: expect.stringMatching(/by its content, not by its id/),
      }),
    ]);
  });

  test('the same text already answered another send, or sent before this one, or by the agent, proves nothing', async () => {
    const messages = [
      inbound({ id: 'accounted' }),
      inbound({ id: 'older', time: '2026-11-22T09:50:00Z' }),
      inbound({ id: 'agent', direction: 'outbound' }),
      inbound({ id: 'other-text', text: 'something else' }),
    ];
    const verdict = await prove(sent, page(...messages), ['accounted']);
    expect(verdict).toEqual({ verdict: 'not_delivered' });
  });

  test("an Inbound event in history that carries the same text (a Join may) is not the guest's message", async () => {
    const join = inbound({ id: 'join', type: 'event', events: [{ type: 'Presence', value: 'Join' }] });
    expect(await prove(sent, page(join))).toEqual({ verdict: 'not_delivered' });
  });

  test('a message of files only is never proved by content: any other message without text would look the same', async () => {
    const filesOnly: SentMessage = { messageId: 'f', sentAt: SENT_AT };
    const other = inbound({
      id: 'another-file',
      text: undefined,
      attachments: [{ id: 'a2', url: 'https://files.example.test/a2' }],
    });
    expect(await prove(filesOnly, page(other))).toEqual({ verdict: 'not_delivered' });
  });

  test('a quick-reply answer is matched by its payload and text', async () => {
    const answer: SentMessage = { messageId: 'q', text: 'Yes', payload: 'YES', sentAt: SENT_AT };
    const wrong = inbound({
      id: 'w',
      text: undefined,
      type: 'structured',
      buttonResponse: { text: 'Yes', payload: 'NO' },
    });
    const otherText = inbound({
      id: 'o',
      text: undefined,
      type: 'structured',
      buttonResponse: { text: 'Yes, twice', payload: 'YES' },
    });
    const right = inbound({
      id: 'r',
      text: undefined,
      type: 'structured',
      buttonResponse: { text: 'Yes', payload: 'YES' },
    });
    const typed = inbound({ id: 't', text: 'Yes' });
    expect(await prove(answer, page(typed, wrong, otherText))).toEqual({ verdict: 'not_delivered' });
    expect(await prove(answer, page(typed, wrong, otherText, right))).toMatchObject({
      verdict: 'delivered',
      message: { id: 'r' },
    });
  });

  describe(`the clock-skew allowance: Genesys's time may be up to ${CLOCK_SKEW_MS} ms before the send`, () => {
    /** The guest's message in history under Genesys's own id, stamped `offsetMs` from this instance's send time. */
    const stampedAt = (offsetMs: number) =>
      inbound({ clientMessageId: 'genesys-generated', time: new Date(SENT_AT + offsetMs).toISOString() });

    test('stamped by Genesys a little before the send, within the allowance: delivered, so the retry is not sent again', async () => {
      for (const offset of [-1, -CLOCK_SKEW_MS / 2, -CLOCK_SKEW_MS]) {
        expect({ offset, proof: await prove(sent, page(stampedAt(offset))) }).toMatchObject({
          offset,
          proof: { verdict: 'delivered', message: { id: 'genesys-id' } },
        });
      }
    });

    test('stamped just further before the send than the allowance: an earlier message with the same text, not delivered', async () => {
      for (const offset of [-CLOCK_SKEW_MS - 1, -2 * CLOCK_SKEW_MS]) {
        expect({ offset, proof: await prove(sent, page(stampedAt(offset))) }).toEqual({
          offset,
          proof: { verdict: 'not_delivered' },
        });
      }
    });

    test('delivered exactly when stamped no earlier than the allowance before the send, at any offset', async () => {
      const edges = [-CLOCK_SKEW_MS - 1, -CLOCK_SKEW_MS, -CLOCK_SKEW_MS + 1, -1, 0].map((offset) => [offset]) as [
        number,
      ][];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: -3 * CLOCK_SKEW_MS, max: CLOCK_SKEW_MS }), async (offset) => {
          const proof = await prove(sent, page(stampedAt(offset)));
          expect(proof.verdict).toBe(offset >= -CLOCK_SKEW_MS ? 'delivered' : 'not_delivered');
        }),
        { examples: edges, numRuns: 100 },
      );
    });
  });

  test('history that cannot be read is an honest "unknown", never "not delivered", and the failure is logged', async () => {
    const { lines, logger: captured } = capture();
    const verdict = await prove(sent, () => Promise.reject(new Error('ECONNRESET')), [], captured);
    expect(verdict).toMatchObject({ verdict: 'unknown' });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        err: expect.objectContaining({ message: 'ECONNRESET' }),
        msg: expect.stringMatching(/could not read history.*in doubt/),
      }),
    ]);
  });

  test('a session without a history reader answers "unknown", and logs no failed read', async () => {
    const { lines, logger: captured } = capture();
    const ledger = new DeliveryLedger(undefined, captured, () => SENT_AT + 1000);
    expect(await ledger.prove(sent)).toEqual({ verdict: 'unknown' });
    expect(lines).toEqual([]);
  });

  test("a read that fails the moment Genesys's wait ended gives no wait of its own", async () => {
    let clock = SENT_AT + 1000;
    let reads = 0;
    const limited = new GuestApiError('rate_limited', 'Genesys limits history reads', { retryAfterSeconds: 40 });
    const ledger = new DeliveryLedger(
      () => Promise.reject(++reads === 1 ? limited : new Error('ECONNRESET')),
      logger,
      () => clock,
    );
    expect(await ledger.prove(sent)).toEqual({ verdict: 'unknown', retryAfterSeconds: 40 });
    clock += 40_000;
    expect(await ledger.prove(sent)).toEqual({ verdict: 'unknown' });
    expect(reads).toBe(2);
  });

  test('Genesys refusing the read over its history limit: "unknown" with its wait, and no read until then', async () => {
    let clock = SENT_AT + 1000;
    let reads = 0;
    const limited = new GuestApiError('rate_limited', 'Genesys limits history reads', {
      genesysCode: 429,
      retryAfterSeconds: 40,
    });
    const ledger = new DeliveryLedger(
      () => (++reads === 1 ? Promise.reject(limited) : Promise.resolve([inbound({ id: 'g' })])),
      logger,
      () => clock,
    );
    expect(await ledger.prove(sent)).toEqual({ verdict: 'unknown', retryAfterSeconds: 40 });
    clock += 15_500;
    expect(await ledger.prove(sent)).toEqual({ verdict: 'unknown', retryAfterSeconds: 25 });
    expect(reads).toBe(1);
    // The moment its wait ends, it reads again.
    clock += 24_500;
    expect(await ledger.prove(sent)).toMatchObject({ verdict: 'delivered', message: { id: 'g' } });
    expect(reads).toBe(2);
    // Any other failure gives no wait, even one that names a wait of its own: the next proof reads again.
    const failing = new DeliveryLedger(
      () => (reads++, Promise.reject(new GuestApiError('unavailable', 'down', { retryAfterSeconds: 30 }))),
      logger,
      () => clock,
    );
    expect(await failing.prove(sent)).toEqual({ verdict: 'unknown' });
    expect(await failing.prove(sent)).toEqual({ verdict: 'unknown' });
    expect(reads).toBe(4);
  });

  describe('proofs share one history read', () => {
    /** A ledger whose reads the test answers, one `held` entry per read started. */
    function heldLedger(now: () => number) {
      const held: Array<(messages: NormalizedMessage[]) => void> = [];
      const ledger = new DeliveryLedger(
        () => new Promise<NormalizedMessage[]>((resolve) => held.push(resolve)),
        logger,
        now,
      );
      return { ledger, held };
    }
    const settled = async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
    };

    test('retries proved together spend at most two reads: the one under way is waited for, the next is shared by all', async () => {
      const clock = SENT_AT + 1000;
      const { ledger, held } = heldLedger(() => clock);
      const a = ledger.prove({ messageId: 'a', text: 'first', sentAt: SENT_AT });
      const b = ledger.prove({ messageId: 'b', text: 'second', sentAt: SENT_AT + 500 });
      const c = ledger.prove({ messageId: 'c', text: 'third', sentAt: SENT_AT });
      const d = ledger.prove({ messageId: 'd', text: 'fourth', sentAt: SENT_AT });
      await settled();
      expect(held).toHaveLength(1);
      held[0]!([inbound({ id: 'g1', text: 'first' })]);
      await settled();
      expect(held).toHaveLength(2);
      held[1]!([inbound({ id: 'g1', text: 'first' }), inbound({ id: 'g2', text: 'second' })]);
      expect(await Promise.all([a, b, c, d])).toEqual([
        { verdict: 'delivered', message: expect.objectContaining({ id: 'g1' }) },
        { verdict: 'delivered', message: expect.objectContaining({ id: 'g2' }) },
        { verdict: 'not_delivered' },
        { verdict: 'not_delivered' },
      ]);
      expect(held).toHaveLength(2);
    });

    test('a read under way when a proof is asked never proves it absent, even one that started after the send by the clock', async () => {
      let clock = SENT_AT + 1000;
      const { ledger, held } = heldLedger(() => clock);
      const first = ledger.prove({ messageId: 'a', text: 'first', sentAt: SENT_AT });
      await settled();
      clock += 1000;
      // Sent (by its record) before that read started, proved while it is under way: it may have been written after.
      const late = ledger.prove({ messageId: 'e', text: 'fifth', sentAt: SENT_AT });
      await settled();
      held[0]!([]);
      await settled();
      expect(held).toHaveLength(2);
      held[1]!([inbound({ id: 'g5', text: 'fifth' })]);
      expect(await Promise.all([first, late])).toEqual([
        { verdict: 'not_delivered' },
        { verdict: 'delivered', message: expect.objectContaining({ id: 'g5' }) },
      ]);
    });

    test('a send written in the same millisecond a read started (a clock standing still) is judged on a read of its own', async () => {
      const { ledger, held } = heldLedger(() => SENT_AT);
      const desk = new RequestDesk(
        new StandInSocket(),
        60_000,
        { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 },
        () => SENT_AT,
      );
      const earlier = ledger.prove({ messageId: 'x', text: 'earlier', sentAt: SENT_AT - 100 });
      await settled();
      const lost = desk.request<NormalizedMessage>('send', () => ({}), { messageId: 'ours', text: 'in the same ms' });
      desk.socketLost();
      const settling = ledger.settleInDoubt(desk);
      await settled();
      // The read under way predates the write: it shows nothing of it.
      held[0]!([]);
      await settled();
      expect(held).toHaveLength(2);
      held[1]!([inbound({ id: 'g-ours', text: 'in the same ms', time: new Date(SENT_AT).toISOString() })]);
      await settling;
      await expect(lost).resolves.toMatchObject({ id: 'g-ours' });
      expect(await earlier).toEqual({ verdict: 'not_delivered' });
    });

    test('a frame written again after a 429 is judged on a read that started after the second write', async () => {
      jest.useFakeTimers({ now: SENT_AT });
      try {
        const { ledger, held } = heldLedger(Date.now);
        const socket = new StandInSocket();
        const desk = new RequestDesk(
          socket,
          60_000,
          { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 },
          Date.now,
        );
        const lost = desk.request<NormalizedMessage>('send', (tracingId) => ({ tracingId }), {
          messageId: 'ours',
          text: 'again',
        });
        await jest.advanceTimersByTimeAsync(10);
        expect(socket.frames).toHaveLength(1);
        // A proof of another send starts a read after the first write...
        const other = ledger.prove({ messageId: 'x', text: 'other', sentAt: SENT_AT - 100 });
        await jest.advanceTimersByTimeAsync(10);
        expect(held).toHaveLength(1);
        // ...then Genesys refuses the frame, and it goes out again a second later, after that read started.
        desk.refused(
          socket.frames[0]!.tracingId as string,
          new GuestApiError('rate_limited', 'slow down', { retryAfterSeconds: 1 }),
        );
        await jest.advanceTimersByTimeAsync(1000);
        expect(socket.frames).toHaveLength(2);
        desk.socketLost();
        const settling = ledger.settleInDoubt(desk);
        held[0]!([]);
        await jest.advanceTimersByTimeAsync(0);
        expect(held).toHaveLength(2);
        held[1]!([inbound({ id: 'g-again', text: 'again', time: new Date(Date.now()).toISOString() })]);
        await settling;
        await expect(lost).resolves.toMatchObject({ id: 'g-again' });
        expect(await other).toEqual({ verdict: 'not_delivered' });
      } finally {
        jest.useRealTimers();
      }
    });

    test('a read that fails is shared too: every proof that shared it is an honest "unknown"', async () => {
      let reads = 0;
      const ledger = new DeliveryLedger(
        () => (reads++, Promise.reject(new Error('history 503'))),
        logger,
        () => SENT_AT + 1000,
      );
      const verdicts = await Promise.all(
        ['x', 'y', 'z'].map((id) => ledger.prove({ messageId: id, text: id, sentAt: SENT_AT })),
      );
      expect(verdicts).toEqual([{ verdict: 'unknown' }, { verdict: 'unknown' }, { verdict: 'unknown' }]);
      expect(reads).toBe(2);
    });
  });

  describe('the ledger: no Genesys message proves two sends', () => {
    const now = () => SENT_AT + 1000;
    const echoOf = (text: string, id: string, tracingId: string) => ({
      type: 'message',
      class: 'StructuredMessage',
      code: 200,
      body: {
        id,
        type: 'Text',
        text,
        direction: 'Inbound',
        channel: { time: '2026-11-22T10:00:01Z', messageId: null },
      },
      tracingId,
    });

    /** A desk whose socket takes every frame; the test drops it with socketLost(). */
    function deskWithSends(texts: string[]) {
      const desk = new RequestDesk(
        new StandInSocket(),
        60_000,
        { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 },
        now,
      );
      const outcomes = texts.map((text, i) =>
        desk
          .request<NormalizedMessage>('send', () => ({}), { messageId: `m${i}`, text })
          .then(
            (message) => ({ delivered: message.id }),
            (error: Error) => ({ error: error.message }),
          ),
      );
      return { desk, outcomes };
    }

    test('two sends in doubt with the same text, one such message in history: one is delivered, the other is not; history is read once', async () => {
      let reads = 0;
      const ledger = new DeliveryLedger(
        () => (reads++, Promise.resolve([inbound({ id: 'g1', text: 'twice?' })])),
        logger,
        now,
      );
      const { desk, outcomes } = deskWithSends(['twice?', 'twice?']);
      desk.socketLost();
      await ledger.settleInDoubt(desk);
      const [first, second] = await Promise.all(outcomes);
      expect(first).toEqual({ delivered: 'g1' });
      expect(second).toEqual({ error: expect.stringMatching(/not delivered/) });
      expect(reads).toBe(1);
    });

    test('a message proved for one retry is accounted for: another send with the same text is not proved by it', async () => {
      const ledger = new DeliveryLedger(page(inbound({ id: 'g1', text: 'same words' })), logger, now);
      const a = await ledger.prove({ messageId: 'a', text: 'same words', sentAt: SENT_AT });
      const b = await ledger.prove({ messageId: 'b', text: 'same words', sentAt: SENT_AT });
      expect(a).toMatchObject({ verdict: 'delivered', message: { id: 'g1' } });
      expect(b).toEqual({ verdict: 'not_delivered' });
    });

    test('a send proved delivered is proved delivered again: its retry is never told "not delivered" by its own message', async () => {
      const ledger = new DeliveryLedger(page(inbound({ id: 'g1', text: 'once only' })), logger, now);
      const first = await ledger.prove({ messageId: 'a', text: 'once only', sentAt: SENT_AT });
      const again = await ledger.prove({ messageId: 'a', text: 'once only', sentAt: SENT_AT });
      expect(first).toMatchObject({ verdict: 'delivered', message: { id: 'g1' } });
      expect(again).toMatchObject({ verdict: 'delivered', message: { id: 'g1' } });
    });

    test("a send in doubt proved delivered after its request gave up: the client's retry is delivered, not sent twice", async () => {
      // The socket dropped under the send; its proof's read outlived the request's deadline (a loaded machine), so
      // the verdict answered nobody. The retry with the same key must find the same message, not a claimed one.
      const history = [inbound({ id: 'g-ours' })];
      let answer: ((messages: NormalizedMessage[]) => void) | undefined;
      // The first read is held until the request has given up; any later one answers at once.
      const ledger = new DeliveryLedger(
        () => (answer ? Promise.resolve(history) : new Promise<NormalizedMessage[]>((resolve) => (answer = resolve))),
        logger,
        now,
      );
      const d = new RequestDesk(
        new StandInSocket(),
        60_000,
        { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 },
        now,
      );
      const lost = d.request<NormalizedMessage>('send', () => ({}), { messageId: 'ours', text: 'where is my order?' });
      d.socketLost();
      const settling = ledger.settleInDoubt(d);
      d.failAll(
        new GuestApiError('timeout', 'Genesys did not confirm the message in time; it may have been delivered.'),
      );
      await expect(lost).rejects.toThrow(/may have been delivered/);
      answer!(history);
      await settling;
      expect(await ledger.prove({ messageId: 'ours', text: 'where is my order?', sentAt: SENT_AT })).toMatchObject({
        verdict: 'delivered',
        message: { id: 'g-ours' },
      });
    });

    test('the late echo of a send that timed out proves that send, and never another with the same text', async () => {
      let reads = 0;
      const ledger = new DeliveryLedger(
        () => (reads++, page(inbound({ id: 'g-late', text: 'hello?', clientMessageId: 'genesys-own-id' }))()),
        logger,
        now,
      );
      const h = inboundHarness({ now: now(), lateWindowMs: 120_000, ledger });
      const timedOut = {
        kind: 'send',
        tracingId: 'T',
        frame: {},
        written: true,
        inDoubt: false,
        messageId: 'ours',
        text: 'hello?',
      } as Pending;
      h.desk.pending.add(timedOut);
      h.desk.pending.remove(timedOut, true);
      h.feed(echoOf('hello?', 'g-late', 'T'));
      expect(await ledger.prove({ messageId: 'other', text: 'hello?', sentAt: SENT_AT })).toEqual({
        verdict: 'not_delivered',
      });
      expect(reads).toBe(1);
      // The late echo proves its own send without a history read (each counts against the session's ten a minute).
      expect(await ledger.prove({ messageId: 'ours', text: 'hello?', sentAt: SENT_AT })).toMatchObject({
        verdict: 'delivered',
        message: { id: 'g-late' },
      });
      expect(reads).toBe(1);
    });

    test('the on-time echo of a send proves that send when its retry has to (its record could not be marked done), and never another', async () => {
      const ledger = new DeliveryLedger(
        page(inbound({ id: 'g-echo', text: 'kept?', clientMessageId: 'genesys-own-id' })),
        logger,
        now,
      );
      const h = inboundHarness({ now: now(), lateWindowMs: 120_000, ledger });
      h.desk.pending.add({
        kind: 'send',
        tracingId: 'E',
        frame: {},
        written: true,
        inDoubt: false,
        messageId: 'ours',
        text: 'kept?',
      } as Pending);
      h.feed(echoOf('kept?', 'g-echo', 'E'));
      expect([...h.desk.settled.values()]).toEqual([{ value: expect.objectContaining({ id: 'g-echo' }) }]);
      expect(await ledger.prove({ messageId: 'other', text: 'kept?', sentAt: SENT_AT })).toEqual({
        verdict: 'not_delivered',
      });
      expect(await ledger.prove({ messageId: 'ours', text: 'kept?', sentAt: SENT_AT })).toMatchObject({
        verdict: 'delivered',
        message: { id: 'g-echo' },
      });
    });
  });

  describe('sends in doubt after a socket dropped', () => {
    const now = () => SENT_AT + 1000;

    /** A desk whose socket takes every frame, on `clock`; `socketLost()` drops it under what was written. */
    function desk(clock: () => number = now) {
      const d = new RequestDesk(
        new StandInSocket(),
        60_000,
        { messagesPerSecond: 100, requestsPerMinute: 1000, laneHoldMs: 0 },
        clock,
      );
      const outcome = (promise: Promise<NormalizedMessage>) =>
        promise.then(
          (message) => ({ delivered: message.id }),
          (error: Error) => ({ error: error.message }),
        );
      return {
        desk: d,
        send: (messageId: string, about: { text?: string; payload?: string }) =>
          outcome(d.request<NormalizedMessage>('send', () => ({}), { messageId, ...about })),
      };
    }

    test('a quick-reply answer in doubt, whose echo in history has no text of its own, is proved by its payload and text', async () => {
      const ledger = new DeliveryLedger(
        page(
          inbound({
            id: 'g-answer',
            type: 'structured',
            text: undefined,
            buttonResponse: { text: 'Yes', payload: 'YES', type: 'QuickReply' },
          }),
        ),
        logger,
        now,
      );
      const { desk: d, send } = desk();
      const answer = send('ours', { text: 'Yes', payload: 'YES' });
      d.socketLost();
      await ledger.settleInDoubt(d);
      expect(await answer).toEqual({ delivered: 'g-answer' });
    });

    test('a send in doubt that Genesys stamped within the clock-skew allowance before it was written is delivered, not "safe to send again"', async () => {
      const written = now();
      const echo = inbound({ id: 'g-early', time: new Date(written - CLOCK_SKEW_MS).toISOString() });
      const ledger = new DeliveryLedger(page(echo), logger, now);
      const { desk: d, send } = desk();
      const lost = send('ours', { text: 'where is my order?' });
      d.socketLost();
      await ledger.settleInDoubt(d);
      expect(await lost).toEqual({ delivered: 'g-early' });
    });

    test('a send in doubt is judged from when it was written, not from when the proof runs: a slow reconnect still proves it', async () => {
      let clock = now();
      const { desk: d, send } = desk(() => clock);
      const lost = send('ours', { text: 'where is my order?' });
      const echo = inbound({ id: 'g-slow', time: new Date(clock).toISOString() });
      d.socketLost();
      // Reconnecting took far longer than the clock-skew allowance.
      clock += 10 * CLOCK_SKEW_MS;
      await new DeliveryLedger(page(echo), logger, () => clock).settleInDoubt(d);
      expect(await lost).toEqual({ delivered: 'g-slow' });
    });

    test('only the sends in doubt are judged: one written on the new socket waits for its own echo', async () => {
      const ledger = new DeliveryLedger(page(), logger, now);
      const { desk: d, send } = desk();
      const lost = send('m1', { text: 'first' });
      d.socketLost();
      const fresh = send('m2', { text: 'second' });
      await ledger.settleInDoubt(d);
      expect(await lost).toEqual({
        error:
          'The connection to Genesys dropped while sending; the message was not delivered. It is safe to send it again.',
      });
      expect(d.size).toBe(1);
      d.failAll(new GuestApiError('session_expired', 'over'));
      expect(await fresh).toEqual({ error: 'over' });
    });

    test("with nothing in doubt, history is not read (each read counts against the session's ten a minute)", async () => {
      let reads = 0;
      const ledger = new DeliveryLedger(() => (reads++, Promise.resolve([])), logger, now);
      const { desk: d } = desk();
      d.socketLost();
      await ledger.settleInDoubt(d);
      expect(reads).toBe(0);
    });

    test("a send in doubt whose history read Genesys's limit refused carries Genesys's wait to its client", async () => {
      const limited = new GuestApiError('rate_limited', 'Genesys limits history reads', { retryAfterSeconds: 30 });
      const ledger = new DeliveryLedger(() => Promise.reject(limited), logger, now);
      const { desk: d } = desk();
      const lost = d.request<NormalizedMessage>('send', () => ({}), { messageId: 'm1', text: 'hello?' });
      d.socketLost();
      await ledger.settleInDoubt(d);
      await expect(lost).rejects.toMatchObject({ failure: 'connection_lost', retryAfterSeconds: 30 });
    });

    test('when history cannot be read, a send in doubt is answered "may have been delivered", counted, and the failure logged', async () => {
      const { lines, logger: captured } = capture();
      const ledger = new DeliveryLedger(() => Promise.reject(new Error('ECONNRESET')), captured, now);
      const { desk: d, send } = desk();
      const lost = send('m1', { text: 'hello?' });
      d.socketLost();
      const before = await inDoubtCount();
      await ledger.settleInDoubt(d);
      expect(await lost).toEqual({
        error:
          'The connection to Genesys dropped while sending and delivery could not be checked; it may have been ' +
          'delivered. Retry with the same Idempotency-Key: a delivered message is never sent twice.',
      });
      expect(await inDoubtCount()).toBe(before + 1);
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          err: expect.objectContaining({ message: 'ECONNRESET' }),
          msg: expect.stringMatching(/could not read history.*in doubt/),
        }),
      ]);
    });
  });

  test('right after a send Genesys was slow to confirm, its absence from history is "unknown" until it should show', async () => {
    let clock = SENT_AT + 3000;
    const ledger = new DeliveryLedger(page(), logger, () => clock);
    const slow: SentMessage = { ...sent, visibleBy: SENT_AT + 6000 };
    expect(await ledger.prove(slow)).toMatchObject({ verdict: 'unknown' });
    clock = SENT_AT + 6000;
    expect(await ledger.prove(slow)).toEqual({ verdict: 'not_delivered' });
  });

  test('right after a send Genesys was slow to confirm, history that already shows it proves it', async () => {
    const ledger = new DeliveryLedger(page(inbound({ clientMessageId: 'our-id' })), logger, () => SENT_AT + 3000);
    expect(await ledger.prove({ ...sent, visibleBy: SENT_AT + 6000 })).toMatchObject({
      verdict: 'delivered',
      message: { id: 'genesys-id' },
    });
  });
});

describe("the ledger's memory of late echoes and answered ids", () => {
  /**
   * The ledger's memory of late echoes is a ceiling, not a hope: a session that sends for hours keeps
   * the last 200 (deliveryProof.ts, ACCOUNTED_IDS), and a send older than that is proved from history
   * again, like any other.
   */
  const SENT_AT = Date.parse('2026-11-22T10:00:00Z');
  const echo = (n: number): NormalizedMessage => ({
    id: `genesys-${n}`,
    direction: 'inbound',
    type: 'text',
    text: `message ${n}`,
    time: '2026-11-22T10:00:01Z',
  });
  const sent = (n: number) => ({ messageId: `our-${n}`, text: `message ${n}`, sentAt: SENT_AT });

  test('a ledger remembers the last 200 late echoes and forgets the oldest first', async () => {
    // No history reader: what the ledger does not remember cannot be proved, so it is "unknown".
    const ledger = new DeliveryLedger(undefined, pino({ level: 'silent' }), () => SENT_AT + 1000);
    for (let n = 0; n <= 200; n += 1) ledger.lateEcho(`our-${n}`, echo(n));

    await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'unknown' });
    await expect(ledger.prove(sent(1))).resolves.toEqual({ verdict: 'delivered', message: echo(1) });
    await expect(ledger.prove(sent(200))).resolves.toEqual({ verdict: 'delivered', message: echo(200) });
  });

  test('a ledger accounts for the last 200 answered Genesys ids: the oldest can prove a send again once 200 newer ones are in', async () => {
    const page = [echo(0)];
    const ledger = new DeliveryLedger(
      () => Promise.resolve(page),
      pino({ level: 'silent' }),
      () => SENT_AT + 1000,
    );
    ledger.accountFor('genesys-0');
    await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'not_delivered' });
    for (let n = 1; n < 200; n += 1) ledger.accountFor(`genesys-${n}`);
    // 200 ids held, the oldest among them.
    await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'not_delivered' });
    ledger.accountFor('genesys-200');
    await expect(ledger.prove(sent(0))).resolves.toEqual({ verdict: 'delivered', message: echo(0) });
  });
});
