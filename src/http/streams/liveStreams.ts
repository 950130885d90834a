import { AsyncResource } from 'node:async_hooks';
import type { Request, Response } from 'express';
import { type GuestEvent, type GuestSession, type NewestPage, PROOF_PAGE_SIZE } from '../../genesys/guest';
import { AppError } from '../../domain/errors';
import { STREAM_EVENT_ID, type NormalizedMessage, type ReceiptEvent } from '../../domain/message';
import type { Availability } from '../../domain/availability';
import type { Logger } from '../../observability/logger';
import { streamsOpen } from '../../observability/metrics';
import { POSITION_SKEW_MS, positionAt, timeOfPosition } from '../../domain/streamPosition';
import { TimerRounds } from '../../scheduling/timerRounds';
import { expiringEvent, expiryClearedEvent, warnBeforeExpiry, type ExpirySource } from '../middleware';
import type { StreamCaps } from './streamCaps';

/**
 * Server-Sent Events for GET /messages/stream: `message`, `typing`,
 * `presence` and `session` events from the guest's upstream socket, a
 * heartbeat comment to keep proxies from timing out, and a final `session`
 * event whenever the stream ends, so the client knows whether to reconnect.
 */
export interface LiveStreamOptions {
  heartbeatMs: number;
  /**
   * A reader this far behind is cut off; it reconnects and reloads history.
   * Counts what the response and its socket hold in user space.
   */
  maxBufferedBytes: number;
  /**
   * A reader that has left data unread this long is cut off too: the
   * kernel's own send buffer (megabytes) cannot be counted from here.
   */
  stallMs: number;
  /** Concurrent streams per session and per client address: the instance's, shared by every deployment. */
  caps: StreamCaps;
  logger: Logger;
  now?: () => number;
  /** GET /availability's noticeable changes, sent as `availability` events until an agent has written. */
  availability?: { subscribe(listener: (answer: Availability) => void): () => void };
}

/** Who holds a stream, for the caps. */
interface StreamHolder {
  guestToken: string;
  ip: string;
  /** How a message is shown to this client (attachment links minted for it). */
  present?: (message: NormalizedMessage) => NormalizedMessage;
  /** When Genesys will end the session if nothing happens, as last known (activity moves it), and how to ask. */
  expiry?: ExpirySource;
}

interface OpenStream {
  end(state: string, detail: string, reconnect: boolean): void;
}

export class LiveStreams {
  private readonly open = new Set<OpenStream>();
  /** Every stream's heartbeat on one timer. */
  private readonly heartbeats: TimerRounds;

  constructor(private readonly options: LiveStreamOptions) {
    this.heartbeats = new TimerRounds(options.heartbeatMs);
  }

  get count(): number {
    return this.open.size;
  }

  /** Refuses a stream over the per-session or per-IP cap, before any work is done for it. */
  admit(holder: StreamHolder): void {
    this.options.caps.admit(holder.guestToken, holder.ip);
  }

  /**
   * Streams the session's events. With `history.after` (the client's
   * Last-Event-ID), the messages after that id are sent first, from history;
   * after the upstream socket comes back (`reconnected`), what Genesys sent
   * while it was down is sent the same way. Live events that arrive meanwhile
   * wait behind, so nothing is missed or doubled.
   */
  serve(res: Response, session: GuestSession, holder: StreamHolder, history?: Replay): void {
    // A client already gone would never fire 'close' again: nothing must be held for it.
    if (res.destroyed) return;
    this.admit(holder);
    const uncount = this.options.caps.hold(holder.guestToken, holder.ip);
    openEventStream(res);

    let ended = false;
    /** Since when the reader has left data unread (undefined while it keeps up). */
    let behindSince: number | undefined;
    res.on('drain', () => (behindSince = undefined));
    const buffered = () => res.writableLength + (res.socket?.writableLength ?? 0);
    const write = (chunk: string, essential: boolean) => {
      if (ended) return;
      // A slow reader is never allowed to grow memory without bound.
      const now = (this.options.now ?? Date.now)();
      if (
        buffered() > this.options.maxBufferedBytes ||
        (behindSince !== undefined && now - behindSince > this.options.stallMs)
      ) {
        this.options.logger.info({ buffered: buffered() }, 'stream reader too slow; closing it');
        stream.end('slow_reader', 'The stream fell behind; reconnect and reload history.', true);
        return;
      }
      if (!essential && res.writableNeedDrain) return;
      if (!res.write(chunk)) behindSince ??= now;
    };
    // Every event carries the id of the newest message the client has (one found in the conversation,
    // never client text), or before the first one a time position (domain/streamPosition.ts): so a
    // stream cut before its first message still resumes without a gap.
    let lastId: string | undefined;
    const openedAtMs = (this.options.now ?? Date.now)();
    const openedAt = positionAt(openedAtMs);
    // What the client has: sent on this stream, or at or before its place (what a replay, a Genesys repeat, or
    // another instance's socket delivering late could send again).
    const delivered = new RecentIds(2 * PROOF_PAGE_SIZE);
    const present = holder.present ?? ((m: NormalizedMessage) => m);
    // Its first notice comes from a timer, after `send` below exists.
    const expiry = warnBeforeExpiry(holder.expiry, {
      expiring: (at) => send('session', expiringEvent(at)),
      cleared: (at) => send('session', expiryClearedEvent(at)),
    });
    // A guest still waiting for an agent hears when the centre closes or the wait moves; once an agent wrote, not.
    let agentJoined = false;
    // `moves`: the message may become the client's place (see `live`).
    const send = (event: string, data: unknown, messageId?: string, moves = true) => {
      // A replay, or the live events held behind it, may finish after the client left: nothing is shown then, so
      // nothing is told as shown (`present`), which would keep a reply the customer never saw from being pushed.
      if (ended) return;
      if (event === 'availability' && agentJoined) return;
      if (event === 'message' && isAgentMessage(data)) agentJoined = true;
      if (messageId) {
        // A message comes once per stream, whether from history or live, and never from behind the client's place.
        if (!delivered.add(messageId)) return;
        if (moves && STREAM_EVENT_ID.test(messageId)) lastId = messageId;
      }
      if (event === 'message') expiry.activity();
      const shown = event === 'message' ? present(data as NormalizedMessage) : data;
      write(`id: ${lastId ?? openedAt}\nevent: ${event}\ndata: ${JSON.stringify(shown)}\n\n`, event !== 'typing');
    };

    // A live message is not the client's place while a guest message sent here waits for its echo: Genesys may
    // deliver the reply first, and history places the guest message before it, so a stream cut between the two
    // would resume past a message it never sent. The place stays where it was; a resume sends the reply again.
    const live = (event: GuestEvent) =>
      relay(
        event,
        (name, data, id) => send(name, data, id, !session.awaitingOwnEcho),
        (state, detail, reconnect) => stream.end(state, detail, reconnect),
      );
    // The client's Last-Event-ID becomes the id to resume from once history shows it is a message of this conversation.
    const found = (id: string) => (lastId ??= placeOf(id, openedAtMs));
    // The messages a page holds up to the client's place: it has them, whichever socket delivers them again; and
    // an agent who wrote among them has joined, as if this stream had sent it.
    const behind = (page: NormalizedMessage[]) => {
      for (const m of page) {
        delivered.add(m.id);
        if (isAgentMessage(m)) agentJoined = true;
      }
    };
    const replay: ReplayRun = (after, reason, placed) =>
      history
        ? replayMissed(after, () => history.readNewest(reason), { send, found, behind }, placed)
        : Promise.resolve();
    const onEvent = catchUpGate(live, replay, () => lastId ?? history?.after ?? openedAt);
    const stopHeartbeat = this.heartbeats.add(() => write(': heartbeat\n\n', false));
    const unsubscribe = session.subscribe(onEvent);
    const unsubscribeAvailability = this.options.availability?.subscribe((answer) => send('availability', answer));

    const stream: OpenStream = {
      end: (state, detail, reconnect) => {
        if (ended) return;
        if (buffered() <= this.options.maxBufferedBytes) {
          res.write(`event: session\ndata: ${JSON.stringify({ state, detail, reconnect })}\n\n`);
        }
        ended = true;
        cleanup();
        res.end();
      },
    };
    // Bound to the stream's context: it may end from its connection's (the client left) or at shutdown, and the
    // gauge goes down under the deployment it went up under.
    const cleanup = AsyncResource.bind(() => {
      if (!this.open.has(stream)) return;
      uncount();
      ended = true;
      stopHeartbeat();
      expiry.cancel();
      unsubscribe();
      unsubscribeAvailability?.();
      this.open.delete(stream);
      streamsOpen.dec();
    });
    this.open.add(stream);
    streamsOpen.inc();
    res.on('close', cleanup);
    // A resumed stream says `open` once its replay knows the client's place: an id before that would name a later one.
    if (history?.after !== undefined)
      onEvent.catchUp(history.after, 'resume', () => send('session', { state: 'open' }));
    else send('session', { state: 'open' });
  }

  /** Ends every stream with a final event telling clients to reconnect (shutdown). */
  endAll(detail: string): void {
    for (const stream of [...this.open]) stream.end('reconnect', detail, true);
  }
}

/** A message an agent (a person, not a bot) wrote to the guest: not an event, such as their joining. */
function isAgentMessage(data: unknown): boolean {
  const message = data as Partial<NormalizedMessage>;
  return message.direction === 'outbound' && message.originatingEntity === 'human' && message.type !== 'event';
}

/**
 * Where a stream finds what its client missed: the newest history page, read
 * for a client that resumes (`resume`, from its Last-Event-ID `after`) or
 * after the upstream socket came back (`reconnect`).
 */
export interface Replay {
  after?: string;
  readNewest(reason: 'resume' | 'reconnect'): Promise<NewestPage>;
}

/**
 * A replay from `after`; `placed` is told once the client's place is known (or cannot be), before any message is sent.
 */
type ReplayRun = (after: string, reason: 'resume' | 'reconnect', placed?: () => void) => Promise<void>;

/**
 * A place to resume from as events name it: a message id, or a time position never later than the stream's own opening.
 */
function placeOf(id: string, openedAtMs: number): string {
  const since = timeOfPosition(id);
  return since === undefined ? id : positionAt(Math.min(since, openedAtMs));
}

/**
 * The stream's event handler, with catch-ups from history: while one runs,
 * live events wait behind it. One starts on `catchUp(after)` (a resumed
 * stream) and after every `reconnected` (the upstream socket was down, so
 * Genesys's messages meanwhile never came live); `lastId()` is where the
 * client is: its newest message, else a time position.
 */
function catchUpGate(live: (event: GuestEvent) => void, replay: ReplayRun, lastId: () => string) {
  let held: GuestEvent[] | undefined;
  const catchUp = (after: string, reason: 'resume' | 'reconnect', placed?: () => void) => {
    held ??= [];
    void replay(after, reason, placed).then(() => {
      const waiting = held ?? [];
      held = undefined;
      for (const event of waiting) onEvent(event);
    });
  };
  const onEvent = (event: GuestEvent) => {
    if (held) {
      held.push(event);
      return;
    }
    live(event);
    if (event.type === 'session' && event.state === 'reconnected') catchUp(lastId(), 'reconnect');
  };
  return Object.assign(onEvent, { catchUp });
}

/** What a replay does to its stream. */
interface ReplayTarget {
  send(event: string, data: unknown, messageId?: string): void;
  /** The client's place, found in history. */
  found(id: string): void;
  /** Messages of a page at or before the client's place (oldest first): never sent on this stream. */
  behind(page: NormalizedMessage[]): void;
}

/**
 * Sends the messages after `after` (a message id or a time position); says
 * so when they cannot all be found (an id older than the newest page, more
 * since a position than a page holds, history unreadable). Found at an id,
 * what the page holds up to it is the client's already: a copy that comes
 * live later (another instance's socket during a handover, Genesys slowed or
 * repeating) is not sent again.
 */
async function replayMissed(
  after: string,
  readNewest: () => Promise<NewestPage>,
  { send, found, behind }: ReplayTarget,
  placed: () => void = () => {},
): Promise<void> {
  let messages: NormalizedMessage[];
  let receipts: ReceiptEvent[];
  try {
    ({ messages, receipts } = await readNewest());
  } catch {
    placed();
    send('session', { state: 'replay_incomplete', detail: 'Could not read what was missed; reload the history.' });
    return;
  }
  const since = timeOfPosition(after);
  if (since !== undefined) {
    found(after);
    placed();
    // A time position: every message from then on (reaching back
    // for the clocks' skew; the client drops one it has by id).
    const from = since - POSITION_SKEW_MS;
    const missed = messages.filter((m) => Date.parse(m.time) >= from);
    if (messages.length >= PROOF_PAGE_SIZE && missed.length === messages.length) {
      send('session', {
        state: 'replay_incomplete',
        detail: 'More came since the stream position than one history page holds; reload the history.',
      });
    }
    for (const m of missed) if (m.type !== 'event') send('message', m, m.id);
    sendReceiptsSince(from, receipts, send);
    return;
  }
  const at = messages.findIndex((m) => m.id === after);
  if (at >= 0) {
    found(messages[at]!.id);
    behind(messages.slice(0, at + 1));
  }
  placed();
  if (at < 0)
    send('session', {
      state: 'replay_incomplete',
      detail: 'The last event seen is older than the newest history page; reload the history.',
    });
  for (const m of messages.slice(at + 1)) if (m.type !== 'event') send('message', m, m.id);
  if (at >= 0) sendReceiptsSince(Date.parse(messages[at]!.time) - POSITION_SKEW_MS, receipts, send);
}

/**
 * The receipts Genesys sent since `from` (ms), each again: one the stream lost in a drop comes back, and a receipt
 * only ever moves a message forward, so one the client had changes nothing. A message sent above carries its
 * status already; these are for the messages the client had.
 */
function sendReceiptsSince(from: number, receipts: ReceiptEvent[], send: ReplayTarget['send']): void {
  for (const r of receipts) if (!(Date.parse(r.at) < from)) send('receipt', r);
}

/** The message ids a stream sent lately, or found its client has (a bounded set: the oldest go first). */
class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly max: number) {}

  /** False when `id` was sent already. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

/** Session states that end the stream; only `unavailable` and `closed` are worth reconnecting after. */
const FINAL = new Set([
  'expired',
  'unavailable',
  'closed',
  'signed_out',
  'signed_in_elsewhere',
  'reauthentication_required',
]);

/** One guest event as stream events: a message, typing, presence, or a session change that may end the stream. */
function relay(
  event: GuestEvent,
  send: (event: string, data: unknown, id?: string) => void,
  end: (state: string, detail: string, reconnect: boolean) => void,
): void {
  switch (event.type) {
    case 'message':
      send('message', event.message, event.message.id);
      return;
    case 'receipt':
      send('receipt', event.receipt);
      return;
    case 'typing':
      send('typing', { durationMs: event.durationMs });
      return;
    case 'notice': {
      const { type: _type, ...notice } = event;
      send('notice', notice);
      return;
    }
    case 'presence':
      send('presence', {
        presence: event.presence,
        ...(event.readOnly !== undefined ? { readOnly: event.readOnly } : {}),
        ...(event.name ? { name: event.name } : {}),
        ...(event.time ? { time: event.time } : {}),
      });
      return;
    case 'session':
      if (FINAL.has(event.state)) {
        end(event.state, event.detail ?? '', event.state === 'unavailable' || event.state === 'closed');
      } else {
        send('session', {
          state: event.state,
          ...(event.detail ? { detail: event.detail } : {}),
          ...(event.customer ? { customer: event.customer } : {}),
        });
      }
      return;
  }
}

/**
 * The event id a stream resumes after (the Last-Event-ID header, else ?lastEventId=): only ever
 * one in the format the stream writes (STREAM_EVENT_ID), so no client text can reach an `id:` line.
 */
export function resumeAfter(req: Request, fromQuery: string | undefined): string | undefined {
  const header = req.headers['last-event-id'];
  const given = typeof header === 'string' && header !== '' ? header : fromQuery;
  if (given !== undefined && !STREAM_EVENT_ID.test(given)) {
    throw new AppError(
      'validation_failed',
      'Last-Event-ID must be an event id this service sent (1 to 128 of A-Z a-z 0-9 _ -).',
    );
  }
  return given;
}

/** The answer's head for Server-Sent Events, sent at once, unbuffered by proxies, with the client's reconnect delay. */
function openEventStream(res: Response): void {
  res.status(200);
  res.setHeaders(
    new Map([
      ['Content-Type', 'text/event-stream; charset=utf-8'],
      ['Cache-Control', 'no-cache, no-transform'],
      ['Connection', 'keep-alive'],
    ]),
  );
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  res.write('retry: 2000\n\n');
}
