/**
 * When the stream tries again after a failure: a refusal's Retry-After is honoured as given (the service knows
 * when its outage ends), a failure that says nothing backs off, doubling.
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

test('catchingUp says a reload of what a replay could not give is under way, until its messages are handed over', async () => {
  let finish: (messages: never[]) => void = () => undefined;
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    catchUp: () => new Promise((resolve) => (finish = resolve)),
  };
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
  const rounds: number[] = [];
  const shown: string[] = [];
  const source: TicketSource = {
    streamTicket: async () => ({ ticket: 'ticket' }),
    forgetSession() {},
    async catchUp() {
      rounds.push(Date.now());
      if (rounds.length <= 4) throw unavailable(1);
      return [{ id: 'gap', text: 'said in the gap' } as never];
    },
  };
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
