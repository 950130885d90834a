import { ResourceTurns, type Fault, type FaultKind } from './faults';

/**
 * How the soak applies its schedule (test/soak/faults.ts): faults on one resource take turns, whatever their
 * schedule says, since a restart late to be undone on a loaded machine once overlapped the next Redis fault (two
 * servers on one port, a pause resumed on the wrong one); faults on different resources overlap.
 */

const fault = (kind: FaultKind, instance?: number): Fault => ({
  kind,
  at: 0,
  durationMs: 1000,
  ...(instance !== undefined ? { instance } : {}),
});

/** Work that runs until `finish` is called, and says when it started. */
function held() {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const over = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const state = { started: false };
  const work = () => {
    state.started = true;
    return over;
  };
  return { work, state, finish, fail };
}

describe('faults on one resource take turns', () => {
  test.each<[string, FaultKind, FaultKind, number | undefined]>([
    ['a pause of Redis due while its restart is under way', 'redis_restart', 'redis_sigstop', undefined],
    ['a restart of Redis due while another is under way', 'redis_restart', 'redis_restart', undefined],
    ['an instance killed while it is being started again after a stop', 'instance_sigterm', 'instance_sigkill', 2],
    ['Genesys hanging while it is still refusing', 'genesys_refusing', 'genesys_hanging', undefined],
  ])('%s starts once the one before it is over', async (_, firstKind, secondKind, instance) => {
    const turns = new ResourceTurns();
    const first = held();
    const second = held();
    const firstTurn = turns.take(fault(firstKind, instance), first.work);
    const secondTurn = turns.take(fault(secondKind, instance), second.work);
    // A fault on another resource meanwhile runs at once and is over, the second still waiting for its turn.
    await turns.take(fault('socket_drop'), async () => undefined);
    expect(first.state.started).toBe(true);
    expect(second.state.started).toBe(false);
    first.finish();
    await firstTurn;
    second.finish();
    await secondTurn;
    expect(second.state.started).toBe(true);
  });

  test('one that failed frees its resource too, and its turn says how it failed', async () => {
    const turns = new ResourceTurns();
    const first = held();
    const firstTurn = turns.take(fault('redis_restart'), first.work);
    const second = turns.take(fault('redis_sigkill'), async () => undefined);
    first.fail(new Error('redis-server did not start'));
    await expect(firstTurn).rejects.toThrow('redis-server did not start');
    await expect(second).resolves.toBeUndefined();
  });

  test('faults on different resources overlap', async () => {
    const turns = new ResourceTurns();
    const faults = [fault('redis_sigstop'), fault('instance_sigkill', 0), fault('instance_starved', 1)];
    const works = faults.map(() => held());
    const taken = faults.map((f, i) => turns.take(f, works[i]!.work));
    // Each started before any is over.
    await turns.take(fault('genesys_slow'), async () => undefined);
    expect(works.map((w) => w.state.started)).toEqual([true, true, true]);
    for (const w of works) w.finish();
    await Promise.all(taken);
  });
});
