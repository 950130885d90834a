import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../../simulator';
import { collect, hubFor } from '../../../support/guestHub';
import { sleep } from '../../../support/wait';

/**
 * A session's expiry slides with each message either way (docs/genesys-protocol.md#session-expiry-slides),
 * and with nothing else: an agent's typing leaves it where it was.
 */
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
});
afterAll(() => sim.stop());

test("an agent's message moves the session's expiry; the agent's typing does not", async () => {
  const hub = hubFor(sim);
  try {
    const token = randomUUID();
    const session = hub.session(token);
    const live = collect(session);
    await session.ready();
    const first = await session.expiry.current();
    expect(first).toEqual(expect.any(Number));

    await sleep(20);
    sim.agent.typing(token);
    await live.next((e) => e.type === 'typing');
    expect(session.expiry.at).toBe(first);

    await sleep(20);
    sim.agent.say(token, 'still here');
    await live.next((e) => e.type === 'message');
    expect(session.expiry.at).toBeGreaterThan(first!);
    live.unsubscribe();
  } finally {
    hub.close();
  }
});
