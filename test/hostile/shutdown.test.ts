import { spawn } from 'node:child_process';
import path from 'node:path';
import supertest from 'supertest';
import { startSimulator, type Simulator } from '../../simulator';
import { dataOf, openStream, type SseStream } from '../support/sse';
import { bearer, simulatorEnv, type Stack, startStack } from '../support/stack';
import { duplicatesIn, inboundTexts, newGuest, PAGE_ORIGIN, type GuestHandle } from '../support/hostile';
import { sleep, waitFor } from '../support/wait';
import { freePort } from '../support/ports';

/**
 * Shutdown under load (RELIABILITY.md): SIGTERM (in-process `stop()`, and a real
 * signal to `src/main.ts` in a child process) while requests and streams are
 * open. In-flight requests complete, every stream gets a final event telling
 * the client to reconnect, the instance stops (the child exits 0) inside its
 * grace period, and a second instance with the same SESSION_SECRET serves the
 * same clients with nothing lost.
 */

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', agent: { typingDelayMs: 5, replyDelayMs: 15 } });
});
afterAll(() => sim.stop());
afterEach(() => sim.faults.clear());

interface Answer {
  text: string;
  instance: 'A' | 'B';
  status: number | 'net';
  detail?: string;
}

/** A client that talks to whichever instance it was last pointed at, and moves on when told to (or when A is gone). */
class Client {
  instance: 'A' | 'B' = 'A';
  readonly answers: Answer[] = [];
  stream?: SseStream;
  finalEvent?: Record<string, unknown>;
  private stopped = false;

  constructor(
    readonly guest: GuestHandle,
    private readonly urls: { A: string; B: string },
  ) {}

  /** Ends the client: no more sends or reconnects (test cleanup). */
  stop(): void {
    this.stopped = true;
    this.stream?.close();
  }

  async openStream(): Promise<void> {
    if (this.stopped) return;
    const stream = await openStream(`${this.urls[this.instance]}/messages/stream`, bearer(this.guest.token));
    await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
    this.stream = stream;
    if (this.instance !== 'A') return;
    // The final event says to reconnect: do so, to the other instance (a load balancer would, since A is not ready).
    void stream
      .next((e) => e.event === 'session' && dataOf(e).reconnect === true, 30_000)
      .then(
        async (e) => {
          this.finalEvent = dataOf(e);
          this.instance = 'B';
          await this.openStream();
        },
        () => undefined,
      );
  }

  /** Sends with an Idempotency-Key; a transport error (A no longer listening) moves the client to B, same key. */
  async send(text: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      if (this.stopped) return;
      const instance = this.instance;
      const res = await supertest(this.urls[instance])
        .post('/messages')
        .set({ ...bearer(this.guest.token), 'Idempotency-Key': `key-${text}` })
        .send({ text })
        .catch(() => undefined);
      this.answers.push({
        text,
        instance,
        status: res?.status ?? 'net',
        ...(res && res.status !== 201 ? { detail: String(res.body.detail) } : {}),
      });
      if (res?.status === 201) return;
      if (!res || instance === 'A') this.instance = 'B';
      await sleep(res?.status === 429 ? 1000 : 50);
    }
    if (!this.stopped)
      throw new Error(`${text} was never answered 201: ${JSON.stringify(this.answers.filter((a) => a.text === text))}`);
  }
}

/** Texts whose frame Genesys (the simulator) has received, for one guest. */
const receivedTexts = (g: GuestHandle) =>
  new Set(sim.framesFor(g.gt, 'onMessage').map((f) => f.frame.message?.text as string));

/** Nothing lost, nothing doubled: every text answered 201 is in the conversation and in B's history exactly once. */
async function expectNothingLost(b: Stack, clients: Client[]): Promise<void> {
  for (const [i, c] of clients.entries()) {
    const answered = [...new Set(c.answers.filter((a) => a.status === 201).map((a) => a.text))].sort();
    const texts = inboundTexts(sim, c.guest.gt);
    expect({ client: i, texts: [...texts].sort() }).toEqual({ client: i, texts: answered });
    expect(duplicatesIn(texts)).toEqual([]);
    const history = await b.http.get('/messages?pageSize=100').set(bearer(c.guest.token));
    expect(history.status).toBe(200);
    const served = (history.body.messages as { direction: string; text: string }[])
      .filter((m) => m.direction === 'inbound')
      .map((m) => m.text);
    expect({ client: i, served: served.sort() }).toEqual({ client: i, served: answered });
  }
}

test('stop() under load: in-flight requests complete, streams are told to reconnect, and instance B serves everyone with nothing lost', async () => {
  const a = await startStack({ simulator: sim, env: { SHUTDOWN_GRACE_MS: '30000', LOG_LEVEL: 'info' } });
  const b = await startStack({ simulator: sim, env: { LOG_LEVEL: 'info' } });
  const urls = { A: a.service.url, B: b.service.url };
  const clients: Client[] = [];
  try {
    for (let i = 0; i < 20; i++) clients.push(new Client(await newGuest(a), urls));
    await Promise.all(clients.map((c) => c.openStream()));

    // Slow Genesys answers keep sends in flight when the signal comes.
    sim.faults.delayFrames(400);
    const sending = Promise.all(
      clients.map(async (c, i) => {
        for (let j = 0; j < 6; j++) {
          await c.send(`c${i}-m${j}`);
          await sleep(100);
        }
      }),
    );
    // A new session being started when the signal comes, too.
    // (then() sends it now: a supertest request only goes out once awaited.)
    const known = new Set(clients.map((c) => c.guest.gt));
    const framesBefore = sim.received.length;
    const startReachedGenesys = () =>
      sim.received.slice(framesBefore).some((f) => f.frame.action === 'configureSession' && !known.has(f.frame.token));
    const starting = a.http
      .post('/guest-session')
      .set('Origin', PAGE_ORIGIN)
      .send({ attributes: { plan: 'late' } })
      .then((r) => r);

    // Signal once several sends have reached Genesys through A and are waiting for their answers.
    const inFlight = () =>
      clients.flatMap((c) =>
        [...receivedTexts(c.guest)]
          .filter((t) => !c.answers.some((x) => x.text === t && x.status === 201))
          .map((t) => ({ c, t })),
      );
    await waitFor(() => inFlight().length >= 10 && startReachedGenesys());
    const inFlightAtStop = inFlight();
    const stopping = a.service.stop();
    expect(a.service.readiness.report().ready).toBe(false);
    sim.faults.delayFrames(0);
    await stopping;

    // Every request A had taken in completed there, with its normal answer: the grace period did not cut it.
    await waitFor(() => inFlightAtStop.every(({ c, t }) => c.answers.some((x) => x.text === t)));
    for (const { c, t } of inFlightAtStop) {
      expect({ t, answers: c.answers.filter((x) => x.text === t) }).toEqual({
        t,
        answers: [{ text: t, instance: 'A', status: 201 }],
      });
    }
    const started = await starting;
    expect(started.status).toBe(201);

    // Every stream got its final event, and its client reconnected to B.
    await waitFor(() =>
      clients.every((c) => c.instance === 'B' && c.stream !== undefined && c.finalEvent !== undefined),
    );
    for (const c of clients) expect(c.finalEvent).toMatchObject({ state: 'reconnect', reconnect: true });

    await sending;
    // The session started during the drain works on B, with its attributes.
    const late = await b.http.get('/guest-attributes').set(bearer(started.body.sessionToken));
    expect(late.body.attributes).toEqual({ plan: 'late' });

    // B's streams deliver.
    for (const [i, c] of clients.entries()) {
      sim.agent.say(c.guest.gt, `welcome to B ${i}`);
      await c.stream!.next((e) => e.event === 'message' && dataOf(e).text === `welcome to B ${i}`);
    }
    await expectNothingLost(b, clients);
    expect(
      clients.flatMap((c) => c.answers).filter((x) => x.instance === 'A' && x.status === 201).length,
    ).toBeGreaterThanOrEqual(inFlightAtStop.length);
  } finally {
    for (const c of clients) c.stop();
    await a.close();
    await b.close();
  }
}, 120_000);

describe('src/main.ts in a child process', () => {
  const ROOT = path.resolve(__dirname, '../..');

  test('SIGTERM with requests and streams open: in-flight sends answer 201, streams get the reconnect event, exit 0, and a second instance has everything', async () => {
    const port = await freePort();
    const env = simulatorEnv(sim, {
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_MS: '30000',
      NODE_ENV: 'production',
    });
    const child = spawn(process.execPath, ['-r', require.resolve('tsx/cjs'), 'src/main.ts'], {
      cwd: ROOT,
      env: { ...env, PATH: process.env.PATH, DOTENV_CONFIG_PATH: path.join(ROOT, 'test/hostile/no-such.env') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor(() => fetch(`${url}/readyz`).then((r) => r.status === 200), 30_000, 100);

      const a = supertest(url);
      const guests: GuestHandle[] = [];
      for (let i = 0; i < 5; i++) {
        const before = sim.received.length;
        const res = await a.post('/guest-session').set('Origin', PAGE_ORIGIN).send({});
        expect(res.status).toBe(201);
        const gt = sim.received.slice(before).find((f) => f.frame.action === 'configureSession')!.frame.token as string;
        guests.push({ token: res.body.sessionToken, gt });
      }
      const streams = await Promise.all(guests.map((g) => openStream(`${url}/messages/stream`, bearer(g.token))));
      await Promise.all(streams.map((s) => s.next((e) => e.event === 'session' && dataOf(e).state === 'open')));

      sim.faults.delayFrames(500);
      const sends = guests.map((g, i) =>
        a
          .post('/messages')
          .set({ ...bearer(g.token), 'Idempotency-Key': `child-${i}` })
          .send({ text: `in flight ${i}` })
          .then((r) => r),
      );
      await waitFor(() => guests.every((g, i) => receivedTexts(g).has(`in flight ${i}`)));
      child.kill('SIGTERM');
      sim.faults.delayFrames(0);

      const answers = await Promise.all(sends);
      expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
      for (const s of streams) {
        const last = await s.next((e) => e.event === 'session' && dataOf(e).reconnect === true);
        expect(dataOf(last)).toMatchObject({ state: 'reconnect', reconnect: true });
        await s.ended;
      }
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(output).toMatch(/"msg":"stopped"/);
      for (const [i, g] of guests.entries())
        expect({ i, leaked: output.includes(g.token) }).toEqual({ i, leaked: false });

      // The clients come back to a second instance (same simulator, same SESSION_SECRET): nothing lost.
      const b = await startStack({ simulator: sim, env: { LOG_LEVEL: 'info' } });
      try {
        for (const [i, g] of guests.entries()) {
          const history = await b.http.get('/messages').set(bearer(g.token));
          expect(history.status).toBe(200);
          expect(
            history.body.messages
              .filter((m: { direction: string }) => m.direction === 'inbound')
              .map((m: { text: string }) => m.text),
          ).toEqual([`in flight ${i}`]);
          const again = await b.http
            .post('/messages')
            .set({ ...bearer(g.token), 'Idempotency-Key': `after-${i}` })
            .send({ text: `on B ${i}` });
          expect(again.status).toBe(201);
          expect(inboundTexts(sim, g.gt)).toEqual([`in flight ${i}`, `on B ${i}`]);
        }
      } finally {
        await b.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
