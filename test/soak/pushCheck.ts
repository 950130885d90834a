import {
  STORE_RECOVERY_MS,
  UNSYNCED_WRITE_MS,
  type FaultWindow,
  type RunFacts,
  type TruthMessage,
  type Violation,
  type ViolationKind,
} from './checker';

/**
 * The soak's verdict on one chat's Web Push (docs/api.md, "When a push is sent"), from what Genesys holds, when
 * the customer's tab was closed, and what the loopback push service received for the chat's subscription. Pure:
 * test/soak/pushCheck.test.ts feeds it hand-built timelines.
 *
 * The promise: once no page stream of the chat has been open for NOTIFY_AFTER_SECONDS, each agent or bot reply
 * that no page showed yields exactly one push; replies within a few seconds of each other may share one push,
 * whose `preview` is the newest's. How a push is attributed: its `preview` names the newest reply of its batch (the
 * soak turns NOTIFY_PREVIEW on; the soak's replies have texts of their own). The payload says nothing of the others,
 * so the batch is bounded by how the service makes one: the replies before the named one in history, back to what a
 * page last saw (a guest message, a reply an earlier push covered, one from before the tab closed), that either came
 * within the coalescing window of the push (heard live), or that a watch found in history as it began: the first
 * push of a watch that began in time, or any push after a fault between the reply and it (a watch begun again, a
 * socket back). So a lost push is found when a later push cannot have carried its reply. So:
 *
 * - `push_lost`: a reply that came while the tab was closed, early enough before the customer came back that the
 *   push was due (PUSH_DUE_MS after the later of its arrival and NOTIFY_AFTER_SECONDS after the tab closed, plus
 *   each fault meanwhile), that no push covers;
 * - `push_duplicate`: a push naming a reply that an earlier push named or covered;
 * - `push_unknown`: a push that is not what the subscription should get: not decryptable with its keys (RFC 8291),
 *   a VAPID signature that does not verify (RFC 8292), not `type: "reply"`, another `url` than the subscription's,
 *   or a `preview` no reply of this chat has (another chat's reply, or a phantom).
 *
 * Under faults (each as the service stands; docs/testing.md, "The chaos soak"):
 * - a fault delays the push until the service is whole again (wholeAgain: a lease to lapse, Genesys or Redis back),
 *   and PUSH_DUE_MS more, so a reply is owed a push only if the customer is still away by then;
 * - an instance killed (SIGKILL) or stopped (SIGTERM) while it pushed: the reply it had claimed is lost with it
 *   (claimed before it is sent, so that nothing is pushed twice); a loss whose push was due then is excused;
 * - Redis paused, killed or restarted: a claim that fails is not pushed (never twice rather than maybe twice), so
 *   a loss whose push was due meanwhile is excused; a `notify-seen` record the closing page could not shorten (Redis
 *   faulty, or the stream's instance going down, as the tab closed) keeps the chat counted as looked at for up to
 *   SEEN_HELD_MS; Redis killed may lose its last second of writes: the
 *   subscription written that close before it (every later loss excused) or a push's claim (the same reply pushed
 *   again is excused).
 * Excused losses are counted, not hidden: the report shows them.
 */

/** The soak instances' NOTIFY_AFTER_SECONDS, in ms: short, so that a customer away for half a minute is owed pushes. */
export const NOTIFY_AFTER_MS = 5000;
/**
 * After the chat has been unseen for NOTIFY_AFTER_SECONDS, how long until a watch of it has begun: an instance's next
 * scan (every NOTIFY_AFTER_SECONDS / 2, 2.5 s) takes the watch, opens a Genesys socket and reads the newest history
 * page (up to 2 s on the loaded 2-core machine), and 2.5 s more for the machine's load.
 */
export const WATCH_START_MS = 7000;
/** The service's coalescing window: replies within it of the first share a push (chatWatch.ts). */
export const COALESCE_MS = 3000;
/** A push to the push service on loopback: milliseconds, 2 s on the loaded machine. */
export const SEND_MS = 2000;
/** From when a reply could be pushed (the later of its arrival and the watch's beginning), until its push was due. */
export const PUSH_DUE_MS = WATCH_START_MS + COALESCE_MS;
/** How long a page stream's `notify-seen` record lives while it is open: what stands when its close is not written. */
export const SEEN_HELD_MS = 60_000;
/**
 * A reply that came this soon after the tab closed may have been written to the closing page stream before its
 * instance saw the close: recorded as shown, it is not pushed, and the customer sees it when they come back (the
 * `missing` check holds that). It is counted as away, not owed a push.
 */
export const CLOSE_RACE_MS = 1000;
/** A push's `preview`: the reply's first characters. */
const PREVIEW_CHARS = 120;

export interface AwayWindow {
  /** The tab closed: its page stream was closed (epoch ms). */
  from: number;
  /** A page of the chat asked for its stream again (epoch ms); unset: it never came back. */
  to?: number;
  /** The stream was open (not reconnecting) when the tab closed, so its instance wrote the close. */
  streamWasOpen: boolean;
}

/** A push the push service received for the chat's subscription, as the soak read it. */
export interface PushSeen {
  at: number;
  /** The decrypted payload. */
  payload?: { type?: unknown; from?: unknown; preview?: unknown; url?: unknown };
  /** Why it could not be read: it did not decrypt, or its VAPID signature did not verify. */
  problem?: string;
}

export interface PushFacts {
  name: string;
  /** When PUT /notifications/push was answered 204 (epoch ms). */
  subscribedAt: number;
  /** The page a push opens (the subscription's `url`). */
  url: string;
  /** The conversation in Genesys, oldest first. */
  history: TruthMessage[];
  away: AwayWindow[];
  pushes: PushSeen[];
}

export interface PushVerdict {
  violations: Violation[];
  /** Replies that arrived while the tab was closed. */
  repliesAway: number;
  /** Of those, the ones a push carried, owed or not. */
  carried: number;
  /** Of those, the ones owed a push (the customer stayed away long enough). */
  owed: number;
  /** Owed replies no push covers, excused by a fault that can lose them. */
  excused: number;
  pushes: number;
}

const ms = (run: RunFacts, at: number) => `${((at - run.t0) / 1000).toFixed(1)} s`;
const overlaps = (f: FaultWindow, from: number, to: number) => f.from <= to && f.to >= from;
const isRedis = (f: FaultWindow) => f.kind.startsWith('redis');
const isInstanceStop = (f: FaultWindow) => /^instance_sig(kill|term)$/.test(f.kind);

/**
 * When the service is whole again after fault `f`, as far as watching a chat goes (epoch ms), or undefined for a
 * fault that does not stop it: an instance killed or stopped, once its lease has lapsed (NOTIFY_AFTER_SECONDS),
 * however long it takes to start again (the others watch meanwhile); an instance starved, Genesys refusing or
 * hanging, once it is over and a lease has lapsed; Genesys slow or a socket dropped, a lease's length after it
 * began (a slower history read, a socket back and a catch-up); Redis faulty, once it is over and the instances
 * have reconnected (STORE_RECOVERY_MS). A delay on the network (at most 400 ms a frame) does not stop it.
 */
function wholeAgain(f: FaultWindow): number | undefined {
  if (f.kind === 'network_delay') return undefined;
  if (isRedis(f)) return f.to + STORE_RECOVERY_MS;
  if (isInstanceStop(f) || f.kind === 'genesys_slow' || f.kind === 'socket_drop') return f.from + NOTIFY_AFTER_MS;
  return f.to + NOTIFY_AFTER_MS;
}

/**
 * When a push for a reply watchable from `from` is due: PUSH_DUE_MS after the later of that and the moment the
 * service was whole again after each fault that began before it was due (wholeAgain). Redis faulty or an instance
 * going down as the tab closed: the open page's `notify-seen` record may stand (its close unwritten), so no sooner
 * than PUSH_DUE_MS after that record lapsed.
 */
function dueAt(from: number, closedAt: number, faults: readonly FaultWindow[]): number {
  let due = from + PUSH_DUE_MS;
  const counted = new Set<FaultWindow>();
  // Bounded: each fault is counted once.
  for (let grew = true; grew;) {
    grew = false;
    for (const f of faults) {
      const whole = wholeAgain(f);
      if (counted.has(f) || whole === undefined || !overlaps(f, closedAt - 1000, due)) continue;
      counted.add(f);
      const atClose = isInstanceStop(f)
        ? Math.abs(f.from - closedAt) <= 1000
        : isRedis(f) && overlaps(f, closedAt - 1000, closedAt + 1000);
      const after = Math.max(whole, atClose ? closedAt + SEEN_HELD_MS : 0) + PUSH_DUE_MS;
      if (after > due) {
        due = after;
        grew = true;
      }
    }
  }
  return due;
}

/** The fault that can have lost a push due between `from` and `due`, if any. */
function lossExcuse(p: PushFacts, from: number, due: number, faults: readonly FaultWindow[]): FaultWindow | undefined {
  return faults.find(
    (f) =>
      (isInstanceStop(f) && f.from >= from && f.from <= due) ||
      (isRedis(f) && overlaps(f, from, due)) ||
      (f.kind === 'redis_sigkill' && f.from >= p.subscribedAt && f.from <= p.subscribedAt + UNSYNCED_WRITE_MS),
  );
}

/** The verdict on one subscribed chat's pushes. */
export function checkPushes(p: PushFacts, run: RunFacts = { t0: 0, faults: [] }): PushVerdict {
  const { faults } = run;
  const violations: Violation[] = [];
  const flag = (kind: ViolationKind, detail: string) => violations.push({ kind, session: p.name, detail });
  const label = (m: TruthMessage) => `${m.id.slice(0, 8)} "${(m.text ?? '(no text)').slice(0, 60)}"`;
  const replies = p.history.filter((m) => m.direction === 'outbound');
  const position = new Map(p.history.map((m, i) => [m.id, i]));

  // Each push, in the order it came, names a reply and covers the run of replies before it since the tab closed:
  // surely those heard live within its coalescing window, maybe those a watch found in history (its first read
  // may have been refused and tried again after this push, which then carried only what it heard live).
  const named = new Map<string, number>();
  const covered = new Set<string>();
  const maybeCovered = new Set<string>();
  const pushes = [...p.pushes].sort((a, b) => a.at - b.at);
  pushes.forEach((push, i) => {
    const which = `push #${i + 1} at ${ms(run, push.at)}`;
    if (push.problem) return flag('push_unknown', `${which}: ${push.problem}`);
    const payload = push.payload ?? {};
    if (payload.type !== 'reply' || payload.url !== p.url)
      return flag('push_unknown', `${which}: not a reply for ${p.url}: ${JSON.stringify(payload).slice(0, 200)}`);
    const preview = typeof payload.preview === 'string' ? payload.preview : undefined;
    const candidates = replies.filter(
      (m) => m.at <= push.at && (preview === undefined || (m.text ?? '').slice(0, PREVIEW_CHARS) === preview),
    );
    if (candidates.length === 0)
      return flag('push_unknown', `${which}: no reply of this chat before it reads "${preview ?? '(no preview)'}"`);
    // The newest such reply no push named yet; every one named already: the newest, again.
    const reply = [...candidates].reverse().find((m) => !named.has(m.id)) ?? candidates[candidates.length - 1]!;
    // Only a push that surely carried it makes this one a duplicate: one that maybe did, did not, as this one says.
    if (covered.has(reply.id)) {
      const first = named.get(reply.id) ?? push.at;
      const redisLost = faults.find(
        (f) => f.kind === 'redis_sigkill' && f.from >= first - UNSYNCED_WRITE_MS && f.from <= push.at,
      );
      if (!redisLost)
        flag('push_duplicate', `${which} names ${label(reply)}, which the push at ${ms(run, first)} already covered`);
      return;
    }
    named.set(reply.id, push.at);
    covered.add(reply.id);
    // Its batch: back from the reply it names to what a page last saw, all since the tab closed before it, each
    // heard live within the coalescing window, or found in history by a watch as it began.
    const closed = [...p.away].reverse().find((w) => w.from <= push.at);
    if (closed === undefined) return;
    const firstOfWatch = push.at <= closed.from + NOTIFY_AFTER_MS + WATCH_START_MS + COALESCE_MS + SEND_MS;
    for (let k = position.get(reply.id)! - 1; k >= 0; k -= 1) {
      const m = p.history[k]!;
      if (m.direction !== 'outbound' || covered.has(m.id) || maybeCovered.has(m.id) || m.at < closed.from) break;
      const live = push.at - m.at <= COALESCE_MS + SEND_MS;
      const foundAgain = faults.some((f) => overlaps(f, m.at, push.at));
      if (!live && !firstOfWatch && !foundAgain) break;
      (live ? covered : maybeCovered).add(m.id);
    }
  });
  for (const id of maybeCovered) covered.add(id);

  // Each reply that came while the tab was closed, long enough before the customer came back, is covered.
  let repliesAway = 0;
  let carried = 0;
  let owed = 0;
  let excused = 0;
  for (const w of p.away) {
    if (w.to === undefined) continue;
    const watchable = w.from + NOTIFY_AFTER_MS + (w.streamWasOpen ? 0 : SEEN_HELD_MS);
    for (const r of replies) {
      if (r.at < w.from || r.at >= w.to) continue;
      repliesAway += 1;
      if (covered.has(r.id)) carried += 1;
      if (r.at < p.subscribedAt || r.at < w.from + CLOSE_RACE_MS) continue;
      const due = dueAt(Math.max(r.at, watchable), w.from, faults);
      if (due > w.to) continue;
      owed += 1;
      if (covered.has(r.id)) continue;
      const excuse = lossExcuse(p, r.at, due, faults);
      if (excuse) {
        excused += 1;
        continue;
      }
      flag(
        'push_lost',
        `${label(r)} came at ${ms(run, r.at)}, the tab closed from ${ms(run, w.from)} to ${ms(run, w.to)}; ` +
          `its push was due by ${ms(run, due)} and none covers it (${pushes.length} pushes for the chat)`,
      );
    }
  }
  return { violations, repliesAway, carried, owed, excused, pushes: pushes.length };
}
