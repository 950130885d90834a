import { randomBytes, randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { startInstance, type Instance } from '../support/instances';
import { startNginx, type Nginx } from '../support/nginx';
import { startRedis, type RedisServer } from '../support/redis';
import { openStream, type SseStream } from '../support/sse';
import { PAGE_ORIGIN, simulatorEnv } from '../support/stack';
import { sleep, waitFor } from '../support/wait';

/**
 * Scale-out, for real: four instances of the service (each its own process),
 * Redis and nginx from Debian (nginx running deploy/nginx/bff.conf), and the
 * simulator holding Genesys's connection limits (strict profile: 3 sockets a
 * guest session, 1,000 new sockets a minute per deployment). Fifty browsers
 * chat through the proxy with live streams, retry across instances, and live
 * through one instance's SIGKILL.
 *
 * @needs redis-server nginx
 */

const INSTANCES = 4;
const SESSIONS = 50;
const FIRST_ROUND = 10;
const SECOND_ROUND = 5;
/** Below Genesys's 5 messages a second per session. */
const PACE_MS = 250;

let sim: Simulator;
let redis: RedisServer;
let instances: Instance[] = [];
let proxy: Nginx;

beforeAll(async () => {
  sim = await startSimulator({ profile: 'strict', record: true, agent: { typingDelayMs: 5, replyDelayMs: 20 } });
  redis = await startRedis();
  const env = simulatorEnv(sim, {
    REDIS_URL: redis.url,
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    // Only bounds a hang: four processes on a busy machine can take seconds for what takes milliseconds alone.
    GENESYS_TIMEOUT_MS: '10000',
    STREAMS_PER_IP: '1000',
    SESSIONS_PER_IP_PER_MINUTE: '1000',
  });
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startInstance(env)));
  proxy = await startNginx(instances.map((i) => i.url.replace('http://', '')));
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.closed = true;
  for (const c of clients) c.stream?.close();
  await proxy?.stop();
  await Promise.all(instances.map((i) => i.stop()));
  await redis?.stop();
  await sim?.stop();
}, 60_000);

interface Browser {
  name: string;
  routingKey: string;
  token: string;
  stream?: SseStream;
  lastEventId?: string;
  /** Agent replies seen on the stream, by text, with how often each came. */
  replies: Map<string, number>;
  streamsOpened: number;
  closed: boolean;
  /** Each sent text and the message id its 201 answered with. */
  sent: Map<string, string>;
}

const clients: Browser[] = [];
/** Keys whose send needed more than one attempt. */
const retried = new Set<string>();

const headersOf = (c: Browser): Record<string, string> => ({
  Origin: PAGE_ORIGIN,
  Authorization: `Bearer ${c.token}`,
});

/** What the browser client does: retry with the same key on a network error, a 502/503/504 or a 429, after Retry-After. */
async function send(c: Browser, text: string, key: string, base = proxy.url): Promise<{ id: string }> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    let res: Response;
    if (attempt > 0) retried.add(key);
    try {
      // Every request carries the routing key as ?routingKey=, the one expression the proxy hashes on.
      res = await fetch(`${base}/messages?routingKey=${c.routingKey}`, {
        method: 'POST',
        headers: { ...headersOf(c), 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify({ text }),
      });
    } catch {
      await sleep(200);
      continue;
    }
    // The proxy's own 502 page is HTML; the service always answers JSON.
    const raw = await res.text();
    const body = (
      res.headers.get('content-type')?.includes('json') ? JSON.parse(raw) : { proxy: raw.slice(0, 80) }
    ) as {
      sessionToken?: string;
      message?: { id: string };
    };
    if (res.status === 201) {
      c.token = body.sessionToken!;
      return body.message!;
    }
    if (![429, 502, 503, 504].includes(res.status))
      throw new Error(`${c.name} "${text}": ${res.status} ${JSON.stringify(body)}`);
    await sleep(Math.min(Number(res.headers.get('retry-after') ?? '0') * 1000, 3000) || 200);
  }
  throw new Error(`${c.name} "${text}": no answer after 40 attempts`);
}

/** A stream that reopens itself, as the browser client's does: through the proxy, with the routing key and Last-Event-ID. */
function keepStreamOpen(c: Browser): Promise<void> {
  let firstOpen!: () => void;
  const opened = new Promise<void>((resolve) => (firstOpen = resolve));
  void (async () => {
    while (!c.closed) {
      const headers: Record<string, string> = headersOf(c);
      if (c.lastEventId) headers['Last-Event-ID'] = c.lastEventId;
      const stream = await openStream(`${proxy.url}/messages/stream?routingKey=${c.routingKey}`, headers).catch(
        () => undefined,
      );
      if (!stream || stream.status !== 200) {
        // A refusal (a 503 while the session moves) is read to its end: closing it first aborts that read, unhandled.
        await stream?.ended;
        await sleep(200);
        continue;
      }
      c.stream = stream;
      c.streamsOpened += 1;
      firstOpen();
      let seen = 0;
      const take = () => {
        for (; seen < stream.events.length; seen += 1) {
          const event = stream.events[seen]!;
          if (event.id) c.lastEventId = event.id;
          if (event.event !== 'message') continue;
          const message = JSON.parse(event.data) as { direction: string; text?: string };
          if (message.direction === 'outbound' && message.text?.startsWith('You said: ')) {
            c.replies.set(message.text, (c.replies.get(message.text) ?? 0) + 1);
          }
        }
      };
      const poll = setInterval(take, 20);
      await stream.ended;
      clearInterval(poll);
      take();
    }
  })();
  return opened;
}

async function newBrowser(index: number): Promise<Browser> {
  const proposed = randomBytes(18).toString('base64url');
  const res = await fetch(`${proxy.url}/guest-session?routingKey=${proposed}`, {
    method: 'POST',
    headers: { Origin: PAGE_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
  });
  const body = (await res.json()) as { sessionToken: string; routingKey: string };
  if (res.status !== 201) throw new Error(`POST /guest-session: ${res.status} ${JSON.stringify(body)}`);
  expect(body.routingKey).toBe(proposed);
  return {
    name: `c${String(index).padStart(2, '0')}`,
    routingKey: body.routingKey,
    token: body.sessionToken,
    replies: new Map(),
    streamsOpened: 0,
    closed: false,
    sent: new Map(),
  };
}

async function chat(c: Browser, round: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const text = `${c.name} ${round} ${i}`;
    const message = await send(c, text, randomUUID());
    c.sent.set(text, message.id);
    await sleep(PACE_MS);
  }
}

/** The simulator's guest token for a browser, from the frames its messages arrived in. */
function guestTokenOf(c: Browser): string {
  const frame = sim.received.find(
    (f) => f.frame?.action === 'onMessage' && String(f.frame?.message?.text ?? '').startsWith(`${c.name} `),
  );
  if (!frame?.sessionToken) throw new Error(`no message from ${c.name} reached the simulator`);
  return frame.sessionToken;
}

/** How often each text this browser sent is stored in its Genesys conversation. */
function storedCounts(c: Browser): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of sim.conversationMessages(guestTokenOf(c)) as { direction?: string; text?: string }[]) {
    if (m.direction === 'Inbound' && m.text?.startsWith(`${c.name} `))
      counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  }
  return counts;
}

/** Passes once every browser's stream has the agent's reply to each text it sent; else names the replies still missing. */
function everyReplyArrived(): void {
  const missing = clients.flatMap((c) =>
    [...c.sent.keys()].filter((text) => !c.replies.has(`You said: ${text}`)).map((text) => `${c.name}: "${text}"`),
  );
  if (missing.length > 0)
    throw new Error(`${missing.length} replies not (yet) on the streams: ${missing.slice(0, 20).join(', ')}`);
}

function expectEveryTextOnceAndEveryReply(c: Browser): void {
  const stored = storedCounts(c);
  for (const text of c.sent.keys()) expect([c.name, text, stored.get(text)]).toEqual([c.name, text, 1]);
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
  for (const text of c.sent.keys())
    expect([c.name, text, c.replies.has(`You said: ${text}`)]).toEqual([c.name, text, true]);
}

test('50 sessions through nginx on 4 instances: one socket each, nothing closed by Genesys, every reply on the streams', async () => {
  for (let i = 0; i < SESSIONS; i += 10) {
    clients.push(
      ...(await Promise.all(Array.from({ length: Math.min(10, SESSIONS - i) }, (_, j) => newBrowser(i + j)))),
    );
  }
  await Promise.all(clients.map(keepStreamOpen));
  await Promise.all(clients.map((c) => chat(c, 'first', FIRST_ROUND)));
  await waitFor(everyReplyArrived, 30_000, 100);

  for (const c of clients) {
    expectEveryTextOnceAndEveryReply(c);
    expect([c.name, sim.stats.connectionsBySession(guestTokenOf(c))]).toEqual([c.name, 1]);
    expect([c.name, c.streamsOpened]).toEqual([c.name, 1]);
    expect([...c.replies.values()].every((n) => n === 1)).toBe(true);
  }
  expect(sim.stats.connectionsEvicted).toBe(0);
  expect(sim.stats.upgradesRefused).toBe(0);
}, 120_000);

test('a retry with the same Idempotency-Key on every other instance returns the first message and sends nothing', async () => {
  // Counted per session: a bare health-check handshake of an instance (the circuit's probe) is no session's socket.
  const sessionSockets = () => clients.reduce((n, c) => n + sim.stats.connectionsBySession(guestTokenOf(c)), 0);
  const socketsBefore = sessionSockets();
  await Promise.all(
    clients.map(async (c) => {
      // Sent through the proxy (to the session's instance), then retried on every instance directly.
      const key = randomUUID();
      const retried = `${c.name} retried`;
      const first = await send(c, retried, key);
      c.sent.set(retried, first.id);
      const again = await Promise.all(instances.map((instance) => send(c, retried, key, instance.url)));
      for (const answer of again) expect(answer.id).toBe(first.id);
    }),
  );
  await waitFor(everyReplyArrived, 30_000, 100);
  for (const c of clients) expectEveryTextOnceAndEveryReply(c);
  // A retry answered from the shared record opened no socket anywhere.
  expect(sessionSockets()).toBe(socketsBefore);
  expect(sim.stats.connectionsEvicted).toBe(0);
}, 120_000);

test('one instance killed mid-load: sends are retried without duplicates and every stream resumes and misses nothing', async () => {
  const victim = instances[1]!;
  // Genesys holds its answers, and the victim is killed once every browser's first send of the round has
  // reached Genesys: it dies with sends written and not yet answered, however long they took to get there.
  sim.faults.delayFrames(5000);
  const load = Promise.all(clients.map((c) => chat(c, 'second', SECOND_ROUND)));
  const arrived = (c: Browser) =>
    sim.received.some((f) => f.frame?.action === 'onMessage' && f.frame?.message?.text === `${c.name} second 0`);
  await waitFor(() => clients.every(arrived), 60_000, 20);
  await victim.kill();
  sim.faults.delayFrames(0);
  await load;
  await waitFor(everyReplyArrived, 60_000, 100);

  // The scenario happened: streams were cut and resumed, and sends in flight on the victim were retried elsewhere.
  expect(clients.filter((c) => c.streamsOpened > 1).length).toBeGreaterThan(0);
  expect(retried.size).toBeGreaterThan(0);
  for (const c of clients) {
    expectEveryTextOnceAndEveryReply(c);
    // The agent's replies came once each, resumed streams included (replayed from history, then live).
    expect([c.name, [...c.replies.entries()].filter(([, n]) => n !== 1)]).toEqual([c.name, []]);
    // The killed instance's socket and the one that took over: never more than Genesys allows, never one closed for the limit.
    expect(sim.stats.connectionsBySession(guestTokenOf(c))).toBeLessThanOrEqual(2);
  }
  expect(sim.stats.connectionsEvicted).toBe(0);
  expect(sim.stats.upgradesRefused).toBe(0);
}, 180_000);
