import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { genesysCircuitOpen, sendsInDoubt } from '../../src/observability/metrics';
import { startGenesysSwitch, type GenesysSwitch } from '../support/genesysSwitch';
import { openStream, type SseStream } from '../support/sse';
import { bearer, guestTokenOf, simProfile, startStack, type Stack } from '../support/stack';
import { EVENT_WAIT_MS, sleep, waitFor } from '../support/wait';

/**
 * Nothing lost through a Genesys outage. 40 sessions chat through a relay in front of the strict simulator,
 * each as the README's client does: a stream opened from the session's streamPosition and reopened from its
 * last event id, every send retried with the same Idempotency-Key after Retry-After, and on
 * `replay_incomplete` the newest history page reloaded, each read retried after its Retry-After. Genesys's
 * frames are slowed, so that sends are in flight (and replies on their way) when Genesys starts refusing
 * every connection, for 30 s. Then it answers again.
 *
 * Promises checked: every message in each session's Genesys history reaches that session's view (its stream,
 * or the reload `replay_incomplete` asked for); each reload made after Genesys returns succeeds within 5 s of its
 * first read (a chat's reloads run one after another, as the client's do: one asked while the one before still
 * waits out a refusal starts after it, and that refusal is held to the next promise);
 * no history read is refused for more than a few seconds after Genesys returns; every acknowledged send is in
 * history exactly once.
 *
 * Timing is part of its subject: the outage lasts 30 s, and the two bounds after Genesys returns (a reload
 * within 5 s, no read refused after 5 s) are the promises themselves, held on a loaded machine as on a fast
 * one. Everything else waits on events: Genesys is cut once sends are in flight to it, not after a while.
 */

const SESSIONS = 40;
const OUTAGE_MS = 30_000;
/** Sends Genesys has received and not yet answered when it is cut: they are in doubt. */
const IN_FLIGHT_AT_CUT = 5;
/** What the service promises a reload, from its first read to the page read. */
const RELOAD_BOUND_MS = 5_000;
/** After Genesys returns, how long a history read may still be refused (the circuit's probe, its Retry-After). */
const REFUSALS_AFTER_RETURN_MS = 5_000;

let sim: Simulator;
let sw: GenesysSwitch;
let stack: Stack;

beforeAll(async () => {
  sim = await startSimulator({
    record: true,
    profile: simProfile(),
    agent: { typingDelayMs: 5, replyDelayMs: 20 },
  });
  sw = await startGenesysSwitch(sim.port);
  stack = await startStack({
    simulator: sim,
    env: {
      GENESYS_API_URL: sw.url,
      GENESYS_WEBMESSAGING_URL: sw.wsUrl,
      LOG_LEVEL: 'warn',
      STREAMS_PER_IP: '1000',
      CONNECTIONS_PER_IP: '10000',
    },
  });
}, 60_000);

afterAll(async () => {
  for (const c of chats) c.closed = true;
  for (const c of chats) c.stream?.close();
  await stack?.close();
  await sw?.close();
  await sim?.stop();
}, 30_000);

interface Reload {
  /** When the `replay_incomplete` that asked for it arrived. */
  askedAt: number;
  /** When its first read went out: after the chat's reload before it, which it waits behind. */
  startedAt?: number;
  doneAt?: number;
}

interface Chat {
  name: string;
  token: string;
  gt: string;
  streamPosition: string;
  lastEventId?: string;
  stream?: SseStream;
  /** Ids of every message the client holds: from its stream and its reloads. */
  view: Set<string>;
  /** Texts acknowledged with 201. */
  sent: string[];
  reloads: Reload[];
  reloading?: Promise<void>;
  /** Its stream said `reconnected`: the service's socket to Genesys came back, and what it missed was replayed. */
  reconnected: boolean;
  closed: boolean;
}

const chats: Chat[] = [];
/** Every history read refused, with when. */
const refusedReads: Array<{ chat: string; at: number; status: number; retryAfter: number }> = [];
let returnedAt = Infinity;

const url = (path: string) => `${stack.service.url}${path}`;
const headersOf = (c: Chat) => ({ ...bearer(c.token), 'Content-Type': 'application/json' });

/** The client's reload after `replay_incomplete`: the newest page, each refusal waited out as its Retry-After says. */
function reload(c: Chat): Promise<void> {
  const entry: Reload = { askedAt: Date.now() };
  c.reloads.push(entry);
  const previous = c.reloading ?? Promise.resolve();
  c.reloading = previous.then(async () => {
    entry.startedAt = Date.now();
    for (let attempt = 0; attempt < 60 && !c.closed; attempt += 1) {
      const res = await fetch(url('/messages?page=1&pageSize=50'), { headers: headersOf(c) }).catch(() => undefined);
      if (res?.status === 200) {
        const body = (await res.json()) as { messages: Array<{ id: string }> };
        for (const m of body.messages) c.view.add(m.id);
        entry.doneAt = Date.now();
        return;
      }
      await res?.text();
      const retryAfter = Number(res?.headers.get('retry-after') ?? '1');
      if (res) refusedReads.push({ chat: c.name, at: Date.now(), status: res.status, retryAfter });
      await sleep(Math.min(Math.max(retryAfter, 1), 60) * 1000);
    }
  });
  return c.reloading;
}

/** The client's stream: from the session's streamPosition, then reopened from the last event id. */
function keepStreamOpen(c: Chat): Promise<void> {
  let firstOpen!: () => void;
  const opened = new Promise<void>((resolve) => (firstOpen = resolve));
  void (async () => {
    for (let opens = 0; opens < 200 && !c.closed; opens += 1) {
      const stream = await openStream(url('/messages/stream'), {
        ...bearer(c.token),
        'Last-Event-ID': c.lastEventId ?? c.streamPosition,
      }).catch(() => undefined);
      if (!stream || stream.status !== 200) {
        await stream?.ended;
        await sleep(500);
        continue;
      }
      c.stream = stream;
      firstOpen();
      let seen = 0;
      const take = () => {
        for (; seen < stream.events.length; seen += 1) {
          const event = stream.events[seen]!;
          if (event.id) c.lastEventId = event.id;
          const data = JSON.parse(event.data) as { id?: string; state?: string };
          if (event.event === 'message' && data.id) c.view.add(data.id);
          if (event.event === 'session' && data.state === 'replay_incomplete') void reload(c);
          if (event.event === 'session' && data.state === 'reconnected') c.reconnected = true;
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

/** The client's send: retried with the same key after a network error, a 429 or a 502/503/504, after Retry-After. */
async function send(c: Chat, text: string, until: number): Promise<void> {
  const key = randomUUID();
  for (let attempt = 0; attempt < 100 && Date.now() < until; attempt += 1) {
    const res = await fetch(url('/messages'), {
      method: 'POST',
      headers: { ...headersOf(c), 'Idempotency-Key': key },
      body: JSON.stringify({ text }),
    }).catch(() => undefined);
    const body = res ? ((await res.json()) as { sessionToken?: string }) : {};
    if (res?.status === 201) {
      c.token = body.sessionToken ?? c.token;
      c.sent.push(text);
      return;
    }
    if (res && ![429, 502, 503, 504].includes(res.status))
      throw new Error(`${c.name} "${text}": ${res.status} ${JSON.stringify(body)}`);
    if (res)
      expect([c.name, res.status, Number(res.headers.get('retry-after')) >= 1]).toEqual([c.name, res.status, true]);
    await sleep(Math.min(Number(res?.headers.get('retry-after') ?? '1'), 10) * 1000);
  }
}

const counted = async (counter: typeof sendsInDoubt) => (await counter.get()).values.reduce((n, v) => n + v.value, 0);

/** Ids of the messages in the session's Genesys conversation (receipts are not messages). */
const historyIds = (c: Chat) => (sim.conversationMessages(c.gt) as Array<{ id: string }>).map((m) => m.id);

function everyMessageInTheViews(): void {
  const missing = chats.flatMap((c) =>
    historyIds(c)
      .filter((id) => !c.view.has(id))
      .map((id) => `${c.name}:${id}`),
  );
  if (missing.length > 0)
    throw new Error(`${missing.length} messages in history not in the views: ${missing.slice(0, 8)}`);
}

test('Genesys refusing for 30 s while 40 sessions chat: every message in history reaches its client, and history reads are served again within seconds', async () => {
  for (let i = 0; i < SESSIONS; i += 1) {
    const before = sim.received.length;
    const { token, body } = await stack.newSession();
    chats.push({
      name: `c${String(i).padStart(2, '0')}`,
      token,
      gt: guestTokenOf(sim, before),
      streamPosition: body.streamPosition as string,
      view: new Set(),
      sent: [],
      reloads: [],
      reconnected: false,
      closed: false,
    });
  }
  await Promise.all(chats.map(keepStreamOpen));

  const inDoubtBefore = await counted(sendsInDoubt);
  // Genesys's answers and replies take a while, so that some are on their way when it goes away.
  sim.faults.delayFrames(400);
  // The chats go on until 8 s after Genesys is back; each send is given 30 s more.
  const chatUntil = () => Math.min(returnedAt + 8_000, Date.now() + OUTAGE_MS + 60_000);
  const chatting = Promise.all(
    chats.map(async (c, index) => {
      await sleep(index * 25);
      for (let i = 0; i < 200 && Date.now() < chatUntil(); i += 1) {
        await send(c, `${c.name} m${i}`, chatUntil() + 30_000);
        await sleep(600);
      }
    }),
  );
  // Cut once several sends have reached Genesys and wait for their answers, however long the chats took to start.
  const inFlight = () =>
    chats.reduce(
      (n, c) => n + sim.framesFor(c.gt, 'onMessage').filter((f) => !c.sent.includes(f.frame.message?.text)).length,
      0,
    );
  await waitFor(() => inFlight() >= IN_FLIGHT_AT_CUT, EVENT_WAIT_MS, 10);
  sw.set('refuse');
  await waitFor(async () => (await genesysCircuitOpen.get()).values[0]?.value === 1, EVENT_WAIT_MS, 50);
  await sleep(OUTAGE_MS);
  sim.faults.delayFrames(0);
  sw.set('pass');
  returnedAt = Date.now();
  await chatting;

  await waitFor(everyMessageInTheViews, 30_000, 200);
  // The scenario happened: sends were in doubt at the cut, and every stream's upstream socket dropped and came back.
  expect((await counted(sendsInDoubt)) - inDoubtBefore).toBeGreaterThan(0);
  expect(chats.filter((c) => !c.reconnected).map((c) => c.name)).toEqual([]);
  // Each reload a replay_incomplete asked for once Genesys was back (there may be none) was served within 5 s of its
  // first read. A late one is listed with when it was asked, how long it waited behind the chat's reload before it,
  // how long it took from its first read (null: never done), and the chat's reads refused since it was asked.
  const late = chats
    .flatMap((c) => c.reloads.map((r) => ({ chat: c.name, ...r })))
    .filter((x) => x.askedAt >= returnedAt)
    .map((r) => ({
      chat: r.chat,
      askedAfterReturnMs: r.askedAt - returnedAt,
      behindMs: r.startedAt === undefined ? null : r.startedAt - r.askedAt,
      tookMs: r.doneAt === undefined || r.startedAt === undefined ? null : r.doneAt - r.startedAt,
      refused: refusedReads
        .filter((x) => x.chat === r.chat && x.at >= r.askedAt)
        .map((x) => `${x.status} at +${x.at - returnedAt} ms, Retry-After ${x.retryAfter}`),
    }))
    .filter((r) => r.tookMs === null || r.tookMs > RELOAD_BOUND_MS);
  expect(late).toEqual([]);
  const lateRefusals = refusedReads.filter((r) => r.at > returnedAt + REFUSALS_AFTER_RETURN_MS);
  expect(lateRefusals).toEqual([]);
  for (const c of chats) {
    const texts = (sim.conversationMessages(c.gt) as Array<{ text?: string }>).map((m) => m.text);
    for (const text of c.sent)
      expect([c.name, text, texts.filter((t) => t === text).length]).toEqual([c.name, text, 1]);
  }
}, 180_000);
