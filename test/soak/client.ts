import { randomUUID } from 'node:crypto';
import { BffClient, BffError, memoryTokenStore, type ChatMessage, type ChatStream } from '../../client/src';
import { mergeMessages } from '../../client/src/react/conversation';
import type { Simulator } from '../../simulator';
import { browserKeys, decryptPush } from '../support/pushReceiver';
import { signInAt } from '../support/signIn';
import { PAGE_ORIGIN } from '../support/stack';
import type { LatencyOperation, LatencySample, Operation } from './checker';
import { eventSourceFor, type ConnectionLog } from './eventSource';
import type { AwayWindow } from './pushCheck';
import type { Random } from './random';

/**
 * A model customer: the shipped browser client (client/src, BffClient) driven in Node as a page drives it.
 * It starts a chat, opens the live stream (which resumes from the last event id by itself, and reloads the
 * newest history on `replay_incomplete`), loads the history on the stream's first open, sends texts and
 * files with an Idempotency-Key and sends again with the same key after any answer that says to (honouring
 * Retry-After), reads history, reloads the page (a new client resuming the held token), signs in at the
 * simulator's identity provider, and ends the chat. Now and then it sends a message wrong on purpose (a text
 * over Genesys's 4,096 bytes, or no text at all) and marks it with the refusal it expects. Some opt in to Web Push
 * after their first message and now and then close the tab for a while (the agent writes meanwhile), then come
 * back. Everything it sees is logged for the checker.
 */

export interface TimelineEntry {
  t: number;
  what: string;
}

export interface Ack {
  key: string;
  text: string;
  id: string;
  at: number;
}

export interface SessionLog {
  name: string;
  startedAt?: number;
  routingKey?: string;
  timeline: TimelineEntry[];
  /** Every stream connection of the page the check looks at (the last one). */
  connections: ConnectionLog[];
  /** The last page's view: one entry per id, in the order the page shows them (time order, as useChat does). */
  view: ChatMessage[];
  acked: Ack[];
  /** Every start, resume and send, with how it ended. */
  operations: Operation[];
  /** The sends the customer stopped trying, each with why: its outcome and the last refusal by code. */
  gaveUp: { text: string; why: string }[];
  ended?: { requestedAt: number; at: number; probes: { what: string; status: number }[] };
  /** The service answered 401/410 to a session this client never ended: when, and the answer. */
  lost?: { at: number; answer: string };
  signedIn: boolean;
  /** 503 and 504 answers without Retry-After. */
  retryAfterMissing: string[];
  /** When a request was answered `503 store_unavailable` (epoch ms). */
  storeRefusals: number[];
  /** While the last page's history is refused for now: when the service said to read it again (epoch ms). */
  readDueAt?: number;
  /** A customer who opts in to Web Push: its subscription and when its tab was closed. */
  push?: PushLog;
}

export interface PushLog {
  /** The push service's URL for this customer's browser. */
  endpoint: string;
  /** The page a push opens. */
  url: string;
  /** When PUT /notifications/push was answered 204 (epoch ms). */
  subscribedAt?: number;
  /** When the tab was closed, in order. */
  away: AwayWindow[];
  /** What the agent said while the tab was closed. */
  said: number;
}

export type Latencies = Record<LatencyOperation, LatencySample[]>;

export interface ClientContext {
  baseUrl: string;
  sim: Simulator;
  /** Run-relative clock for timelines. */
  t0: number;
  /** No new action after this. */
  stopActionsAt: number;
  /** Nothing waits past this. */
  hardStopAt: number;
  /**
   * A customer who closed the tab is back by this (the run's end, before the views' convergence): an absence may
   * reach into the quiet end of the run, where no fault delays what it is owed.
   */
  backBy: number;
  latencies: Latencies;
  png: Blob;
  /** Called just before a chat is ended: Genesys clears the conversation then. */
  beforeEnd?: (name: string) => void;
  /**
   * The time the faults on at some point between `from` and now (epoch ms) cover together, one still on counted up
   * to now (checker.ts faultsDuring): what a customer's patience allows for beside its own minute.
   */
  faultMsSince?: (from: number) => number;
  /** Web Push: where each customer's browser is reached, and the agent writing to a customer who is away. */
  push?: {
    endpointFor(name: string): string;
    /** The agent writes `text` in the customer's chat now; false when the chat is not known at Genesys yet. */
    agentSay(name: string, text: string): boolean;
  };
}

const TIMELINE_MAX = 600;
/** How long a customer waits for the chat to show before ending it, beside the faults meanwhile (untilChatShown). */
const PATIENCE_MS = 60_000;
const RETRYABLE = new Set([429, 502, 503, 504]);

function retryable(error: unknown): error is BffError {
  return error instanceof BffError && (error.code === 'network_error' || RETRYABLE.has(error.status));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One page of the chat: a BffClient, its stream and what it shows. */
interface Page {
  client: BffClient;
  stream?: ChatStream;
  view: ChatMessage[];
  connections: ConnectionLog[];
  historyLoaded: boolean;
  /** The first open's history is on the page. */
  historyShown: boolean;
}

/** The share of customers who only write (`quiet`): enough that a gap the stream leaves meets one in minutes. */
export const QUIET_SHARE = 0.3;
/** The share of the other customers who opt in to Web Push once their first message is acknowledged. */
export const PUSH_SHARE = 0.5;
/** After each step, the chance an opted-in customer closes the tab for a while; at most AWAY_MAX times a chat. */
const AWAY_CHANCE = 0.5;
const AWAY_MAX = 2;
/** A page that subscribes is on the customer's site; a push opens it. */
const CHAT_PAGE = `${PAGE_ORIGIN}/chat`;

export class SoakSession {
  readonly log: SessionLog;
  private page?: Page;
  private readonly tokens = memoryTokenStore();
  private sent = 0;
  /** Every message id any page of this chat has shown. */
  private readonly seen = new Set<string>();
  /**
   * A customer who keeps one tab open and only writes: never reads history nor reloads, so whatever the live
   * stream leaves out stays out of the view (the others' reads and reloads would fill a gap a catch-up left).
   * Drawn from a source of its own, so that the other customers' plans stay what their seed made them.
   */
  private readonly quiet: boolean;
  /**
   * Whether and when this customer opts in to Web Push and closes the tab: a source of its own, so that adding it
   * moved no other choice a seed makes.
   */
  private readonly pushPlan: Random;
  private readonly pushKeys = browserKeys();

  constructor(
    name: string,
    private readonly ctx: ClientContext,
    private readonly rng: Random,
  ) {
    this.log = {
      name,
      timeline: [],
      connections: [],
      view: [],
      acked: [],
      operations: [],
      gaveUp: [],
      signedIn: false,
      retryAfterMissing: [],
      storeRefusals: [],
    };
    this.quiet = rng.fork('habits').chance(QUIET_SHARE);
    this.pushPlan = rng.fork('push');
    const push = ctx.push;
    if (push && !this.quiet && this.pushPlan.chance(PUSH_SHARE))
      this.log.push = { endpoint: push.endpointFor(name), url: CHAT_PAGE, away: [], said: 0 };
  }

  note(what: string): void {
    const timeline = this.log.timeline;
    timeline.push({ t: Date.now() - this.ctx.t0, what });
    if (timeline.length > TIMELINE_MAX) timeline.splice(0, timeline.length - TIMELINE_MAX);
  }

  private get acting(): boolean {
    return Date.now() < this.ctx.stopActionsAt && this.log.ended === undefined && this.log.lost === undefined;
  }

  /** fetch as a browser on the page's origin sends it, each 503/504 checked for Retry-After. */
  private readonly fetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Origin', PAGE_ORIGIN);
    const res = await fetch(input, { ...init, headers });
    if ((res.status === 503 || res.status === 504) && !res.headers.get('retry-after')) {
      const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
      this.log.retryAfterMissing.push(`${init?.method ?? 'GET'} ${path} ${res.status}`);
    }
    if (res.status === 503) {
      const answeredAt = Date.now();
      const code = await res
        .clone()
        .json()
        .then((body: { code?: unknown }) => body.code)
        .catch(() => undefined);
      if (code === 'store_unavailable') this.log.storeRefusals.push(answeredAt);
    }
    return res;
  };

  private newPage(): Page {
    const connections: ConnectionLog[] = [];
    const client = new BffClient({
      baseUrl: this.ctx.baseUrl,
      tokenStore: this.tokens,
      fetch: this.fetch,
      EventSource: eventSourceFor((c) => {
        connections.push(c);
        this.note(`stream #${connections.length} opens${c.resumedFrom ? ` from ${c.resumedFrom}` : ''}`);
      }),
      pageOrigin: PAGE_ORIGIN,
    });
    const page: Page = { client, view: [], connections, historyLoaded: false, historyShown: false };
    this.log.connections = connections;
    this.page = page;
    return page;
  }

  /**
   * Puts messages on the page. A message's delivery latency is counted the first time the customer sees it on any
   * page, through the stream: a reloaded page's stream replays what the page before it showed, which is no delivery,
   * and one that came while the tab was closed waited for the customer, not for the service.
   */
  private show(page: Page, messages: ChatMessage[], via: 'stream' | 'history'): void {
    for (const m of messages) {
      if (this.seen.has(m.id)) continue;
      this.seen.add(m.id);
      const at = Date.parse(m.time);
      const late = Date.now() - at;
      // What came while the tab was closed reaches the page when it is back: no delivery to time.
      const away = this.log.push?.away.some((w) => at >= w.from && at <= (w.to ?? Infinity)) ?? false;
      if (via === 'stream' && Number.isFinite(late) && late >= 0 && !away)
        this.ctx.latencies.delivery.push({ at, ms: late });
    }
    page.view = mergeMessages(page.view, messages);
    if (page === this.page) this.log.view = page.view;
  }

  /** Runs the chat to its end (or to the run's stop): the plan comes from the session's own random source. */
  async run(): Promise<void> {
    if (this.quiet) this.note('a quiet customer: one tab, no history reads, no reloads');
    if (!(await this.open(false))) return;
    const sends = this.rng.int(4, 18);
    while (this.acting && this.sent < sends) {
      await sleep(this.rng.int(600, 3500));
      if (!this.acting) break;
      const roll = this.rng.next();
      if (roll < 0.7) await this.sendText();
      else if (roll < 0.78) await this.sendFile();
      else if (roll < 0.87 && this.quiet) await this.sendText();
      else if (roll < 0.83) await this.readHistory();
      else if (roll < 0.87) await this.reload();
      else if (roll < 0.9 && !this.log.signedIn) await this.signIn();
      else if (roll < 0.97) await this.page!.client.typing().catch(() => undefined);
      else await this.sendInvalid();
      if (this.log.push && this.acting) await this.pushHabits(this.log.push);
    }
    if (this.acting && this.rng.chance(0.6)) {
      await sleep(this.rng.int(600, 3500));
      await this.untilChatShown();
      if (this.acting) await this.end();
    }
  }

  /** An opted-in customer subscribes once a message of theirs is acknowledged, and now and then leaves for a while. */
  private async pushHabits(push: PushLog): Promise<void> {
    if (push.subscribedAt === undefined) {
      if (this.log.acked.length > 0) await this.subscribe(push);
    } else if (push.away.length < AWAY_MAX && this.pushPlan.chance(AWAY_CHANCE)) await this.away(push);
  }

  /** PUT /notifications/push with this browser's subscription, tried again after every answer that says to. */
  private async subscribe(push: PushLog): Promise<void> {
    const body = {
      endpoint: push.endpoint,
      keys: { p256dh: this.pushKeys.p256dh, auth: this.pushKeys.auth },
      url: push.url,
    };
    for (let attempt = 0; attempt < 6 && this.acting; attempt++) {
      try {
        await this.page!.client.enablePush(body);
        push.subscribedAt = Date.now();
        this.note('subscribed to replies by Web Push');
        return;
      } catch (error) {
        this.note(`push subscription refused: ${describe(error)}`);
        if (error instanceof BffError && error.sessionLost) return void this.lose(codeOf(error));
        if (!retryable(error)) return;
        await sleep(waitFor(error, attempt));
      }
    }
  }

  /**
   * The customer closes the tab (its stream closes) and comes back a while later on a new page, which resumes the
   * chat and shows what came meanwhile. A quarter of the absences are a few seconds (nothing is owed a push); the
   * others last 30 to 60 s, while the agent writes once to three times: first within a second and a half (before
   * any watch begins: its catch-up finds it in history), then from 14 s on (the watch has begun by then: heard live),
   * 6 to 15 s apart, so that each is a push of its own, named by its preview.
   */
  private async away(push: PushLog): Promise<void> {
    const plan = this.pushPlan;
    const brief = plan.chance(0.25);
    const length = brief ? plan.int(1000, 3500) : plan.int(30_000, 60_000);
    const replies = brief ? 0 : plan.int(1, 3);
    const offsets: number[] = [];
    let at = plan.int(0, 1500);
    for (let n = 0; n < replies && at < length - 1000; n++) {
      offsets.push(at);
      at = Math.max(at + plan.int(6000, 15_000), 14_000 + plan.int(0, 2000));
    }
    if (Date.now() + length > this.ctx.backBy) return;
    const page = this.page!;
    const until = Date.now() + 15_000;
    while (page.stream?.state !== 'open' && page === this.page && this.acting && Date.now() < until) await sleep(250);
    if (!this.acting) return;
    const state = page.stream?.state;
    page.stream?.close();
    const window: AwayWindow = { from: Date.now(), streamWasOpen: state === 'open' };
    push.away.push(window);
    this.note(`tab closed for ${(length / 1000).toFixed(1)} s${window.streamWasOpen ? '' : ` (its stream ${state})`}`);
    for (const offset of offsets) {
      const wait = window.from + offset - Date.now();
      if (wait > 0) await sleep(wait);
      const text = `${this.log.name} reply while away ${push.said}`;
      push.said += 1;
      const said = this.ctx.push?.agentSay(this.log.name, text) ?? false;
      this.note(said ? `the agent wrote "${text}"` : `the agent could not write "${text}": the chat is unknown`);
    }
    const rest = window.from + length - Date.now();
    if (rest > 0) await sleep(rest);
    window.to = Date.now();
    this.note('back: the tab opens the chat again');
    // A customer who came back keeps the tab open: the chat's page must come back, after the actions' end too.
    await this.open(true, this.ctx.hardStopAt);
  }

  /**
   * Starts (or, `resume`, resumes) the chat on a new page and opens its stream; false when it never could. Refusals
   * that say to try again are tried again until `tryUntil`.
   */
  private async open(resume: boolean, tryUntil = this.ctx.stopActionsAt): Promise<boolean> {
    const page = this.newPage();
    const op = this.operation(resume ? 'resume' : 'start');
    for (let attempt = 0; Date.now() < this.ctx.hardStopAt && op.ended === 0; attempt++) {
      try {
        const started = await page.client.startSession();
        if (resume && started.replacedExpired) {
          // The client started a new chat in place of the held one: for this customer, the chat was lost.
          this.finish(op, 'lost');
          return this.lose('the held token refused on resume; the client started a new chat');
        }
        this.finish(op, 'ok');
        if (!resume) {
          this.ctx.latencies.start.push({ at: op.began, ms: op.ended - op.began });
          this.log.startedAt = op.ended;
        }
        this.log.routingKey = started.routingKey;
        this.note(`${resume ? 'resumed' : 'started'} (${started.resumed ? 200 : 201})`);
      } catch (error) {
        op.last = codeOf(error);
        if (error instanceof BffError && error.sessionLost && resume) {
          this.finish(op, 'lost');
          return this.lose(op.last);
        }
        if (!retryable(error) || Date.now() > tryUntil) {
          this.finish(op, retryable(error) ? 'run_over' : 'refused');
          this.note(`start refused: ${describe(error)}`);
          return false;
        }
        await sleep(waitFor(error, attempt));
      }
    }
    if (op.ended === 0) this.finish(op, 'run_over');
    if (page.client.sessionToken === undefined) return false;
    page.stream = page.client.stream({
      message: (m) => this.show(page, [m], 'stream'),
      open: ({ reconnected }) => {
        this.note(`stream open${reconnected ? ' (reconnected)' : ''}`);
        if (!page.historyLoaded) {
          page.historyLoaded = true;
          void this.loadHistory(page);
        }
      },
      session: (e) => {
        this.note(`stream session ${e.state}${e.reconnect === undefined ? '' : ` reconnect=${e.reconnect}`}`);
      },
      error: (e) => this.note(`stream stopped: ${e.code}`),
    });
    return true;
  }

  /** The first open's history, read again after each refusal as a page would (bounded by the run). */
  private async loadHistory(page: Page): Promise<void> {
    for (let attempt = 0; Date.now() < this.ctx.hardStopAt && page === this.page; attempt++) {
      const began = Date.now();
      try {
        const history = await page.client.history({ pageSize: 100 });
        this.ctx.latencies.history.push({ at: began, ms: Date.now() - began });
        this.show(page, history.messages, 'history');
        page.historyShown = true;
        this.log.readDueAt = undefined;
        this.note(`history loaded: ${history.messages.length} messages`);
        return;
      } catch (error) {
        if (!retryable(error)) {
          this.note(`history refused: ${describe(error)}`);
          return;
        }
        this.note(`history refused for now: ${describe(error)}`);
        if (error instanceof BffError && error.retryAfterSeconds !== undefined)
          this.log.readDueAt = Date.now() + error.retryAfterSeconds * 1000;
        await sleep(waitFor(error, attempt));
      }
    }
  }

  private async readHistory(): Promise<void> {
    const page = this.page!;
    const began = Date.now();
    try {
      const history = await page.client.history({ pageSize: 100 });
      this.ctx.latencies.history.push({ at: began, ms: Date.now() - began });
      this.show(page, history.messages, 'history');
      this.note(`history read: ${history.messages.length} messages`);
    } catch (error) {
      this.note(`history read refused: ${describe(error)}`);
      if (error instanceof BffError && error.sessionLost) this.lose(codeOf(error));
    }
  }

  private async sendText(): Promise<void> {
    const extra = this.rng.pick(['hello', 'a card please', 'quick replies', 'human', 'thanks', 'how are you']);
    await this.send({ text: `${this.log.name} m${this.sent} ${extra}` });
  }

  private async sendFile(): Promise<void> {
    const page = this.page!;
    let attachmentId: string | undefined;
    for (let attempt = 0; attempt < 5 && attachmentId === undefined && this.acting; attempt++) {
      try {
        attachmentId = (await page.client.uploadAttachment(this.ctx.png, { fileName: 'soak.png' })).id;
        this.note(`uploaded ${attachmentId}`);
      } catch (error) {
        this.note(`upload refused: ${describe(error)}`);
        if (!retryable(error)) return;
        await sleep(waitFor(error, attempt));
      }
    }
    if (attachmentId !== undefined)
      await this.send({ text: `${this.log.name} m${this.sent} file`, attachmentIds: [attachmentId] });
  }

  /**
   * A message the page gets wrong on purpose: a text over Genesys's 4,096 bytes, or no text and no file. It must be
   * refused with the code it is marked with, and nothing sent.
   */
  private async sendInvalid(): Promise<void> {
    if (this.rng.chance(0.5))
      await this.send({ text: `${this.log.name} too long ${'x'.repeat(4100)}` }, '413 message_too_long');
    else await this.send({ text: '' }, '400 validation_failed');
  }

  /**
   * One message, sent again with the same key after every answer that says to, until acknowledged or the run ends.
   * `deliberate`: the page made it invalid on purpose, and expects this refusal.
   */
  private async send(body: { text: string; attachmentIds?: string[] }, deliberate?: string): Promise<void> {
    const key = randomUUID();
    const label = body.text.length > 60 ? `${body.text.slice(0, 40)}... (${body.text.length} characters)` : body.text;
    const op = this.operation('send', label, deliberate);
    if (deliberate === undefined) this.sent += 1;
    for (let attempt = 0; Date.now() < this.ctx.hardStopAt && op.ended === 0; attempt++) {
      try {
        // The page's client retries on its own first (its default policy); this loop is the page trying again.
        const message = await this.page!.client.send(body, { idempotencyKey: key });
        this.finish(op, 'ok');
        this.ctx.latencies.send.push({ at: op.began, ms: op.ended - op.began });
        this.log.acked.push({ key, text: body.text, id: message.id, at: op.ended });
        this.note(`sent "${label}" (${message.id}) after ${attempt + 1} tries`);
      } catch (error) {
        op.last = codeOf(error);
        this.note(`send "${label}" refused: ${describe(error)}${deliberate ? ` (expected ${deliberate})` : ''}`);
        if (error instanceof BffError && error.sessionLost) {
          this.finish(op, 'lost');
          this.lose(op.last);
        } else if (!retryable(error)) this.finish(op, 'refused');
        else await sleep(waitFor(error, attempt));
      }
    }
    if (op.ended === 0) this.finish(op, 'run_over');
    const expected = op.outcome === 'refused' && op.last === deliberate;
    if (op.outcome !== 'ok' && op.outcome !== 'lost' && !expected)
      this.log.gaveUp.push({ text: label, why: `${op.outcome.replace('_', ' ')}, ${op.last ?? 'never answered'}` });
  }

  private operation(what: Operation['what'], label?: string, deliberate?: string): Operation {
    const op: Operation = { what, label, began: Date.now(), ended: 0, outcome: 'run_over', deliberate };
    this.log.operations.push(op);
    return op;
  }

  private finish(op: Operation, outcome: Operation['outcome']): void {
    op.ended = Date.now();
    op.outcome = outcome;
  }

  /**
   * A page reload: the stream closes, a new client resumes the held token and opens its own stream. The reloaded tab
   * stays open, so, as for a customer who came back, its page must come back, after the actions' end too: a resume
   * refused for a while (the session's socket opens spent by the faults) is tried again until the run's hard stop.
   */
  private async reload(): Promise<void> {
    this.note('page reload');
    this.page!.stream?.close();
    await this.open(true, this.ctx.hardStopAt);
  }

  /**
   * As a page signs in after the identity provider's redirect: with the code the redirect brought, sent again as it
   * was (the client's own retries first, then the page's) until the service says the code itself is refused; only
   * then does the customer sign in again for a new one. The page keeps trying while the customer acts (`acting` ends
   * at the actions' end): a sign-in given up during an outage would leave the chat anonymous, which no customer who
   * pressed "sign in" accepts.
   */
  private async signIn(): Promise<void> {
    let grant: Awaited<ReturnType<typeof signInAt>> | undefined;
    for (let attempt = 0; this.acting; attempt++) {
      try {
        grant ??= await signInAt(this.ctx.sim, `soak-${this.log.name}`);
        await this.page!.client.signIn(grant);
        this.log.signedIn = true;
        this.note('signed in');
        return;
      } catch (error) {
        this.note(`sign-in refused: ${describe(error)}`);
        if (error instanceof BffError && error.status === 401 && error.code !== 'reauthentication_required')
          return void this.lose(codeOf(error));
        if (error instanceof BffError && error.code === 'reauthentication_required') grant = undefined;
        else if (!retryable(error)) return;
        await sleep(waitFor(error, attempt));
      }
    }
  }

  /**
   * A customer ends a chat they can see: the page shows its history and its stream is open (not "reconnecting"),
   * with nothing still loading from a gap its replay could not fill (`catchingUp`).
   * A page whose first history read was refused (Genesys's ten reads a minute spent on reloads, resumes and
   * delivery proofs, and a `Retry-After` to wait), or whose stream is still coming back from an outage, is given
   * up to a minute, that budget's window, and as long again as the faults meanwhile cover (an outage, however many
   * faults back to back make it, does not use up the customer's patience), before the end is asked for. A service
   * that never serves the history or never reopens the stream still fails: the end then comes, and everything
   * older than END_GRACE_MS before it is owed to the view (or, past the actions' end, the chat is left open and
   * owes its view everything).
   */
  private async untilChatShown(): Promise<void> {
    const began = Date.now();
    const until = () => Math.min(began + PATIENCE_MS + (this.ctx.faultMsSince?.(began) ?? 0), this.ctx.hardStopAt);
    const page = this.page;
    const shown = () => page!.historyShown && page!.stream?.state === 'open' && !page!.stream.catchingUp;
    while (page && !shown() && page === this.page && this.acting && Date.now() < until()) await sleep(250);
    if (page && !page.historyShown) this.note('ending with the first history not shown');
    else if (page && !shown())
      this.note(`ending with the stream ${page.stream?.state}, catching up: ${page.stream?.catchingUp}`);
  }

  /** DELETE /guest-session until it answers 204 (or 410), then what the old token still opens. */
  async end(): Promise<void> {
    const page = this.page!;
    const token = page.client.sessionToken;
    if (token === undefined) return;
    const url = (path: string) => `${this.ctx.baseUrl}${path}?routingKey=${this.log.routingKey ?? ''}`;
    const auth = { Authorization: `Bearer ${token}`, Origin: PAGE_ORIGIN };
    this.ctx.beforeEnd?.(this.log.name);
    const requestedAt = Date.now();
    for (let attempt = 0; Date.now() < this.ctx.hardStopAt; attempt++) {
      const res = await fetch(url('/guest-session'), { method: 'DELETE', headers: auth }).catch(() => undefined);
      if (res && (res.status === 204 || res.status === 410)) {
        await res.text();
        this.log.ended = { requestedAt, at: Date.now(), probes: [] };
        this.note(`ended (${res.status})`);
        break;
      }
      const retryAfter = Number(res?.headers.get('retry-after') ?? 1);
      await res?.text();
      await sleep(Math.min(retryAfter, 10) * 1000);
    }
    page.client.forgetSession();
    if (!this.log.ended) return;
    await sleep(this.rng.int(200, 1500));
    const probes = this.log.ended.probes;
    probes.push(
      await this.probe('GET /guest-session', () => fetch(url('/guest-session'), { headers: auth })),
      await this.probe('POST /messages', () =>
        fetch(url('/messages'), {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
          body: JSON.stringify({ text: `${this.log.name} after the end` }),
        }),
      ),
    );
    this.note(`after the end: ${probes.map((p) => `${p.what} ${p.status}`).join(', ')}`);
    // The stream should have ended by itself; a page closes it in any case.
    setTimeout(() => page.stream?.close(), 5000).unref();
  }

  /** A call with the ended chat's token, asked again while the answer is a 5xx (an outage says nothing), for up to 15 s. */
  private async probe(what: string, call: () => Promise<Response>): Promise<{ what: string; status: number }> {
    let status = 0;
    for (const until = Date.now() + 15_000; Date.now() < until;) {
      const res = await call().catch(() => undefined);
      status = res?.status ?? 0;
      await res?.text();
      if (status !== 0 && status < 500) break;
      await sleep(1000);
    }
    return { what, status };
  }

  private lose(answer: string): false {
    this.log.lost ??= { at: Date.now(), answer };
    this.note(`session lost: ${answer}`);
    return false;
  }

  /** A push's payload, as this customer's browser decrypts it (RFC 8291); throws when it does not decrypt. */
  readPush(body: Buffer): string {
    return decryptPush(body, this.pushKeys);
  }

  /** Closes the page's stream at the end of the run. */
  close(): void {
    this.page?.stream?.close();
  }
}

function waitFor(error: unknown, attempt: number): number {
  const seconds = error instanceof BffError ? error.retryAfterSeconds : undefined;
  return Math.min(seconds ?? Math.min(0.5 * 2 ** attempt, 4), 15) * 1000;
}

/** A refusal by status and code, without its wait: what the report counts by. */
function codeOf(error: unknown): string {
  if (error instanceof BffError) return error.status === 0 ? error.code : `${error.status} ${error.code}`;
  return error instanceof Error ? error.name : 'unknown';
}

function describe(error: unknown): string {
  if (error instanceof BffError)
    return `${error.status} ${error.code}${error.retryAfterSeconds === undefined ? '' : ` retry after ${error.retryAfterSeconds} s`}`;
  return error instanceof Error ? error.message : String(error);
}
