/**
 * The live stream alone (client/src/stream.ts), over fake connections on jest's fake clock. When it tries again
 * after a failure: a refusal's Retry-After is honoured as given (the service knows when its outage ends), a failure
 * that says nothing backs off, doubling. Which refusals end it, which connection's events count once it has
 * reconnected, the states it goes through, and nothing done once it is closed.
 */
import { BffError } from '../../client/src/errors';
import { LiveStream, type TicketSource } from '../../client/src/stream';

class FakeSource extends EventTarget {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

const unavailable = (retryAfterSeconds?: number) =>
  new BffError({ status: 503, code: 'upstream_unavailable', message: 'Genesys is away.', retryAfterSeconds });

/** A ticket source refusing with each of `refusals` in turn, then issuing tickets; the time of every request. */
function ticketsRefused(refusals: BffError[]) {
  const asked: number[] = [];
  const source: TicketSource = {
    async streamTicket() {
      asked.push(Date.now());
      const refusal = refusals[asked.length - 1];
      if (refusal) throw refusal;
      return { ticket: 'ticket' };
    },
    forgetSession() {},
  };
  return { source, asked };
}

/** A LiveStream over `source`, each connection a FakeSource, in `opened`. */
function streamOver(
  source: TicketSource,
  options: ConstructorParameters<typeof LiveStream>[3],
  handlers: ConstructorParameters<typeof LiveStream>[2] = {},
) {
  const opened: FakeSource[] = [];
  const stream = new LiveStream(
    source,
    () => {
      const s = new FakeSource();
      opened.push(s);
      return s as unknown as EventSource;
    },
    handlers,
    options,
  );
  return { stream, opened };
}

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => jest.useRealTimers());

test('after a run of silent failures, a refusal with Retry-After 2 is retried 2-2.4 s later, not after the grown backoff', async () => {
  // Five failures that say nothing (1, 2, 4, 8 and 16 s of backoff, ±20 %), then one that says 2 s.
  const { source, asked } = ticketsRefused([...Array.from({ length: 5 }, () => unavailable()), unavailable(2)]);
  const { stream, opened } = streamOver(source, { initialDelayMs: 1000, maxDelayMs: 60_000 });
  try {
    await jest.advanceTimersByTimeAsync(40_000);
    expect(asked).toHaveLength(7);
    const gaps = asked.slice(1).map((at, i) => at - asked[i]!);
    // The silent failures double.
    for (let i = 1; i < 5; i++) expect(gaps[i]! / gaps[i - 1]!).toBeGreaterThan(1.3);
    // The guided one waits what it was told, however long the backoff had grown.
    expect(gaps[5]).toBeGreaterThanOrEqual(2000);
    expect(gaps[5]).toBeLessThanOrEqual(2400);
    expect(opened).toHaveLength(1);
  } finally {
    stream.close();
  }
});

test('refusals with Retry-After do not grow the backoff of a later silent failure', async () => {
  // Ten refusals of 1 s each (an outage of ten seconds), a ticket, then the stream itself fails without a status.
  const { source, asked } = ticketsRefused(Array.from({ length: 10 }, () => unavailable(1)));
  const { stream, opened } = streamOver(source, { initialDelayMs: 1000, maxDelayMs: 60_000 });
  try {
    await jest.advanceTimersByTimeAsync(13_000);
    expect(asked).toHaveLength(11);
    expect(opened).toHaveLength(1);
    const failedAt = Date.now();
    opened[0]!.dispatchEvent(new Event('error'));
    // The first silent failure: 1 s ±20 %, as if nothing had failed before.
    await jest.advanceTimersByTimeAsync(1300);
    expect(asked).toHaveLength(12);
    expect(asked[11]! - failedAt).toBeGreaterThanOrEqual(800);
    expect(opened).toHaveLength(2);
  } finally {
    stream.close();
  }
});

/** A ticket source whose catch-up is refused with each of `refusals` in turn, then answers `messages`; each round's time. */
function catchUpRefused(refusals: BffError[], messages: never[] = []) {
  const rounds: number[] = [];
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    async catchUp() {
      rounds.push(Date.now());
      const refusal = refusals[rounds.length - 1];
      if (refusal) throw refusal;
      return messages;
    },
  };
  return { source, rounds };
}

/** A ticket source whose catch-up answers when the test says, with the messages it is given. */
function catchUpHeld() {
  let finish: (messages: never[]) => void = () => undefined;
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    catchUp: () => new Promise((resolve) => (finish = resolve)),
  };
  return { source, finish: (messages: never[]) => finish(messages) };
}

test('catchingUp says a reload of what a replay could not give is under way, until its messages are handed over', async () => {
  const { source, finish } = catchUpHeld();
  const { stream, opened } = streamOver(source, {});
  try {
    await jest.advanceTimersByTimeAsync(0);
    const session = (state: string) =>
      opened[0]!.dispatchEvent(Object.assign(new Event('session'), { data: JSON.stringify({ state }) }));
    session('open');
    expect(stream.catchingUp).toBe(false);
    session('replay_incomplete');
    expect(stream.catchingUp).toBe(true);
    finish([]);
    await jest.advanceTimersByTimeAsync(0);
    expect(stream.catchingUp).toBe(false);
  } finally {
    stream.close();
  }
});

test('a catch-up that gives up is tried again, backed off, until its messages are handed over; closing ends it', async () => {
  const { source, rounds } = catchUpRefused(
    Array.from({ length: 4 }, () => unavailable(1)),
    [{ id: 'gap', text: 'said in the gap' } as never],
  );
  const shown: string[] = [];
  const { stream, opened } = streamOver(
    source,
    { initialDelayMs: 1000, maxDelayMs: 8000 },
    { message: (m) => shown.push(m.id) },
  );
  try {
    await jest.advanceTimersByTimeAsync(0);
    const session = (state: string) =>
      opened[0]!.dispatchEvent(Object.assign(new Event('session'), { data: JSON.stringify({ state }) }));
    session('open');
    session('replay_incomplete');
    await jest.advanceTimersByTimeAsync(60_000);
    expect(shown).toEqual(['gap']);
    expect(stream.catchingUp).toBe(false);
    // Backed off: 1, 2, 4 and 8 s (±20 %) between the rounds, never sooner than a refusal's Retry-After.
    const gaps = rounds.slice(1).map((at, i) => at - rounds[i]!);
    expect(gaps.map((gap) => gap >= 800)).toEqual([true, true, true, true]);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeGreaterThan(1.3);
  } finally {
    stream.close();
  }

  // A stream that closes while its catch-up waits stops reading.
  const after: number[] = [];
  const closing = new LiveStream(
    {
      streamTicket: async () => ({ ticket: 'ticket' }),
      forgetSession() {},
      async catchUp() {
        after.push(Date.now());
        throw unavailable(1);
      },
    },
    () => {
      const s = new FakeSource();
      opened.push(s);
      return s as unknown as EventSource;
    },
    {},
    {},
  );
  await jest.advanceTimersByTimeAsync(0);
  const source2 = opened[opened.length - 1]!;
  source2.dispatchEvent(Object.assign(new Event('session'), { data: JSON.stringify({ state: 'open' }) }));
  source2.dispatchEvent(Object.assign(new Event('session'), { data: JSON.stringify({ state: 'replay_incomplete' }) }));
  await jest.advanceTimersByTimeAsync(0);
  expect(after).toHaveLength(1);
  closing.close();
  await jest.advanceTimersByTimeAsync(0);
  expect(closing.catchingUp).toBe(false);
  await jest.advanceTimersByTimeAsync(120_000);
  expect(after).toHaveLength(1);
});

test("a catch-up reads back to where the client was: the place its connection resumed from, else the last message's id, never replay_incomplete's own id", async () => {
  const asked: (string | undefined)[] = [];
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    streamPosition: 't-0000000001000',
    async catchUp(options) {
      asked.push(options.after);
      return [];
    },
  };
  const shown: string[] = [];
  const { stream, opened } = streamOver(source, { initialDelayMs: 1000 }, { message: (m) => shown.push(m.id) });
  // After a failed replay the service names its events with the moment the stream opened, later than the gap.
  const opening = 't-0000000009000';
  const last = () => opened[opened.length - 1]!;
  const session = (state: string, lastEventId = opening) =>
    last().dispatchEvent(new MessageEvent('session', { data: JSON.stringify({ state }), lastEventId }));
  const message = (id: string) =>
    last().dispatchEvent(new MessageEvent('message', { data: JSON.stringify({ id }), lastEventId: id }));
  try {
    // The first connection started from the session's stream position.
    await jest.advanceTimersByTimeAsync(0);
    session('open');
    session('replay_incomplete');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(['t-0000000001000']);

    // Messages since: the place is the last one's id (an upstream reconnect's replay failing mid-stream).
    message('m1');
    message('m2');
    session('replay_incomplete', 'm2');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked[1]).toBe('m2');

    // Reopened from m2: its replay fails before any message; the catch-up reads back to m2, not to the opening.
    last().dispatchEvent(new Event('error'));
    await jest.advanceTimersByTimeAsync(1500);
    expect(opened).toHaveLength(2);
    session('open');
    session('replay_incomplete');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked[2]).toBe('m2');
    expect(shown).toEqual(['m1', 'm2']);
  } finally {
    stream.close();
  }
});

test('a replay_incomplete while a catch-up is under way is caught up from its own place once that one is done', async () => {
  const asked: (string | undefined)[] = [];
  const finish: ((messages: never[]) => void)[] = [];
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    streamPosition: 't-0000000001000',
    catchUp(options) {
      asked.push(options.after);
      return new Promise((resolve) => finish.push(resolve));
    },
  };
  const shown: string[] = [];
  const { stream, opened } = streamOver(source, { initialDelayMs: 1000 }, { message: (m) => shown.push(m.id) });
  const session = (state: string, lastEventId: string) =>
    opened[0]!.dispatchEvent(new MessageEvent('session', { data: JSON.stringify({ state }), lastEventId }));
  const message = (id: string) =>
    opened[0]!.dispatchEvent(new MessageEvent('message', { data: JSON.stringify({ id }), lastEventId: id }));
  try {
    await jest.advanceTimersByTimeAsync(0);
    session('open', 't-0000000001000');
    session('replay_incomplete', 't-0000000001000');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked).toEqual(['t-0000000001000']);
    // While its reads are on the wire, the chat goes on and a later gap opens (an upstream reconnect's replay fails).
    message('m1');
    session('replay_incomplete', 'm1');
    message('m2');
    session('replay_incomplete', 'm2');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked).toHaveLength(1);
    expect(stream.catchingUp).toBe(true);
    finish[0]!([{ id: 'g1' } as never]);
    await jest.advanceTimersByTimeAsync(0);
    // One more catch-up, from the older of the two later gaps.
    expect(asked).toEqual(['t-0000000001000', 'm1']);
    expect(stream.catchingUp).toBe(true);
    finish[1]!([{ id: 'g2' } as never]);
    await jest.advanceTimersByTimeAsync(0);
    expect(shown).toEqual(['m1', 'm2', 'g1', 'g2']);
    expect(asked).toHaveLength(2);
    expect(stream.catchingUp).toBe(false);
  } finally {
    stream.close();
  }
});

test('a catch-up refused in a way no wait changes takes the one queued behind it along', async () => {
  let asked = 0;
  let refuse: (error: BffError) => void = () => undefined;
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    catchUp() {
      asked++;
      return new Promise((_, reject) => (refuse = reject));
    },
  };
  const { stream, opened } = streamOver(source, {});
  const session = (state: string) =>
    opened[0]!.dispatchEvent(Object.assign(new Event('session'), { data: JSON.stringify({ state }) }));
  try {
    await jest.advanceTimersByTimeAsync(0);
    session('open');
    session('replay_incomplete');
    session('replay_incomplete');
    await jest.advanceTimersByTimeAsync(0);
    expect(asked).toBe(1);
    refuse(new BffError({ status: 403, code: 'origin_not_allowed', message: 'This origin may not call.' }));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(asked).toBe(1);
    expect(stream.catchingUp).toBe(false);
  } finally {
    stream.close();
  }
});

test('a ticket refused for a token a sign-in in doubt may have replaced: tried again, not the end; once that is settled, the end', async () => {
  const refused = new BffError({ status: 401, code: 'unauthorized', message: 'The customer signed in since.' });
  let inDoubt = true;
  let signedIn = false;
  const asked: number[] = [];
  const errors: BffError[] = [];
  const source: TicketSource = {
    async streamTicket() {
      asked.push(Date.now());
      if (!signedIn) throw refused;
      return { ticket: 'ticket' };
    },
    forgetSession() {},
    get signInInDoubt() {
      return inDoubt;
    },
  };
  const { stream, opened } = streamOver(
    source,
    { initialDelayMs: 1000, maxDelayMs: 4000 },
    { error: (e) => errors.push(e) },
  );
  try {
    await jest.advanceTimersByTimeAsync(10_000);
    expect(asked.length).toBeGreaterThan(2);
    expect(stream.state).toBe('reconnecting');
    expect(errors).toEqual([]);
    // The same sign-in again brought the new token: the next try opens the stream.
    signedIn = true;
    inDoubt = false;
    await jest.advanceTimersByTimeAsync(5000);
    expect(opened).toHaveLength(1);
  } finally {
    stream.close();
  }

  // Settled without a new token: a refusal is the end, as always.
  signedIn = false;
  inDoubt = false;
  const ended = new LiveStream(
    source,
    () => new FakeSource() as unknown as EventSource,
    { error: (e) => errors.push(e) },
    {},
  );
  await jest.advanceTimersByTimeAsync(0);
  expect(ended.state).toBe('closed');
  expect(errors).toEqual([refused]);
});

/** A ticket source issuing tickets at once (or as `ticket` says), with a catch-up that records where it read back to. */
function issuing(ticket: () => Promise<{ ticket: string }> = async () => ({ ticket: 'ticket' })) {
  const caughtUp: (string | undefined)[] = [];
  const source: TicketSource = {
    streamTicket: ticket,
    forgetSession() {},
    streamPosition: 't-0000000001000',
    async catchUp(options) {
      caughtUp.push(options.after);
      return [];
    },
  };
  return { source, caughtUp };
}

const emit = (to: FakeSource, event: string, data: unknown, lastEventId = '') =>
  to.dispatchEvent(
    new MessageEvent(event, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId }),
  );

describe('states and reconnects', () => {
  test('connecting at first; reconnecting after a failed ticket or a dropped connection, and open, each told once', async () => {
    const { source, asked } = ticketsRefused([unavailable()]);
    const states: string[] = [];
    const opens: boolean[] = [];
    const { stream, opened } = streamOver(
      source,
      { initialDelayMs: 1000 },
      { state: (s) => states.push(s), open: ({ reconnected }) => opens.push(reconnected) },
    );
    try {
      expect(stream.state).toBe('connecting');
      await jest.advanceTimersByTimeAsync(1300);
      expect(asked).toHaveLength(2);
      emit(opened[0]!, 'session', { state: 'open' });
      // Opened after a failure: a reconnect, whose replay brings what came meanwhile.
      expect(opens).toEqual([true]);
      opened[0]!.dispatchEvent(new Event('error'));
      await jest.advanceTimersByTimeAsync(1300);
      emit(opened[1]!, 'session', { state: 'open' });
      expect(opens).toEqual([true, true]);
      expect(states).toEqual(['reconnecting', 'open', 'reconnecting', 'open']);
    } finally {
      stream.close();
    }
  });

  test.each([
    // A silent failure's wait: 0.8 to 1.2 times the 1 s backoff, at each end.
    ['a dropped connection reconnects after 0.8 times the backoff at the shortest', 0, 790, 20, new Event('error')],
    [
      'a dropped connection reconnects after 1.2 times the backoff at the longest',
      0.9999,
      1190,
      10,
      new Event('error'),
    ],
    // Another instance can take over at once; a little jitter (up to 250 ms) spreads the herd.
    [
      "the service's final event with reconnect: another instance is asked within 250 ms, not at once",
      0.5,
      100,
      50,
      new MessageEvent('session', { data: JSON.stringify({ state: 'unavailable', reconnect: true }) }),
    ],
  ])('%s, reconnecting meanwhile', async (_name, random, before, after, drop) => {
    const pinned = jest.spyOn(Math, 'random').mockReturnValue(random);
    const { source, asked } = ticketsRefused([]);
    const states: string[] = [];
    const { stream, opened } = streamOver(source, { initialDelayMs: 1000 }, { state: (s) => states.push(s) });
    try {
      await jest.advanceTimersByTimeAsync(0);
      emit(opened[0]!, 'session', { state: 'open' });
      opened[0]!.dispatchEvent(drop);
      expect(opened[0]!.closed).toBe(true);
      await jest.advanceTimersByTimeAsync(before);
      expect(asked).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(after);
      expect(asked).toHaveLength(2);
      // Reconnecting all the way, whether or not anything failed.
      expect(states).toEqual(['open', 'reconnecting']);
    } finally {
      pinned.mockRestore();
      stream.close();
    }
  });

  test("the service's final event without reconnect ends the stream, in a plain word when it gives no detail", async () => {
    const errors: BffError[] = [];
    let forgotten = 0;
    const { source } = issuing();
    source.forgetSession = () => void forgotten++;
    const { stream, opened } = streamOver(source, {}, { error: (e) => errors.push(e) });
    await jest.advanceTimersByTimeAsync(0);
    emit(opened[0]!, 'session', { state: 'expired', reconnect: false });
    expect(stream.state).toBe('closed');
    expect(forgotten).toBe(1);
    expect(errors.map((e) => [e.status, e.code, e.message])).toEqual([
      [410, 'session_expired', 'The chat session has ended.'],
    ]);
  });

  test.each([
    [
      'a 403 (this origin or ticket refused)',
      new BffError({ status: 403, code: 'origin_not_allowed', message: 'x' }),
      false,
    ],
    [
      'a 403 while a sign-in is in doubt',
      new BffError({ status: 403, code: 'origin_not_allowed', message: 'x' }),
      true,
    ],
    ['a 401 with no sign-in in doubt', new BffError({ status: 401, code: 'unauthorized', message: 'x' }), false],
  ])('a ticket refused with %s ends the stream: no reconnect', async (_name, refusal, inDoubt) => {
    const { source, asked } = ticketsRefused([refusal]);
    Object.defineProperty(source, 'signInInDoubt', { value: inDoubt });
    const errors: BffError[] = [];
    const { stream } = streamOver(source, {}, { error: (e) => errors.push(e) });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(errors).toEqual([refusal]);
    expect(asked).toHaveLength(1);
    expect(stream.state).toBe('closed');
  });
});

describe('a connection replaced by the next one is not heard', () => {
  test('its late message, session event or error changes nothing: no place, no handler, no second reconnect', async () => {
    const { source, caughtUp } = issuing();
    const sessions: string[] = [];
    const { stream, opened } = streamOver(source, { initialDelayMs: 1000 }, { session: (e) => sessions.push(e.state) });
    try {
      await jest.advanceTimersByTimeAsync(0);
      emit(opened[0]!, 'session', { state: 'open' });
      emit(opened[0]!, 'message', { id: 'm1' }, 'm1');
      opened[0]!.dispatchEvent(new Event('error'));
      await jest.advanceTimersByTimeAsync(1300);
      expect(opened).toHaveLength(2);
      emit(opened[1]!, 'session', { state: 'open' });
      // The old connection, closed, still delivers what was under way.
      emit(opened[0]!, 'message', { id: 'old' }, 'old');
      emit(opened[0]!, 'session', { state: 'replay_incomplete' });
      opened[0]!.dispatchEvent(new Event('error'));
      await jest.advanceTimersByTimeAsync(5000);
      expect(opened).toHaveLength(2);
      expect(sessions).toEqual([]);
      expect(caughtUp).toEqual([]);
      // The new connection's gap is read back to m1, where this connection resumed from.
      emit(opened[1]!, 'session', { state: 'replay_incomplete' });
      await jest.advanceTimersByTimeAsync(0);
      expect(caughtUp).toEqual(['m1']);
    } finally {
      stream.close();
    }
  });

  test("a message without an id, or one that is not JSON, does not move the catch-up's place", async () => {
    const { source, caughtUp } = issuing();
    const shown: string[] = [];
    const { stream, opened } = streamOver(source, {}, { message: (m) => shown.push(m.id) });
    try {
      await jest.advanceTimersByTimeAsync(0);
      emit(opened[0]!, 'session', { state: 'open' });
      emit(opened[0]!, 'message', { id: 'm1' }, 'm1');
      emit(opened[0]!, 'message', { id: 'no-event-id' });
      emit(opened[0]!, 'message', '{not json', 'm9');
      emit(opened[0]!, 'session', { state: 'expiring' });
      await jest.advanceTimersByTimeAsync(0);
      expect(caughtUp).toEqual([]);
      emit(opened[0]!, 'session', { state: 'replay_incomplete' });
      await jest.advanceTimersByTimeAsync(0);
      expect(caughtUp).toEqual(['m1']);
      expect(shown).toEqual(['m1', 'no-event-id']);
    } finally {
      stream.close();
    }
  });
});

describe('a catch-up', () => {
  test('catchUp: false reads nothing after replay_incomplete', async () => {
    const { source, caughtUp } = issuing();
    const { stream, opened } = streamOver(source, { catchUp: false });
    try {
      await jest.advanceTimersByTimeAsync(0);
      emit(opened[0]!, 'session', { state: 'open' });
      emit(opened[0]!, 'session', { state: 'replay_incomplete' });
      await jest.advanceTimersByTimeAsync(60_000);
      expect(caughtUp).toEqual([]);
      expect(stream.catchingUp).toBe(false);
    } finally {
      stream.close();
    }
  });

  test('refused with a Retry-After longer than the backoff, it waits that long (each wait 0.8 of it at the shortest)', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    const { source, rounds } = catchUpRefused([unavailable(10), unavailable()]);
    const { stream, opened } = streamOver(source, { initialDelayMs: 1000 });
    try {
      await jest.advanceTimersByTimeAsync(0);
      emit(opened[0]!, 'session', { state: 'open' });
      emit(opened[0]!, 'session', { state: 'replay_incomplete' });
      await jest.advanceTimersByTimeAsync(0);
      const start = rounds[0]!;
      // Told 10 s (0.8 of it: 8 s); the backoff alone would be 0.8 s.
      await jest.advanceTimersByTimeAsync(7900);
      expect(rounds).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(200);
      expect(rounds).toHaveLength(2);
      expect(rounds[1]! - start).toBe(8000);
      // Then a refusal that says nothing: the backoff of the second round, 2 s, times 0.8.
      await jest.advanceTimersByTimeAsync(1600);
      expect(rounds).toHaveLength(3);
      expect(rounds[2]! - rounds[1]!).toBe(1600);
    } finally {
      random.mockRestore();
      stream.close();
    }
  });

  test('one that answers after the stream closed hands nothing over', async () => {
    const { source, finish } = catchUpHeld();
    const shown: string[] = [];
    const { stream, opened } = streamOver(source, {}, { message: (m) => shown.push(m.id) });
    await jest.advanceTimersByTimeAsync(0);
    emit(opened[0]!, 'session', { state: 'open' });
    emit(opened[0]!, 'session', { state: 'replay_incomplete' });
    await jest.advanceTimersByTimeAsync(0);
    stream.close();
    finish([{ id: 'late' } as never]);
    await jest.advanceTimersByTimeAsync(0);
    expect(shown).toEqual([]);
  });
});

describe('closed', () => {
  test('while its ticket is asked for: no connection opens, and a refusal then schedules nothing', async () => {
    const tickets: { settle: (ok: boolean) => void }[] = [];
    const { source } = issuing(
      () =>
        new Promise((resolve, reject) =>
          tickets.push({ settle: (ok) => (ok ? resolve({ ticket: 'ticket' }) : reject(unavailable())) }),
        ),
    );
    const states: string[] = [];
    const first = streamOver(source, {}, { state: (s) => states.push(s) });
    first.stream.close();
    tickets[0]!.settle(true);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(first.opened).toEqual([]);

    const second = streamOver(source, {}, { state: (s) => states.push(s) });
    second.stream.close();
    tickets[1]!.settle(false);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(tickets).toHaveLength(2);
    expect(states).toEqual(['closed', 'closed']);
  });

  test('by its own state handler as it starts reconnecting, it asks for no ticket', async () => {
    const { source, asked } = ticketsRefused([]);
    const holder: { stream?: LiveStream } = {};
    const states: string[] = [];
    const { stream, opened } = streamOver(
      source,
      {},
      {
        state: (s) => {
          states.push(s);
          if (s === 'reconnecting') holder.stream?.close();
        },
      },
    );
    holder.stream = stream;
    await jest.advanceTimersByTimeAsync(0);
    emit(opened[0]!, 'session', { state: 'open' });
    opened[0]!.dispatchEvent(new Event('error'));
    await jest.advanceTimersByTimeAsync(60_000);
    expect(asked).toHaveLength(1);
    expect(states).toEqual(['open', 'reconnecting', 'closed']);
  });
});
