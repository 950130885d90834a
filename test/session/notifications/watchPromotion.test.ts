import { notifyWatchedChats } from '../../../src/observability/metrics';
import { openStream, type SseStream } from '../../support/sse';
import { bearer, type Stack } from '../../support/stack';
import { browserKeys, decryptPush, type BrowserKeys, type PushReceiver } from '../../support/pushReceiver';
import { closePushStack, startPushStack, type PushStack } from '../../support/pushStack';
import { waitFor } from '../../support/wait';

/**
 * A chat watched by history reads (past NOTIFY_SOCKETS_MAX, here 1) moves to a socket when the socket's place
 * frees on its instance, against the strict simulator: the gauge of watched chats by mode and the chat's
 * connections at the simulator show the move, and a reply that comes as it happens is pushed exactly once.
 */

let pushStack: PushStack;
let stack: Stack;
let receiver: PushReceiver;

beforeAll(async () => {
  pushStack = await startPushStack({
    NOTIFY_SOCKETS_MAX: '1',
    NOTIFY_POLL_SECONDS: '1',
    NOTIFY_POLL_MAX_SECONDS: '2',
    // A page's own socket closes a second after its stream: a chat's connections at the simulator are the watch's.
    GUEST_SOCKET_IDLE_SECONDS: '1',
  });
  ({ stack, receiver } = pushStack);
});

afterAll(async () => {
  await closePushStack(pushStack);
});

const watched = async (mode: string) =>
  (await notifyWatchedChats.get()).values.find((v) => v.labels.mode === mode)?.value ?? 0;
const watchesStarted = (mode: string) =>
  stack.log
    .lines()
    .filter((l) => l.msg === 'watching a chat nobody is looking at, for replies to push' && l.mode === mode).length;
const moves = () => stack.log.lines().filter((l) => l.msg === 'a chat watched by history reads moved to a socket');

async function pageStream(token: string): Promise<SseStream> {
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  await stream.next((e) => e.event === 'session' && JSON.parse(e.data).state === 'open');
  return stream;
}

/** Every chat's guest token: a new chat's is the first configured at the simulator that is none of these. */
const known = new Set<string>();

/**
 * A new chat and its guest token (stack.newGuest takes the first configured, which may be a watched chat's brief
 * socket fetching credentials).
 */
async function newChat(): Promise<{ token: string; gt: string }> {
  const before = stack.sim.received.length;
  const { token } = await stack.newSession();
  const gt = stack.sim.received
    .slice(before)
    .map((f) => f.frame)
    .find((f) => f.action === 'configureSession' && !known.has(f.token as string))?.token as string;
  expect(gt).toBeDefined();
  known.add(gt);
  return { token, gt };
}

/** A chat whose page subscribed and left: resolves once this instance watches it in `mode`. */
async function leftChat(path: string, mode: 'socket' | 'history') {
  const { token, gt } = await newChat();
  const stream = await pageStream(token);
  const keys = browserKeys();
  const res = await stack.http
    .put('/notifications/push')
    .set(bearer(token))
    .send({ endpoint: `${receiver.origin}${path}`, keys: { p256dh: keys.p256dh, auth: keys.auth } });
  expect(res.status).toBe(204);
  const before = watchesStarted(mode);
  stream.close();
  await waitFor(() => expect(watchesStarted(mode)).toBeGreaterThan(before));
  return { token, gt, keys };
}

const previewOf = (body: Buffer, keys: BrowserKeys) => JSON.parse(decryptPush(body, keys)).preview as string;

/** Every push to `path` so far, as the previews they carried. */
const pushedTo = (path: string, keys: BrowserKeys) =>
  receiver.received.filter((r) => r.path === path).map((r) => previewOf(r.body, keys));

/**
 * With `on` watched on the one socket and `waiting` by history reads: `free` gives the socket's place up, a reply
 * comes to `waiting` at once, and `waiting` moves to the socket. Each reply to it is pushed exactly once: the one
 * that came around the move, one after it, and a last one that every earlier push arrives before.
 */
async function movesWhenFreed(waiting: { gt: string; keys: BrowserKeys }, path: string, free: () => Promise<void>) {
  expect(await watched('socket')).toBe(1);
  const historyBefore = await watched('history');
  const movesBefore = moves().length;

  await free();
  stack.sim.agent.say(waiting.gt, `around the move ${path}`);
  await waitFor(() => expect(moves().length).toBe(movesBefore + 1));
  expect(await watched('socket')).toBe(1);
  expect(await watched('history')).toBe(historyBefore - 1);
  await waitFor(() => expect(stack.sim.stats.openConnectionsBySession(waiting.gt)).toBe(1));

  await receiver.nth(path, 1);
  stack.sim.agent.say(waiting.gt, `after the move ${path}`);
  await receiver.nth(path, 2);
  stack.sim.agent.say(waiting.gt, `last ${path}`);
  await receiver.nth(path, 3);
  expect(pushedTo(path, waiting.keys)).toEqual([`around the move ${path}`, `after the move ${path}`, `last ${path}`]);
  // Still on its socket: the move held.
  expect(stack.sim.stats.openConnectionsBySession(waiting.gt)).toBe(1);
}

/** The chat on the socket once the first test is done, and the open page of the one it moved from. */
let onSocket: { token: string; gt: string } | undefined;
let page: SseStream | undefined;

test('when the chat on the socket has its page open again, the chat waiting in history mode moves to it', async () => {
  const first = await leftChat('/first', 'socket');
  const second = await leftChat('/second', 'history');
  await waitFor(() => expect(stack.sim.stats.openConnectionsBySession(second.gt)).toBe(0));

  await movesWhenFreed(second, '/second', async () => {
    page = await pageStream(first.token);
  });
  onSocket = second;
});

test('when the chat on the socket ends, the longest-waiting chat in history mode moves to it', async () => {
  expect(onSocket).toBeDefined();
  const older = await leftChat('/older', 'history');
  const newer = await leftChat('/newer', 'history');
  await waitFor(() => expect(stack.sim.stats.openConnectionsBySession(older.gt)).toBe(0));

  await movesWhenFreed(older, '/older', async () => {
    expect((await stack.http.delete('/guest-session').set(bearer(onSocket!.token))).status).toBe(204);
  });
  // The newer waits on, in history mode, with no socket kept (a brief one fetching its credentials closes at once).
  expect(await watched('history')).toBe(1);
  await waitFor(() => expect(stack.sim.stats.openConnectionsBySession(newer.gt)).toBe(0));
  page?.close();
});
