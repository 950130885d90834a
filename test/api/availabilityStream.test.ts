import { availabilityEnvFor, startSimulator } from '../../simulator';
import { dataOf, openStream } from '../support/sse';
import { bearer, simProfile, startStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/**
 * A guest waiting for an agent hears on its live stream when the centre closes or the wait moves noticeably:
 * an `availability` event with the GET /availability answer. Once an agent has written, it hears no more.
 */
let stack: Stack;
beforeAll(async () => {
  const sim = await startSimulator({ profile: simProfile(), agent: { enabled: false } });
  stack = await startStack({
    simulator: sim,
    env: { ...availabilityEnvFor(sim), AVAILABILITY_REFRESH_SECONDS: '1' },
  });
});
afterAll(async () => {
  await stack.close();
  await stack.sim.stop();
});
beforeEach(async () => {
  stack.sim.availability.reset();
  // The service has read the reset state before a stream opens, so no stream hears of the reset itself.
  await waitFor(async () => {
    const { body } = await stack.http.get('/availability');
    return body.open === true && body.estimatedWaitSeconds === 45;
  });
});

test("a waiting guest's stream carries the new estimate, then the closing", async () => {
  const { token } = await stack.newSession();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  try {
    await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
    stack.sim.availability.setEstimatedWait(600);
    const longer = await stream.next((e) => e.event === 'availability' && dataOf(e).estimatedWaitSeconds === 600);
    expect(dataOf(longer)).toMatchObject({ configured: true, open: true, reason: 'open' });

    stack.sim.availability.setEmergency(true);
    const closed = await stream.next((e) => e.event === 'availability' && dataOf(e).open === false);
    expect(dataOf(closed)).toMatchObject({ reason: 'emergency', estimatedWaitSeconds: 600 });
  } finally {
    stream.close();
  }
});

test('once an agent has written, the stream carries no availability events', async () => {
  const { token, gt } = await stack.newGuest();
  const stream = await openStream(`${stack.service.url}/messages/stream`, bearer(token));
  try {
    await stream.next((e) => e.event === 'session' && dataOf(e).state === 'open');
    stack.sim.agent.say(gt, 'Hello, this is Sam', { originatingEntity: 'Human' });
    await stream
      .next((e) => e.event === 'message')
      .catch((error: Error) => {
        throw new Error(`${error.message}\n${simulatorSide(gt)}`);
      });
    // Another stream, still waiting, open before the wait moves (a stream hears of changes, not of how things
    // stand): it hears of the move, so the first would have been sent it too.
    const { token: waiting } = await stack.newSession();
    const other = await openStream(`${stack.service.url}/messages/stream`, bearer(waiting));
    try {
      await other.next((e) => e.event === 'session' && dataOf(e).state === 'open');
      stack.sim.availability.setEstimatedWait(900);
      await other.next((e) => e.event === 'availability' && dataOf(e).estimatedWaitSeconds === 900);
      // Streams hear of a change together; whatever the first was sent then comes before what the agent says next.
      stack.sim.agent.say(gt, 'still here', { originatingEntity: 'Human' });
      await stream
        .next((e) => e.event === 'message' && dataOf(e).text === 'still here')
        .catch((error: Error) => {
          throw new Error(`${error.message}\n${simulatorSide(gt)}`);
        });
      expect(stream.events.filter((e) => e.event === 'availability')).toEqual([]);
    } finally {
      other.close();
    }
  } finally {
    stream.close();
  }
});

/**
 * What the simulator knew of a session when a message it was told to deliver did not reach the stream: whether the
 * service's socket was there to take it (or the message went to history only), and what that socket had said.
 */
function simulatorSide(gt: string): string {
  const { stats } = stack.sim;
  const frames = stack.sim.framesFor(gt).map((f) => f.frame.action);
  return (
    `At the simulator the session had ${stats.openConnectionsBySession(gt)} connection(s) open ` +
    `(${stats.connectionsBySession(gt)} joined, ${stats.evictionsBySession(gt)} evicted); ` +
    `its conversation held ${stack.sim.conversationMessages(gt).length} message(s); its frames: ${frames.join(', ')}`
  );
}
