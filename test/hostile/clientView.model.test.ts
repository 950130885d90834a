import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { startSimulator, type RestHold, type Simulator } from '../../simulator';
import { structuredMessage, type StructuredMessageBody } from '../../simulator/frames';
import { strictFrame } from '../../simulator/profile';
import { mergeMessages } from '../../client/src/react/conversation';
import { timeOfPosition } from '../../src/domain/streamPosition';
import { streamsOpen } from '../../src/observability/metrics';
import type { ChatMessage } from '../../client/src/types';
import { steerableClock, type SteerableClock } from '../support/clock';
import { GuestApiProxy } from '../support/hostile';
import { dataOf, openStream, type SseEvent, type SseStream } from '../support/sse';
import { bearer, guestTokenOf, startStack, type Stack } from '../support/stack';
import { EVENT_WAIT_MS, sleep, waitFor } from '../support/wait';

/**
 * What a client sees, as a model (RELIABILITY.md, "What a client sees"). fast-check generates a
 * conversation as a list of commands: the guest sends, the agent speaks, types and comes and goes,
 * the client's stream drops and is reopened (with its Last-Event-ID, or without it, as a reloaded
 * page that reads the history), the service's upstream socket drops, the instance restarts, Genesys
 * sends a message again or two out of order, and live events arrive while a stream replays what
 * its client missed. Each command runs against the real service (in-process, restarted in place
 * for "restart") and the strict simulator behind a Guest API proxy.
 *
 * The client follows the documented rules (README.md, "The live stream"): it opens its first
 * stream with the session's streamPosition, keeps the id of the last event, reopens with it as
 * Last-Event-ID after a drop or a final event that says reconnect, keeps messages by id, and
 * reloads the history only when the stream says replay_incomplete (and when a page loads afresh).
 *
 * The property, after every run: the client's view (messages in the order it first saw them) is
 * the conversation's history (the simulator's record, and GET /messages), in order, no message
 * twice, none missing; the view the React hook keeps (mergeMessages: by id, in time order) holds
 * them all, with times that never contradict the history's order. Each stream connection never
 * sends a message id twice, never goes back in the conversation, and, resumed after message M,
 * sends nothing from M back; replay_incomplete and history reads come exactly where the model
 * says. Where Genesys itself reorders, only the time-ordered view is held to the order; where
 * Genesys repeats a message, a stream may send it again (the client keeps messages by id).
 *
 * MODEL_RUNS, MODEL_SEED, MODEL_COMMANDS: more or other runs; MODEL_SHRINK=1 shrinks a failure;
 * MODEL_PATH replays the run a failure names (with the same MODEL_RUNS and MODEL_SEED).
 */

const SEED = Number(process.env.MODEL_SEED ?? 3_120_261);
const RUNS = Number(process.env.MODEL_RUNS ?? 25);
const MAX_COMMANDS = Number(process.env.MODEL_COMMANDS ?? 12);
/** Shrinking replays each smaller case against the real service: off unless asked for. */
const SHRINK = process.env.MODEL_SHRINK === '1';

/** Genesys allows 10 history reads a minute per session (docs/genesys-protocol.md#limits-and-timing); a run stays within them. */
const HISTORY_READS = 10;
/** Kept for the end of a run: the client's last reopen and GET /messages. */
const FINAL_READS = 2;
/** The service replays after an upstream reconnect only while fewer than half of the reads are used (src/genesys/guest/rest/history.ts). */
const SPARE_READS = 5;
/** Fewer than the newest history page a replay reads (PROOF_PAGE_SIZE, 50): a replay never falls off the page here. */
const MAX_MESSAGES = 40;
/** A client's time away moves the clock this far at most in a run, so that every read of the run counts within one minute. */
const MAX_AWAY_MS = 30_000;
/** Bounds every wait for something the service does on its own: a hang, not a verdict. */
const WAIT_MS = EVENT_WAIT_MS;

/** Waits (bounded) for `check`, failing with what was awaited. */
async function until(what: string, check: () => unknown, intervalMs = 20): Promise<void> {
  await waitFor(check, WAIT_MS, intervalMs).catch((error: unknown) => {
    throw new Error(`waited ${WAIT_MS} ms for ${what}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

// ------------------------------------------------------------------ the world: strict simulator, proxy, a restartable instance

class World {
  private constructor(
    readonly sim: Simulator,
    readonly proxy: GuestApiProxy,
    readonly env: Record<string, string>,
    /** The service's and Genesys's clock (message times included): it follows the wall clock, and a client's time away moves it on. */
    readonly clock: SteerableClock,
    public stack: Stack,
  ) {}

  static async start(): Promise<World> {
    const clock = steerableClock();
    const sim = await startSimulator({
      profile: 'strict',
      agent: { typingDelayMs: 5, replyDelayMs: 20 },
      messagesPerSecond: 50,
      clock: clock.now,
      clockTimesMessages: true,
    });
    const proxy = await GuestApiProxy.start(sim.urls.webMessagingUrl);
    // Pacing and socket churn have their own suites; here they would only slow the runs down.
    const env = {
      GENESYS_WEBMESSAGING_URL: proxy.url,
      GENESYS_MESSAGES_PER_SECOND: '50',
      SOCKET_OPENS_PER_SESSION_PER_MINUTE: '1000',
    };
    return new World(sim, proxy, env, clock, await startStack({ simulator: sim, env, now: clock.now }));
  }

  get url(): string {
    return this.stack.service.url;
  }

  /** Stops the instance (its streams get their final event), runs `meanwhile` with no instance up, starts another. */
  async restart(meanwhile: () => void): Promise<void> {
    await this.stack.close();
    meanwhile();
    this.stack = await startStack({ simulator: this.sim, env: this.env, now: this.clock.now });
  }

  async close(): Promise<void> {
    await this.stack.close();
    await this.proxy.close();
    await this.sim.stop();
  }
}

// ------------------------------------------------------------------ the client, following the documented rules

interface Connection {
  stream: SseStream;
  /** The Last-Event-ID it was opened with. */
  resumedFrom?: string;
  /** Events already taken into the client's view. */
  taken: number;
  /** Message ids in the order this connection sent them, each with the `id:` its event carried and its direction. */
  messages: { id: string; eventId?: string; inbound: boolean }[];
  /** Genesys sent a message again while it was open. */
  repeatedWhileOpen: boolean;
  ended: boolean;
}

class Client {
  /** Message ids in the order the client first saw them (the plain `fetch` client of README.md). */
  arrival: string[] = [];
  private readonly seen = new Set<string>();
  /** The React hook's view: mergeMessages (by id, newest copy wins, in time order). */
  sorted: ChatMessage[] = [];
  lastEventId?: string;
  readonly connections: Connection[] = [];
  current?: Connection;
  /** `replay_incomplete` events seen, with the connection that sent them. */
  readonly incomplete: Connection[] = [];
  private reloadsDue = 0;

  constructor(
    public token: string,
    readonly streamPosition: string,
  ) {}

  get streamOpen(): boolean {
    return this.current !== undefined && !this.current.ended;
  }

  /** Takes what the stream has sent into the view, as the client's event handlers would. */
  pump(): void {
    const conn = this.current;
    if (!conn) return;
    const events = conn.stream.events;
    while (conn.taken < events.length) this.take(conn, events[conn.taken++]!);
  }

  private take(conn: Connection, e: SseEvent): void {
    if (e.id) this.lastEventId = e.id;
    const data = dataOf(e);
    if (e.event === 'message') {
      const message = data as unknown as ChatMessage;
      conn.messages.push({ id: message.id, eventId: e.id, inbound: message.direction === 'inbound' });
      this.see([message]);
    } else if (e.event === 'session') {
      if (data.state === 'replay_incomplete') {
        this.incomplete.push(conn);
        this.reloadsDue++;
      }
      if (data.reconnect !== undefined) conn.ended = true;
    }
  }

  private see(messages: ChatMessage[]): void {
    for (const m of messages) {
      if (this.seen.has(m.id)) continue;
      this.seen.add(m.id);
      this.arrival.push(m.id);
    }
    this.sorted = mergeMessages(this.sorted, messages);
  }

  /**
   * Opens the stream; `withId`: with Last-Event-ID (the last event's id, else the session's streamPosition).
   * Waits for its `open` event unless `untilOpen` is false (a resumed stream says open after its replay's read).
   */
  async open(world: World, withId: boolean, untilOpen = true): Promise<Connection> {
    const resumedFrom = withId ? (this.lastEventId ?? this.streamPosition) : undefined;
    const headers: Record<string, string> = {
      ...bearer(this.token),
      ...(resumedFrom ? { 'Last-Event-ID': resumedFrom } : {}),
    };
    let stream: SseStream | undefined;
    // A stream just closed frees its place once the service notices (429 until then).
    await waitFor(
      async () => {
        const attempt = await openStream(`${world.url}/messages/stream`, headers);
        if (attempt.status === 429) return false;
        if (attempt.status !== 200) throw new Error(`GET /messages/stream answered ${attempt.status}`);
        stream = attempt;
        return true;
      },
      WAIT_MS,
      50,
    );
    const conn: Connection = {
      stream: stream!,
      resumedFrom,
      taken: 0,
      messages: [],
      repeatedWhileOpen: false,
      ended: false,
    };
    this.connections.push(conn);
    this.current = conn;
    if (untilOpen) await conn.stream.next(isState('open'), WAIT_MS);
    this.pump();
    return conn;
  }

  /** A page loaded afresh with the same session: no Last-Event-ID, a view built from history. */
  async reloadPage(world: World): Promise<void> {
    this.close();
    this.arrival = [];
    this.seen.clear();
    this.sorted = [];
    this.lastEventId = undefined;
    await this.open(world, false);
    await this.loadHistory(world);
  }

  close(): void {
    this.pump();
    if (!this.current) return;
    this.current.stream.close();
    this.current.ended = true;
  }

  /** Closes the stream and waits until the service has let it go (it counts its open streams). */
  async drop(): Promise<void> {
    const open = this.streamOpen;
    const before = await gauge(streamsOpen);
    this.close();
    if (open) await until('the service to let the closed stream go', async () => (await gauge(streamsOpen)) < before);
  }

  /** GET /messages (one page holds the whole conversation here): the view becomes the history, then what came since. */
  async loadHistory(world: World): Promise<void> {
    const res = await world.stack.http.get('/messages?pageSize=100').set(bearer(this.token));
    if (res.status !== 200) throw new Error(`GET /messages answered ${res.status}: ${res.text}`);
    this.pump();
    const history = res.body.messages as ChatMessage[];
    const ids = history.map((m) => m.id);
    const inHistory = new Set(ids);
    this.arrival = [...ids, ...this.arrival.filter((id) => !inHistory.has(id))];
    for (const id of ids) this.seen.add(id);
    this.sorted = mergeMessages(this.sorted, history);
  }

  /** The client's reaction to replay_incomplete: reload the history. Returns how many reloads it made. */
  async reloadIfAsked(world: World): Promise<number> {
    this.pump();
    let made = 0;
    for (; this.reloadsDue > 0; this.reloadsDue--, made++) await this.loadHistory(world);
    return made;
  }

  /** POST /messages with an Idempotency-Key; retried with the same key where the documented client retries. */
  async send(world: World, text: string): Promise<ChatMessage> {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const res = await world.stack.http
        .post('/messages')
        .set(bearer(this.token))
        .set('Idempotency-Key', key)
        .send({ text });
      if (res.status === 201) {
        if (typeof res.body.sessionToken === 'string') this.token = res.body.sessionToken;
        const message = res.body.message as ChatMessage;
        this.sorted = mergeMessages(this.sorted, [message]);
        return message;
      }
      if (attempt >= 3 || ![429, 502, 503, 504].includes(res.status))
        throw new Error(`POST /messages answered ${res.status}: ${res.text}`);
      await sleep(200);
    }
  }

  /** Waits until the open stream has sent a message with this text. */
  async sawText(text: string): Promise<void> {
    await this.current!.stream.next((e) => e.event === 'message' && dataOf(e).text === text, WAIT_MS);
    this.pump();
  }
}

// ------------------------------------------------------------------ the model and its commands

interface Model {
  streamOpen: boolean;
  /** History reads that reached Genesys in this run (all of them count against its 10 a minute). */
  reads: number;
  /** Of them, those the running instance made: without Redis it counts only its own. */
  instanceReads: number;
  /** The conversation's messages once the scripted agent has answered everything. */
  messages: number;
  /** Genesys delivered two messages out of order (the docs promise no order). */
  reordered: boolean;
  /** How far the clock was moved on in this run (it stays within the minute the read limits count). */
  awayMs: number;
  /** `replay_incomplete` events the rules call for: a reconnect's replay once half the reads are spent. */
  incomplete: number;
}

class Run {
  private n = 0;
  readonly historyBase: number;
  readonly steps: string[] = [];

  constructor(
    readonly world: World,
    readonly client: Client,
    readonly gt: string,
  ) {
    this.historyBase = world.sim.stats.historyRequests;
  }

  text(kind: string): string {
    return `${kind}-${++this.n}`;
  }

  say(text: string): void {
    this.world.sim.agent.say(this.gt, text);
  }

  get sim(): Simulator {
    return this.world.sim;
  }

  /** The reads the model expects have all reached Genesys (so a hold armed next can only catch a new one). */
  async readsSettled(model: Model): Promise<void> {
    await until('the history reads the model expects', () => {
      const made = this.sim.stats.historyRequests - this.historyBase;
      if (made !== model.reads)
        throw new Error(`the service read history ${made} times in this run; the model expected ${model.reads}`);
    });
  }

  /** Runs `during` while the next history read is held at Genesys, once it has arrived. */
  async whileReplayHeld(start: () => Promise<unknown>, during: () => Promise<void>): Promise<void> {
    const hold: RestHold = this.sim.faults.holdRest('history');
    try {
      await start();
      await until('the replay to read history', () => hold.held() === 1);
      await during();
    } finally {
      hold.release();
    }
  }
}

type Command = fc.AsyncCommand<Model, Run>;
const budget = (m: Model, reads: number) => m.reads + reads + FINAL_READS <= HISTORY_READS;

/** The guest sends (POST /messages); the scripted agent answers unless the text says silence; the agent may speak at the same moment. */
class Send implements Command {
  constructor(
    readonly silent: boolean,
    readonly agentAtOnce: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.messages + 3 <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    const text = r.text(this.silent ? 'silence' : 'guest');
    const sent = r.client.send(r.world, text);
    if (this.agentAtOnce) r.say(r.text('agent'));
    await sent;
    m.messages += 1 + (this.silent ? 0 : 1) + (this.agentAtOnce ? 1 : 0);
  }
  toString = () => `Send(${this.silent ? 'silent' : 'answered'}${this.agentAtOnce ? ', agent at once' : ''})`;
}

class AgentSays implements Command {
  constructor(readonly count: number) {}
  check = (m: Readonly<Model>) => m.messages + this.count <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    for (let i = 0; i < this.count; i++) r.say(r.text('agent'));
    m.messages += this.count;
  }
  toString = () => `AgentSays(${this.count})`;
}

/** Typing (the agent's, or the guest's POST /typing) and the agent's presence: events, never messages. */
class Signal implements Command {
  constructor(readonly kind: 'agentTyping' | 'guestTyping' | 'presence') {}
  check = () => true;
  async run(_m: Model, r: Run) {
    if (this.kind === 'agentTyping') r.sim.agent.typing(r.gt);
    else if (this.kind === 'presence') r.sim.agent.disconnect(r.gt, { readOnly: false });
    else {
      const res = await r.world.stack.http.post('/typing').set(bearer(r.client.token));
      if (res.status !== 204) throw new Error(`POST /typing answered ${res.status}: ${res.text}`);
    }
  }
  toString = () => `Signal(${this.kind})`;
}

/** The client's connection drops (a network blip): the stream is gone until the client reopens it. */
class CloseStream implements Command {
  check = (m: Readonly<Model>) => m.streamOpen;
  async run(m: Model, r: Run) {
    await r.client.drop();
    m.streamOpen = false;
  }
  toString = () => 'CloseStream';
}

/** The client reopens: with its Last-Event-ID (a replay from history), or as a page loaded afresh (no id; it reads the history). */
class OpenStream implements Command {
  constructor(readonly withId: boolean) {}
  check = (m: Readonly<Model>) => !m.streamOpen && budget(m, 1);
  async run(m: Model, r: Run) {
    if (this.withId) await r.client.open(r.world, true);
    else await r.client.reloadPage(r.world);
    m.streamOpen = true;
    m.reads++;
    m.instanceReads++;
    await r.readsSettled(m);
  }
  toString = () => `OpenStream(${this.withId ? 'Last-Event-ID' : 'page reload'})`;
}

/**
 * The stream drops, the agent speaks, the client reopens with Last-Event-ID; while the replay's
 * history read is under way the agent speaks again and the guest sends: live events during a replay.
 */
class ResumeWithOverlap implements Command {
  constructor(
    readonly missed: number,
    readonly live: number,
    /** How long the client was away before it reopened (the clock moves on). */
    readonly awayMs: number,
    /** The reopened connection drops too, while its replay is under way; the client reopens once more. */
    readonly dropDuringReplay: boolean,
  ) {}
  check = (m: Readonly<Model>) =>
    m.streamOpen &&
    budget(m, this.dropDuringReplay ? 2 : 1) &&
    m.awayMs + this.awayMs <= MAX_AWAY_MS &&
    m.messages + this.missed + this.live + 2 <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    await r.client.drop();
    for (let i = 0; i < this.missed; i++) r.say(r.text('missed'));
    r.world.clock.advance(this.awayMs);
    m.awayMs += this.awayMs;
    const guest = r.text('guest');
    await r.whileReplayHeld(
      () => r.client.open(r.world, true, false),
      async () => {
        for (let i = 0; i < this.live; i++) r.say(r.text('live'));
        // Its echo comes behind the agent's live messages on the same socket: once it is answered, they reached the stream.
        await r.client.send(r.world, guest);
        if (this.dropDuringReplay) await r.client.drop();
      },
    );
    m.reads++;
    m.instanceReads++;
    m.messages += this.missed + this.live + 2;
    if (this.dropDuringReplay) {
      await r.readsSettled(m);
      await r.client.open(r.world, true);
      m.reads++;
      m.instanceReads++;
    }
    await r.client.sawText(guest);
    await r.readsSettled(m);
  }
  toString = () =>
    `ResumeWithOverlap(missed ${this.missed}, live ${this.live}${this.awayMs ? `, away ${this.awayMs} ms` : ''}${this.dropDuringReplay ? ', dropped during the replay' : ''})`;
}

/** The stream drops, the agent speaks, the client reopens at once (with Last-Event-ID, or as a page loaded afresh). */
class StreamBlip implements Command {
  constructor(
    readonly missed: number,
    readonly withId: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.streamOpen && budget(m, 1) && m.messages + this.missed <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    await r.client.drop();
    for (let i = 0; i < this.missed; i++) r.say(r.text('missed'));
    m.messages += this.missed;
    m.streamOpen = false;
    await new OpenStream(this.withId).run(m, r);
  }
  toString = () => `StreamBlip(missed ${this.missed}, ${this.withId ? 'Last-Event-ID' : 'page reload'})`;
}

/**
 * Genesys drops the service's socket while the client's stream is open; the agent speaks while it is down;
 * the service reconnects and the stream replays (or, once half the reads are spent, says replay_incomplete
 * and the client reloads). Not generated with no stream open: whether the service's own reconnect then
 * finishes before the client's next stream subscribes is a race of no consequence to the client (what was
 * missed comes from history either way, as for a closed stream) that would only blur the count of reads.
 */
class DropUpstream implements Command {
  constructor(
    readonly missed: number,
    readonly overlap: boolean,
  ) {}
  check = (m: Readonly<Model>) => m.streamOpen && budget(m, 1) && m.messages + this.missed + 3 <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    const conn = r.client.current!;
    const reconnectsBefore = conn.stream.events.filter(isState('reconnected')).length;
    const replays = m.instanceReads < SPARE_READS;
    const dropAndSay = async () => {
      r.sim.faults.dropSocket(r.gt);
      for (let i = 0; i < this.missed; i++) r.say(r.text('missed'));
      m.messages += this.missed;
      await until(
        'the stream to say reconnected',
        () => conn.stream.events.filter(isState('reconnected')).length > reconnectsBefore,
      );
    };
    if (replays && this.overlap) {
      const guest = r.text('guest');
      await r.whileReplayHeld(dropAndSay, async () => {
        r.say(r.text('live'));
        await r.client.send(r.world, guest);
      });
      await r.client.sawText(guest);
      m.messages += 3;
    } else {
      await dropAndSay();
    }
    m.reads++;
    m.instanceReads++;
    if (!replays) {
      m.incomplete++;
      // Half the session's reads are spent: the stream says so, and the client reloads the history itself.
      await conn.stream.next(isState('replay_incomplete'), WAIT_MS);
      expect(await r.client.reloadIfAsked(r.world)).toBe(1);
    }
    await r.readsSettled(m);
  }
  toString = () => `DropUpstream(missed ${this.missed}${this.overlap ? ', live during the replay' : ''})`;
}

/** The instance stops (its streams are told to reconnect) and another starts; the agent speaks while none is up. */
class Restart implements Command {
  constructor(readonly missed: number) {}
  check = (m: Readonly<Model>) => budget(m, m.streamOpen ? 1 : 0) && m.messages + this.missed <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    const conn = m.streamOpen ? r.client.current! : undefined;
    await r.world.restart(() => {
      for (let i = 0; i < this.missed; i++) r.say(r.text('missed'));
    });
    m.messages += this.missed;
    m.instanceReads = 0;
    if (!conn) return;
    // The stream's last event says reconnect: the client reopens, on the new instance, with its Last-Event-ID.
    await conn.stream.next((e) => e.event === 'session' && dataOf(e).reconnect === true, WAIT_MS);
    r.client.pump();
    await r.client.open(r.world, true);
    m.reads++;
    m.instanceReads++;
    await r.readsSettled(m);
  }
  toString = () => `Restart(missed ${this.missed})`;
}

/** Genesys sends the newest `count` messages again, in order (docs/genesys-protocol.md, unverified point 22). */
class GenesysRepeats implements Command {
  constructor(readonly count: number) {}
  check = (m: Readonly<Model>) => m.streamOpen;
  async run(_m: Model, r: Run) {
    // A repeat, not an overtaking: the first copies have all reached the client.
    await until('the client to hold every message so far', () => {
      r.client.pump();
      return storedMessages(r.sim, r.gt).every((b) => r.client.arrival.includes(b.id));
    });
    const again = storedMessages(r.sim, r.gt).slice(-this.count);
    if (again.length === 0) return;
    r.client.current!.repeatedWhileOpen = true;
    for (const body of again)
      r.world.proxy.inject(r.gt, strictFrame(structuredMessage(body)) as unknown as Record<string, unknown>);
  }
  toString = () => `GenesysRepeats(${this.count})`;
}

/** Genesys delivers two agent messages out of order (the docs promise no order; OVO sorts by channel.time). */
class GenesysReorders implements Command {
  check = (m: Readonly<Model>) => m.streamOpen && m.messages + 2 <= MAX_MESSAGES;
  async run(m: Model, r: Run) {
    const first = r.text('first');
    const second = r.text('second');
    let held: (() => void) | undefined;
    let swapped = false;
    const untap = r.world.proxy.tapFromGenesys(r.gt, (raw, deliver) => {
      if (!held && !swapped && raw.includes(`"text":"${first}"`)) {
        held = () => deliver(raw);
        return;
      }
      deliver(raw);
      if (held && raw.includes(`"text":"${second}"`)) {
        held();
        held = undefined;
        swapped = true;
      }
    });
    try {
      r.say(first);
      m.messages += 2;
      await until('the first message to reach the proxy', () => held !== undefined);
      // Two different times, so that time order is history order.
      const at = Date.parse(storedMessages(r.sim, r.gt).find((b) => b.text === first)!.channel.time);
      await until('the next millisecond', () => r.world.clock.now() > at, 1);
      r.say(second);
      await until('the second message to overtake the first', () => swapped);
      m.reordered = true;
    } finally {
      untap();
      held?.();
    }
  }
  toString = () => 'GenesysReorders';
}

/** A command that writes itself into the run's steps (shown when the run fails). */
function recorded(cmd: Command): Command {
  return {
    check: (m) => cmd.check(m),
    run: async (m, r) => {
      r.steps.push(cmd.toString());
      await cmd.run(m, r);
    },
    toString: () => cmd.toString(),
  };
}

const commands = [
  fc.tuple(fc.boolean(), fc.boolean()).map(([silent, agentAtOnce]) => new Send(silent, agentAtOnce)),
  fc.integer({ min: 1, max: 3 }).map((n) => new AgentSays(n)),
  fc.constantFrom('agentTyping', 'guestTyping', 'presence').map((kind) => new Signal(kind as Signal['kind'])),
  // Twice each: a stream stays closed across other steps only between the two.
  fc.constant(new CloseStream()),
  fc.constant(new CloseStream()),
  fc.boolean().map((withId) => new OpenStream(withId)),
  fc.boolean().map((withId) => new OpenStream(withId)),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom(0, 10_000), fc.boolean())
    .map(([missed, live, away, drop]) => new ResumeWithOverlap(missed, live, away, drop)),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.boolean()).map(([missed, withId]) => new StreamBlip(missed, withId)),
  fc.tuple(fc.integer({ min: 0, max: 2 }), fc.boolean()).map(([missed, overlap]) => new DropUpstream(missed, overlap)),
  fc.integer({ min: 0, max: 2 }).map((missed) => new Restart(missed)),
  fc.integer({ min: 1, max: 6 }).map((n) => new GenesysRepeats(n)),
  fc.constant(new GenesysReorders()),
].map((arb) => arb.map(recorded));

// ------------------------------------------------------------------ the oracle

/** A gauge of the service's own metrics (one instance runs at a time in this process). */
async function gauge(metric: typeof streamsOpen): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

const isState = (state: string) => (e: SseEvent) => e.event === 'session' && dataOf(e).state === state;

/** The conversation as Genesys keeps it: its messages, oldest first (events are not messages). */
function storedMessages(sim: Simulator, gt: string): StructuredMessageBody[] {
  return (sim.conversationMessages(gt) as StructuredMessageBody[]).filter((m) => m.type !== 'Event');
}

/** Every way the client's view and the streams differ from the history; empty when they agree. */
function differences(run: Run, model: Model, history: string[]): string[] {
  const found: string[] = [];
  const { client } = run;
  const position = new Map(history.map((id, i) => [id, i]));
  const name = (id: string) => (position.has(id) ? `#${position.get(id)}` : `unknown ${id}`);
  const view = client.arrival;
  const missing = history.filter((id) => !view.includes(id));
  const extra = view.filter((id) => !position.has(id));
  if (missing.length > 0) found.push(`the client never saw ${missing.map(name).join(', ')}`);
  if (extra.length > 0) found.push(`the client holds messages not in the history: ${extra.join(', ')}`);
  if (!model.reordered && missing.length === 0 && extra.length === 0 && view.join() !== history.join()) {
    found.push(`the client saw the messages in another order: ${view.map(name).join(' ')}`);
  }
  // The React hook orders by time: the times on the copies it keeps must never contradict the history's order (equal times may go either way).
  const held = new Map(client.sorted.map((m) => [m.id, m]));
  const timed = history.filter((id) => held.has(id));
  if (timed.length !== history.length)
    found.push(
      `the time-ordered view (mergeMessages) lacks ${history
        .filter((id) => !held.has(id))
        .map(name)
        .join(', ')}`,
    );
  timed.forEach((id, i) => {
    const before = timed[i - 1];
    if (before !== undefined && held.get(before)!.time > held.get(id)!.time) {
      found.push(
        `the time-ordered view puts ${name(id)} (${held.get(id)!.time}) before ${name(before)} (${held.get(before)!.time})`,
      );
    }
  });

  client.connections.forEach((conn, c) => {
    const ids = conn.messages.map((m) => m.id);
    const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (twice.length > 0) found.push(`stream ${c} sent ${twice.map(name).join(', ')} twice`);
    if (!model.reordered && !conn.repeatedWhileOpen) {
      const order = ids.map((id) => position.get(id) ?? -1);
      const back = order.findIndex((p, i) => i > 0 && p <= order[i - 1]!);
      if (back > 0) found.push(`stream ${c} went back in the conversation: ${ids.map(name).join(' ')}`);
    }
    const from = conn.resumedFrom === undefined ? undefined : position.get(conn.resumedFrom);
    if (from !== undefined && !conn.repeatedWhileOpen) {
      const again = ids.filter((id) => (position.get(id) ?? Infinity) <= from);
      if (again.length > 0)
        found.push(`stream ${c}, resumed after ${name(conn.resumedFrom!)}, sent ${again.map(name).join(', ')} again`);
    }
    // Each event names its own message, with one exception: while a guest message sent on the session waits for its
    // echo, an agent's message that overtakes it keeps the place where it was (src/http/streams/liveStreams.ts), so
    // its id may name an earlier message or the stream's opening time, never a later one. The guest's own message
    // moves the place again, so it always names itself.
    for (const m of conn.messages) {
      if (m.eventId === m.id) continue;
      const held = m.eventId === undefined ? undefined : position.get(m.eventId);
      const earlier =
        held !== undefined
          ? held < position.get(m.id)!
          : m.eventId !== undefined && timeOfPosition(m.eventId) !== undefined;
      if (m.inbound || !earlier)
        found.push(
          `stream ${c}: the event of ${name(m.id)} carries the id ${m.eventId === undefined ? 'none' : name(m.eventId)}`,
        );
    }
  });
  return found;
}

// ------------------------------------------------------------------ the property

let world: World;
beforeAll(async () => {
  world = await World.start();
}, 60_000);
afterAll(() => world?.close());

/** A new session, its first stream opened with the session's streamPosition (README.md, "The live stream"). */
async function newRun(): Promise<{ model: Model; real: Run }> {
  world.sim.faults.clear();
  const before = world.sim.received.length;
  const { token, body } = await world.stack.newSession();
  const client = new Client(token, body.streamPosition as string);
  const run = new Run(world, client, guestTokenOf(world.sim, before));
  await client.open(world, true);
  const model: Model = {
    streamOpen: true,
    reads: 1,
    instanceReads: 1,
    messages: 0,
    reordered: false,
    awayMs: 0,
    incomplete: 0,
  };
  await run.readsSettled(model);
  return { model, real: run };
}

/** What a failed run did: its steps, and every event each of its streams sent (messages by their place in the history). */
function account(run: Run): string {
  const position = new Map(storedMessages(world.sim, run.gt).map((m, i) => [m.id, i]));
  const place = (id: string | undefined) => (id !== undefined && position.has(id) ? `#${position.get(id)}` : id);
  const shown = (e: SseEvent) => {
    const data = dataOf(e);
    const what =
      e.event === 'message'
        ? `${place(data.id as string)} ${String(data.text)}`
        : e.event === 'session'
          ? String(data.state)
          : '';
    return `${e.event} ${what} (id ${place(e.id)})`;
  };
  const streams = run.client.connections.map(
    (conn, c) =>
      `stream ${c} (from ${place(conn.resumedFrom) ?? 'nothing'}): ${conn.stream.events.map(shown).join(' | ')}`,
  );
  return ['steps:', ...run.steps, ...streams].join('\n');
}

/** The end of a run: the client catches up as the rules say, then its view and the streams are judged against the history. */
async function judge(run: Run, model: Model): Promise<void> {
  const { client } = run;
  if (!client.streamOpen) {
    await client.open(world, true);
    model.reads++;
  }
  await client.reloadIfAsked(world);
  const history = () => storedMessages(world.sim, run.gt).map((m) => m.id);
  // The scripted agent has answered every message it will answer.
  await until('the conversation to hold what the model expects', () => {
    if (history().length !== model.messages)
      throw new Error(`it holds ${history().length} messages; the model expected ${model.messages}`);
  });
  let last: string[] = [];
  // What the stream is still writing, the view must come to hold.
  await waitFor(() => {
    client.pump();
    last = differences(run, model, history());
    return last.length === 0;
  }, WAIT_MS).catch(() => undefined);
  if (last.length > 0) throw new Error(last.join('\n'));
  // The service's own history says the same.
  const res = await world.stack.http.get('/messages?pageSize=100').set(bearer(client.token));
  expect(res.status).toBe(200);
  expect((res.body.messages as ChatMessage[]).map((m) => m.id)).toEqual(history());
  // replay_incomplete exactly where the rules call for it: never for a replay the history can serve.
  expect(client.incomplete.length).toBe(model.incomplete);
}

test(
  'the client sees the conversation: every message once, in order, across drops, reopens, replays, reconnects and restarts',
  async () => {
    const stats = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: MAX_COMMANDS }), async (cmds) => {
        const { model, real } = await newRun();
        try {
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            await judge(real, model);
          } catch (error) {
            throw new Error(`${error instanceof Error ? error.message : String(error)}\n${account(real)}`, {
              cause: error,
            });
          }
          for (const step of real.steps)
            stats.set(step.replace(/\(.*/, ''), (stats.get(step.replace(/\(.*/, '')) ?? 0) + 1);
        } finally {
          real.client.close();
          // The chat ends, so that its socket leaves the service's count before the next run.
          await world.stack.http.delete('/guest-session').set(bearer(real.client.token));
        }
      }),
      {
        numRuns: RUNS,
        seed: SEED,
        endOnFailure: !SHRINK,
        ...(process.env.MODEL_PATH ? { path: process.env.MODEL_PATH } : {}),
      },
    );
    // The runs reached every kind of step.
    expect([...stats.keys()].sort()).toEqual(
      [
        'AgentSays',
        'CloseStream',
        'DropUpstream',
        'GenesysReorders',
        'GenesysRepeats',
        'OpenStream',
        'Restart',
        'ResumeWithOverlap',
        'Send',
        'Signal',
        'StreamBlip',
      ].sort(),
    );
  },
  120_000 + RUNS * 2_000,
);

// ------------------------------------------------------------------ the catch-up gate, driven directly

describe('a stream that replays what its client missed (src/http/streams/liveStreams.ts): live events wait behind the replay, and the client keeps its place', () => {
  /** A run whose client has seen one agent message on its open stream. */
  async function runWithOneMessage(): Promise<Run> {
    const { real } = await newRun();
    real.say('seen first');
    await real.client.sawText('seen first');
    return real;
  }

  const textsAfter = (conn: Connection, first: string) => {
    const texts = conn.stream.events.filter((e) => e.event === 'message').map((e) => String(dataOf(e).text));
    return texts.slice(texts.indexOf(first) + 1);
  };

  test('a stream resumed with Last-Event-ID: what was missed first, then what came during the replay, each once, each event naming its message', async () => {
    const run = await runWithOneMessage();
    const { client } = run;
    try {
      client.close();
      run.say('missed one');
      run.say('missed two');
      let conn: Connection | undefined;
      await run.whileReplayHeld(
        async () => (conn = await client.open(world, true, false)),
        async () => {
          run.say('said during the replay');
          await client.send(world, 'sent during the replay');
        },
      );
      await client.sawText('sent during the replay');
      const texts = conn!.stream.events.filter((e) => e.event === 'message').map((e) => String(dataOf(e).text));
      expect(texts.slice(0, 4)).toEqual([
        'missed one',
        'missed two',
        'said during the replay',
        'sent during the replay',
      ]);
      expect(conn!.messages.every((m) => m.eventId === m.id)).toBe(true);
      expect(conn!.stream.events.findIndex(isState('open'))).toBe(0);
    } finally {
      client.close();
    }
  });

  test('a stream that replays after the upstream socket came back: what Genesys sent meanwhile first, then what came during the replay', async () => {
    const run = await runWithOneMessage();
    const { client } = run;
    const conn = client.current!;
    try {
      await run.whileReplayHeld(
        async () => {
          run.sim.faults.dropSocket(run.gt);
          run.say('said while the socket was down');
          await conn.stream.next(isState('reconnected'), WAIT_MS);
        },
        async () => {
          run.say('said during the replay');
          await client.send(world, 'sent during the replay');
        },
      );
      await client.sawText('sent during the replay');
      expect(textsAfter(conn, 'seen first').slice(0, 3)).toEqual([
        'said while the socket was down',
        'said during the replay',
        'sent during the replay',
      ]);
    } finally {
      client.close();
    }
  });

  test('what Genesys sends on the new socket before the reconnect is announced waits behind the replay: nothing missed is skipped', async () => {
    const run = await runWithOneMessage();
    const { client } = run;
    const conn = client.current!;
    // The guest's message reaches Genesys, then the socket drops before its echo: a send in doubt, which the
    // reconnect proves from history (held here) before it says reconnected; the new socket is up meanwhile.
    run.sim.faults.dropOnNext('onMessage', { sessionToken: run.gt, when: 'after-processing' });
    const hold = run.sim.faults.holdRest('history');
    try {
      const sent = client.send(world, 'silence: sent as the socket dropped');
      await until('the delivery check to read history', () => hold.held() === 1);
      run.say('said before reconnected');
      // A frame no client knows, after it: once the service has logged it, it has taken the message before it.
      world.proxy.inject(run.gt, { type: 'message', class: 'OrderBarrier', code: 200, body: {} });
      await until('the service to take the frames before the barrier', () =>
        world.stack.log.lines().some((l) => l.class === 'OrderBarrier'),
      );
      hold.release();
      await sent;
      await client.sawText('said before reconnected');
      expect(textsAfter(conn, 'seen first')).toEqual([
        'silence: sent as the socket dropped',
        'said before reconnected',
      ]);
    } finally {
      hold.release();
      client.close();
    }
  });

  test('a resumed stream that drops during its replay leaves its client where it was: reopened, nothing is missed', async () => {
    const run = await runWithOneMessage();
    const { client } = run;
    try {
      client.close();
      run.say('missed long ago');
      // The client comes back ten seconds later, further than a time position reaches back.
      world.clock.advance(10_000);
      await run.whileReplayHeld(
        () => client.open(world, true, false),
        async () => client.close(),
      );
      // The dropped stream never named a place after the message the client had.
      expect(client.lastEventId).toBe(client.arrival[0]);
      await client.open(world, true);
      await client.sawText('missed long ago');
    } finally {
      client.close();
    }
  });
});
