import { GuestApiError } from '../../../../src/genesys/guest/protocol/errors';
import { PendingRequests, type Pending, type PendingKind } from '../../../../src/genesys/guest/desk/pendingRequests';

/**
 * The book of requests waiting for Genesys, on its own: which request a
 * reply without tracingId answers, and how long a request that gave up still
 * counts as the cause of one (docs/genesys-protocol.md#envelope-and-correlation-tracingid).
 * test/genesys/guest/desk/correlation.test.ts drives the same rules through real frames.
 */

const LATE_WINDOW_MS = 2_000;

function book() {
  const clock = { now: 1_000_000 };
  const pending = new PendingRequests(LATE_WINDOW_MS, () => clock.now);
  const timers: NodeJS.Timeout[] = [];
  const add = (kind: PendingKind, tracingId: string, extra: Partial<Pending> = {}): Pending => {
    const timer = setTimeout(() => undefined, 0);
    timers.push(timer);
    const p: Pending = {
      kind,
      tracingId,
      frame: {},
      written: true,
      inDoubt: false,
      resolve: () => undefined,
      reject: () => undefined,
      timer,
      ...extra,
    };
    pending.add(p);
    return p;
  };
  const advance = (ms: number) => {
    clock.now += ms;
  };
  return { pending, add, advance, clock, clear: () => timers.forEach(clearTimeout) };
}

let current: ReturnType<typeof book> | undefined;
function fresh() {
  current = book();
  return current;
}
afterEach(() => current?.clear());

describe('the book of pending requests', () => {
  it('tells whether the newest frame no longer waiting is of a kind, and was written within a time', () => {
    const { pending, add, advance } = fresh();
    expect(pending.lastRetiredWas('read', 1000)).toBe(false);
    pending.sentWithoutReply('R', 'read');
    expect(pending.lastRetiredWas('read', 1000)).toBe(true);
    expect(pending.lastRetiredWas('typing', 1000)).toBe(false);
    advance(1000);
    expect(pending.lastRetiredWas('read', 1000)).toBe(true);
    advance(1);
    expect(pending.lastRetiredWas('read', 1000)).toBe(false);
    // The newest is a send that gave up, after a read.
    pending.sentWithoutReply('R2', 'read');
    pending.remove(add('send', 'S'), true);
    expect([pending.lastRetiredWas('read', 1000), pending.lastRetiredWas('send', 1000)]).toEqual([false, true]);
  });

  it('an untraced refusal at a moment can answer what was written by then, unanswered and not in doubt', () => {
    const { pending, add } = fresh();
    const at = 1_000_000;
    add('send', 'then', { writtenAt: at });
    add('send', 'unwritten', { written: false, writtenAt: at - 10 });
    add('send', 'in doubt', { inDoubt: true, writtenAt: at - 10 });
    add('send', 'written again after', { writtenAt: at - 10, lastWrittenAt: at + 1 });
    add('send', 'after', { writtenAt: at + 1 });
    expect(pending.refusalCandidates(at, 2000).live.map((p) => p.tracingId)).toEqual(['then']);
  });

  it('frames with no reply may own it while younger than the typing time; a request that gave up, while remembered', () => {
    const { pending, add, advance, clock } = fresh();
    const sent = clock.now;
    pending.sentWithoutReply('T', 'typing');
    pending.sentWithoutReply('R', 'read');
    pending.remove(add('send', 'S'), true);
    // Exactly the typing time later, the typing and the read receipt are too old to own it.
    expect(pending.refusalCandidates(sent + 2000, 2000).gone).toBe(1);
    expect(pending.refusalCandidates(sent + 1999, 2000).gone).toBe(3);
    // Past the late window, nothing is remembered to own it.
    advance(LATE_WINDOW_MS + 1);
    expect(pending.refusalCandidates(clock.now, 2000).gone).toBe(0);
  });

  it('holds each request under its tracingId until it is removed', () => {
    const { pending, add } = fresh();
    const a = add('send', 'A');
    const b = add('jwt', 'B');

    expect(pending.size).toBe(2);
    expect([...pending.values()]).toEqual([a, b]);
    expect(pending.byTracingId('A')).toBe(a);
    expect(pending.remove(a, false)).toBe(true);
    expect(pending.size).toBe(1);
    expect(pending.byTracingId('A')).toBeUndefined();
  });

  it('removes a request once: a second removal, or another request under the same tracingId, is refused', () => {
    const { pending, add } = fresh();
    const a = add('send', 'A');
    const impostor: Pending = { ...a };

    expect(pending.remove(impostor, true)).toBe(false);
    expect(pending.byTracingId('A')).toBe(a);
    expect(pending.remove(a, true)).toBe(true);
    expect(pending.remove(a, true)).toBe(false);
  });

  it('remembers a written request that gave up, for the late window and no longer', () => {
    const { pending, add, advance } = fresh();
    pending.remove(add('configure', 'C'), true);

    advance(LATE_WINDOW_MS);
    expect(pending.byTracingId('C')).toBe('retired');
    advance(1);
    expect(pending.byTracingId('C')).toBeUndefined();
  });

  it('forgets a request that was answered, or never written, at once', () => {
    const { pending, add } = fresh();
    pending.remove(add('configure', 'answered'), false);
    pending.remove(add('configure', 'unwritten', { written: false }), true);

    expect(pending.byTracingId('answered')).toBeUndefined();
    expect(pending.byTracingId('unwritten')).toBeUndefined();
    expect(pending.untracedError(400, '')).toEqual({ none: true });
  });

  it('forgets the oldest retired requests first as the window passes', () => {
    const { pending, add, advance } = fresh();
    pending.remove(add('jwt', 'old'), true);
    advance(1_500);
    pending.remove(add('jwt', 'young'), true);
    advance(1_000);

    expect(pending.byTracingId('old')).toBeUndefined();
    expect(pending.byTracingId('young')).toBe('retired');
  });

  it('names the guest message of a send that gave up, and of nothing else', () => {
    const { pending, add, advance } = fresh();
    pending.remove(add('send', 'S', { messageId: 'ms', text: 'hi' }), true);
    pending.remove(add('attachment', 'F', { messageId: 'not-a-message' }), true);

    expect(pending.retiredSend('S')).toBe('ms');
    expect(pending.retiredSend('F')).toBeUndefined();
    expect(pending.retiredSend('unknown')).toBeUndefined();
    advance(LATE_WINDOW_MS + 1);
    expect(pending.retiredSend('S')).toBeUndefined();
  });

  it('forgets every retired request on a new connection: no reply to them can come on it', () => {
    const { pending, add } = fresh();
    pending.remove(add('send', 'S', { messageId: 'ms', text: 'hi' }), true);
    pending.sentWithoutReply('T', 'typing');

    pending.newConnection();

    expect(pending.byTracingId('S')).toBeUndefined();
    expect(pending.byTracingId('T')).toBeUndefined();
    expect(pending.untracedError(403, 'Turn on the Feature Toggle')).toEqual({ none: true });
  });

  it('settles every request, or those a filter picks, even when settling removes them', () => {
    const { pending, add } = fresh();
    const a = add('send', 'A');
    const b = add('jwt', 'B');
    const c = add('send', 'C');
    const error = new GuestApiError('connection_lost', 'gone');
    const settledSends: Pending[] = [];

    pending.failAll(
      error,
      (p, e) => {
        expect(e).toBe(error);
        settledSends.push(p);
        pending.remove(p, false);
      },
      (p) => p.kind === 'send',
    );
    expect(settledSends).toEqual([a, c]);

    const rest: Pending[] = [];
    pending.failAll(error, (p) => {
      rest.push(p);
      pending.remove(p, false);
    });
    expect(rest).toEqual([b]);
    expect(pending.size).toBe(0);
  });
});

describe('replies that carry no tracingId', () => {
  it('go to the oldest written request of a kind they can answer', () => {
    const { pending, add } = fresh();
    add('configure', 'unwritten', { written: false });
    add('send', 'S');
    const close = add('close', 'CL');
    add('configure', 'C');
    const jwt = add('jwt', 'J');
    const join = add('join', 'JN');
    const clear = add('clear', 'X');

    expect(pending.untracedReply('session')).toBe(close);
    expect(pending.untracedReply('jwt')).toBe(jwt);
    expect(pending.untracedReply('joinEcho')).toBe(join);
    expect(pending.untracedReply('cleared')).toBe(clear);
  });

  it('go to nothing when no written request can take them', () => {
    const { pending, add } = fresh();
    add('send', 'S');
    add('jwt', 'J', { written: false });

    expect(pending.untracedReply('jwt')).toBeUndefined();
    expect(pending.untracedReply('session')).toBeUndefined();
  });

  it('find the written attachment request about the file', () => {
    const { pending, add } = fresh();
    add('attachment', 'unwritten', { attachmentId: 'f1', written: false });
    add('send', 'S', { attachmentId: 'f1' });
    add('attachment', 'other', { attachmentId: 'f2' });
    const mine = add('attachment', 'mine', { attachmentId: 'f1' });

    expect(pending.byAttachment('f1')).toBe(mine);
    expect(pending.byAttachment('f3')).toBeUndefined();
  });
});

describe('an echo without tracingId', () => {
  it('answers the written send with our id, even when another has the same text', () => {
    const { pending, add } = fresh();
    add('send', 'unwritten', { messageId: 'm1', text: 'yes', written: false });
    add('send', 'other', { messageId: 'm2', text: 'yes' });
    const mine = add('send', 'mine', { messageId: 'm1', text: 'yes' });
    add('attachment', 'file', { messageId: 'm1' });

    expect(pending.untracedEcho('m1', 'yes')).toBe(mine);
  });

  it("is the late echo of a send that gave up when it carries that send's id, while the window lasts", () => {
    const { pending, add, advance } = fresh();
    pending.remove(add('send', 'gone', { messageId: 'm1', text: 'late' }), true);
    add('send', 'waiting', { messageId: 'm2', text: 'late' });

    const waiting = pending.byTracingId('waiting');

    expect(pending.untracedEcho('m1', 'late')).toEqual({ lateFor: 'm1' });
    advance(LATE_WINDOW_MS + 1);
    expect(pending.untracedEcho('m1', 'late')).toBe(waiting);
  });

  it('with an id of no send falls back on the text, even when a request that was not a send carried that id', () => {
    const { pending, add } = fresh();
    pending.remove(add('attachment', 'F', { messageId: 'm9' }), true);
    pending.remove(add('send', 'gone', { messageId: 'm0', text: 'earlier words' }), true);
    const only = add('send', 'S', { messageId: 'm1', text: 'hello' });

    expect(pending.untracedEcho('m9', 'hello')).toBe(only);
    expect(pending.untracedEcho('m7', 'hello')).toBe(only);
    expect(pending.untracedEcho(undefined, 'hello')).toBe(only);
    expect(pending.untracedEcho('m7', undefined)).toBeUndefined();
    expect(pending.untracedEcho(undefined, 'other text')).toBeUndefined();
  });

  it('is matched by its text only when exactly one written send has it and no send that gave up had it', () => {
    const { pending, add, advance } = fresh();
    add('send', 'unwritten', { text: 'dup', written: false });
    add('send', 'A', { text: 'dup' });
    add('send', 'B', { text: 'dup' });
    expect(pending.untracedEcho(undefined, 'dup')).toBeUndefined();

    const c = add('send', 'C', { text: 'once' });
    pending.remove(add('send', 'gone', { text: 'once' }), true);
    expect(pending.untracedEcho(undefined, 'once')).toBeUndefined();
    advance(LATE_WINDOW_MS + 1);
    expect(pending.untracedEcho(undefined, 'once')).toBe(c);
  });

  it('is matched by its text although a request that gave up and was not a send had the same text', () => {
    const { pending, add } = fresh();
    const send = add('send', 'S', { text: 'report.pdf' });
    pending.remove(add('attachment', 'F', { text: 'report.pdf' }), true);

    expect(pending.untracedEcho(undefined, 'report.pdf')).toBe(send);
  });

  it('never answers a request that is not a send, whatever its id or text', () => {
    const { pending, add } = fresh();
    add('attachment', 'F', { messageId: 'm1', text: 'hello' });
    add('join', 'J', { text: 'hello' });

    expect(pending.untracedEcho('m1', 'hello')).toBeUndefined();
    expect(pending.untracedEcho(undefined, 'hello')).toBeUndefined();
  });

  it('without text, our id or tracingId answers nothing, not even a send without text', () => {
    const { pending, add } = fresh();
    add('send', 'file-only', { messageId: 'mf' });

    expect(pending.untracedEcho(undefined, undefined)).toBeUndefined();
  });

  it('is matched by its text whatever other texts sends that gave up had', () => {
    const { pending, add } = fresh();
    pending.remove(add('send', 'gone', { text: 'earlier words' }), true);
    const send = add('send', 'S', { text: 'new words' });

    expect(pending.untracedEcho(undefined, 'new words')).toBe(send);
  });

  it('never settles a send in doubt by its text', () => {
    const { pending, add } = fresh();
    add('send', 'D', { messageId: 'md', text: 'still there?', inDoubt: true });

    expect(pending.untracedEcho(undefined, 'still there?')).toBeUndefined();
  });
});

describe('an error without tracingId', () => {
  it('goes to the one written request that can cause its code', () => {
    const { pending, add } = fresh();
    add('send', 'unwritten', { written: false });
    add('jwt', 'J');
    const send = add('send', 'S');

    expect(pending.untracedError(4011, '')).toEqual({ to: send });
  });

  it.each([
    [401, 'configure'],
    [4000, 'attachment'],
    [4005, 'attachment'],
    [4008, 'send'],
    [4009, 'attachment'],
    [4010, 'send'],
    [4013, 'join'],
    [4017, 'configure'],
    [4020, 'clear'],
  ] as const)('%i can come from a %s', (code, kind) => {
    const { pending, add } = fresh();
    // A send is refused for a file only when it names one.
    const p = add(kind, 'P', kind === 'send' ? { carriesFiles: true } : {});

    expect(pending.untracedError(code, '')).toEqual({ to: p });
  });

  it.each([4008, 4009, 4010])(
    '%i cannot come from a send that names no file: it goes to the attachment request beside it',
    (code) => {
      const { pending, add } = fresh();
      add('send', 'S');
      const file = add('attachment', 'A');

      expect(pending.untracedError(code, '')).toEqual({ to: file });
    },
  );

  it.each([
    [401, 'send'],
    [4001, 'send'],
    [4002, 'configure'],
    [4003, 'jwt'],
    [4004, 'send'],
    [4008, 'join'],
    [4009, 'configure'],
    [4010, 'jwt'],
    [4011, 'join'],
    [4013, 'configure'],
    [4017, 'send'],
    [4020, 'jwt'],
  ] as const)('%i cannot come from a %s', (code, kind) => {
    const { pending, add } = fresh();
    add(kind, 'P');

    expect(pending.untracedError(code, '')).toEqual({ none: true });
  });

  it('with a code that names no source, can come from any request', () => {
    const { pending, add } = fresh();
    const jwt = add('jwt', 'J');
    expect(pending.untracedError(400, '')).toEqual({ to: jwt });
    add('close', 'CL');
    expect(pending.untracedError(400, '')).toEqual({ ambiguous: 2 });
  });

  it('goes by a text that names its cause before its code', () => {
    const { pending, add } = fresh();
    const clear = add('clear', 'CL');
    add('send', 'S');

    expect(pending.untracedError(403, 'Presence events CONVERSATION CLEAR are not supported')).toEqual({ to: clear });
    expect(pending.untracedError(4011, 'conversation clear refused')).toEqual({ to: clear });
    expect(pending.untracedError(403, 'Turn on the feature toggle')).toEqual({ none: true });
    expect(pending.untracedError(403, '')).toEqual({ ambiguous: 2 });
  });

  it('is ambiguous while a request that gave up, or a typing frame, could also have caused it', () => {
    const { pending, add, advance } = fresh();
    const send = add('send', 'S');
    pending.remove(add('send', 'gone'), true);
    expect(pending.untracedError(4011, '')).toEqual({ ambiguous: 2 });

    pending.sentWithoutReply('T', 'typing');
    expect(pending.untracedError(400, '')).toEqual({ ambiguous: 3 });
    expect(pending.untracedError(403, 'feature toggle is off')).toEqual({ ambiguous: 1 });
    expect(pending.untracedError(4017, '')).toEqual({ none: true });

    advance(LATE_WINDOW_MS + 1);
    expect(pending.untracedError(4011, '')).toEqual({ to: send });
  });

  it('is ambiguous when only retired requests could have caused it', () => {
    const { pending, add } = fresh();
    pending.remove(add('send', 'gone'), true);

    expect(pending.untracedError(4011, '')).toEqual({ ambiguous: 1 });
  });

  it('never goes to a send in doubt: it was written on a socket that is gone', () => {
    const { pending, add } = fresh();
    add('send', 'D', { inDoubt: true });
    expect(pending.untracedError(4011, '')).toEqual({ none: true });
    const s = add('send', 'S');
    expect(pending.untracedError(4011, '')).toEqual({ to: s });
  });
});
