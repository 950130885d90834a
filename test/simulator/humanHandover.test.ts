import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../simulator';
import { isClass, RawGuest, type Frame } from '../support/rawGuest';

/**
 * The simulator's human handover, with raw frames as a client of real Genesys sees it: Alex joins, talks, leaves.
 *
 * @simulator kind RawGuest pairs each reply by its tracingId, which the strict profile leaves off SessionResponse
 */
let sim: Simulator;
let guest: RawGuest;
let token: string;

beforeAll(async () => {
  // Several messages in a second: the message rate (2 a second, as Genesys) has its own tests.
  sim = await startSimulator({ agent: { typingDelayMs: 1, replyDelayMs: 1 }, messagesPerSecond: 100 });
});
beforeEach(async () => {
  guest = await RawGuest.connect(sim);
  token = randomUUID();
  await guest.configure(sim, token);
});
afterEach(async () => {
  await guest.close();
  sim.reset();
});
afterAll(() => sim.stop());

const outbound = (f: Frame) => isClass('StructuredMessage')(f) && f.body.direction === 'Outbound';
const presence = (type: string) => (f: Frame) =>
  outbound(f) &&
  f.body.type === 'Event' &&
  (f.body.events as { eventType: string; presence?: { type: string } }[]).some(
    (e) => e.eventType === 'Presence' && e.presence?.type === type,
  );
const said = (text: string) => (f: Frame) =>
  outbound(f) && f.body.type !== 'Event' && String(f.body.text).includes(text);

test('"human": an Outbound Presence Join naming Alex comes before his hello; "back to the bot": he leaves, readOnly false', async () => {
  await guest.say(token, 'I want a human');
  const join = await guest.next(presence('Join'), 'the join');
  expect(join.body).toMatchObject({ originatingEntity: 'Human', channel: { from: { nickname: 'Alex' } } });
  const hello = await guest.next(said("I'm Alex"), 'his hello');
  expect(hello.body).toMatchObject({ originatingEntity: 'Human', channel: { from: { nickname: 'Alex' } } });

  // Asked again while he is there: no second join.
  await guest.say(token, 'human please');
  await guest.next(said("I'm Alex"), 'his hello again');
  await guest.say(token, 'back to the bot');
  const leave = await guest.next(presence('Disconnect'), 'the leave');
  expect(leave.body).toMatchObject({ metadata: { readOnly: 'false' }, channel: { from: { nickname: 'Alex' } } });
  const bot = await guest.next(said("You're back with the bot"), 'the bot again');
  expect(bot.body.originatingEntity).toBe('Bot');
  expect(guest.pending().filter(presence('Join'))).toEqual([]);

  // The conversation stays open: the bot answers.
  await guest.say(token, 'still here?');
  expect((await guest.next(said('You said: still here?'), 'the echo')).body.originatingEntity).toBe('Bot');
});

test('"disconnect" while Alex is there names him on the read-only Disconnect; "back to the bot" without him says so', async () => {
  await guest.say(token, 'back to the bot');
  await guest.next(said('There is no agent here to leave'), 'the bot');
  await guest.say(token, 'human');
  await guest.next(said("I'm Alex"), 'his hello');
  await guest.say(token, 'disconnect');
  const end = await guest.next(presence('Disconnect'), 'the end');
  expect(end.body).toMatchObject({ metadata: { readOnly: 'true' }, channel: { from: { nickname: 'Alex' } } });
});
