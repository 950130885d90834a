import { randomUUID } from 'node:crypto';
import { startSimulator, type Simulator } from '../../../simulator';
import { AppError } from '../../../src/domain/errors';
import { hubFor } from '../../support/guestHub';
import { waitFor } from '../../support/wait';

/**
 * A session with a request on its desk is busy, like one with a live stream: the hub never closes it
 * to make room (GUEST_SOCKET_MAX), which would fail a send already on its way to Genesys.
 */
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ agent: { enabled: false } });
});
afterAll(() => sim.stop());

test('a session whose send awaits its echo is not closed to make room: the newcomer is refused, and the send completes', async () => {
  const small = hubFor(sim, { maxSessions: 1 });
  try {
    const token = randomUUID();
    const sending = small.session(token);
    await sending.ready();
    // Genesys is slow to answer this session: its send sits on the desk, with no stream open.
    sim.faults.delayFrames(1500, token);
    // Settled as a value either way, so that a send failed early is this test's failure, not an unhandled rejection.
    const sent = sending.sendText({ text: 'still on its way', messageId: randomUUID() }).then(
      (message) => ({ message }),
      (error: unknown) => ({ error }),
    );
    // On the desk for sure once Genesys has the frame (its echo comes 1.5 s later).
    await waitFor(() => sim.framesFor(token, 'onMessage').length === 1);

    let refused: unknown;
    try {
      small.session(randomUUID());
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    expect(await sent).toMatchObject({ message: { text: 'still on its way' } });
    expect(small.session(token)).toBe(sending);
  } finally {
    small.close();
  }
});
