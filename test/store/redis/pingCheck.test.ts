import net from 'node:net';
import { PingCheck, nextState, type Miss, type PingState, type PingVerdict } from '../../../src/store/redis/pingCheck';
import { waitFor } from '../../support/wait';

/**
 * Whether Redis answers (src/store/redis/pingCheck.ts): where each PING's outcome leads, when PINGs are sent, and
 * that a deadline this process's own busy event loop let pass is judged on what Redis sent meanwhile.
 */

describe('where a PING leads', () => {
  test.each<[PingState, boolean, PingState]>([
    ['answering', true, 'answering'],
    ['suspect', true, 'answering'],
    ['silent', true, 'answering'],
    ['answering', false, 'suspect'],
    ['suspect', false, 'silent'],
    ['silent', false, 'silent'],
  ])('from %s, a PING answered (%s) leads to %s', (from, answered, to) => {
    expect(nextState(from, answered)).toBe(to);
  });
});

describe('the PINGs, on a clock the test moves', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  /** A check whose PINGs Redis answers only when the test says, every second, each within 100 ms. */
  function checkWith(options: { connected?: () => boolean } = {}) {
    const sent: number[] = [];
    const waiting: (() => void)[] = [];
    const verdicts: (PingVerdict & { at: number })[] = [];
    const check = new PingCheck({
      ping: () =>
        new Promise<void>((resolve) => {
          sent.push(Date.now());
          waiting.push(resolve);
        }),
      connected: options.connected ?? (() => true),
      intervalMs: 1000,
      timeoutMs: 100,
      onVerdict: (verdict) => verdicts.push({ at: Date.now(), ...verdict }),
    });
    const answer = () => waiting.splice(0).forEach((resolve) => resolve());
    return { check, sent, verdicts, answer };
  }

  test('one PING unanswered is suspect and has a second sent at once; two in a row are silent', async () => {
    const { check, sent, verdicts } = checkWith();
    await jest.advanceTimersByTimeAsync(1300);
    // The second PING goes out with the first's verdict, not at the next interval (2000).
    expect(sent).toEqual([1000, verdicts[0]!.at]);
    const miss = { reason: 'no answer to PING within 100 ms', lagMs: 0 };
    expect(verdicts).toEqual([
      { at: expect.any(Number), state: 'suspect', miss },
      { at: expect.any(Number), state: 'silent', miss },
    ]);
    // Each judged at its deadline (the fake clock may give the turn that reads the socket a millisecond).
    expect(verdicts[0]!.at - 1000).toBeLessThan(110);
    expect(verdicts[1]!.at - verdicts[0]!.at).toBeLessThan(110);
    check.close();
  });

  test('one PING unanswered and the next answered is no outage', async () => {
    const { check, verdicts, answer } = checkWith();
    await jest.advanceTimersByTimeAsync(1150);
    answer();
    await jest.advanceTimersByTimeAsync(0);
    expect(verdicts.map((v) => v.state)).toEqual(['suspect', 'answering']);
    check.close();
  });

  test('an answer starts the count of misses again: the next miss is suspect, not silent', async () => {
    const { check, verdicts, answer } = checkWith();
    await jest.advanceTimersByTimeAsync(1050);
    answer();
    await jest.advanceTimersByTimeAsync(0);
    // The PING at 2000 goes unanswered: a first miss after an answer.
    await jest.advanceTimersByTimeAsync(1100);
    expect(verdicts.map((v) => v.state).slice(0, 2)).toEqual(['answering', 'suspect']);
    check.close();
  });

  test('silent until one PING is answered, then answering at once', async () => {
    const { check, verdicts, answer } = checkWith();
    await jest.advanceTimersByTimeAsync(3200);
    expect(verdicts.map((v) => v.state)).toEqual(['suspect', 'silent', 'silent', 'silent']);
    await jest.advanceTimersByTimeAsync(850);
    answer();
    await jest.advanceTimersByTimeAsync(0);
    expect(verdicts.at(-1)).toEqual({ at: 4050, state: 'answering' });
    check.close();
  });

  test.each<[string, () => Promise<unknown>, string]>([
    [
      'fails',
      () => Promise.reject(new Error('LOADING Redis is loading the dataset in memory')),
      'LOADING Redis is loading the dataset in memory',
    ],
    [
      'throws before it sends',
      () => {
        throw new Error('Connection is closed.');
      },
      'Connection is closed.',
    ],
    ['fails with what is not an Error', () => Promise.reject('ECONNRESET'), 'ECONNRESET'],
  ])('a PING that %s is a miss, with what failed', async (_, ping, reason) => {
    const verdicts: PingVerdict[] = [];
    const check = new PingCheck({
      ping,
      connected: () => true,
      intervalMs: 1000,
      timeoutMs: 100,
      onVerdict: (verdict) => verdicts.push(verdict),
    });
    await jest.advanceTimersByTimeAsync(1000);
    const miss = { reason, lagMs: 0 };
    expect(verdicts).toEqual([
      { state: 'suspect', miss },
      { state: 'silent', miss },
    ]);
    check.close();
  });

  test('no PING is sent while the connection is being made again; reset() starts a new connection answering', async () => {
    let connected = true;
    const { check, sent, verdicts, answer } = checkWith({ connected: () => connected });
    await jest.advanceTimersByTimeAsync(1300);
    expect(verdicts.at(-1)?.state).toBe('silent');
    connected = false;
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent).toHaveLength(2);
    connected = true;
    check.reset();
    await jest.advanceTimersByTimeAsync(900);
    // A miss on the new connection is suspect again, not silent at once.
    expect(verdicts.at(-1)?.state).toBe('suspect');
    answer();
    await jest.advanceTimersByTimeAsync(0);
    expect(verdicts.at(-1)?.state).toBe('answering');
    check.close();
  });

  test('at most one PING is judged at a time, however short the interval', async () => {
    const sent: number[] = [];
    const check = new PingCheck({
      ping: () => {
        sent.push(Date.now());
        return new Promise(() => undefined);
      },
      connected: () => true,
      intervalMs: 10,
      timeoutMs: 500,
      onVerdict: () => undefined,
    });
    await jest.advanceTimersByTimeAsync(2000);
    // One every 500 ms bound (each judged before the next is sent), where two hundred would pile up.
    expect(sent.length).toBeLessThanOrEqual(5);
    check.close();
  });

  test('close() stops the PINGs, and a verdict due after it is not given', async () => {
    const { check, sent, verdicts } = checkWith();
    await jest.advanceTimersByTimeAsync(1050);
    check.close();
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent).toEqual([1000]);
    expect(verdicts).toEqual([]);
  });
});

describe("an answer that waits unread while this process's event loop is busy", () => {
  const busyFor = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // Busy: no timer runs and no socket is read.
    }
  };

  let server: net.Server;
  let client: net.Socket;
  let redisSide: net.Socket;
  beforeAll(async () => {
    const accepted = new Promise<net.Socket>((resolve) => {
      server = net.createServer(resolve);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    redisSide = await accepted;
  });
  afterAll(async () => {
    client.destroy();
    redisSide.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /**
   * A PING over a loopback socket, after which the loop is busy past the deadline from the turn's check phase on:
   * the answer (when `answers`) is written during that time, so the loop's next turn runs the deadline's timer
   * before it reads the socket, as on a starved instance.
   */
  function pingOnBusyLoop(answers: boolean, busyMs: number) {
    const waiting: (() => void)[] = [];
    const onData = () => waiting.splice(0).forEach((resolve) => resolve());
    client.on('data', onData);
    const ping = () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        client.write('PING\r\n');
        setImmediate(() => {
          if (answers) redisSide.write('+PONG\r\n');
          busyFor(busyMs);
        });
      });
    return { ping, stop: () => client.off('data', onData) };
  }

  test('is an answer in time, however late the loop ran the deadline; an answer that never comes is still a miss', async () => {
    for (const answers of [true, false]) {
      const { ping, stop } = pingOnBusyLoop(answers, 300);
      const verdicts: PingVerdict[] = [];
      const check = new PingCheck({
        ping,
        connected: () => true,
        intervalMs: 50,
        timeoutMs: 100,
        onVerdict: (verdict) => verdicts.push(verdict),
      });
      try {
        await waitFor(() => verdicts.length >= 3, 10_000);
      } finally {
        check.close();
        stop();
      }
      if (answers) expect(verdicts.map((v) => v.state)).toEqual(['answering', 'answering', 'answering']);
      else {
        expect(verdicts.map((v) => v.state)).toEqual(['suspect', 'silent', 'silent']);
        // How late the loop ran the deadline is told with the miss: the busy 300 ms, less the 100 ms deadline.
        expect((verdicts[0] as { miss: Miss }).miss.lagMs).toBeGreaterThanOrEqual(150);
      }
    }
  }, 30_000);
});
