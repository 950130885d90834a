import type { NormalizedMessage } from '../../../src/domain/message';
import type { NewestPage } from '../../../src/genesys/guest';
import { ChatWatch } from '../../../src/session/notifications/chatWatch';
import { recordKeys } from '../../../src/session/notifications/pushRecords';
import { MemoryStore, sessionKeyOf } from '../../../src/store';
import { advanceFakeTimersUntil, waitFor } from '../../support/wait';
import { RECORD_MS, watchedChat } from '../../support/watchedChat';

/**
 * A watch that moves to this instance finds, in history, replies the instance it replaces had claimed to push
 * (`pending:<that instance>`). Whether that instance pushed them is unknown: it may have died between its claim and
 * its push, which is exactly when a watch moves. Such a reply is read again once the claim could have lapsed: pushed
 * from here if the claim lapsed unsettled, left alone if it was settled (no loss, no duplicate). The Guest API
 * session and the push service are stand-ins; the store is the service's own in-memory store.
 */

/** The claim's life here, shortened from a minute: longer than the watch takes to start (a scan: 500 ms). */
const PENDING_MS = 2500;
const GT = 'guest-token-of-the-watched-chat';
const sk = sessionKeyOf(GT);
const keys = recordKeys(sk);

function reply(id: string, text: string): NormalizedMessage {
  return {
    id,
    direction: 'outbound',
    type: 'text',
    text,
    originatingEntity: 'human',
    from: { name: 'Alex' },
    time: '2026-11-27T08:00:00.000Z',
  } as NormalizedMessage;
}

function guestMessage(id: string): NormalizedMessage {
  return {
    id,
    direction: 'inbound',
    type: 'text',
    text: 'hello',
    time: '2026-11-27T07:59:00.000Z',
  } as NormalizedMessage;
}

/** A subscribed chat whose history is `history` (oldest first), watched by a fresh instance. */
const watched = (history: NormalizedMessage[], before: (store: MemoryStore) => Promise<void>) =>
  watchedChat({ gt: GT, newest: [async () => ({ messages: history }) as NewestPage], before, pendingMs: PENDING_MS });

/** How many replies the chat's watch will read again (the watch's own state: there is no event to wait on). */
function unsettledOf(watch: ChatWatch): number | undefined {
  const watches = (watch as unknown as { watches: Map<string, { unsettled: Map<string, unknown> }> }).watches;
  return watches.get(sk)?.unsettled.size;
}

/** Whether the chat's watch will read its unsettled replies again (its own state, as `unsettledOf`). */
function settlesLater(watch: ChatWatch): boolean {
  const watches = (watch as unknown as { watches: Map<string, { settleTimer?: unknown }> }).watches;
  return watches.get(sk)?.settleTimer !== undefined;
}

const lapsedSaid = (log: { lines: () => Record<string, unknown>[] }) =>
  log.lines().filter((l) => l.msg === 'pushing replies whose instance died before it pushed them');

let running: ChatWatch | undefined;
afterEach(() => running?.close());

test('a reply claimed by an instance that died before it pushed is pushed once its claim lapses', async () => {
  const { store, pushes, watch, log } = await watched(
    [guestMessage('g1'), reply('r1', 'Your parcel has shipped')],
    // Instance A claimed r1 and died: its claim lapses unsettled.
    (s) => s.claim(keys.message('r1'), 'pending:instance-a', PENDING_MS).then(() => undefined),
  );
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('Your parcel has shipped');
  await waitFor(async () => expect(await store.get(keys.message('r1'))).toBe('sent'));
  expect(lapsedSaid(log)).toEqual([expect.objectContaining({ level: 30, replies: 1 })]);
});

test('a reply the other instance settled meanwhile is not pushed again, and older replies still are', async () => {
  const { store, pushes, watch, log } = await watched(
    [guestMessage('g1'), reply('r0', 'One moment'), reply('r1', 'Your parcel has shipped')],
    // Instance A claimed r1 and is slow, but alive: it settles the claim before it lapses. r0 nobody pushed.
    (s) => s.claim(keys.message('r1'), 'pending:instance-a', 60_000).then(() => undefined),
  );
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('One moment');
  await store.swap(keys.message('r1'), 'pending:instance-a', 'sent', RECORD_MS);
  // Read again after the claim's life: settled, so nothing more is pushed, and the watch forgets it.
  await waitFor(() => expect(unsettledOf(watch)).toBe(0));
  // Nothing is read again after that.
  expect(settlesLater(watch)).toBe(false);
  expect(lapsedSaid(log)).toEqual([]);
  expect(pushes).toHaveLength(1);
  expect(await store.get(keys.message('r1'))).toBe('sent');
  // Settled at the first reading again, so not reported as left unsettled.
  expect(log.lines().filter((l) => l.msg === 'replies another instance claimed stayed unsettled; left to it')).toEqual(
    [],
  );
});

test('a reply already pushed stops the reading: nothing before it is pushed again', async () => {
  const { pushes, watch } = await watched(
    [guestMessage('g1'), reply('r0', 'One moment'), reply('r1', 'Your parcel has shipped'), reply('r2', 'Bye')],
    (s) => s.put(keys.message('r1'), 'sent', RECORD_MS),
  );
  running = watch;
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('Bye');
  // Nothing is left to read again: r0 was before a reply already pushed.
  expect(unsettledOf(watch)).toBe(0);
});

/**
 * r0 and r1 replied after the guest's message; instance A claimed r1 for longer than the three reads take and never
 * settles it. Once r0 is pushed: the chat, and how often the store was asked for r1's record.
 */
async function claimedForGood() {
  const chat = await watched(
    [guestMessage('g1'), reply('r0', 'One moment'), reply('r1', 'Your parcel has shipped')],
    (s) => s.claim(keys.message('r1'), 'pending:instance-a', 60_000).then(() => undefined),
  );
  running = chat.watch;
  const reads = jest.spyOn(chat.store, 'get');
  const readsOfR1 = () => reads.mock.calls.filter(([key]) => key === keys.message('r1')).length;
  await waitFor(() => expect(chat.pushes).toHaveLength(1));
  return { ...chat, readsOfR1 };
}

test('a reply still claimed when read again is read again twice more, then left to its claimer, and said', async () => {
  const { pushes, watch, log, readsOfR1 } = await claimedForGood();
  expect(unsettledOf(watch)).toBe(1);
  const leftToIt = () =>
    log.lines().filter((l) => l.msg === 'replies another instance claimed stayed unsettled; left to it');
  // Three reads a claim's life apart: about 7.5 s.
  await waitFor(() => expect(leftToIt()).toHaveLength(1));
  expect(leftToIt()[0]).toMatchObject({ level: 40, replies: 1 });
  // Read once as history was taken, then three times.
  expect(readsOfR1()).toBe(4);
  expect(unsettledOf(watch)).toBe(0);
  expect(pushes).toHaveLength(1);
});

test('a reply whose claim lapsed is pushed a gathering of replies after it is found so (fake time)', async () => {
  jest.useFakeTimers({ now: 1_000_000 });
  try {
    const { pushes, watch, reads } = await watched([guestMessage('g1'), reply('r1', 'Your parcel has shipped')], (s) =>
      s.claim(keys.message('r1'), 'pending:instance-a', PENDING_MS).then(() => undefined),
    );
    running = watch;
    expect(await advanceFakeTimersUntil(() => reads() > 0, 5000, 1)).toBe(true);
    // Read again a claim's life after history was taken: lapsed, then gathered for 10 ms (the harness's) and pushed.
    await jest.advanceTimersByTimeAsync(PENDING_MS + 9);
    expect(pushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(pushes).toEqual([expect.objectContaining({ preview: 'Your parcel has shipped' })]);
  } finally {
    running?.close();
    jest.clearAllTimers();
    jest.useRealTimers();
  }
});

test('a catch-up again while a claim is read again adds one read of it, not a second round of them', async () => {
  const { log, hear, readsOfR1 } = await claimedForGood();
  // The socket dropped and came back: history is read again, and r1 with it.
  hear({ type: 'session', state: 'reconnected' });
  await waitFor(() => expect(readsOfR1()).toBe(2));
  const leftToIt = () =>
    log.lines().filter((l) => l.msg === 'replies another instance claimed stayed unsettled; left to it');
  await waitFor(() => expect(leftToIt()).toHaveLength(1));
  // Read as history was taken, twice, then three times a claim's life apart.
  expect(readsOfR1()).toBe(5);
});

test('a claim the store cannot read again is said, and read again a claim’s life later', async () => {
  const { store, pushes, watch, log } = await watched(
    [guestMessage('g1'), reply('r1', 'Your parcel has shipped')],
    (s) => s.claim(keys.message('r1'), 'pending:instance-a', PENDING_MS).then(() => undefined),
  );
  running = watch;
  await waitFor(() => expect(unsettledOf(watch)).toBe(1));
  const get = store.get.bind(store);
  let failing = true;
  jest
    .spyOn(store, 'get')
    .mockImplementation((key) =>
      failing && key === keys.message('r1') ? Promise.reject(new Error('store down')) : get(key),
    );
  const said = () =>
    log.lines().find((l) => l.msg === 'could not read the replies another instance had claimed; reading again later');
  await waitFor(() => expect(said()).toMatchObject({ err: { message: 'store down' } }));
  failing = false;
  // The claim lapsed meanwhile: pushed from here.
  await waitFor(() => expect(pushes).toHaveLength(1));
  expect(pushes[0]!.preview).toBe('Your parcel has shipped');
});
